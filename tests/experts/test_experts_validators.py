"""Each expert's validator: a valid, an attested and an invalid value; receipts for real."""

from __future__ import annotations

import copy

import pytest

from openmoe_bft.errors import InvalidType
from openmoe_bft.eu_ai_act.samples import sample_evidence, sample_red_team_report
from openmoe_bft.experts import EXPERTS, by_id, check_experts, mcp_digest
from openmoe_bft.receipts import AuditChain, Ed25519Key, KeyRing

TODAY = "2026-11-25"
_TOOLS = ["scan_card", {"name": "report", "description": "writes the report"}]

VALID = {
    1: sample_evidence(TODAY)["metadata"]["riskAssessment"],
    2: {"score": 0.8, "functions": {"govern": 0.9, "map": 0.8, "measure": 0.7, "manage": 0.8}},
    3: {"regulations": ["DORA", "NIS2"], "document": "https://example.org/ict.pdf",
        "lastReviewed": "2026-10-01", "reportingContact": "soc@example.org"},
    4: {"document": "policy/neuro-v2", "lawfulBasis": "9(2)(a)", "dpiaCompleted": True},
    6: {"tools": _TOOLS, "digest": mcp_digest(_TOOLS), "attestedOn": "2026-11-01"},
    7: {"chainId": "eip155:8453", "txHash": "0x" + "ab" * 32, "blockNumber": 12},
    8: "oversight@example.org",
    9: sample_red_team_report(succeeded=1),
    10: {"status": "operational", "controls": ["WAF", "anomaly detection"]},
    11: {"metrics": ["drift", "policy violations"], "intervalSeconds": 60,
         "lastRun": "2026-11-24"},
    12: {"target": "agent:example", "executions": 10000, "crashes": 3, "coverage": 0.7},
    13: {"auditor": "auditor-bot", "auditedOn": "2026-11-01", "report": "audits/2026-11"},
    14: {"respectsRobotsTxt": True, "userAgent": "ExampleBot/1.0"},
}

INVALID = {
    1: {"identifiedRisks": [], "assessedOn": "yesterday"},
    2: 1.5,
    3: {"regulations": ["GDPR"], "document": "https://example.org/ict.pdf"},
    4: {"document": "policy", "lawfulBasis": "because"},
    5: {"entry_hash": "00" * 32},
    6: {"tools": _TOOLS, "digest": "0" * 64},
    7: {"chainId": 0, "txHash": "not-a-hash"},
    8: "call Bob",
    9: {"targetId": "x", "total": 2, "succeeded": 3, "riskScore": 0.5},
    10: {"status": "fine", "controls": []},
    11: {"metrics": ["drift"], "intervalSeconds": 0},
    12: {"target": "x", "executions": 1, "crashes": 5},
    13: {"auditor": "a", "auditedOn": "2019-01-01", "report": "r"},
    14: {"respectsRobotsTxt": False, "userAgent": "Bot"},
}


@pytest.fixture(scope="module")
def signed():
    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    receipt = chain.append({"x402": {"amount": "10000", "network": "base"}},
                           trace_id="pay-1", timestamp=1_764_000_000)
    return key, receipt.to_dict()


@pytest.mark.parametrize("expert", EXPERTS, ids=lambda e: e.field)
def test_valid_attested_and_invalid_values(expert, signed):
    valid = signed[1] if expert.expert_id == 5 else VALID[expert.expert_id]
    assert expert.validate(valid, today=TODAY).status == "valid", \
        expert.validate(valid, today=TODAY).reason
    for bare in (True, {"present": True}):
        v = expert.validate(bare, today=TODAY)
        assert v.status == "attested" and "attested, not evidenced" in v.reason
    bad = expert.validate(INVALID[expert.expert_id], today=TODAY)
    assert bad.status == "invalid" and bad.reason
    for empty in (False, "", [], {}):
        assert expert.validate(empty, today=TODAY).status == "invalid"
    assert expert.validate(None).status == "missing"


def test_shape_values_are_judged_not_attested():
    assert by_id(2).validate(0).status == "valid"  # a score of 0 is a score
    assert by_id(2).validate(float("nan")).status == "invalid"
    assert by_id(8).validate("https://example.org/approve").status == "valid"
    assert by_id(8).validate({"contact": "mailto:a@example.org", "role": "CRO"}).status == "valid"
    assert by_id(5).validate("tok_123").status == "attested"  # the seed's token string


def test_receipt_verifies_with_its_key_and_not_with_another(signed):
    key, data = signed
    e = by_id(5)
    assert "not checked" in e.validate(data).reason
    ok = e.validate(data, keys=key.public_key)
    assert ok.status == "valid" and "verified" in ok.reason
    assert e.validate(data, keys=KeyRing([key])).status == "valid"
    wrong = e.validate(data, keys=Ed25519Key.generate().public_key)
    assert wrong.status == "invalid" and "not among the given keys" in wrong.reason
    tampered = copy.deepcopy(data)
    tampered["payload"]["x402"]["amount"] = "99999999"
    assert "tampered" in e.validate(tampered).reason
    forged = dict(data, signature="00" * 64)
    assert e.validate(forged, keys=key).status == "invalid"
    unsigned = dict(data, signature=None)
    assert e.validate(unsigned).status == "invalid"


def test_hmac_receipt_from_a_chain_with_a_str_key():
    chain = AuditChain()
    r = chain.append({"paid": 1}, trace_id="t", timestamp=1, signer_key="secret")
    assert by_id(5).validate(r, keys="secret").status == "valid"
    assert by_id(5).validate(r.to_dict(), keys={"any": "other"}).status == "invalid"


def test_check_experts_nested_dotted_and_conflicts(signed):
    md = {by_id(i).field: v for i, v in VALID.items()}
    md["x402Receipt"] = signed[1]
    report = check_experts({"metadata": md}, keys=signed[0].public_key, today=TODAY)
    assert report.covered == list(range(1, 15)) and report.complete
    assert report.attested == [] and report.invalid == [] and report.missing == []
    flat = check_experts({f"metadata.{k}": v for k, v in md.items()}, today=TODAY)
    assert flat.covered == list(range(1, 15))
    both = check_experts({"metadata.hitlContact": "a@example.org",
                          "metadata": {"hitlContact": "b@example.org"}})
    assert both.invalid == [8] and "twice" in both.verdict(8).reason
    empty = check_experts({})
    assert empty.missing == list(range(1, 15)) and not empty.complete
    bad = check_experts({"metadata": {"hitlContact": "nobody", "nistRmfScore": True}})
    assert bad.invalid == [8] and bad.attested == [2] and bad.covered == [2]
    assert check_experts(None).missing == list(range(1, 15))
    d = bad.to_dict()
    assert d["verdicts"][7]["status"] == "invalid"
    with pytest.raises(InvalidType):
        check_experts(["not", "a", "dict"])


def test_covenant_mapping_is_data():
    e = by_id(1)
    assert e.covenant_agent_id == "expert:1"
    assert e.covenant_action == "audit:metadata.riskAssessment"
    assert by_id(14).to_dict()["covenant_action"] == "audit:metadata.webExtractionPolicy"


def test_hostile_values_are_bounded():
    deep: dict = {}
    node = deep
    for _ in range(10_000):
        node["tools"] = [{}]
        node = node["tools"][0]
    for e in EXPERTS:
        assert e.validate(deep).status == "invalid"
    huge = {"tools": ["t"] * 2_000_000, "digest": "0" * 64}
    assert by_id(6).validate(huge).status == "invalid"
    assert by_id(8).validate("a" * 10_000_000 + "@example.org").status == "invalid"
