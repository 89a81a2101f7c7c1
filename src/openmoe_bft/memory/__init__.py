"""Hierarchical agent memory: the L0 → L3 pyramid with dream consolidation.

L0 raw events → L1 atomic facts → L2 scenarios → L3 persona traits, in SQLite (a
file, or ``:memory:`` by default), every item linked to what it came from.
:meth:`MemoryPyramid.dream` distils, clusters, forms traits, resolves contradicting
facts (the newer supersedes, both are kept) and compacts the raw events whose facts
now live in atoms, reporting sizes measured before and after. Promotion steps are
plain callables (an LLM or the deterministic defaults in :mod:`.plugins`);
:meth:`MemoryPyramid.recall` ranks with SQLite FTS5 BM25 across all tiers, and a
vector index (:class:`VectorIndex`) plugs in through the same call.

>>> from openmoe_bft.memory import MemoryPyramid
>>> memory = MemoryPyramid()
>>> _ = memory.observe_message(1.0, "user", "I live in Lyon. I love strong espresso coffee.")
>>> _ = memory.observe_message(2.0, "user", "Update: I moved to Paris.")
>>> stats = memory.dream()
>>> [t.value for t in memory.traits if t.key == "user.location"]
['paris']
>>> memory.recall("espresso", k=1)[0].tier
'L1'
"""

from .index import FTS5Index, RecallIndex, fts_match_expression
from .plugins import KeywordExtractor, TopicClusterer, TraitAggregator
from .pyramid import MemoryPyramid
from .sealing import seal_dream
from .text import (
    STOPWORDS,
    char_tokens,
    content_words,
    overlap_score,
    tokenize,
    word_tokens,
    words,
)
from .types import (
    ALL_TIERS,
    L0,
    L1,
    L2,
    L3,
    Aggregator,
    Atom,
    Clusterer,
    DreamStats,
    Extractor,
    MemoryEvent,
    PersonaTrait,
    RecallHit,
    Scenario,
    event_id,
)

_LAZY = {"HashingEmbedder": "vector", "VectorIndex": "vector"}  # numpy only when used


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ALL_TIERS",
    "L0",
    "L1",
    "L2",
    "L3",
    "STOPWORDS",
    "Aggregator",
    "Atom",
    "Clusterer",
    "DreamStats",
    "Extractor",
    "FTS5Index",
    "HashingEmbedder",
    "KeywordExtractor",
    "MemoryEvent",
    "MemoryPyramid",
    "PersonaTrait",
    "RecallHit",
    "RecallIndex",
    "Scenario",
    "TopicClusterer",
    "TraitAggregator",
    "VectorIndex",
    "char_tokens",
    "content_words",
    "event_id",
    "fts_match_expression",
    "overlap_score",
    "seal_dream",
    "tokenize",
    "word_tokens",
    "words",
]
