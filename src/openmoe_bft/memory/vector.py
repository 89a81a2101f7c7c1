"""A vector recall index: an ``embed`` callable plus a numpy cosine index.

``VectorIndex(embed)`` plugs into ``MemoryPyramid(index=...)`` in place of the FTS5
index. ``embed(texts) -> array (n, d)`` can be any model (sentence-transformers,
an HTTP embedding endpoint, ...). The index is derived data: it is rebuilt from the
store whenever the store changed since the last search (only new texts are
embedded, rows of removed or changed items dropped), so it can never disagree with
what is stored. That re-read is O(items) after each change (a few tenths of a second
per 100,000 items): fine for a chat loop over thousands of items; for millions, put
a vector database behind the same ``search(memory, query, k, tiers)`` method.

:class:`HashingEmbedder` is the dependency-free default used in tests and examples:
the hashing trick over words (and optionally character n-grams), L2-normalised. It
captures lexical overlap, not meaning; swap in a real model for semantic recall.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidInput, InvalidType
from .text import words

if TYPE_CHECKING:
    from .pyramid import MemoryPyramid

__all__ = ["HashingEmbedder", "VectorIndex"]

Embed = Callable[[list[str]], Any]


@dataclass(frozen=True)
class HashingEmbedder:
    """Feature hashing of words (and character ``ngram``-grams when ``ngram > 0``)
    into ``dim`` signed buckets; deterministic across processes (CRC32, not ``hash``)."""

    dim: int = 256
    ngram: int = 3

    def __post_init__(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 8:
            raise InvalidInput(f"must be an int >= 8, got {self.dim!r}", argument="dim")

    def _features(self, text: str) -> list[str]:
        ws = words(text)
        feats = list(ws)
        if self.ngram > 0:
            for w in ws:
                padded = f"#{w}#"
                feats += [padded[i:i + self.ngram] for i in range(len(padded) - self.ngram + 1)]
        return feats

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for f in self._features(text):
                h = zlib.crc32(f.encode("utf-8", "surrogatepass"))
                out[row, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


class VectorIndex:
    """Cosine recall over ``embed`` vectors (see the module docstring).

    ``min_score``: a hit needs cosine similarity above it (default 0.0, i.e. any
    positive similarity counts as a match).
    """

    def __init__(self, embed: Embed | None = None, *, min_score: float = 0.0) -> None:
        if embed is not None and not callable(embed):
            raise InvalidType("embed must be a callable list[str] -> array", argument="embed")
        self.embed: Embed = embed if embed is not None else HashingEmbedder()
        self.min_score = float(min_score)
        self._texts: dict[int, str] = {}
        self._version: Any = None
        self._refs = np.zeros(0, dtype=np.int64)
        self._matrix: np.ndarray | None = None

    def _vectors(self, texts: list[str]) -> np.ndarray:
        arr = np.asarray(self.embed(texts), dtype=np.float32)
        if arr.ndim != 2 or arr.shape[0] != len(texts):
            raise InvalidInput(f"embed returned shape {arr.shape} for {len(texts)} texts; "
                               "expected (n, d)", argument="embed")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        return np.divide(arr, norms, out=np.zeros_like(arr), where=norms > 0)

    def sync(self, memory: MemoryPyramid) -> None:
        """Bring the index up to date with ``memory`` (done by :meth:`search`): rows of
        items gone or changed are dropped, new or changed items are embedded."""
        version = (id(memory), memory.version)
        if version == self._version:
            return
        items = dict(memory.indexable())
        if self._version is not None and version[0] != self._version[0]:
            self._texts, self._refs, self._matrix = {}, np.zeros(0, dtype=np.int64), None
        keep = np.fromiter((items.get(int(r)) == self._texts[int(r)] for r in self._refs),
                           dtype=bool, count=len(self._refs))
        if not keep.all():  # drop rows of items gone or changed, in place
            n = int(keep.sum())
            self._refs = self._refs[keep]
            if self._matrix is not None:
                self._matrix[:n] = self._matrix[: len(keep)][keep]
        added = [(r, t) for r, t in items.items() if self._texts.get(r) != t]
        for i in range(0, len(added), 512):
            chunk = added[i:i + 512]
            self._append(np.array([r for r, _ in chunk], dtype=np.int64),
                         self._vectors([t for _, t in chunk]))
        self._texts = items
        self._version = version

    def _append(self, refs: np.ndarray, vectors: np.ndarray) -> None:
        n, m = len(self._refs), len(refs)
        if self._matrix is None or self._matrix.shape[1] != vectors.shape[1]:
            if self._matrix is not None and n:
                raise InvalidInput("embed changed its dimension", argument="embed")
            self._matrix = np.zeros((max(64, m), vectors.shape[1]), dtype=np.float32)
        if n + m > len(self._matrix):  # grow geometrically: appends stay amortised O(1)
            grown = np.zeros((max(2 * len(self._matrix), n + m), self._matrix.shape[1]),
                             dtype=np.float32)
            grown[:n] = self._matrix[:n]
            self._matrix = grown
        self._matrix[n:n + m] = vectors
        self._refs = np.concatenate([self._refs, refs])

    def search(
        self, memory: MemoryPyramid, query: str, k: int, tiers: Sequence[int]
    ) -> list[tuple[int, float]]:
        self.sync(memory)
        if k <= 0 or self._matrix is None or not len(self._refs):
            return []
        scores = self._matrix[: len(self._refs)] @ self._vectors([query])[0]
        mask = np.isin(self._refs & 3, np.asarray(tiers)) & (scores > self.min_score)
        idx = np.flatnonzero(mask)
        if len(idx) > k:
            kth = np.partition(scores[idx], -k)[-k]
            idx = idx[scores[idx] >= kth]  # keeps every item tied with the k-th
        order = idx[np.argsort(-scores[idx], kind="stable")]
        return [(int(self._refs[i]), float(scores[i])) for i in order]
