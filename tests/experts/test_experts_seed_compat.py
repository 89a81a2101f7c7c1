"""What the seed package's expert tests asserted, restated against our registry."""

from __future__ import annotations

from openmoe_bft.experts import (
    EXPERTS,
    ExpertDomain,
    by_domain,
    by_id,
    by_regulation,
    expert_ids,
    register_expert,
)

SPEC_FIELDS = ["riskAssessment", "nistRmfScore", "ictRiskFramework", "neurorightsPolicy",
               "x402Receipt", "mcpAttestation", "blockchainAnchor", "hitlContact",
               "redTeamReport", "blueTeamStatus", "continuousMonitoring", "fuzzingReport",
               "autonomousAudit", "webExtractionPolicy"]


def test_fourteen_experts_in_order_with_their_fields():
    assert len(EXPERTS) == 14
    assert expert_ids() == list(range(1, 15))
    assert [e.a2a_field for e in EXPERTS] == [f"metadata.{f}" for f in SPEC_FIELDS]
    assert len({e.name for e in EXPERTS}) == 14


def test_lookups_by_id_domain_and_regulation():
    assert by_id(1).name == "EU AI Act Compliance"
    assert by_id(14).name == "Web Crawler / Extractor"
    assert by_id(0) is None and by_id(99) is None and by_id(True) is None
    assert {e.expert_id for e in by_domain(ExpertDomain.SECURITY)} == {6, 9, 10, 11, 12}
    assert [e.expert_id for e in by_regulation("eu_ai_act")] == [1]
    assert [e.expert_id for e in by_regulation("dora")] == [3]


def _card(expert_id):
    e = by_id(expert_id)
    return {"expert_id": expert_id, "name": e.name,
            "tools": [{"name": "scan_card"}, {"name": "report"}],
            "metadata": {e.field: "evidence-present"}}


def test_a_bare_truthy_value_registers_as_an_attestation():
    for eid in (1, 5):
        res = register_expert(_card(eid))
        assert res.accepted and res.expert_id == eid and res.reasons == []
        assert "scan_card" in res.matched_tools
        assert res.verdict.status == "attested"


def test_refusals_name_their_reason():
    assert register_expert("not a dict").accepted is False
    assert register_expert("not a dict").expert_id is None
    for change, word in ((("expert_id", 99), "expert_id"), (("name", "Wrong"), "name"),
                         (("tools", []), "tools"), (("tools", [{"description": "x"}]), "name")):
        card = _card(1)
        card[change[0]] = change[1]
        res = register_expert(card)
        assert not res.accepted and res.expert_id is None
        assert any(word in r for r in res.reasons)


def test_missing_or_empty_evidence_is_refused():
    card = _card(2)
    del card["metadata"]
    res = register_expert(card)
    assert not res.accepted and any("a2a_field" in r for r in res.reasons)
    card["metadata"] = {"nistRmfScore": ""}
    assert not register_expert(card).accepted


def test_reasons_accumulate():
    res = register_expert({"expert_id": 99})
    assert not res.accepted and len(res.reasons) >= 2
