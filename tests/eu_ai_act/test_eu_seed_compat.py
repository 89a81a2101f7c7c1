"""The seed package's eu_ai_act behaviours, restated: code written against the seed
(``CHECKS``, ``Article``, ``evaluate``, ``ComplianceReport``, ``checks_for_article``,
``checks_by_severity``, ``VALID_SEVERITIES``) keeps working."""

from __future__ import annotations

import pytest

from openmoe_bft import eu_ai_act
from openmoe_bft.eu_ai_act import (
    CHECKS,
    VALID_SEVERITIES,
    Article,
    Check,
    ComplianceReport,
    checks_by_severity,
    checks_for_article,
    evaluate,
)

# The seed's table (SPEC.md): id suffix -> (evidence key, severity).
SEED_TABLE = {
    "ART9-001": ("riskManagementSystem", "blocker"),
    "ART9-002": ("riskAssessment", "blocker"),
    "ART9-003": ("riskMitigationMeasures", "major"),
    "ART9-004": ("riskTesting", "major"),
    "ART10-001": ("dataGovernance", "blocker"),
    "ART10-002": ("biasExamination", "blocker"),
    "ART10-003": ("dataQuality", "major"),
    "ART11-001": ("technicalDocumentation", "blocker"),
    "ART11-002": ("conformityEvidence", "major"),
    "ART12-001": ("eventLogging", "blocker"),
    "ART12-002": ("logTraceability", "major"),
    "ART13-001": ("transparencyDesign", "blocker"),
    "ART13-002": ("instructionsForUse", "major"),
    "ART14-001": ("humanOversight", "blocker"),
    "ART14-002": ("overrideControl", "blocker"),
    "ART14-003": ("automationBiasMitigation", "minor"),
    "ART15-001": ("accuracyMetrics", "major"),
    "ART15-002": ("robustnessTesting", "major"),
    "ART15-003": ("cybersecurityControls", "blocker"),
}


def everything_present() -> dict:
    return {c.evidence_field: "present" for c in CHECKS}


def test_the_nineteen_seed_checks_keep_ids_keys_articles_and_severities():
    assert len(CHECKS) == 19
    got = {c.id.removeprefix("EUAIACT-"): (c.evidence_field, c.severity) for c in CHECKS}
    assert got == {k: (f"metadata.{f}", s) for k, (f, s) in SEED_TABLE.items()}
    for c in CHECKS:
        art = int(c.id.split("-")[1].removeprefix("ART"))
        assert c.article.number == art
        assert c.requirement and c.title


def test_registry_integrity():
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("EUAIACT-ART") for i in ids)
    assert all(c.severity in VALID_SEVERITIES for c in CHECKS)
    assert VALID_SEVERITIES == ("blocker", "major", "minor")
    assert all(c.evidence_field.startswith("metadata.") for c in CHECKS)


def test_seven_articles_each_with_two_or_more_checks():
    assert len(Article) == 7
    assert {c.article for c in CHECKS} == set(Article)
    for article in Article:
        assert len(checks_for_article(article)) >= 2


def test_lifecycle_critical_articles_carry_a_blocker():
    for article in (Article.ART_9, Article.ART_10, Article.ART_14):
        assert "blocker" in {c.severity for c in checks_for_article(article)}


def test_everything_present_scores_one_and_is_compliant():
    report = evaluate(everything_present())
    assert isinstance(report, ComplianceReport)
    assert report.score == 1.0
    assert report.failed == [] and report.blocking_failures == []
    assert len(report.passed) == len(CHECKS)
    assert report.compliant


def test_empty_evidence_scores_zero_with_every_blocker_blocking():
    report = evaluate({})
    assert report.score == 0.0
    assert report.passed == []
    assert len(report.failed) == len(CHECKS)
    assert set(report.blocking_failures) == {c for c in CHECKS if c.severity == "blocker"}
    assert not report.compliant


def test_none_evidence_is_an_empty_document():
    report = evaluate(None)
    assert report.score == 0.0
    assert len(report.failed) == len(CHECKS)


def test_half_the_evidence_scores_strictly_between_and_partitions():
    half = CHECKS[: len(CHECKS) // 2]
    report = evaluate({c.evidence_field: True for c in half})
    assert 0.0 < report.score < 1.0
    passed = {c.id for c in report.passed}
    failed = {c.id for c in report.failed}
    assert passed == {c.id for c in half}
    assert passed.isdisjoint(failed) and passed | failed == {c.id for c in CHECKS}


def test_a_falsy_value_fails_its_check():
    check = CHECKS[0]
    report = evaluate({check.evidence_field: ""})
    assert check in report.failed and check not in report.passed


def test_losing_a_blocker_costs_more_than_losing_a_minor():
    blocker = next(c for c in CHECKS if c.severity == "blocker")
    minor = next(c for c in CHECKS if c.severity == "minor")
    without_blocker = everything_present()
    del without_blocker[blocker.evidence_field]
    without_minor = everything_present()
    del without_minor[minor.evidence_field]
    rb, rm = evaluate(without_blocker), evaluate(without_minor)
    assert rb.score < rm.score < 1.0
    assert blocker in rb.blocking_failures
    assert rm.blocking_failures == []


def test_weights_follow_severity():
    by = {s: next(c for c in CHECKS if c.severity == s) for s in VALID_SEVERITIES}
    assert by["blocker"].weight > by["major"].weight > by["minor"].weight
    assert (by["blocker"].weight, by["major"].weight, by["minor"].weight) == (5.0, 2.0, 1.0)


def test_lookup_helpers():
    art9 = checks_for_article(Article.ART_9)
    assert art9 and all(c.article == Article.ART_9 for c in art9)
    assert set(art9) <= set(CHECKS)
    buckets = {s: checks_by_severity(s) for s in VALID_SEVERITIES}
    assert all(c.severity == s for s, b in buckets.items() for c in b)
    assert sum(len(b) for b in buckets.values()) == len(CHECKS)
    assert checks_by_severity("catastrophic") == []


def test_seed_report_dict_keys_and_default_report():
    d = evaluate(everything_present()).to_dict()
    for key in ("passed", "failed", "score", "blocking_failures", "compliant"):
        assert key in d
    assert d["passed"] == [c.id for c in CHECKS]
    empty = ComplianceReport()
    assert empty.passed == [] and empty.failed == [] and empty.score == 0.0


def test_seed_style_check_construction_still_works():
    c = Check("EUAIACT-ART9-999", Article.ART_9, "title", "requirement",
              "metadata.somethingElse", "minor")
    assert c.weight == 1.0 and c.paragraph == "" and c.citation == "Art. 9"
    report = evaluate({"metadata.somethingElse": True}, checks=[c])
    assert report.score == 1.0 and report.result(c.id).status == "attested"


def test_a2a_style_dotted_truthy_evidence():
    # what the seed's extract_evidence produces: dotted keys mapped to True
    evidence = {f"metadata.{f}": True for f, _ in SEED_TABLE.values()}
    report = evaluate(evidence)
    assert report.compliant and report.score == 1.0
    assert report.blocking_failures == []


@pytest.mark.parametrize("name", ["evaluate", "CHECKS", "Check", "ComplianceReport",
                                  "Article", "VALID_SEVERITIES", "checks_for_article",
                                  "checks_by_severity"])
def test_seed_names_importable_from_the_seed_path(name):
    assert hasattr(eu_ai_act, name)
