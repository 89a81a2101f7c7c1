"""The one seam between A2A validation and the 14-expert registry.

:func:`check_experts` is the only place that calls :mod:`openmoe_bft.experts`. When
that module (``check_experts(evidence, *, keys=None) -> ExpertsReport(covered,
missing, invalid, verdicts)`` and ``EXPERTS``) is importable it is used; until then a
built-in fallback with the seed's rule (a truthy value under the expert's field
covers it) keeps validation working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ExpertCoverage", "check_experts", "expert_table"]

# The 14 OpenScore experts (SPEC module 11): id, name, metadata field.
_FALLBACK = (
    (1, "EU AI Act Compliance", "riskAssessment"),
    (2, "NIST RMF Risk Scoring", "nistRmfScore"),
    (3, "DORA/NIS2 Incident Taxonomy", "ictRiskFramework"),
    (4, "Neurorights/GDPR Art 9", "neurorightsPolicy"),
    (5, "x402 Payment Validation", "x402Receipt"),
    (6, "MCP Tool Attestation", "mcpAttestation"),
    (7, "Blockchain Verification", "blockchainAnchor"),
    (8, "Human-in-the-Loop Gate", "hitlContact"),
    (9, "Red Team Automation", "redTeamReport"),
    (10, "Blue Team Defense", "blueTeamStatus"),
    (11, "Continuous Monitoring", "continuousMonitoring"),
    (12, "Fuzzing/Mutation", "fuzzingReport"),
    (13, "Autonomous Auditor", "autonomousAudit"),
    (14, "Web Crawler/Extractor", "webExtractionPolicy"),
)


@dataclass(frozen=True)
class ExpertCoverage:
    covered: list[int]
    missing: list[int]
    invalid: list[int]
    reasons: dict[int, str]


@lru_cache(maxsize=1)
def _registry() -> tuple[Any, Any]:
    """``(EXPERTS, check_experts)`` from :mod:`openmoe_bft.experts`, or Nones (looked up
    once per process: a failed import is not retried on every card)."""
    try:
        from ..experts import EXPERTS, check_experts
    except ImportError:
        return None, None
    return EXPERTS, check_experts


@lru_cache(maxsize=1)
def expert_table() -> tuple[tuple[int, str, str], ...]:
    """``(expert_id, name, bare metadata field)`` for the 14 experts, in order."""
    experts = _registry()[0]
    if experts is None:
        return _FALLBACK
    return tuple((e.expert_id, e.name, e.a2a_field.split(".", 1)[-1]) for e in experts)


def _reason(verdict: Any) -> str:
    for attr in ("reason", "reasons", "errors", "message"):
        v = getattr(verdict, attr, None)
        if isinstance(v, str) and v:
            return v
        if isinstance(v, (list, tuple)) and v:
            return "; ".join(str(x) for x in v[:4])
    return "invalid"


def check_experts(values: Mapping[str, Any], *, keys: Any = None) -> ExpertCoverage:
    """Coverage of the 14 experts over bare-key evidence values (``{"x402Receipt": ...}``)."""
    registry_check = _registry()[1]
    if registry_check is not None:
        report = registry_check({"metadata": dict(values)}, keys=keys)
        reasons: dict[int, str] = {}
        verdicts = getattr(report, "verdicts", ()) or ()
        items = verdicts.values() if isinstance(verdicts, Mapping) else verdicts
        invalid = sorted(int(i) for i in report.invalid)
        for v in items:
            eid = getattr(v, "expert_id", None)
            if eid in invalid:
                reasons[eid] = _reason(v)
        return ExpertCoverage(sorted(int(i) for i in report.covered),
                              sorted(int(i) for i in report.missing), invalid, reasons)
    covered, missing = [], []
    for eid, _name, key in _FALLBACK:
        v = values.get(key)
        try:
            ok = bool(v)
        except Exception:
            ok = False
        (covered if ok else missing).append(eid)
    return ExpertCoverage(covered, missing, [], {})
