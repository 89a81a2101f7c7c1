"""The A2A wire shapes the validator reads: :class:`AgentCard` and :class:`TaskEnvelope`.

Both are thin, frozen views: they keep the seed package's fields (``name``,
``description``, ``version``, ``url``, ``capabilities``, ``skills``, ``metadata``
and ``extra`` for everything else) and, when built with ``from_dict``, the exact
document they came from, so validation and signature checks see the card as
published. Building one never raises on a field of the wrong type: the field keeps
its default and the validator reports the problem from the original document.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidType

__all__ = ["AgentCard", "TaskEnvelope"]

_SEED_FIELDS = ("name", "description", "version", "url", "capabilities", "skills", "metadata")


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _dict(v: Any) -> dict[str, Any]:
    return dict(v) if isinstance(v, Mapping) else {}


def _list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, (list, tuple)) else []


@dataclass(frozen=True)
class AgentCard:
    """An A2A Agent Card (the seed's fields; every other JSON field is in ``extra``).

    ``AgentCard(name="a", metadata={"riskAssessment": {...}})`` builds one by hand;
    :meth:`from_dict` reads a published card (A2A 1.0 or 0.3 JSON) and keeps it
    whole for :meth:`to_dict`.
    """

    name: str = ""
    description: str = ""
    version: str = ""
    url: str = ""
    capabilities: dict[str, Any] = field(default_factory=dict)
    skills: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    _source: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AgentCard:
        """Build a card from a JSON object; unknown fields go to ``extra``."""
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InvalidType(f"an agent card must be a JSON object, got {type(data).__name__}",
                              argument="card")
        return cls(
            name=_str(data.get("name")), description=_str(data.get("description")),
            version=_str(data.get("version")), url=_str(data.get("url")),
            capabilities=_dict(data.get("capabilities")), skills=_list(data.get("skills")),
            metadata=_dict(data.get("metadata")),
            extra={k: v for k, v in data.items() if k not in _SEED_FIELDS},
            _source=data,
        )

    @property
    def id(self) -> str:
        """A stable identifier: ``url`` (0.3), else the first interface URL, else ``name``."""
        if self.url:
            return self.url
        for iface in _list(self.extra.get("supportedInterfaces")):
            if isinstance(iface, Mapping) and isinstance(iface.get("url"), str):
                return iface["url"]
        return self.name

    @property
    def supported_interfaces(self) -> list[Any]:
        return _list(self.extra.get("supportedInterfaces"))

    @property
    def signatures(self) -> list[Any]:
        return _list(self.extra.get("signatures"))

    @property
    def extensions(self) -> list[Any]:
        return _list(self.capabilities.get("extensions"))

    def _document(self) -> Mapping[str, Any]:
        """The card as a JSON object, not copied (internal: do not mutate)."""
        if self._source is not None:
            return self._source
        doc: dict[str, Any] = {}
        for name in _SEED_FIELDS:
            value = getattr(self, name)
            if value:
                doc[name] = value
        for k, v in self.extra.items():
            doc.setdefault(k, v)
        return doc

    def to_dict(self) -> dict[str, Any]:
        """The card as a JSON object (a copy): the original document when read with
        :meth:`from_dict`, else the non-empty fields plus ``extra``."""
        return copy.deepcopy(dict(self._document()))


@dataclass(frozen=True)
class TaskEnvelope:
    """An A2A task payload: ``task_id``, the ``agent`` (a card, or its id/URL string),
    the task's ``input`` and its ``metadata`` (per-task evidence, same keys as a card's).

    :meth:`from_dict` reads the seed's shape (``task_id``, ``agent``, ``input``,
    ``metadata``) and an A2A ``Task`` object (``id``, ``status``, ``metadata``, ...).
    """

    task_id: str = ""
    agent: AgentCard | str | None = None
    input: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TaskEnvelope:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise InvalidType(f"a task must be a JSON object, got {type(data).__name__}",
                              argument="task")
        raw_agent = data.get("agent")
        agent: AgentCard | str | None
        if isinstance(raw_agent, Mapping):
            agent = AgentCard.from_dict(raw_agent)
        elif isinstance(raw_agent, (AgentCard, str)):
            agent = raw_agent
        else:
            agent = None
        task_id = data.get("task_id") or data.get("taskId") or data.get("id") or ""
        return cls(
            task_id=task_id if isinstance(task_id, str) else "",
            agent=agent, input=_dict(data.get("input")), metadata=_dict(data.get("metadata")),
            extra={k: v for k, v in data.items()
                   if k not in ("task_id", "taskId", "id", "agent", "input", "metadata")},
        )

    def to_dict(self) -> dict[str, Any]:
        agent: Any = self.agent.to_dict() if isinstance(self.agent, AgentCard) else self.agent
        return copy.deepcopy({"task_id": self.task_id, "agent": agent, "input": self.input,
                              "metadata": self.metadata, **self.extra})
