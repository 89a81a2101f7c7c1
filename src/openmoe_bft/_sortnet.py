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

__all__ = ["batcher_pairs", "median_program", "pairwise_pairs", "program", "set_program"]

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


def pairwise_pairs(n: int) -> tuple[tuple[int, int], ...]:
    """Comparators ``(i, j)``, ``i < j``, of Parberry's pairwise sorting network on ``n`` wires.

    Same size as Batcher's for powers of two, a few comparators fewer otherwise, and a
    different shape, which prunes better for some output sets (see :func:`set_program`).
    """
    pairs: list[tuple[int, int]] = []
    a = 1
    while a < n:  # sort pairs, pairs of pairs, ...: wires b - a, b within each block
        b, c = a, 0
        while b < n:
            pairs.append((b - a, b))
            b += 1
            c = (c + 1) % a
            if c == 0:
                b += a
        a *= 2
    a //= 4
    e = 1
    while a > 0:  # then merge them back, halving the stride
        d = e
        while d > 0:
            b, c = (d + 1) * a, 0
            while b < n:
                pairs.append((b - d * a, b))
                b += 1
                c = (c + 1) % a
                if c == 0:
                    b += a
            d //= 2
        a //= 2
        e = 2 * e + 1
    return tuple(pairs)


#: smaller sorting networks than Batcher's / the pairwise one, from the catalogue of best
#: known networks (B. Dobbelaere, "SorterHunter", bertdobbelaere.github.io/sorting_networks.html);
#: checked against every 0-1 input in the tests. 16 wires: 60 comparators (Batcher 63),
#: which prunes to 84 elementwise ops for the middle 6 of 16 (90 from the pairwise network).
KNOWN_BEST: dict[int, tuple[tuple[int, int], ...]] = {
    16: (
        (0, 13), (1, 12), (2, 15), (3, 14), (4, 8), (5, 6), (7, 11), (9, 10),
        (0, 5), (1, 7), (2, 9), (3, 4), (6, 13), (8, 14), (10, 15), (11, 12),
        (0, 1), (2, 3), (4, 5), (6, 8), (7, 9), (10, 11), (12, 13), (14, 15),
        (0, 2), (1, 3), (4, 10), (5, 11), (6, 7), (8, 9), (12, 14), (13, 15),
        (1, 2), (3, 12), (4, 6), (5, 7), (8, 10), (9, 11), (13, 14),
        (1, 4), (2, 6), (5, 8), (7, 10), (9, 13), (11, 14),
        (2, 4), (3, 6), (9, 12), (11, 13),
        (3, 5), (6, 8), (7, 9), (10, 12),
        (3, 4), (5, 6), (7, 8), (9, 10), (11, 12),
        (6, 7), (8, 9),
    ),
}


def _set_prune(
    pairs: tuple[tuple[int, int], ...], members: frozenset[int], exact: frozenset[int] = frozenset()
) -> tuple[Op, ...]:
    """Backward pruning where only the multiset of values on ``members`` matters.

    A wire is either unneeded, needed only as one of the set (``members`` at the end),
    or needed exactly (``exact`` at the end, or feeding a kept comparator). A comparator
    between two set-only wires merely swaps values inside the set, so it is dropped; one
    feeding any needed wire is kept (with only the sides that are needed) and makes both
    its inputs needed exactly.
    """
    set_only = set(members) - exact
    needed_exact = set(exact)
    ops: list[Op] = []
    for i, j in reversed(pairs):
        want_min = i in set_only or i in needed_exact
        want_max = j in set_only or j in needed_exact
        if not (want_min or want_max) or (i in set_only and j in set_only):
            continue
        ops.append((i, j, want_min, want_max))
        set_only -= {i, j}
        needed_exact |= {i, j}
    return tuple(reversed(ops))


@lru_cache(maxsize=256)
def set_program(n: int, lo: int, hi: int, *, extremes: bool = False) -> tuple[Op, ...]:
    """Comparators that leave the values of ranks ``lo..hi-1`` (in some order) on wires ``lo..hi-1``.

    Enough for anything symmetric in those values, e.g. their sum (a trimmed mean):
    swaps inside the set are dropped, so it is cheaper than :func:`program` for the
    same ranks. ``extremes=True`` also leaves the minimum on wire 0 and the maximum on
    wire ``n - 1`` (two more ops for 16 wires), so NaN or ±inf anywhere in the input
    shows there: NaN propagates through every minimum/maximum on its way. Of Batcher's,
    the pairwise and (where there is one) the best known network, the pruned one with
    fewer elementwise operations is returned.
    """
    if not 0 <= lo < hi <= n:
        raise ValueError(f"need 0 <= lo < hi <= n, got lo={lo}, hi={hi}, n={n}")
    members = frozenset(range(lo, hi))
    exact = frozenset({0, n - 1}) if extremes else frozenset()
    networks = [batcher_pairs(n), pairwise_pairs(n)] + ([KNOWN_BEST[n]] if n in KNOWN_BEST else [])
    candidates = [_set_prune(pairs, members, exact) for pairs in networks]
    return min(candidates, key=lambda ops: sum(a + b for _, _, a, b in ops))


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
