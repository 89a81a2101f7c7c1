"""A complete, structured evidence document: a template to copy and fill in.

:func:`sample_evidence` returns evidence that *evidences* (not merely attests) all 19
checks, dated relative to ``today``. The names, URLs and numbers are placeholders;
the shape is what :func:`~openmoe_bft.eu_ai_act.evaluate` validates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from .evidence import coerce_today

__all__ = ["sample_evidence", "sample_receipt", "sample_red_team_report"]


def sample_red_team_report(*, succeeded: int = 0, total: int = 8) -> dict[str, Any]:
    """A red-team report in the shape ``to_a2a_evidence`` writes (``riskScore`` 1.0 when
    nothing succeeded; each success here counts as a ``medium`` finding)."""
    defended = total - succeeded
    return {
        "targetId": "agent:example",
        "total": total,
        "succeeded": succeeded,
        "defended": defended,
        "riskScore": 1.0 if total == 0 else defended / total,
        "bySeverity": {"medium": succeeded} if succeeded else {},
        "criticalFindings": [],
    }


def sample_receipt(*, key: str = "example-secret", timestamp: float = 1_764_000_000
                   ) -> dict[str, Any]:
    """A real, HMAC-signed receipt (``Receipt.to_dict()``) over a log sample."""
    from ..receipts import Receipt, sign_hmac

    receipt = Receipt.create(trace_id="log-sample", timestamp=timestamp,
                             payload={"event": "inference", "overridden": False})
    data = receipt.to_dict()
    data["signature"] = sign_hmac(receipt.entry_hash, key)
    data["signer"] = "hmac"
    return data


def sample_evidence(today: date | datetime | str, *, nested: bool = True) -> dict[str, Any]:
    """Structured evidence for every check, dated 30 days before ``today``.

    ``nested=True`` gives ``{"metadata": {...}}``; ``False`` the flattened
    ``{"metadata.riskAssessment": ...}`` form.
    """
    day = (coerce_today(today) - timedelta(days=30)).isoformat()
    doc = "https://example.org/ai-system/docs/"
    md: dict[str, Any] = {
        "riskManagementSystem": {
            "document": doc + "risk-management.pdf", "owner": "Head of AI Safety",
            "lastReviewed": day, "lifecycleStages": ["design", "deployment", "monitoring"],
        },
        "riskAssessment": {
            "identifiedRisks": ["discriminatory ranking of applicants", "privacy leakage"],
            "foreseeableMisuse": ["use outside the EU labour-law context"],
            "assessedOn": day, "document": doc + "risk-assessment.pdf",
        },
        "riskMitigationMeasures": {
            "measures": ["human review of every rejection", "PII filtering"],
            "residualRiskAcceptable": True,
        },
        "riskTesting": {
            "metrics": ["false-rejection rate <= 2% per group", "p(harmful output) < 1e-4"],
            "testedOn": day, "passed": True, "report": doc + "risk-tests.html",
        },
        "dataGovernance": {
            "datasets": ["train-2026Q2", "validation-2026Q2", "test-2026Q2"],
            "provenance": "licensed HR records, collected with consent, EU only",
            "preparation": ["deduplication", "label audit"],
        },
        "biasExamination": {
            "method": "per-group error rates and counterfactual tests",
            "attributes": ["sex", "age", "nationality"],
            "mitigations": ["re-weighting", "threshold calibration per group"],
            "examinedOn": day,
        },
        "dataQuality": {
            "representativeness": "stratified by country, sector and seniority",
            "errorRate": 0.004, "completeness": 0.98, "assessedOn": day,
        },
        "technicalDocumentation": {
            "document": doc + "annex-iv.pdf", "annexIvSections": list(range(1, 10)),
            "lastUpdated": day, "version": "2.3",
        },
        "conformityEvidence": {
            "assessmentProcedure": "internal-control",
            "declarationOfConformity": doc + "eu-declaration.pdf", "issuedOn": day,
        },
        "eventLogging": {
            "automatic": True, "retentionDays": 365,
            "events": ["input", "output", "override", "stop"],
        },
        "logTraceability": {
            "events": ["risk situations (Art. 79(1))", "post-market monitoring",
                       "operation monitoring"],
            "receipt": sample_receipt(),
        },
        "transparencyDesign": {
            "outputInterpretation": "scores are calibrated probabilities with top features",
            "explainabilityMethods": ["SHAP summaries"],
        },
        "instructionsForUse": {
            "document": doc + "instructions.pdf", "provider": "Example AI GmbH",
            "contact": "compliance@example.org",
            "intendedPurpose": "ranking job applications for human recruiters",
            "limitations": ["not validated for roles outside the EU"],
        },
        "humanOversight": {
            "measures": ["dashboard with per-decision review", "weekly audit"],
            "assignedTo": "recruitment team leads", "contact": "https://example.org/oversight",
        },
        "overrideControl": {
            "canOverride": True, "canStop": True,
            "safeState": "queue frozen, no automated decisions", "testedOn": day,
        },
        "automationBiasMitigation": {
            "measures": ["confidence shown with every score", "mandatory second look"],
            "trainingProvided": True,
        },
        "accuracyMetrics": {
            "metrics": {"auc": 0.91, "f1": 0.84}, "declaredInInstructions": True,
            "measuredOn": day, "dataset": "test-2026Q2",
        },
        "robustnessTesting": {
            "methods": ["input perturbation", "fault injection"], "testedOn": day,
            "passed": True, "failSafe": "fall back to manual processing",
        },
        "cybersecurityControls": {
            "measures": ["signed model artefacts", "prompt-injection filter",
                         "rate limiting"],
            "threatsAddressed": ["data poisoning", "adversarial examples"],
            "redTeamReport": sample_red_team_report(),
            "assessedOn": day,
        },
    }
    if nested:
        return {"metadata": md}
    return {f"metadata.{k}": v for k, v in md.items()}
