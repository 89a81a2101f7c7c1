"""Each of the 19 checks: a passing and a failing evidence fixture, the article and
paragraph in the test id (``art9_1-riskManagementSystem-pass``)."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from openmoe_bft.eu_ai_act import CHECKS, Article, evaluate
from openmoe_bft.eu_ai_act.samples import sample_evidence, sample_red_team_report

TODAY = date(2026, 11, 25)
GOOD = sample_evidence(TODAY)["metadata"]


def _tampered_receipt() -> dict:
    good = copy.deepcopy(GOOD["logTraceability"])
    good["receipt"]["payload"] = {"event": "inference", "overridden": True}
    return good


def _with(name: str, **changes: object) -> dict:
    value = copy.deepcopy(GOOD[name])
    for key, new in changes.items():
        if new is _DROP:
            del value[key]
        else:
            value[key] = new
    return value


_DROP = object()

# field name -> (malformed value, a phrase the reason must contain)
FAILING: dict[str, tuple[object, str]] = {
    "riskManagementSystem": (_with("riskManagementSystem", lastReviewed="2024-01-01"),
                             "older than 365 days"),
    "riskAssessment": (_with("riskAssessment", identifiedRisks="bias"),
                       "identifiedRisks: expected a list of strings"),
    "riskMitigationMeasures": (_with("riskMitigationMeasures", residualRiskAcceptable=False),
                               "residualRiskAcceptable: is false"),
    "riskTesting": (_with("riskTesting", testedOn="2026-13-45"), "not an ISO 8601 date"),
    "dataGovernance": (_with("dataGovernance", provenance=_DROP), "provenance: required"),
    "biasExamination": (_with("biasExamination", attributes=[]),
                        "attributes: needs at least 1 item"),
    "dataQuality": (_with("dataQuality", errorRate=1.5), "errorRate: 1.5 is above the maximum"),
    "technicalDocumentation": (_with("technicalDocumentation", annexIvSections=list(range(1, 9))),
                               "annexIvSections: needs at least 9 items"),
    "conformityEvidence": (_with("conformityEvidence", assessmentProcedure="self-declared"),
                           "is not one of"),
    "eventLogging": (_with("eventLogging", retentionDays=30), "below the minimum 184"),
    "logTraceability": (_tampered_receipt(), "tampered"),
    "transparencyDesign": (_with("transparencyDesign", outputInterpretation=42),
                           "outputInterpretation: expected a string"),
    "instructionsForUse": (_with("instructionsForUse", contact="call us"),
                           "not an e-mail address or http(s) URL"),
    "humanOversight": (_with("humanOversight", measures=["dashboard", "  "]),
                       "item 1 is not a non-empty string"),
    "overrideControl": (_with("overrideControl", canStop="yes"),
                        "canStop: expected true or false"),
    "automationBiasMitigation": (_with("automationBiasMitigation", measures=_DROP),
                                 "measures: required"),
    "accuracyMetrics": (_with("accuracyMetrics", metrics={"auc": "high"}),
                        "metric 'auc' is not a finite number"),
    "robustnessTesting": (_with("robustnessTesting", testedOn="2027-06-01"), "in the future"),
    "cybersecurityControls": (_with("cybersecurityControls",
                                    redTeamReport=sample_red_team_report(succeeded=4)),
                              "riskScore 0.5 is below the required 0.8"),
}


def _name(check) -> str:
    return check.evidence_field.split(".", 1)[1]


def _cases(kind: str):
    for check in CHECKS:
        name = _name(check)
        value = GOOD[name] if kind == "pass" else FAILING[name][0]
        yield pytest.param(check, value, id=f"{check.slug}-{name}-{kind}")


def test_every_check_has_a_failing_fixture():
    assert sorted(FAILING) == sorted(_name(c) for c in CHECKS)


@pytest.mark.parametrize(("check", "value"), list(_cases("pass")))
def test_structured_evidence_passes(check, value):
    report = evaluate({"metadata": {_name(check): value}}, today=TODAY)
    result = report.result(check.id)
    assert result.status == "pass", result.reason
    assert result.evidenced and result.passed
    assert check in report.passed and check not in report.failed
    assert result.reason.startswith("evidenced")
    # the same value, flattened, gives the same verdict
    flat = evaluate({check.evidence_field: value}, today=TODAY).result(check.id)
    assert flat.status == "pass"


@pytest.mark.parametrize(("check", "value"), list(_cases("fail")))
def test_malformed_evidence_fails_with_reason(check, value):
    report = evaluate({"metadata": {_name(check): value}}, today=TODAY)
    result = report.result(check.id)
    phrase = FAILING[_name(check)][1]
    assert result.status == "fail"
    assert phrase in result.reason, result.reason
    assert any(phrase in e for e in result.errors), result.errors
    assert check in report.failed and check not in report.passed
    assert (check in report.blocking_failures) == (check.severity == "blocker")
    assert result.key == check.evidence_field


def test_test_ids_cite_article_and_paragraph():
    ids = {c.id: c.slug for c in CHECKS}
    assert ids["EUAIACT-ART9-002"] == "art9_2_a"
    assert ids["EUAIACT-ART12-001"] == "art12_1"
    assert ids["EUAIACT-ART14-002"] == "art14_4_d"
    for c in CHECKS:
        assert c.slug.startswith(f"art{c.article.number}")
        assert c.citation.startswith(f"Art. {c.article.number}(")


@pytest.mark.parametrize("article", list(Article), ids=lambda a: f"art{a.number}")
def test_each_article_all_structured_evidence_scores_one(article):
    keep = {_name(c): GOOD[_name(c)] for c in CHECKS if c.article is article}
    report = evaluate({"metadata": keep}, today=TODAY)
    summary = next(a for a in report.articles if a.article is article)
    assert summary.score == 1.0
    assert summary.passed == summary.checks == len(keep)
    others = [a for a in report.articles if a.article is not article]
    assert all(a.score == 0.0 and a.missing == a.checks for a in others)
