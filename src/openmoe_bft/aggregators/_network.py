"""Order statistics across replicas with a sorting network.

For a batch ``[n, tokens, experts]`` each replica's slab is one contiguous array, so a
compare-exchange of two replicas is one ``np.minimum`` and one ``np.maximum`` over
``tokens × experts`` values. A sorting network for small ``n`` (Batcher's odd–even
merge sort, pruned to the ranks asked for) therefore sorts every coordinate at once
several times faster than ``np.sort``/``np.median`` along the replica axis, which pay
a per-coordinate loop over tiny rows.
"""

from __future__ import annotations

import numpy as np

from .._sortnet import program

#: below this many values per replica, np.sort along the axis is cheaper than the network
NETWORK_MIN_SIZE = 2048
#: values per replica per pass: 16 replicas x 8,192 float64 stay in a core's L2 cache
CHUNK = 8192


def sorted_ranks(x: np.ndarray, ranks: tuple[int, ...]) -> np.ndarray:
    """The order statistics ``ranks`` of ``x`` along axis 0: ``[len(ranks), *x.shape[1:]]``."""
    n = x.shape[0]
    if x[0].size < NETWORK_MIN_SIZE or n > 64:
        return np.sort(x, axis=0)[list(ranks)]
    flat = x.reshape(n, -1)
    m = flat.shape[1]
    out = np.empty((len(ranks), m), dtype=x.dtype)
    comparators = program(n, ranks)
    for start in range(0, m, CHUNK):
        stop = min(start + CHUNK, m)
        rows = [flat[i, start:stop].copy() for i in range(n)]
        spare = np.empty_like(rows[0])
        for a, b, want_min, want_max in comparators:
            if want_min:
                np.minimum(rows[a], rows[b], out=spare)
            if want_max:
                np.maximum(rows[a], rows[b], out=rows[b])
            if want_min:
                rows[a], spare = spare, rows[a]
        for j, r in enumerate(ranks):
            out[j, start:stop] = rows[r]
    return out.reshape((len(ranks), *x.shape[1:]))
