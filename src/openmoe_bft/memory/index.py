"""Recall indexes: the default FTS5/BM25 one, and the protocol a vector index follows.

An index answers ``search(memory, query, k, tiers)`` with ``(item_ref, score)``
pairs, best first, only for items that match (score > 0, higher is better).
``item_ref`` is ``seq * 4 + tier`` (see :mod:`.schema`); the pyramid turns refs into
:class:`~.types.RecallHit` s and breaks score ties by salience. It may return more
than ``k`` pairs (all those tied with the k-th) so that tie-break is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .text import STOPWORDS, words

if TYPE_CHECKING:
    from .pyramid import MemoryPyramid

__all__ = ["FTS5Index", "RecallIndex", "fts_match_expression", "query_terms"]


@runtime_checkable
class RecallIndex(Protocol):
    def search(
        self, memory: MemoryPyramid, query: str, k: int, tiers: Sequence[int]
    ) -> list[tuple[int, float]]:
        """Best-first ``(item_ref, score)`` of items matching ``query`` in ``tiers``."""
        ...


def fts_match_expression(query: str) -> str | None:
    """The FTS5 MATCH expression for ``query``: its words OR-ed, stop words dropped
    when any other word remains; ``None`` when the query has no words."""
    terms = query_terms(query)
    return _or(terms) if terms else None


class FTS5Index:
    """Lexical recall: SQLite FTS5 with its built-in BM25, over all tiers at once.

    ``score`` is ``-bm25()`` (FTS5 reports lower-is-better). A term in more than
    half of the indexed items has almost no weight (FTS5 floors its IDF at 1e-6),
    which is BM25 working as intended.

    Exact top-k with pruning: BM25 cost grows with the number of matching items, and a
    query usually mixes rare and common words. When some words are common (in at least
    ``prune_df`` items and ``prune_ratio`` times the rarest word's count), the items
    holding a rare word are scored first (their full score: the rare words' query plus
    ``(common) AND (rare)``, both summed by FTS5 over the same per-word IDFs). An item
    holding only common words scores below ``(k1 + 1) * sum(IDF of the common words)``
    (each BM25 term is below ``IDF * (k1 + 1)``); if the k-th candidate beats that
    bound, no such item can enter the top k and the full query is skipped. Otherwise
    the full query runs. Either way the top k are the full query's, with the same
    scores up to floating-point summation order (~1e-15 relative: FTS5 adds the words'
    terms in query order), so only items tied to that precision may swap places.
    ``prune_df=None`` turns pruning off.
    """

    #: extra rows fetched beyond ``k`` so ties at the cut can be seen.
    pad = 8
    #: FTS5's BM25 constant k1 (``fts5_aux.c``).
    K1 = 1.2

    def __init__(self, *, prune_df: int | None = 1000, prune_ratio: float = 4.0) -> None:
        self.prune_df = prune_df
        self.prune_ratio = prune_ratio
        #: how many searches were answered by pruning / by the full query (diagnostics)
        self.searches = {"pruned": 0, "full": 0}

    def search(
        self, memory: MemoryPyramid, query: str, k: int, tiers: Sequence[int]
    ) -> list[tuple[int, float]]:
        terms = query_terms(query)
        if not terms or k <= 0:
            return []
        wanted = sorted(set(int(t) for t in tiers))
        tier_sql = "" if wanted == [0, 1, 2, 3] else f" AND (rowid & 3) IN ({','.join(map(str, wanted))})"
        if self.prune_df is not None and len(terms) > 1:
            pruned = self._pruned(memory, terms, k, tier_sql)
            if pruned is not None:
                self.searches["pruned"] += 1
                return pruned
        self.searches["full"] += 1
        expr = _or(terms)
        limit = k + self.pad
        rows = memory.store.query(
            "SELECT rowid, bm25(mem_fts) AS r FROM mem_fts WHERE mem_fts MATCH ?"
            f"{tier_sql} ORDER BY r, rowid DESC LIMIT ?", (expr, limit))
        if len(rows) == limit and rows[-1][1] == rows[k - 1][1] and wanted != [0]:
            # More items tie with the k-th than were fetched. Raw events (tier 0) all have
            # salience 0, so the most recent fetched ones already win their ties; items of
            # tiers 1-3 may have a higher salience, so fetch every one of them in the tie.
            rows += memory.store.query(
                "SELECT rowid, bm25(mem_fts) AS r FROM mem_fts WHERE mem_fts MATCH ? "
                f"AND (rowid & 3) != 0{tier_sql} AND r = ?", (expr, rows[k - 1][1]))
        return list({int(r): -float(s) for r, s in rows}.items())

    def _pruned(self, memory: MemoryPyramid, terms: list[str], k: int,
                tier_sql: str) -> list[tuple[int, float]] | None:
        q = memory.store.query
        cap = int(self.prune_df or 0)
        # counts capped at prune_df first: a rare word's count is all that is needed of it
        df = {t: q("SELECT count(*) FROM (SELECT 1 FROM mem_fts WHERE mem_fts MATCH ? LIMIT ?)",
                   (_or([t]), cap))[0][0] for t in terms}
        if max(df.values()) < cap:
            return None  # no common word
        for t in terms:
            if df[t] >= cap:
                df[t] = q("SELECT count(*) FROM mem_fts WHERE mem_fts MATCH ?", (_or([t]),))[0][0]
        floor = min(df.values())
        common = [t for t in terms if df[t] >= max(cap, self.prune_ratio * floor)]
        rare = [t for t in terms if t not in common]
        if not common or not rare:
            return None
        # an upper bound on the number of indexed items: their refs are seq * 4 + tier
        n_rows = sum(q(f"SELECT coalesce(max(seq), 0) FROM {t}")[0][0] for t in
                     ("mem_events", "mem_atoms", "mem_scenarios", "mem_traits"))
        bound = (self.K1 + 1.0) * sum(
            max(1e-6, math.log((n_rows - df[t] + 0.5) / (df[t] + 0.5))) for t in common)
        scores = dict(q(f"SELECT rowid, bm25(mem_fts) FROM mem_fts WHERE mem_fts MATCH ?"
                        f"{tier_sql}", (_or(rare),)))
        scores.update(q(f"SELECT rowid, bm25(mem_fts) FROM mem_fts WHERE mem_fts MATCH ?"
                        f"{tier_sql}", (f"({_or(common)}) AND ({_or(rare)})",)))
        if len(scores) < k:
            return None
        ranked = sorted(((-s, r) for r, s in scores.items()), reverse=True)
        kth = ranked[k - 1][0]
        if not kth > bound * (1 + 1e-9):
            return None
        cut = max(k + self.pad, sum(1 for s, _ in ranked if s >= kth))
        return [(int(r), float(s)) for s, r in ranked[:cut]]


def query_terms(query: str) -> list[str]:
    """The words a query searches for: its distinct words, stop words dropped when any
    other word remains."""
    ws = list(dict.fromkeys(words(query)))
    return [w for w in ws if w not in STOPWORDS] or ws


def _or(terms: list[str]) -> str:
    return " OR ".join(f'"{t}"' for t in terms)
