"""The seed package's A2A behaviours, restated: code written for it must keep working."""

from __future__ import annotations

from openmoe_bft.a2a import (
    A2AComplianceVerdict,
    AgentCard,
    TaskEnvelope,
    extract_evidence,
    seal_verdict,
    validate_card,
    validate_task,
)
from openmoe_bft.a2a._experts import expert_table
from openmoe_bft.eu_ai_act import CHECKS
from openmoe_bft.receipts import AuditChain

EXPERT_FIELDS = {eid: key for eid, _name, key in expert_table()}


def expert_metadata(ids=range(1, 15)) -> dict:
    return {EXPERT_FIELDS[i]: {"present": True} for i in ids}


def eu_metadata() -> dict:
    return {c.evidence_field.split(".", 1)[-1]: True for c in CHECKS}


def complete_card() -> AgentCard:
    md = expert_metadata()
    md.update(eu_metadata())
    return AgentCard(name="complete-agent", version="1.0", metadata=md)


def test_experts_are_the_fourteen_in_order():
    assert list(EXPERT_FIELDS) == list(range(1, 15))
    assert EXPERT_FIELDS[1] == "riskAssessment" and EXPERT_FIELDS[14] == "webExtractionPolicy"


def test_evidence_is_flattened_to_dotted_true():
    card = AgentCard(metadata={"riskAssessment": {"annexIII": "high"}})
    assert extract_evidence(card) == {"metadata.riskAssessment": True}


def test_evidence_keeps_truthy_and_drops_falsy():
    card = AgentCard(metadata={"riskAssessment": {"annexIII": "high"}, "humanOversight": True,
                               "dataGovernance": "", "biasExamination": {}, "eventLogging": 0})
    assert extract_evidence(card) == {"metadata.riskAssessment": True,
                                      "metadata.humanOversight": True}


def test_evidence_from_a_plain_dict():
    assert extract_evidence({"metadata": {"x402Receipt": "tok"}}) == \
        {"metadata.x402Receipt": True}


def test_complete_card_passes_with_full_score_and_no_advisory():
    v = validate_card(complete_card())
    assert isinstance(v, A2AComplianceVerdict)
    assert v.compliant is True and v.score == 1.0
    assert v.eu_ai_act_report.compliant is True
    assert v.eu_ai_act_report.blocking_failures == []
    assert sorted(v.experts_covered) == list(range(1, 15))
    assert v.experts_missing == [] and v.advisory == []


def test_empty_card_fails_everything():
    v = validate_card(AgentCard(name="bare-agent", metadata={}))
    assert v.compliant is False and v.score == 0.0
    assert v.experts_missing == list(range(1, 15)) and v.experts_covered == []
    assert v.eu_ai_act_report.blocking_failures
    assert len(v.advisory) >= 14


def test_partial_card_scores_between_and_splits_experts():
    md = expert_metadata([1, 5, 9])
    md["humanOversight"] = True
    md["dataGovernance"] = True
    v = validate_card(AgentCard(name="partial", metadata=md))
    assert sorted(v.experts_covered) == [1, 5, 9]
    assert v.experts_missing == [i for i in range(1, 15) if i not in (1, 5, 9)]
    assert 0.0 < v.score < 1.0
    assert v.compliant is False and v.advisory


def test_task_verdict_matches_its_card():
    card = complete_card()
    task = TaskEnvelope(task_id="t1", agent=card, input={"q": "hi"}, metadata={})
    a, b = validate_card(card), validate_task(task)
    assert a.compliant is b.compliant is True
    assert a.score == b.score == 1.0
    assert sorted(b.experts_covered) == list(range(1, 15))


def test_task_from_a_plain_dict():
    card = complete_card()
    v = validate_task({"task_id": "t2", "agent": {"name": card.name, "metadata": card.metadata},
                       "input": {}, "metadata": {}})
    assert v.compliant is True and v.score == 1.0


def test_sealed_verdict_is_the_chains_receipt():
    chain = AuditChain()
    r = seal_verdict(validate_card(complete_card()), chain, timestamp=1000)
    assert r in chain.receipts and chain.receipts == [r]
    assert "a2a_compliance_verdict" in r.payload
    assert chain.verify().ok


def test_mutating_a_sealed_verdict_breaks_the_chain():
    chain = AuditChain()
    seal_verdict(validate_card(AgentCard(name="bare-agent")), chain, timestamp=1000)
    r1 = seal_verdict(validate_card(complete_card()), chain, timestamp=1001)
    assert chain.verify().ok
    r1.payload["a2a_compliance_verdict"]["compliant"] = False
    assert not chain.verify().ok


def test_hmac_signed_seal_verifies():
    chain = AuditChain()
    seal_verdict(validate_card(complete_card()), chain, timestamp=1000, signer_key="secret")
    assert chain.verify().ok
    assert chain.verify_signatures({0: "secret"}).ok
