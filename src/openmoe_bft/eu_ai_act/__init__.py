"""EU AI Act checks: Articles 9-15 of Regulation (EU) 2024/1689 as data, and ``evaluate``.

::

    from openmoe_bft.eu_ai_act import evaluate, CHECKS

    report = evaluate({"metadata": {"riskAssessment": {...}, "eventLogging": True}},
                      today="2026-11-25")
    report.compliant, report.score, report.blocking_failures
    print(report.to_markdown())

The 19 :data:`CHECKS` keep the seed package's ids, articles, severities and evidence
keys. A bare truthy value is a self-attestation ("attested, not evidenced"); a
structured object is validated against the check's :class:`EvidenceSpec`.
:func:`evidence_schema` is the format as a JSON Schema; :func:`classify` gives the
risk tier and when its obligations apply.
"""

from __future__ import annotations

from .checks import (
    CHECKS,
    REGULATION,
    SEVERITY_WEIGHT,
    VALID_SEVERITIES,
    Article,
    Check,
    Severity,
    check_by_id,
    checks_by_severity,
    checks_for_article,
)
from .evaluate import STATUSES, ArticleSummary, CheckResult, ComplianceReport, evaluate
from .evidence import FIELD_KINDS, EvidenceSpec, FieldSpec
from .schema import SCHEMA_ID, evidence_schema
from .tiers import (
    ANNEX_III_AREAS,
    APPLICATION_DATES,
    ART6_3_DEROGATIONS,
    DIGITAL_OMNIBUS_SCHEDULE,
    ENTRY_INTO_FORCE,
    HIGH_RISK,
    LIMITED,
    MINIMAL,
    PROHIBITED,
    PROHIBITED_PRACTICES,
    RISK_TIERS,
    Obligation,
    RiskClassification,
    classify,
    risk_tier,
)

__all__ = [
    "ANNEX_III_AREAS",
    "APPLICATION_DATES",
    "ART6_3_DEROGATIONS",
    "Article",
    "ArticleSummary",
    "CHECKS",
    "Check",
    "CheckResult",
    "ComplianceReport",
    "DIGITAL_OMNIBUS_SCHEDULE",
    "ENTRY_INTO_FORCE",
    "EvidenceSpec",
    "FIELD_KINDS",
    "FieldSpec",
    "HIGH_RISK",
    "LIMITED",
    "MINIMAL",
    "Obligation",
    "PROHIBITED",
    "PROHIBITED_PRACTICES",
    "REGULATION",
    "RISK_TIERS",
    "RiskClassification",
    "SCHEMA_ID",
    "SEVERITY_WEIGHT",
    "STATUSES",
    "Severity",
    "VALID_SEVERITIES",
    "check_by_id",
    "checks_by_severity",
    "checks_for_article",
    "classify",
    "evaluate",
    "evidence_schema",
    "risk_tier",
]
