"""The agent-card corpus: structure (A2A 1.0 / 0.3), where evidence sits, the verdict."""

from __future__ import annotations

import json

import pytest
from _a2a_corpus import (
    TODAY,
    card_0_3,
    card_with_fields,
    expert_fields,
    extension_card,
    full_card,
    minimal_card,
)

from openmoe_bft.a2a import (
    EXTENSION_URI,
    AgentCard,
    TaskEnvelope,
    check_structure,
    extract_evidence,
    validate_card,
    validate_task,
)
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import AuditChain


def v(card, **kw):
    kw.setdefault("today", TODAY)
    kw.setdefault("structure", "builtin")
    return validate_card(card, **kw)


# ── structure ───────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("make", [minimal_card, full_card, card_with_fields, extension_card])
def test_spec_shaped_cards_are_well_formed_a2a_1_0(make):
    report = check_structure(make())
    assert report.version == "1.0"
    assert report.ok, report.issues


def test_a_0_3_card_is_accepted_with_a_migration_advisory():
    verdict = v(card_0_3())
    assert verdict.card_version == "0.3"
    assert verdict.compliant is True
    assert any("migrate to A2A 1.0" in a for a in verdict.advisory)


@pytest.mark.parametrize("field", ["name", "description", "version", "supportedInterfaces",
                                   "capabilities", "defaultInputModes", "defaultOutputModes",
                                   "skills"])
def test_each_required_1_0_field_is_reported_when_missing(field):
    card = card_with_fields()
    del card[field]
    verdict = v(card)
    if field != "supportedInterfaces":  # without it the card reads as 0.3 / bare
        assert any(f.code == "structure.missing" and f.path == f"card.{field}"
                   for f in verdict.findings)
    assert verdict.compliant is True  # a gap in the A2A shape is an advisory ...
    assert not v(card, strict=True).compliant  # ... and an error when strict


@pytest.mark.parametrize("path,bad", [
    ("name", 42), ("skills", "lots"), ("capabilities", []), ("defaultInputModes", "text"),
    ("supportedInterfaces", {"url": "x"}), ("signatures", "sig"), ("metadata", ["x"]),
    ("provider", "ACME"), ("securitySchemes", {"s": {"unknownScheme": {}}}),
])
def test_a_wrong_typed_field_is_an_error_and_never_compliant(path, bad):
    card = card_with_fields()
    card[path] = bad
    verdict = v(card)
    assert verdict.compliant is False
    assert verdict.errors
    assert verdict.advisory[0] == verdict.errors[0].message  # errors come first


def test_nested_wrong_types_are_located():
    card = card_with_fields()
    card["skills"][1]["tags"] = ["maps", 7]
    card["supportedInterfaces"][0]["protocolVersion"] = 1.0
    paths = {f.path for f in v(card).errors}
    assert {"card.skills[1].tags[1]", "card.supportedInterfaces[0].protocolVersion"} <= paths


def test_unknown_binding_and_plain_http_are_warnings_only():
    card = card_with_fields()
    card["supportedInterfaces"][0].update(protocolBinding="CARRIER-PIGEON",
                                          url="http://georoute.example.com/a2a")
    verdict = v(card)
    assert verdict.compliant is True
    codes = [f.code for f in verdict.findings]
    assert codes.count("structure.warning") == 2


def test_sdk_cross_check_agrees_on_the_corpus():
    pytest.importorskip("a2a.types")
    for make in (minimal_card, full_card, extension_card, card_0_3):
        verdict = validate_card(make(), today=TODAY, structure="sdk")
        assert verdict.structure.sdk is True
        assert not verdict.structure.errors, verdict.structure.issues
    card = minimal_card()
    card["skills"] = [{"id": "s", "name": "S", "description": 5, "tags": []}]
    sdk = validate_card(card, today=TODAY, structure="sdk")
    assert any(i.message.startswith("a2a-sdk") for i in sdk.structure.errors)


# ── evidence: metadata and the extension ────────────────────────────────────────────


def test_evidence_in_the_extension_counts_like_metadata():
    a, b = v(card_with_fields()), v(extension_card())
    assert a.compliant is b.compliant is True
    assert a.score == b.score == 1.0
    assert a.experts_covered == b.experts_covered == list(range(1, 15))
    assert set(b.evidence_sources.values()) == {"extension"}
    assert set(a.evidence_sources.values()) == {"metadata"}
    assert extract_evidence(extension_card()) == extract_evidence(card_with_fields())


def test_evidence_split_across_both_places_is_merged():
    fields = expert_fields()
    keys = sorted(fields)
    card = full_card()
    card["metadata"] = {k: fields[k] for k in keys[::2]}
    card["capabilities"]["extensions"] = [{"uri": EXTENSION_URI,
                                           "params": {k: fields[k] for k in keys[1::2]}}]
    verdict = v(card)
    assert verdict.compliant is True and verdict.score == 1.0
    assert set(verdict.evidence_sources.values()) == {"metadata", "extension"}


def test_conflicting_evidence_in_both_places_is_an_error():
    card = extension_card()
    card["metadata"] = {"hitlContact": "mailto:someone-else@example.com"}
    verdict = v(card)
    assert verdict.compliant is False
    assert any(f.code == "evidence.conflict" and "hitlContact" in f.message
               for f in verdict.errors)


def test_an_extension_with_another_uri_is_not_read():
    card = extension_card()
    card["capabilities"]["extensions"][0]["uri"] = EXTENSION_URI.replace("v1", "v9")
    verdict = v(card)
    assert verdict.experts_missing == list(range(1, 15))
    assert verdict.compliant is False


def test_structured_evidence_is_validated_not_just_present():
    card = card_with_fields()
    card["metadata"]["riskAssessment"] = {"date": "not-a-date"}
    verdict = v(card)
    assert verdict.compliant is False
    assert any("EUAIACT-ART9-002" in a and "fix" in a for a in verdict.advisory)


def test_advisory_is_ordered_by_severity():
    card = minimal_card()
    card["metadata"] = {"humanOversight": True}
    card["name"] = 7
    verdict = v(card)
    ranks = [("error", "blocker", "major", "minor", "warning").index(f.severity)
             for f in verdict.findings if f.severity != "info"]
    assert ranks == sorted(ranks)
    assert verdict.findings[0].severity == "error"
    assert verdict.advisory == [f.message for f in verdict.findings if f.severity != "info"]


def test_require_experts_makes_a_missing_expert_fatal():
    card = card_with_fields()
    del card["metadata"]["webExtractionPolicy"]
    assert v(card).compliant is True
    assert v(card).experts_missing == [14]
    assert v(card, require_experts=True).compliant is False


# ── inputs ──────────────────────────────────────────────────────────────────────────


def test_every_input_form_gives_the_same_verdict(tmp_path):
    card = card_with_fields()
    path = tmp_path / "agent-card.json"
    path.write_text(json.dumps(card), encoding="utf-8")
    verdicts = [v(card), v(AgentCard.from_dict(card)), v(str(path)), v(path),
                v(json.dumps(card).encode())]
    assert {(x.compliant, x.score, tuple(x.experts_covered)) for x in verdicts} == \
        {(True, 1.0, tuple(range(1, 15)))}
    assert verdicts[2].source == str(path)


def test_an_a2a_sdk_card_object_is_read():
    types = pytest.importorskip("a2a.types")
    from google.protobuf.json_format import ParseDict

    msg = ParseDict(extension_card(), types.AgentCard())
    verdict = validate_card(msg, today=TODAY)
    assert verdict.compliant is True and verdict.experts_covered == list(range(1, 15))


def test_agent_card_round_trips_and_is_frozen():
    card = AgentCard.from_dict(full_card())
    assert card.to_dict() == full_card()
    assert card.id == "https://georoute-agent.example.com/a2a/v1"
    assert len(card.supported_interfaces) == 3
    with pytest.raises(AttributeError):
        card.name = "other"  # type: ignore[misc]
    assert AgentCard.from_dict({"name": 5, "skills": "x"}).name == ""


@pytest.mark.parametrize("bad", [42, ["a"], None, object()])
def test_a_non_card_is_a_typed_error(bad):
    with pytest.raises((InvalidType, InvalidInput)):
        v(bad)


def test_other_url_schemes_are_refused():
    with pytest.raises(InvalidInput, match="only http and https"):
        v("file:///etc/passwd")
    with pytest.raises(InvalidInput, match="only http and https"):
        v("ftp://example.com/agent-card.json")


def test_bad_option_values_are_refused():
    with pytest.raises(InvalidInput, match="structure"):
        v(minimal_card(), structure="pydantic")


# ── tasks ───────────────────────────────────────────────────────────────────────────


def test_task_metadata_adds_to_and_overrides_the_card():
    card = card_with_fields()
    del card["metadata"]["hitlContact"]
    assert 8 in v(card).experts_missing
    task = TaskEnvelope(task_id="t-1", agent=AgentCard.from_dict(card),
                        metadata={"hitlContact": "mailto:oversight@example.com"})
    verdict = validate_task(task, today=TODAY)
    assert verdict.kind == "task" and 8 in verdict.experts_covered
    task2 = {"id": "t-2", "status": {"state": "TASK_STATE_WORKING"}, "metadata":
             {EXTENSION_URI: {"hitlContact": "https://example.com/oversight"}}}
    verdict2 = validate_task(task2, card=card, today=TODAY)
    assert 8 in verdict2.experts_covered and verdict2.subject == "t-2"


def test_a_task_naming_its_agent_by_id_says_so():
    verdict = validate_task({"task_id": "t", "agent": "https://agent.example", "metadata": {}},
                            today=TODAY)
    assert verdict.experts_missing == list(range(1, 15))
    assert any(f.code == "task.agent-by-id" for f in verdict.findings)


def test_a_task_with_wrong_types_fails():
    verdict = validate_task({"task_id": 5, "agent": card_with_fields(), "metadata": "x"},
                            today=TODAY)
    assert verdict.compliant is False
    assert {"task.metadata", "task.id"} <= {f.code for f in verdict.errors}


# ── sealing and JSON ────────────────────────────────────────────────────────────────


def test_seal_into_a_chain_and_a_store(tmp_path):
    chain = AuditChain()
    verdict = v(card_with_fields(), seal=chain, timestamp=1_764_000_000, signer_key="k")
    assert verdict.receipt is chain.receipts[0]
    assert verdict.receipt.payload["a2a_compliance_verdict"]["compliant"] is True
    assert chain.verify().ok and chain.verify_signatures({0: "k"}).ok
    store = tmp_path / "verdicts.db"
    v(minimal_card(), seal=str(store), timestamp=1)
    v(card_with_fields(), seal=store, timestamp=2)
    with AuditChain(store) as reopened:
        assert len(reopened) == 2 and reopened.verify().ok
        assert [r.payload["a2a_compliance_verdict"]["compliant"]
                for r in reopened.receipts] == [False, True]


def test_to_dict_is_json_and_carries_the_receipt_id():
    chain = AuditChain()
    verdict = v(extension_card(), seal=chain, timestamp=5)
    d = json.loads(json.dumps(verdict.to_dict()))
    assert d["compliant"] is True and d["receipt_id"] == verdict.receipt.receipt_id
    assert d["eu_ai_act"]["compliant"] is True
    assert d["structure"]["version"] == "1.0"
    assert d["experts_missing"] == [] and d["experts_covered"] == list(range(1, 15))


def test_json_text_is_read_as_a_card():
    assert v(json.dumps(card_with_fields())).compliant is True
    with pytest.raises(InvalidInput, match="not JSON"):
        v('{"name": ')
