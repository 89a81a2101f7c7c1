"""The seed's shapes: :class:`AttackStrategy` and :class:`AttackResult`.

A strategy either *generates probes* (ours: ``generate(context) -> [Probe, ...]``, run
by the async engine with concurrency, timeouts and retries) or carries a seed-style
``probe`` callable (``.with_probe(fn)``), which then takes precedence::

    probe(target, context) -> AttackResult | bool | dict | (bool, evidence)

``target`` is whatever was passed to ``run`` / ``scan`` and ``context`` the caller's
dict (or ``{}``). A bool means "the attack succeeded"; a dict may hold ``succeeded``
plus evidence; an ``AttackResult`` is used as it is. The probe may be a coroutine
function; a sync one runs in a worker thread under the scan's timeout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput, InvalidType
from .owasp import check_owasp_ids
from .types import VALID_CATEGORIES, VALID_SEVERITIES, Attempt, Probe

__all__ = ["AttackStrategy", "AttackResult", "ProbeContext"]


@dataclass(frozen=True)
class ProbeContext:
    """What a strategy's probe generator may use.

    ``seed`` makes canaries and mutations reproducible; ``canaries`` are strings the
    operator planted in the target's system prompt (leaks of them are detected
    exactly); ``attacker`` is an optional LLM callable ``attacker(goal, conversation)
    -> next prompt`` (sync or async); ``judge`` an optional ``judge(text) -> bool |
    score``; ``attacker_turns`` bounds an adaptive attack.
    """

    seed: int = 0
    canaries: tuple[str, ...] = ()
    attacker: Callable[..., Any] | None = None
    judge: Callable[[str], Any] | None = None
    attacker_turns: int = 4
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttackStrategy:
    """A named attack with its category, severity and OWASP mapping.

    ``severity_if_successful`` is one of ``low``/``medium``/``high``/``critical``.
    ``generate(context)`` returns the strategy's probes; ``probe`` is the seed's
    single-callable form (see the module docstring).
    """

    id: str
    name: str
    category: str
    description: str
    severity_if_successful: str
    probe: Callable[..., Any] | None = None
    owasp: tuple[str, ...] = ()
    generate: Callable[[ProbeContext], Sequence[Probe]] | None = None

    def __post_init__(self) -> None:
        for attr in ("id", "name"):
            v = getattr(self, attr)
            if not isinstance(v, str) or not v.strip():
                raise InvalidInput(f"a strategy needs a non-empty string {attr}, got {v!r}",
                                   argument=attr)
        if self.category not in VALID_CATEGORIES:
            raise InvalidInput(f"category {self.category!r} is not one of "
                               f"{', '.join(VALID_CATEGORIES)}", argument="category")
        if self.severity_if_successful not in VALID_SEVERITIES:
            raise InvalidInput(f"severity {self.severity_if_successful!r} is not one of "
                               f"{', '.join(VALID_SEVERITIES)}",
                               argument="severity_if_successful")
        if self.probe is not None and not callable(self.probe):
            raise InvalidType("probe must be callable(target, context)", argument="probe")
        if self.generate is not None and not callable(self.generate):
            raise InvalidType("generate must be callable(ProbeContext)", argument="generate")
        object.__setattr__(self, "owasp", check_owasp_ids(tuple(self.owasp)))

    def with_probe(self, fn: Callable[..., Any]) -> AttackStrategy:
        """A copy that runs ``fn(target, context)`` instead of the generated probes."""
        if not callable(fn):
            raise InvalidType("with_probe needs a callable(target, context)", argument="fn")
        return dataclasses.replace(self, probe=fn)

    def probes(self, context: ProbeContext | None = None) -> list[Probe]:
        """The probes this strategy runs (empty for a seed-style or probe-less one)."""
        if self.generate is None:
            return []
        return list(self.generate(context or ProbeContext()))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "category": self.category,
                "description": self.description,
                "severity_if_successful": self.severity_if_successful,
                "owasp": list(self.owasp)}


@dataclass(frozen=True)
class AttackResult:
    """One strategy's outcome against one target (the seed's shape).

    ``succeeded`` -- at least one probe landed. ``status`` -- ``landed``,
    ``defended`` or ``inconclusive`` (every probe errored or timed out, so nothing can
    be said). ``attempts`` -- the per-probe records (empty for a seed-style probe).
    """

    strategy_id: str
    target_id: str
    succeeded: bool
    severity: str
    evidence: Any
    timestamp: float
    category: str = ""
    owasp: tuple[str, ...] = ()
    status: str = ""
    attempts: tuple[Attempt, ...] = ()

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "landed" if self.succeeded else "defended")

    @property
    def conclusive(self) -> bool:
        return self.status != "inconclusive"

    @property
    def landed_fraction(self) -> float:
        """Share of conclusive probes that landed (1/0 for a single seed-style result)."""
        done = [a for a in self.attempts if a.conclusive]
        if not done:
            return 1.0 if self.succeeded else 0.0
        return sum(a.landed for a in done) / len(done)

    def to_dict(self, *, attempts: bool = True) -> dict[str, Any]:
        d = {"strategy_id": self.strategy_id, "target_id": self.target_id,
             "succeeded": self.succeeded, "severity": self.severity,
             "evidence": _jsonable(self.evidence), "timestamp": self.timestamp,
             "category": self.category, "owasp": list(self.owasp), "status": self.status,
             "landed_fraction": self.landed_fraction}
        if attempts:
            d["attempts"] = [a.to_dict() for a in self.attempts]
        return d


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if hasattr(v, "to_dict"):
        return _jsonable(v.to_dict())
    return repr(v)
