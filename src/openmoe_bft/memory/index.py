"""Recall indexes: the default FTS5/BM25 one, and the protocol a vector index follows.

An index answers ``search(memory, query, k, tiers)`` with ``(item_ref, score)``
pairs, best first, only for items that match (score > 0, higher is better).
``item_ref`` is ``seq * 4 + tier`` (see :mod:`.schema`); the pyramid turns refs into
:class:`~.types.RecallHit` s and breaks score ties by salience. It may return more
than ``k`` pairs (all those tied with the k-th) so that tie-break is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from .text import STOPWORDS, words

if TYPE_CHECKING:
    from .pyramid import MemoryPyramid

__all__ = ["FTS5Index", "RecallIndex", "fts_match_expression"]


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
    ws = list(dict.fromkeys(words(query)))
    terms = [w for w in ws if w not in STOPWORDS] or ws
    if not terms:
        return None
    return " OR ".join(f'"{t}"' for t in terms)


class FTS5Index:
    """Lexical recall: SQLite FTS5 with its built-in BM25, over all tiers at once.

    ``score`` is ``-bm25()`` (FTS5 reports lower-is-better). A term in more than
    half of the indexed items has almost no weight (FTS5 floors its IDF at 1e-6),
    which is BM25 working as intended.
    """

    #: extra rows fetched beyond ``k`` so ties at the cut can be seen.
    pad = 8

    def search(
        self, memory: MemoryPyramid, query: str, k: int, tiers: Sequence[int]
    ) -> list[tuple[int, float]]:
        expr = fts_match_expression(query)
        if expr is None or k <= 0:
            return []
        wanted = sorted(set(int(t) for t in tiers))
        tier_sql = "" if wanted == [0, 1, 2, 3] else f" AND (rowid & 3) IN ({','.join(map(str, wanted))})"
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
