"""The one seam between A2A validation and the 14-expert registry
(:mod:`openmoe_bft.experts`, imported on first use)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["ExpertCoverage", "check_experts", "expert_table"]

@dataclass(frozen=True)
class ExpertCoverage:
    covered: list[int]
    missing: list[int]
    invalid: list[int]
    reasons: dict[int, str]


@lru_cache(maxsize=1)
def expert_table() -> tuple[tuple[int, str, str], ...]:
    """``(expert_id, name, bare metadata field)`` for the 14 experts, in order."""
    from ..experts import EXPERTS

    return tuple((e.expert_id, e.name, e.field) for e in EXPERTS)


def check_experts(values: Mapping[str, Any], *, keys: Any = None, today: Any = None) -> ExpertCoverage:
    """Coverage of the 14 experts over bare-key evidence values (``{"x402Receipt": ...}``),
    judged by :func:`openmoe_bft.experts.check_experts` (dates against ``today``)."""
    from ..experts import check_experts as registry_check

    report = registry_check({"metadata": dict(values)}, keys=keys, today=today)
    invalid = sorted(int(i) for i in report.invalid)
    reasons = {v.expert_id: v.reason for v in report.verdicts if v.expert_id in invalid}
    return ExpertCoverage(sorted(int(i) for i in report.covered),
                          sorted(int(i) for i in report.missing), invalid, reasons)
