"""The value types of a red-team scan: messages, tool calls, probes, verdicts, attempts.

A *probe* is one concrete attack (a prompt or a short scripted conversation plus a
detector); a *strategy* owns several probes; an *attempt* is one probe run against one
target and is what the JSON Lines log records.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "VALID_CATEGORIES",
    "VALID_SEVERITIES",
    "SEVERITY_WEIGHTS",
    "OUTCOMES",
    "Message",
    "ToolSpec",
    "ToolCall",
    "TargetResponse",
    "Verdict",
    "Probe",
    "Attempt",
    "Detector",
]

VALID_CATEGORIES: tuple[str, ...] = (
    "prompt_injection", "jailbreak", "multi_turn", "api_abuse", "data_exfil",
)
VALID_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")
SEVERITY_WEIGHTS: dict[str, int] = {"low": 1, "medium": 2, "high": 4, "critical": 8}

#: How an attempt ended. ``landed``: the detector saw the attack succeed.
#: ``defended``: the target answered and no detector fired. ``error`` / ``timeout``:
#: no usable answer after every retry -- *inconclusive*, neither landed nor defended.
OUTCOMES: tuple[str, ...] = ("landed", "defended", "error", "timeout")


@dataclass(frozen=True)
class Message:
    """One chat message (``role`` is ``system``, ``user`` or ``assistant``)."""

    role: str
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class ToolSpec:
    """A tool offered to the target (OpenAI function-tool shape).

    ``admin_only`` and ``owner_arg`` are what the authorisation detectors check:
    a call to an ``admin_only`` tool by a non-admin session is function-level abuse
    (BFLA); a call whose ``owner_arg`` names an object the session does not own is
    object-level abuse (IDOR / BOLA).
    """

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    admin_only: bool = False
    owner_arg: str | None = None

    def to_openai(self) -> dict[str, Any]:
        params = dict(self.parameters) or {"type": "object", "properties": {}}
        return {"type": "function",
                "function": {"name": self.name, "description": self.description,
                             "parameters": params}}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "parameters": dict(self.parameters), "admin_only": self.admin_only,
                "owner_arg": self.owner_arg}


@dataclass(frozen=True)
class ToolCall:
    """A tool call the target asked for (it is recorded, never executed)."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": dict(self.arguments)}


@dataclass(frozen=True)
class TargetResponse:
    """What a target answered: its text and any tool calls it requested."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "tool_calls": [c.to_dict() for c in self.tool_calls]}


@dataclass(frozen=True)
class Verdict:
    """A detector's verdict on one response.

    ``method`` says how it decided (``canary``, ``tool_authz``, ``decoded_canary``,
    ``pii``, ``structure``, ``heuristic``, ``judge``...), so a reader can weigh it.
    """

    landed: bool
    detector: str
    reason: str
    method: str = "canary"
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"landed": self.landed, "detector": self.detector, "reason": self.reason,
                "method": self.method, "evidence": dict(self.evidence)}


Detector = Callable[[TargetResponse], Verdict]
#: An adaptive probe's next user turn from the conversation so far (``None`` stops).
NextTurn = Callable[[Sequence[Message]], str | None | Awaitable[str | None]]


@dataclass(frozen=True)
class Probe:
    """One concrete attack.

    ``turns`` are the user messages sent in order (one for a single-turn probe); an
    adaptive probe gives ``next_turn`` instead (an attacker that sees the conversation)
    and ``max_turns``. After every answer the ``detector`` judges the latest response;
    the attack has landed as soon as it fires. ``session`` is the application context
    the target is told it serves (user, role, owned objects), sent as a system message
    to targets that take messages. ``tools`` are offered to the target.
    """

    id: str
    technique: str
    turns: tuple[str, ...]
    detector: Detector
    tools: tuple[ToolSpec, ...] = ()
    session: Mapping[str, Any] | None = None
    owasp: tuple[str, ...] = ()
    next_turn: NextTurn | None = None
    max_turns: int = 0

    @property
    def planned_requests(self) -> int:
        """How many target calls this probe makes at most."""
        return self.max_turns if self.next_turn is not None else len(self.turns)


@dataclass(frozen=True)
class Attempt:
    """One probe run against one target: the unit of the JSON Lines log."""

    strategy_id: str
    probe_id: str
    category: str
    severity: str
    technique: str
    owasp: tuple[str, ...]
    target_id: str
    outcome: str
    transcript: tuple[Message, ...]
    responses: tuple[TargetResponse, ...]
    verdict: Verdict | None
    error: str | None
    started_at: float
    elapsed_s: float
    requests: int
    retries: int

    @property
    def landed(self) -> bool:
        return self.outcome == "landed"

    @property
    def conclusive(self) -> bool:
        return self.outcome in ("landed", "defended")

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy_id": self.strategy_id, "probe_id": self.probe_id,
            "category": self.category, "severity": self.severity,
            "technique": self.technique, "owasp": list(self.owasp),
            "target_id": self.target_id, "outcome": self.outcome,
            "transcript": [m.to_dict() for m in self.transcript],
            "responses": [r.to_dict() for r in self.responses],
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "error": self.error, "started_at": self.started_at,
            "elapsed_s": self.elapsed_s, "requests": self.requests, "retries": self.retries,
        }
