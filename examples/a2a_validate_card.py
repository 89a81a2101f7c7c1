"""Validate an A2A Agent Card against the EU AI Act and the 14 OpenScore experts.

    python examples/a2a_validate_card.py [IGNORED]

1. A card in the A2A 1.0 shape carries its evidence in the OpenScore extension
   (``capabilities.extensions``, URI ``openmoe_bft.a2a.EXTENSION_URI``).
2. ``validate_card`` checks the structure, collects the evidence, runs the 19 EU AI
   Act checks and the 14 experts, and seals the verdict as a receipt.
3. With the ``[a2a]`` extra, the card is signed (JWS over its RFC 8785 form) and the
   signature verified; a card changed after signing is never compliant.
Offline and deterministic: no network, the date is passed in.
"""

from __future__ import annotations

import copy
from datetime import date

from openmoe_bft.a2a import EXTENSION_URI, validate_card
from openmoe_bft.eu_ai_act.samples import sample_evidence, sample_red_team_report
from openmoe_bft.receipts import AuditChain

TODAY = date(2026, 11, 25)
EXPERT_FIELDS = ("nistRmfScore", "ictRiskFramework", "neurorightsPolicy", "x402Receipt",
                 "mcpAttestation", "blockchainAnchor", "blueTeamStatus",
                 "continuousMonitoring", "fuzzingReport", "autonomousAudit",
                 "webExtractionPolicy")


def make_card() -> dict:
    evidence = sample_evidence(TODAY)["metadata"]  # structured Art. 9-15 evidence
    for name in EXPERT_FIELDS:  # the other experts, attested (seed convention)
        evidence.setdefault(name, {"present": True})
    evidence.setdefault("hitlContact", "mailto:oversight@example.com")
    evidence.setdefault("redTeamReport", sample_red_team_report())  # structured, validated
    return {
        "name": "Recipe Agent",
        "description": "Agent that helps users with recipes and cooking.",
        "version": "1.0.0",
        "supportedInterfaces": [{"url": "https://recipes.example.com/a2a/v1",
                                 "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"streaming": True, "extensions": [{
            "uri": EXTENSION_URI, "description": "OpenScore compliance evidence",
            "required": False, "params": evidence}]},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "find-recipe", "name": "Find recipe",
                    "description": "Finds a recipe for the dish you name.",
                    "tags": ["cooking"]}],
    }


def show(title: str, verdict) -> None:
    print(f"{title}: compliant={verdict.compliant} score={verdict.score:.2f} "
          f"A2A {verdict.card_version}, experts covered {len(verdict.experts_covered)}/14")
    for line in verdict.advisory[:4]:
        print(f"  - {line}")


def main() -> None:
    chain = AuditChain()  # in memory; AuditChain("verdicts.db") keeps them on disk
    card = make_card()
    verdict = validate_card(card, today=TODAY, seal=chain, timestamp=1_764_000_000)
    show("full card", verdict)
    print(f"  sealed as receipt {verdict.receipt.receipt_id[:16]}..., chain ok: "
          f"{chain.verify().ok}")

    gaps = copy.deepcopy(card)
    params = gaps["capabilities"]["extensions"][0]["params"]
    del params["humanOversight"], params["x402Receipt"]
    params["riskAssessment"] = {"date": "someday"}
    show("card with gaps", validate_card(gaps, today=TODAY))

    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519

        from openmoe_bft.a2a import sign_card
        signed = sign_card(card, ed25519.Ed25519PrivateKey.from_private_bytes(bytes(32)),
                           kid="recipes-2026", embed_jwk=True)
    except ImportError:
        print("signing skipped: pip install 'openmoe-bft[a2a]'")
        return
    ok = validate_card(signed, today=TODAY)
    print(f"signed card: {ok.signatures[0].status} ({ok.signatures[0].reason})")
    signed["description"] = "An agent that books flights."  # changed after signing
    show("tampered card", validate_card(signed, today=TODAY))


if __name__ == "__main__":
    main()
