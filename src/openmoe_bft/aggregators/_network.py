"""Order statistics across replicas with a sorting network.

For a batch ``[n, tokens, experts]`` each replica's slab is one contiguous array, so a
compare-exchange of two replicas is one ``np.minimum`` and one ``np.maximum`` over
``tokens × experts`` values. A sorting network for small ``n`` (Batcher's odd–even
merge sort, pruned to the ranks asked for) therefore sorts every coordinate at once
several times faster than ``np.sort``/``np.median`` along the replica axis, which pay
a per-coordinate loop over tiny rows.

NOTE (speed): the cost is one pass over a chunk per elementwise op, so what counts is
the number of ops. :func:`middle_sum` (the trimmed mean) only needs the *set* of middle
values, so its network also drops the swaps inside that set (``set_program``: 84 ops
instead of 104 for the middle 6 of 16 replicas). A wire's first op reads the input slab
in place (no per-chunk copy) and wire buffers come from one pool per call. Chunks of 16,384 values per replica measured fastest
(8,192 and 32,768 were 5% slower): smaller ones pay numpy's per-call overhead, larger
ones fall out of cache. Tried and dropped: sum minus the ``f`` largest and smallest
(needs the same three-way split, and cancels catastrophically next to huge outliers),
``np.sort``/``np.partition`` on a transposed ``[values, n]`` copy (the transpose alone
costs as much as the network), a greedy search for a smaller selection network (found
none under 90 ops).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._sortnet import program, set_program

#: below this many values per replica, np.sort along the axis is cheaper than the network
NETWORK_MIN_SIZE = 2048
#: values per replica per pass (see the NOTE above)
CHUNK = 16384


def _run(
    rows: list[np.ndarray], ops: tuple[tuple[int, int, bool, bool], ...], pool: np.ndarray
) -> list[np.ndarray]:
    """Apply a comparator program to ``rows`` (read-only input views); returns the final wires.

    Input views are never written: a wire's first write takes a buffer from ``pool``
    (``[len(rows) + 2, >= len(row)]``, reused chunk after chunk), later writes reuse it,
    and a spare buffer takes the minimum so the maximum still sees the old value.
    """
    m = rows[0].shape[0]
    free = [pool[k, :m] for k in range(pool.shape[0])]
    rows = list(rows)
    owned = [False] * len(rows)
    spare = free.pop()
    for a, b, want_min, want_max in ops:
        lo = None
        if want_min:
            lo = np.minimum(rows[a], rows[b], out=spare)
        if want_max:
            if owned[b]:
                np.maximum(rows[a], rows[b], out=rows[b])
            else:
                rows[b] = np.maximum(rows[a], rows[b], out=free.pop())
                owned[b] = True
        if lo is not None:
            spare = rows[a] if owned[a] else free.pop()
            rows[a] = lo
            owned[a] = True
    return rows


def _pool(n: int, m: int, dtype: np.dtype) -> np.ndarray:
    """Wire buffers for :func:`_run`: one allocation per call, not one per wire per chunk
    (fresh 128 KiB buffers each chunk cost a third more time in page faults)."""
    return np.empty((n + 2, min(CHUNK, m)), dtype=dtype)


def _small(x: np.ndarray) -> bool:
    return x[0].size < NETWORK_MIN_SIZE or x.shape[0] > 64


def sorted_ranks(x: np.ndarray, ranks: tuple[int, ...]) -> np.ndarray:
    """The order statistics ``ranks`` of ``x`` along axis 0: ``[len(ranks), *x.shape[1:]]``."""
    n = x.shape[0]
    if _small(x):
        return np.sort(x, axis=0)[list(ranks)]
    flat = x.reshape(n, -1)
    m = flat.shape[1]
    out = np.empty((len(ranks), m), dtype=x.dtype)
    comparators = program(n, ranks)
    pool = _pool(n, m, x.dtype)
    for start in range(0, m, CHUNK):
        stop = min(start + CHUNK, m)
        rows = _run([flat[i, start:stop] for i in range(n)], comparators, pool)
        for j, r in enumerate(ranks):
            out[j, start:stop] = rows[r]
    return out.reshape((len(ranks), *x.shape[1:]))


def middle_sum(
    x: np.ndarray, lo: int, hi: int, on_nonfinite: Callable[[], None] | None = None
) -> np.ndarray:
    """Sum along axis 0 of the order statistics ``lo..hi-1`` of ``x``: ``x.shape[1:]``.

    Only the values in the middle are ever added (no total-minus-extremes), so the sum
    is as accurate as summing the sorted middle directly, whatever the outliers' size.
    With ``on_nonfinite``, the network also carries each chunk's minimum and maximum
    (``set_program(extremes=True)``), and ``on_nonfinite()`` is called when either is
    NaN/±inf: a check of the input for two ops a chunk instead of a pass over it.
    """
    n = x.shape[0]
    if _small(x):
        if on_nonfinite is not None:
            on_nonfinite()
        return np.sort(x, axis=0)[lo:hi].sum(axis=0)
    flat = x.reshape(n, -1)
    m = flat.shape[1]
    out = np.empty(m, dtype=x.dtype)
    comparators = set_program(n, lo, hi, extremes=on_nonfinite is not None)
    pool = _pool(n, m, x.dtype)
    for start in range(0, m, CHUNK):
        stop = min(start + CHUNK, m)
        rows = _run([flat[i, start:stop] for i in range(n)], comparators, pool)
        if on_nonfinite is not None and not (
            np.isfinite(rows[0].min()) and np.isfinite(rows[n - 1].max())
        ):
            on_nonfinite()
        acc = out[start:stop]
        if hi - lo == 1:
            acc[...] = rows[lo]
            continue
        np.add(rows[lo], rows[lo + 1], out=acc)
        for i in range(lo + 2, hi):
            acc += rows[i]
    return out.reshape(x.shape[1:])
