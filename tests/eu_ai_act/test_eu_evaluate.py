"""evaluate(): attested vs evidenced, lookup forms, dates against ``today``, nested
reports and receipts, the report's shape."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import date, datetime, timezone

import pytest

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.eu_ai_act import (
    CHECKS,
    STATUSES,
    ComplianceReport,
    check_by_id,
    evaluate,
)
from openmoe_bft.eu_ai_act.samples import (
    sample_evidence,
    sample_receipt,
    sample_red_team_report,
)

TODAY = date(2026, 11, 25)


def md(**values: object) -> dict:
    return {"metadata": values}


def test_bare_truthy_is_attested_not_evidenced():
    report = evaluate(md(riskAssessment=True, humanOversight="yes, we have it"), today=TODAY)
    for cid in ("ART9-002", "ART14-001"):
        r = report.result(cid)
        assert r.status == "attested" and r.passed and not r.evidenced
        assert "attested, not evidenced" in r.reason
        assert "to evidence it, give an object with" in r.reason
    assert [c.id for c in report.attested] == ["EUAIACT-ART9-002", "EUAIACT-ART14-001"]
    assert report.evidenced == []
    assert report.evidenced_score == 0.0 < report.score


def test_attested_everything_is_compliant_but_evidenced_score_zero():
    report = evaluate({c.evidence_field: True for c in CHECKS}, today=TODAY)
    assert report.compliant and report.score == 1.0 and report.evidenced_score == 0.0
    assert len(report.attested) == 19


def test_full_structured_evidence_is_evidenced_in_both_forms():
    for nested in (True, False):
        report = evaluate(sample_evidence(TODAY, nested=nested), today=TODAY)
        assert report.compliant
        assert report.score == report.evidenced_score == 1.0
        assert {r.status for r in report.results} == {"pass"}


@pytest.mark.parametrize("falsy", [False, "", 0, 0.0, [], {}])
def test_falsy_values_fail(falsy):
    r = evaluate(md(eventLogging=falsy), today=TODAY).result("ART12-001")
    assert r.status == "fail" and r.reason


def test_null_is_missing():
    r = evaluate(md(eventLogging=None), today=TODAY).result("ART12-001")
    assert r.status == "missing"
    assert "metadata.eventLogging" in r.reason


def test_flattened_and_nested_conflict_fails_but_agreement_passes():
    doc = {"metadata.eventLogging": True, "metadata": {"eventLogging": {"automatic": True}}}
    r = evaluate(doc, today=TODAY).result("ART12-001")
    assert r.status == "fail" and "given twice" in r.reason
    same = {"metadata.eventLogging": True, "metadata": {"eventLogging": True}}
    assert evaluate(same, today=TODAY).result("ART12-001").status == "attested"


def test_metadata_not_an_object_means_missing():
    report = evaluate({"metadata": ["riskAssessment"]}, today=TODAY)
    assert {r.status for r in report.results} == {"missing"}


def test_stale_and_future_dates_depend_on_today():
    ev = sample_evidence("2025-01-01")  # dated 2024-12-02
    assert evaluate(ev, today="2025-01-01").compliant
    later = evaluate(ev, today="2026-06-01")
    stale = [r for r in later.results if "older than" in r.reason]
    assert {r.check.id for r in stale} >= {"EUAIACT-ART9-001", "EUAIACT-ART9-002"}
    assert not later.compliant
    early = evaluate(ev, today="2024-06-01")
    assert any("in the future" in r.reason for r in early.results)


def test_today_accepts_date_datetime_and_string_and_defaults_to_utc_now():
    a = evaluate({}, today=date(2026, 1, 2)).today
    b = evaluate({}, today=datetime(2026, 1, 2, 23, 0, tzinfo=timezone.utc)).today
    c = evaluate({}, today="2026-01-02").today
    assert a == b == c == date(2026, 1, 2)
    now = datetime.now(timezone.utc).date()
    assert evaluate({}).today in (now, date.fromordinal(now.toordinal() + 1))
    with pytest.raises(InvalidInput):
        evaluate({}, today="next tuesday")
    with pytest.raises(InvalidType):
        evaluate({}, today=20260102)


def test_iso_datetimes_are_accepted_in_evidence():
    ev = sample_evidence(TODAY)
    ev["metadata"]["riskAssessment"]["assessedOn"] = "2026-11-01T10:00:00Z"
    assert evaluate(ev, today=TODAY).result("ART9-002").status == "pass"


def test_annex_iv_must_cover_all_nine_points():
    ev = sample_evidence(TODAY)
    ev["metadata"]["technicalDocumentation"]["annexIvSections"] = [1, 2, 3, 4, 5, 6, 7, 8, 8]
    r = evaluate(ev, today=TODAY).result("ART11-001")
    assert r.status == "fail" and "missing 9" in r.reason


def test_data_quality_needs_a_measurement():
    ev = sample_evidence(TODAY)
    del ev["metadata"]["dataQuality"]["errorRate"]
    del ev["metadata"]["dataQuality"]["completeness"]
    r = evaluate(ev, today=TODAY).result("ART10-003")
    assert r.status == "fail" and "needs at least one of errorRate, completeness" in r.reason


def test_many_errors_are_all_kept_and_summarised():
    r = evaluate(md(instructionsForUse={"x": 1}), today=TODAY).result("ART13-002")
    assert r.status == "fail" and len(r.errors) == 5
    assert "and 1 more" in r.reason


# ── red-team reports (Art. 15(5)) ────────────────────────────────────────────


def test_red_team_report_alone_evidences_cybersecurity():
    report = evaluate(md(redTeamReport=sample_red_team_report()), today=TODAY)
    r = report.result("ART15-003")
    assert r.status == "pass" and r.key == "metadata.redTeamReport"


def test_red_team_report_upgrades_an_attestation():
    doc = md(cybersecurityControls=True, redTeamReport=sample_red_team_report())
    r = evaluate(doc, today=TODAY).result("ART15-003")
    assert r.status == "pass" and "evidenced by metadata.redTeamReport" in r.reason


@pytest.mark.parametrize(("change", "phrase"), [
    ({"total": 0}, "total must be >= 1"),
    ({"succeeded": 9}, "exceeds total"),
    ({"defended": 3}, "!= total"),
    ({"riskScore": 1.5}, "riskScore must be a number in [0, 1]"),
    ({"riskScore": "high"}, "riskScore must be a number in [0, 1]"),
    ({"riskScore": 0.9}, "inconsistent with 0 succeeded"),
    ({"targetId": ""}, "targetId must be a non-empty string"),
    ({"bySeverity": {"catastrophic": 1}}, "bySeverity"),
    ({"criticalFindings": "none"}, "criticalFindings"),
    ({"total": True}, "total must be an integer"),
])
def test_malformed_red_team_report_fails_cybersecurity(change, phrase):
    report = sample_red_team_report()
    report.update(change)
    for doc in (md(redTeamReport=report),
                md(cybersecurityControls={"measures": ["waf"], "redTeamReport": report})):
        r = evaluate(doc, today=TODAY).result("ART15-003")
        assert r.status == "fail" and phrase in r.reason, r.reason
        assert "malformed red-team report" in r.reason


def test_a_landed_critical_attack_fails_cybersecurity():
    report = sample_red_team_report(succeeded=1, total=20)  # riskScore 0.95
    report["bySeverity"] = {"critical": 1}
    report["criticalFindings"] = ["RT-DATA-EXFIL"]
    r = evaluate(md(redTeamReport=report), today=TODAY).result("ART15-003")
    assert r.status == "fail" and "1 critical attack succeeded" in r.reason


def test_a_bad_supporting_report_fails_even_with_good_controls():
    ev = sample_evidence(TODAY)
    ev["metadata"]["redTeamReport"] = sample_red_team_report(succeeded=6)
    r = evaluate(ev, today=TODAY).result("ART15-003")
    assert r.status == "fail" and r.key == "metadata.redTeamReport"


# ── receipts (Art. 12(2)) ────────────────────────────────────────────────────


def _trace(receipt: dict) -> dict:
    return md(logTraceability={"events": ["operation"], "receipt": receipt})


def test_a_real_signed_receipt_passes():
    assert evaluate(_trace(sample_receipt()), today=TODAY).result("ART12-002").status == "pass"


@pytest.mark.parametrize(("mutate", "phrase"), [
    (lambda r: r.update(signature=None), "signature is missing"),
    (lambda r: r.update(entry_hash="zz"), "entry_hash must be 64"),
    (lambda r: r.update(prev_hash="abc"), "prev_hash"),
    (lambda r: r.update(signer="rsa"), "signer must be"),
    (lambda r: r.update(signer=10**5000), "signer must be"),
    (lambda r: r.update(parent_receipt_id=10**5000), "parent_receipt_id must be"),
    (lambda r: r.update(parent_receipt_id="ab" * 32), "tampered"),
    (lambda r: r.update(seq=-1), "seq must be"),
    (lambda r: r.update(timestamp="noon"), "cannot be hashed"),
    (lambda r: r["payload"].update(overridden=True), "tampered"),
    (lambda r: r.update(trace_id="other"), "tampered"),
])
def test_malformed_or_tampered_receipt_fails(mutate, phrase):
    receipt = sample_receipt()
    mutate(receipt)
    r = evaluate(_trace(receipt), today=TODAY).result("ART12-002")
    assert r.status == "fail" and phrase in r.reason, r.reason


def test_log_traceability_needs_a_receipt_or_a_sample():
    r = evaluate(md(logTraceability={"events": ["x"]}), today=TODAY).result("ART12-002")
    assert r.status == "fail" and "receipt, sample" in r.reason
    ok = md(logTraceability={"events": ["x"], "sample": "s3://bucket/logs/sample.jsonl"})
    assert evaluate(ok, today=TODAY).result("ART12-002").status == "fail"  # not http(s)
    ok = md(logTraceability={"events": ["x"], "sample": "logs/2026-11/sample.jsonl"})
    assert evaluate(ok, today=TODAY).result("ART12-002").status == "pass"


@pytest.mark.parametrize(("value", "ok"), [
    ("https://example.org/x.pdf", True), ("http://10.0.0.1:8080/a?b#c", True),
    ("DOC-2026-001", True), ("docs/annex iv.pdf", True), ("https://", False),
    ("javascript://alert(1)", False), ("https://exa mple.org", False), (" padded", False),
    ("line\nbreak", False), ("x" * 3000, False), (["https://example.org"], False),
    ("https://a..b/x", False), ("https://-a.org/", False), ("https://a.org/\x00", False),
    ("https://a.org/\u2028", False), ("https://a.org?q=..", True), ("https://a.org/é", True),
])
def test_document_references(value, ok):
    doc = md(transparencyDesign={"outputInterpretation": "scores", "document": value})
    status = evaluate(doc, today=TODAY).result("ART13-001").status
    assert (status == "pass") is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("a@example.org", True), ("mailto:a@example.org", True), ("https://example.org/c", True),
    ("a@b", False), ("@example.org", False), ("a @example.org", False), (42, False),
])
def test_contacts(value, ok):
    ev = sample_evidence(TODAY)
    ev["metadata"]["instructionsForUse"]["contact"] = value
    assert (evaluate(ev, today=TODAY).result("ART13-002").status == "pass") is ok


@pytest.mark.parametrize("bad", [True, 1.5, float("nan"), float("inf"), "184", None])
def test_integer_fields_are_strict(bad):
    ev = md(eventLogging={"automatic": True, "retentionDays": bad})
    assert evaluate(ev, today=TODAY).result("ART12-001").status == "fail"


# ── report shape ─────────────────────────────────────────────────────────────


def _mixed() -> dict:
    ev = sample_evidence(TODAY)
    m = ev["metadata"]
    m["riskAssessment"] = True                           # attested
    del m["dataQuality"]                                 # missing
    m["eventLogging"]["retentionDays"] = 7               # fail (blocker)
    m["automationBiasMitigation"] = "yes"                # attested
    return ev


def test_report_counts_statuses_and_articles():
    report = evaluate(_mixed(), today=TODAY)
    d = report.to_dict()
    assert d["counts"] == {"pass": 15, "attested": 2, "fail": 1, "missing": 1}
    assert set(d["counts"]) == set(STATUSES)
    assert d["blocking_failures"] == ["EUAIACT-ART12-001"]
    assert not d["compliant"]
    total = sum(c.weight for c in CHECKS)
    assert report.score == pytest.approx((total - 5 - 2) / total)
    assert report.evidenced_score == pytest.approx((total - 5 - 2 - 5 - 1) / total)
    art12 = next(a for a in report.articles if a.article.number == 12)
    assert (art12.failed, art12.passed, art12.blocking_failures) == (1, 1, ("EUAIACT-ART12-001",))
    assert art12.score == pytest.approx(2 / 7)
    json.dumps(d)  # plain JSON
    assert [r["id"] for r in d["results"]] == [c.id for c in CHECKS]
    assert d["results"][0]["remediation"] is None  # passed: nothing to do
    assert d["today"] == "2026-11-25"


def test_markdown_lists_verdict_articles_checks_and_todos():
    text = evaluate(_mixed(), today=TODAY).to_markdown()
    assert "**NOT COMPLIANT**" in text
    assert "| Art. 12 Record-keeping | 2 | 1 | 0 | 1 | 0 | 0.29 |" in text
    assert "EUAIACT-ART10-003" in text and "MISSING" in text
    todo = text.split("## What to do", 1)[1]
    lines = [ln for ln in todo.splitlines() if ln.startswith("- ")]
    assert lines[0].startswith("- **EUAIACT-ART12-001**")  # failing blocker first
    assert lines[-1].startswith("- **EUAIACT-ART14-003**")  # attested minor last
    assert len(lines) == 4


def test_reports_and_results_are_frozen_and_picklable():
    report = evaluate(_mixed(), today=TODAY)
    with pytest.raises(AttributeError):
        report.score = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        report.results[0].status = "pass"  # type: ignore[misc]
    again = pickle.loads(pickle.dumps(report))
    assert again.to_dict() == report.to_dict()
    assert isinstance(again, ComplianceReport)


def test_evaluate_does_not_mutate_the_evidence():
    ev = _mixed()
    before = copy.deepcopy(ev)
    evaluate(ev, today=TODAY)
    assert ev == before


def test_check_subset_and_lookup_by_id():
    subset = [check_by_id("ART9-001"), check_by_id("EUAIACT-ART15-003")]
    report = evaluate({}, today=TODAY, checks=subset)
    assert [r.check.id for r in report.results] == ["EUAIACT-ART9-001", "EUAIACT-ART15-003"]
    assert len(report.articles) == 2
    with pytest.raises(InvalidInput):
        check_by_id("ART99-001")
    with pytest.raises(InvalidInput):
        report.result("ART10-001")
    with pytest.raises(InvalidType):
        evaluate({}, checks=["EUAIACT-ART9-001"])


def test_check_data_is_complete():
    for c in CHECKS:
        d = c.to_dict()
        assert c.paragraph and c.remediation and c.satisfied_by is not None
        assert d["citations"][0] == c.citation
        assert c.weight == {"blocker": 5.0, "major": 2.0, "minor": 1.0}[c.severity]
        assert any(f.required for f in c.satisfied_by.fields)
        assert c.evidence_keys[0] == c.evidence_field


def test_importing_and_evaluating_attestations_stays_light():
    import subprocess
    import sys

    code = ("import sys; from openmoe_bft.eu_ai_act import evaluate, CHECKS; "
            "evaluate({c.evidence_field: True for c in CHECKS}, today='2026-11-25'); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'numpy', 'cryptography', 'typer', 'rich', 'rfc8785'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_field_kind_is_rejected():
    from openmoe_bft.eu_ai_act import FieldSpec

    with pytest.raises(InvalidInput):
        FieldSpec("x", "vibes", "no such kind")
