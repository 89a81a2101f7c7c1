"""The records of the L0–L3 pyramid, the plug-in signatures and the result types.

Every record is a frozen dataclass: lists given for provenance fields are kept as
tuples (so ``"atom-x" in scenario.atom_ids`` works either way) and ``to_dict()``
gives plain JSON-able data. Ids are content-derived (:func:`event_id`) or chosen by
the plug-ins; timestamps are always supplied by the caller.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InvalidInput, InvalidType

__all__ = [
    "ALL_TIERS",
    "L0",
    "L1",
    "L2",
    "L3",
    "Aggregator",
    "Atom",
    "Clusterer",
    "DreamStats",
    "Extractor",
    "MemoryEvent",
    "PersonaTrait",
    "RecallHit",
    "Scenario",
    "digest_id",
    "event_id",
]

#: Tier names (the values ``recall(tiers=...)`` takes).
L0, L1, L2, L3 = "L0", "L1", "L2", "L3"
ALL_TIERS = (L0, L1, L2, L3)


def digest_id(prefix: str, *parts: str) -> str:
    """Deterministic short id ``prefix-<first 12 hex of SHA-256 of the parts>``."""
    h = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}-{h[:12]}"


def event_id(timestamp: float, role: str, content: str) -> str:
    """The seed's content-derived id of a raw event (same inputs, same id)."""
    return digest_id("ev", repr(timestamp), role, content)


def _text(value: Any, name: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidType(f"expected str, got {type(value).__name__}", argument=name)
    if not empty and not value.strip():
        raise InvalidInput("must not be empty", argument=name)
    return value


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidType(f"expected a number, got {type(value).__name__}", argument=name)
    if not math.isfinite(value):
        raise InvalidInput(f"must be finite, got {value!r}", argument=name)
    return value


def _unit(value: Any, name: str) -> float:
    v = _number(value, name)
    if not 0.0 <= v <= 1.0:
        raise InvalidInput(f"must be in [0, 1], got {value!r}", argument=name)
    return v


def _ids(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, set, frozenset)):
        raise InvalidType(f"expected a list of ids, got {type(value).__name__}", argument=name)
    out = tuple(value)
    for v in out:
        _text(v, name)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class MemoryEvent:
    """L0 — one raw conversation event (``role`` e.g. "user", "assistant", "system")."""

    id: str
    timestamp: float
    role: str
    content: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _text(self.id, "id")
        _number(self.timestamp, "timestamp")
        _text(self.role, "role")
        _text(self.content, "content", empty=True)
        if not isinstance(self.meta, Mapping):
            raise InvalidType(f"expected a dict, got {type(self.meta).__name__}", argument="meta")
        object.__setattr__(self, "meta", dict(self.meta))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Atom:
    """L1 — an atomic fact distilled from raw events.

    ``key`` (optional) names the slot the fact fills, e.g. ``"user.location"``: of
    the atoms sharing a key only the newest is active; the older ones stay stored
    with ``superseded_by`` set (set by the pyramid, not by extractors).
    """

    id: str
    source_event_ids: Sequence[str]
    text: str
    salience: float
    timestamp: float
    key: str | None = None
    superseded_by: str | None = None

    def __post_init__(self) -> None:
        _text(self.id, "atom.id")
        object.__setattr__(self, "source_event_ids", _ids(self.source_event_ids,
                                                          "atom.source_event_ids"))
        _text(self.text, "atom.text")
        _unit(self.salience, "atom.salience")
        _number(self.timestamp, "atom.timestamp")
        if self.key is not None:
            _text(self.key, "atom.key")

    @property
    def active(self) -> bool:
        return self.superseded_by is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["source_event_ids"] = list(self.source_event_ids)
        return d


@dataclass(frozen=True)
class Scenario:
    """L2 — a cluster of related atoms (``topic`` optional: what they share)."""

    id: str
    atom_ids: Sequence[str]
    summary: str
    salience: float
    timestamp: float
    topic: str | None = None

    def __post_init__(self) -> None:
        _text(self.id, "scenario.id")
        object.__setattr__(self, "atom_ids", _ids(self.atom_ids, "scenario.atom_ids"))
        _text(self.summary, "scenario.summary")
        _unit(self.salience, "scenario.salience")
        _number(self.timestamp, "scenario.timestamp")
        if self.topic is not None:
            _text(self.topic, "scenario.topic")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["atom_ids"] = list(self.atom_ids)
        return d


@dataclass(frozen=True)
class PersonaTrait:
    """L3 — a durable trait; a later trait with the same ``key`` replaces it."""

    key: str
    value: Any
    confidence: float
    evidence_scenario_ids: Sequence[str] = ()

    def __post_init__(self) -> None:
        _text(self.key, "trait.key")
        _unit(self.confidence, "trait.confidence")
        object.__setattr__(self, "evidence_scenario_ids",
                           _ids(self.evidence_scenario_ids, "trait.evidence_scenario_ids"))

    @property
    def text(self) -> str:
        """What recall indexes for the trait: ``"<key> <value>"``."""
        return f"{self.key} {self.value}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence_scenario_ids"] = list(self.evidence_scenario_ids)
        return d


@dataclass(frozen=True)
class RecallHit:
    """One recalled item: its tier, id, text, relevance ``score`` (higher is better;
    BM25 for the default index, cosine for a vector index), salience and the record."""

    tier: str
    id: str
    text: str
    score: float
    salience: float
    item: Any

    def to_dict(self) -> dict[str, Any]:
        item = self.item.to_dict() if hasattr(self.item, "to_dict") else self.item
        return {"tier": self.tier, "id": self.id, "text": self.text, "score": self.score,
                "salience": self.salience, "item": item}


@dataclass(frozen=True)
class DreamStats:
    """What one :meth:`MemoryPyramid.dream` pass did, with token counts measured by
    the pyramid's tokenizer.

    ``tokens_before`` / ``tokens_after`` are the tokens stored (live raw events plus
    every atom, scenario and trait, superseded ones included) before and after the
    pass; ``raw_tokens_ever`` counts every raw event ever observed;
    ``token_savings_ratio`` = (raw_tokens_ever − tokens_after) / raw_tokens_ever, the
    same number as ``stats()["token_savings_ratio"]`` after the pass.
    """

    events_compacted: int
    atoms_added: int
    scenarios_added: int
    traits_added: int
    token_savings_ratio: float = 0.0
    atoms_superseded: int = 0
    tokens_before: int = 0
    tokens_after: int = 0
    raw_tokens_ever: int = 0
    tokenizer: str = "chars"

    @property
    def pass_savings_ratio(self) -> float:
        """(tokens_before − tokens_after) / tokens_before: what this pass saved."""
        if not self.tokens_before:
            return 0.0
        return (self.tokens_before - self.tokens_after) / self.tokens_before

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pass_savings_ratio"] = self.pass_savings_ratio
        return d


#: ``extractor(pending_events) -> atoms`` (L0 → L1); an LLM or a heuristic.
Extractor = Callable[[list[MemoryEvent]], Sequence[Atom]]
#: ``clusterer(pending_atoms) -> scenarios`` (L1 → L2).
Clusterer = Callable[[list[Atom]], Sequence[Scenario]]
#: ``aggregator(pending_scenarios) -> traits`` (L2 → L3).
Aggregator = Callable[[list[Scenario]], Sequence[PersonaTrait]]
