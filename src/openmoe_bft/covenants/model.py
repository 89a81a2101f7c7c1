"""The covenant data model: :class:`Covenant`, :class:`Action`, :class:`Breach`, :class:`Verdict`.

A covenant is content-addressed: ``covenant_id`` (= ``inscription_hash``) is the
SHA-256 hex digest of the RFC 8785 canonical JSON of its declared content
(``agent_id``, the *sorted* ``allowed_actions``, ``constraints``, ``timestamp`` and,
when set, ``expires_at``). The order of ``allowed_actions`` and of constraint keys is
irrelevant; changing anything else changes the id.

Severities (the seed's): an action outside ``allowed_actions``, by an agent with no
covenant, or after the covenant expired is ``"critical"``; a constraint violation is
``"major"``; ``"minor"`` is free for callers' own rules.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType
from .constraints import Evaluator, evaluate_constraints

__all__ = [
    "Action",
    "Breach",
    "Covenant",
    "Verdict",
    "SEVERITIES",
    "SEVERITY_PENALTY",
    "NO_ACTION_BASELINE",
    "NO_COVENANT",
]

SEVERITY_PENALTY: Mapping[str, float] = MappingProxyType(
    {"critical": 0.5, "major": 0.2, "minor": 0.05}
)
"""Trust subtracted from 1.0 per breach of each severity (the seed's weights)."""

SEVERITIES: tuple[str, ...] = ("minor", "major", "critical")

NO_ACTION_BASELINE: float = 0.5
"""Own trust of an agent that has not acted yet: unproven, neither trusted nor distrusted."""

NO_COVENANT = "no covenant inscribed"
"""The reason of the breach of an agent acting without a covenant (the seed's text)."""


def _nonempty_str(value: Any, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidType(f"expected a non-empty str, got {type(value).__name__} {value!r:.60}",
                          argument=argument)
    return value


def _timestamp(value: Any, argument: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidType(f"expected an int or float (seconds), got {type(value).__name__}",
                          argument=argument)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"expected a finite time, got {value!r}", argument=argument)
    return value


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(dict(mapping)))


def _plain(value: Any) -> Any:
    """A deep plain-dict copy (mapping proxies become dicts)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Action:
    """One action an agent takes, audited against its covenant.

    ``payload`` carries what constraints look at (``cost_usd`` for ``max_cost_usd``,
    ``url`` / ``domain`` for ``allowed_domains``, ``tool`` / ``tools`` for
    ``allowed_tools``); ``timestamp`` is seconds (rate limits and time windows use it).
    """

    action_id: str
    agent_id: str
    action_name: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    timestamp: int | float = 0

    def __post_init__(self) -> None:
        _nonempty_str(self.action_id, "action_id")
        _nonempty_str(self.agent_id, "agent_id")
        _nonempty_str(self.action_name, "action_name")
        if not isinstance(self.payload, Mapping):
            raise InvalidType(f"payload must be a dict, got {type(self.payload).__name__}",
                              argument="payload")
        _timestamp(self.timestamp, "timestamp")

    def to_dict(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "agent_id": self.agent_id,
                "action_name": self.action_name, "payload": _plain(self.payload),
                "timestamp": self.timestamp}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        if not isinstance(data, Mapping):
            raise InvalidType(f"an action is a JSON object, got {type(data).__name__}",
                              argument="action")
        missing = [k for k in ("action_id", "agent_id", "action_name") if k not in data]
        if missing:
            raise InvalidInput(f"action lacks {missing}", argument="action")
        return cls(action_id=data["action_id"], agent_id=data["agent_id"],
                   action_name=data["action_name"], payload=data.get("payload") or {},
                   timestamp=data.get("timestamp", 0))


@dataclass(frozen=True)
class Breach:
    """A covenant violation; ``severity`` (``minor``/``major``/``critical``) sets the penalty.

    ``constraint`` names what was violated: ``"covenant"`` (none inscribed),
    ``"expires_at"``, ``"agent_id"``, ``"allowed_actions"`` or a constraint key
    such as ``"max_cost_usd"``.
    """

    action_id: str
    agent_id: str
    covenant_id: str | None
    reason: str
    severity: str
    timestamp: int | float
    constraint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "agent_id": self.agent_id,
                "covenant_id": self.covenant_id, "reason": self.reason,
                "severity": self.severity, "timestamp": self.timestamp,
                "constraint": self.constraint}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Breach:
        return cls(**{k: data[k] for k in ("action_id", "agent_id", "covenant_id", "reason",
                                           "severity", "timestamp")},
                   constraint=data.get("constraint", ""))


@dataclass(frozen=True)
class Verdict:
    """The audit of one action: compliant, or which constraint it violated and why.

    ``constraint`` / ``reason`` / ``severity`` describe the first violation (critical
    checks first, then constraints in sorted key order); ``violations`` lists all of
    them as ``(constraint, reason)``. ``unchecked`` names constraint keys that no
    evaluator understands (they are not enforced; pass ``evaluators=`` to enforce them).
    """

    action_id: str
    agent_id: str
    covenant_id: str | None
    compliant: bool
    severity: str | None = None
    constraint: str | None = None
    reason: str = "compliant"
    violations: tuple[tuple[str, str], ...] = ()
    unchecked: tuple[str, ...] = ()
    timestamp: int | float = 0

    @property
    def breach(self) -> Breach | None:
        """The :class:`Breach` this verdict amounts to (None when compliant)."""
        if self.compliant:
            return None
        assert self.severity is not None
        return Breach(self.action_id, self.agent_id, self.covenant_id, self.reason,
                      self.severity, self.timestamp, self.constraint or "")

    def to_dict(self) -> dict[str, Any]:
        return {"action_id": self.action_id, "agent_id": self.agent_id,
                "covenant_id": self.covenant_id, "compliant": self.compliant,
                "severity": self.severity, "constraint": self.constraint,
                "reason": self.reason, "violations": [list(v) for v in self.violations],
                "unchecked": list(self.unchecked), "timestamp": self.timestamp}


def _critical(action: Action, covenant_id: str | None, constraint: str, reason: str) -> Verdict:
    return Verdict(action.action_id, action.agent_id, covenant_id, False, "critical",
                   constraint, reason, ((constraint, reason),), (), action.timestamp)


def no_covenant_verdict(action: Action) -> Verdict:
    """The verdict on an action by an agent that has no covenant (critical)."""
    return _critical(action, None, "covenant", NO_COVENANT)


def inscription_hash(agent_id: str, allowed_actions: Iterable[str], constraints: Mapping[str, Any],
                     timestamp: int | float, expires_at: int | float | None = None) -> str:
    """SHA-256 hex of the canonical content of a covenant (see the module docstring)."""
    content: dict[str, Any] = {
        "agent_id": agent_id,
        "allowed_actions": sorted(allowed_actions),
        "constraints": _plain(constraints),
        "timestamp": timestamp,
    }
    if expires_at is not None:
        content["expires_at"] = expires_at
    return hashlib.sha256(canonical_json(content)).hexdigest()


@dataclass(frozen=True, eq=False)
class Covenant:
    """An agent's pre-commitment: the actions it may take and the limits it accepts.

    Build one with :meth:`inscribe`. ``constraints`` is declarative JSON, read-only::

        {"max_cost_usd": 1.0,                              # payload["cost_usd"] <= 1.0
         "allowed_domains": ["example.org"],               # payload url / domain host
         "allowed_tools": ["search", "fetch"],             # payload tool / tools
         "rate_limit": {"max_actions": 10, "per_seconds": 60},
         "time_window": {"start": t0, "end": t1, "hours_utc": [9, 17]}}

    Other keys are enforced by evaluators you pass to :meth:`audit` /
    :class:`~openmoe_bft.covenants.CovenantRegistry` (see
    :mod:`openmoe_bft.covenants.constraints`).
    """

    covenant_id: str
    agent_id: str
    allowed_actions: frozenset[str]
    constraints: Mapping[str, Any]
    timestamp: int | float
    inscription_hash: str
    expires_at: int | float | None = None

    @classmethod
    def inscribe(
        cls,
        *,
        agent_id: str,
        allowed_actions: Iterable[str],
        timestamp: int | float | None = None,
        constraints: Mapping[str, Any] | None = None,
        expires_at: int | float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Covenant:
        """Build a content-addressed covenant (``timestamp`` defaults to ``clock()``).

        Refuses a non-JSON ``constraints``, an empty or non-str action name, and an
        ``expires_at`` before ``timestamp``. To seal it as a receipt, inscribe it in a
        :class:`~openmoe_bft.covenants.CovenantRegistry` with ``audit=`` or call
        :meth:`seal`.
        """
        _nonempty_str(agent_id, "agent_id")
        if isinstance(allowed_actions, (str, bytes)) or not isinstance(allowed_actions, Iterable):
            raise InvalidType("allowed_actions must be a set / list of action names",
                              argument="allowed_actions")
        allowed = frozenset(allowed_actions)
        for name in allowed:
            _nonempty_str(name, "allowed_actions")
        ts = _timestamp(clock() if timestamp is None else timestamp, "timestamp")
        if constraints is None:
            constraints = {}
        if not isinstance(constraints, Mapping):
            raise InvalidType(f"constraints must be a dict, got {type(constraints).__name__}",
                              argument="constraints")
        if expires_at is not None and _timestamp(expires_at, "expires_at") < ts:
            raise InvalidInput(f"expires_at {expires_at} is before the inscription time {ts}",
                               argument="expires_at")
        from .constraints import validate_constraints

        validate_constraints(constraints)
        h = inscription_hash(agent_id, allowed, constraints, ts, expires_at)
        return cls(h, agent_id, allowed, _frozen(constraints), ts, h, expires_at)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Covenant) and other.covenant_id == self.covenant_id

    def __hash__(self) -> int:
        return hash(self.covenant_id)

    def verify(self) -> bool:
        """True when ``covenant_id`` is the hash of this covenant's content."""
        return self.covenant_id == self.inscription_hash == inscription_hash(
            self.agent_id, self.allowed_actions, self.constraints, self.timestamp,
            self.expires_at)

    def audit(
        self,
        action: Action,
        *,
        history: Iterable[Action] = (),
        evaluators: Mapping[str, Evaluator] | None = None,
    ) -> Verdict:
        """Audit ``action`` against this covenant; deterministic for the same inputs.

        ``history`` is the agent's earlier actions (rate limits count them);
        ``evaluators`` maps extra constraint keys to callables (see
        :mod:`~openmoe_bft.covenants.constraints`).
        """
        if not isinstance(action, Action):
            raise InvalidType(f"expected an Action, got {type(action).__name__}", argument="action")
        cid = self.covenant_id
        if action.agent_id != self.agent_id:
            return _critical(action, cid, "agent_id",
                             f"action by {action.agent_id!r} is not covered by the covenant of "
                             f"{self.agent_id!r}")
        if self.expires_at is not None and action.timestamp > self.expires_at:
            return _critical(action, cid, "expires_at",
                             f"covenant expired at {self.expires_at}; action at "
                             f"{action.timestamp}: inscribe a new covenant")
        if action.action_name not in self.allowed_actions:
            return _critical(action, cid, "allowed_actions",
                             f"unknown action {action.action_name!r}: not in allowed_actions "
                             f"{sorted(self.allowed_actions)!r}")
        violations, unchecked = evaluate_constraints(self.constraints, action, tuple(history),
                                                     evaluators)
        if not violations:
            return Verdict(action.action_id, action.agent_id, cid, True, unchecked=unchecked,
                           timestamp=action.timestamp)
        constraint, reason = violations[0]
        return Verdict(action.action_id, action.agent_id, cid, False, "major", constraint,
                       reason, violations, unchecked, action.timestamp)

    def to_dict(self) -> dict[str, Any]:
        return {"covenant_id": self.covenant_id, "agent_id": self.agent_id,
                "allowed_actions": sorted(self.allowed_actions),
                "constraints": _plain(self.constraints), "timestamp": self.timestamp,
                "expires_at": self.expires_at, "inscription_hash": self.inscription_hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Covenant:
        """Rebuild a covenant from :meth:`to_dict`; refuses one whose id does not match."""
        cov = cls.inscribe(agent_id=data["agent_id"], allowed_actions=data["allowed_actions"],
                           constraints=data.get("constraints") or {},
                           timestamp=data["timestamp"], expires_at=data.get("expires_at"))
        claimed = data.get("covenant_id")
        if claimed is not None and claimed != cov.covenant_id:
            raise InvalidInput(f"covenant_id {claimed!r} does not match its content "
                               f"(hash {cov.covenant_id!r}): it was altered", argument="covenant")
        return cov

    def seal(self, chain: Any, *, signer_key: Any = None) -> Any:
        """Append this inscription to an :class:`~openmoe_bft.receipts.AuditChain`."""
        return chain.append({"type": "covenant.inscribed", "covenant": self.to_dict()},
                            trace_id=self.covenant_id, timestamp=self.timestamp,
                            signer_key=signer_key)

    def __repr__(self) -> str:
        return (f"Covenant(agent_id={self.agent_id!r}, allowed_actions="
                f"{sorted(self.allowed_actions)!r}, constraints={dict(self.constraints)!r}, "
                f"covenant_id={self.covenant_id[:12]!r}...)")
