"""Sorting networks for order statistics across replicas (pure Python, no array library).

A compare-exchange of two replicas' whole score slabs is one elementwise ``minimum`` and
one ``maximum``, so a comparator network sorts every coordinate of a batch at once —
much faster than sorting many tiny rows along a short axis. The network is Batcher's
odd–even merge sort (valid for any number of wires), pruned backwards to the
comparators that feed the output ranks asked for. Used by the numpy aggregators
(:mod:`openmoe_bft.aggregators`) and the torch gate (:mod:`openmoe_bft.torch`).
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["batcher_pairs", "median_program", "program"]

#: one step: (i, j, want_min, want_max) writes min(v[i], v[j]) to i and max to j when wanted
Op = tuple[int, int, bool, bool]


def batcher_pairs(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators ``(i, j)``, ``i < j`` (min to ``i``), of Batcher's odd–even merge sort of ``n`` wires."""
    pairs: list[tuple[int, int]] = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return tuple(pairs)


@lru_cache(maxsize=256)
def program(n: int, outputs: tuple[int, ...], *, unordered: bool = False) -> tuple[Op, ...]:
    """The comparators that can influence output wires ``outputs`` (dead ones pruned).

    ``unordered=True`` (two adjacent outputs whose order does not matter, e.g. the two
    middle values of an even count, of which only the mean is used) drops a final
    comparator between exactly those two wires.
    """
    needed = set(outputs)
    ops: list[Op] = []
    first = True
    for i, j in reversed(batcher_pairs(n)):
        want_min, want_max = i in needed, j in needed
        if not (want_min or want_max):
            continue
        if first and unordered and (i, j) == outputs:
            first = False
            continue
        first = False
        ops.append((i, j, want_min, want_max))
        needed |= {i, j}
    return tuple(reversed(ops))


@lru_cache(maxsize=64)
def median_program(n: int) -> tuple[tuple[Op, ...], tuple[int, ...]]:
    """``(ops, outputs)`` for the median of ``n`` wires: one middle wire (odd ``n``) or two (even)."""
    outputs = (n // 2,) if n % 2 else (n // 2 - 1, n // 2)
    return program(n, outputs, unordered=n % 2 == 0), outputs
