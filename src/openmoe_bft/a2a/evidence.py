"""Where compliance evidence sits in a card, and how it becomes ``evaluate`` input.

Two places, both read:

1. the card's top-level ``metadata`` object (the seed package's convention:
   ``{"metadata": {"riskAssessment": {...}, "x402Receipt": {...}}}``). A2A 1.0 has no
   top-level ``metadata`` on ``AgentCard``, so strict A2A parsers drop it;
2. the params of an A2A extension declared under ``capabilities.extensions`` with the
   URI :data:`EXTENSION_URI` — the spec's own way to carry extra data in a card,
   without forking it::

       "capabilities": {"extensions": [{
           "uri": "https://github.com/CSOAI-ORG/OPENMOE/extensions/openscore/v1",
           "description": "OpenScore compliance evidence (EU AI Act + 14 experts)",
           "required": false,
           "params": {"riskAssessment": {...}, "hitlContact": "mailto:..."}}]}

   ``params`` holds the same bare keys as ``metadata``. In a Task, the same object may
   sit in the task's ``metadata`` under the key :data:`EXTENSION_URI` (A2A's
   convention for extension data in messages and tasks).

A key given in both places with different values is a conflict: it is reported and
the card is not compliant (which value is "the" evidence would otherwise depend on the
reader).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidType
from .types import AgentCard, TaskEnvelope

__all__ = ["EXTENSION_URI", "CollectedEvidence", "collect_card", "collect_task",
           "extract_evidence"]

EXTENSION_URI = "https://github.com/CSOAI-ORG/OPENMOE/extensions/openscore/v1"
"""The A2A extension URI under which a card carries the OpenScore evidence fields."""


@dataclass(frozen=True)
class CollectedEvidence:
    """The merged bare-key evidence (``{"riskAssessment": ...}``), where each key came
    from (``"metadata"``, ``"extension"``, ``"task"``), the conflicts, and problems
    (wrong types) met on the way."""

    values: dict[str, Any]
    sources: dict[str, str]
    conflicts: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def dotted(self) -> dict[str, Any]:
        """``{"metadata.<key>": value}`` for every key (values as given)."""
        return {f"metadata.{k}": v for k, v in self.values.items()}


def _merge(into: dict[str, Any], sources: dict[str, str], conflicts: list[str],
           items: Mapping[str, Any], source: str, *, override: bool = False) -> None:
    for k, v in items.items():
        if type(k) is not str:
            continue
        if k in into and not override:
            if into[k] != v:
                conflicts.append(f"metadata.{k} is given in the card's {sources[k]} and in its "
                                 f"{source} with different values")
            continue
        into[k] = v
        sources[k] = source


def collect_card(doc: Mapping[str, Any]) -> CollectedEvidence:
    """The evidence of a card JSON object: top-level ``metadata`` + extension params."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    conflicts: list[str] = []
    problems: list[str] = []
    md = doc.get("metadata")
    if isinstance(md, Mapping):
        _merge(values, sources, conflicts, md, "metadata")
    elif md is not None:
        problems.append(f"card.metadata is not an object ({type(md).__name__}): ignored")
    caps = doc.get("capabilities")
    exts = caps.get("extensions") if isinstance(caps, Mapping) else None
    if isinstance(exts, (list, tuple)):
        for i, ext in enumerate(exts):
            if not isinstance(ext, Mapping) or ext.get("uri") != EXTENSION_URI:
                continue
            params = ext.get("params")
            if isinstance(params, Mapping):
                _merge(values, sources, conflicts, params, "extension")
            elif params is not None:
                problems.append(f"card.capabilities.extensions[{i}].params is not an object: "
                                "ignored")
    return CollectedEvidence(values, sources, tuple(conflicts), tuple(problems))


def collect_task(task: TaskEnvelope, card_doc: Mapping[str, Any] | None) -> CollectedEvidence:
    """A task's evidence: its agent card's, then the task's ``metadata`` (and the
    task metadata's :data:`EXTENSION_URI` object) on top — the task wins on a key."""
    base = collect_card(card_doc) if card_doc is not None else CollectedEvidence({}, {})
    values = dict(base.values)
    sources = dict(base.sources)
    conflicts = list(base.conflicts)
    problems = list(base.problems)
    md = task.metadata
    own = {k: v for k, v in md.items() if k != EXTENSION_URI}
    _merge(values, sources, conflicts, own, "task", override=True)
    ext = md.get(EXTENSION_URI)
    if isinstance(ext, Mapping):
        _merge(values, sources, conflicts, ext, "task", override=True)
    elif ext is not None:
        problems.append(f"task.metadata[{EXTENSION_URI!r}] is not an object: ignored")
    return CollectedEvidence(values, sources, tuple(conflicts), tuple(problems))


def _card_doc(card: Any) -> Mapping[str, Any]:
    if isinstance(card, AgentCard):
        return card._document()
    if isinstance(card, Mapping):
        return card
    raise InvalidType("expected an AgentCard, a TaskEnvelope or a dict, got "
                      f"{type(card).__name__}", argument="card")


def extract_evidence(card_or_task: AgentCard | TaskEnvelope | Mapping[str, Any], *,
                     values: bool = False) -> dict[str, Any]:
    """Flatten a card's (or task's) evidence into dotted ``"metadata.<field>"`` keys.

    By default this is the seed's form: every truthy value becomes ``True`` and falsy
    values are dropped (``{"metadata.riskAssessment": True}``). With ``values=True``
    the values are kept as given (falsy ones too), which is what
    :func:`openmoe_bft.eu_ai_act.evaluate` needs to validate structured evidence field
    by field; :func:`~openmoe_bft.a2a.validate_card` uses that form.

    Evidence is read from the card's ``metadata`` and from the params of the
    :data:`EXTENSION_URI` extension; for a :class:`TaskEnvelope` the task's metadata is
    merged over its agent card's (the task wins).
    """
    if isinstance(card_or_task, TaskEnvelope):
        agent = card_or_task.agent
        doc = agent._document() if isinstance(agent, AgentCard) else None
        collected = collect_task(card_or_task, doc)
    else:
        collected = collect_card(_card_doc(card_or_task))
    if values:
        return collected.dotted()
    return {f"metadata.{k}": True for k, v in collected.values.items() if _truthy(v)}


def _truthy(v: Any) -> bool:
    try:
        return bool(v)
    except Exception:  # a hostile object's __bool__
        return False
