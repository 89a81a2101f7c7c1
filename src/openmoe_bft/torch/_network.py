"""Selection networks: the median of ``R`` tensors with elementwise min/max only.

Sorting ``R`` values per coordinate with ``torch.sort`` along a short axis is slow on
CPU; a comparator network on whole ``[T, E]`` slices is a handful of vectorised
``minimum``/``maximum`` calls. The network is Batcher's odd–even merge sort
(valid for any ``R``), pruned backwards to the comparators that feed the middle
output wire(s), so ``R = 4`` costs 6 elementwise ops and ``R = 7`` 22.
"""

from __future__ import annotations

from functools import lru_cache

import torch

__all__ = ["batcher_pairs", "median_program", "run_median"]


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


@lru_cache(maxsize=64)
def median_program(n: int) -> tuple[tuple[tuple[int, int, bool, bool], ...], tuple[int, ...]]:
    """The pruned network for the median of ``n`` wires.

    Returns ``(ops, outputs)``: each op ``(i, j, want_min, want_max)`` writes
    ``min(v[i], v[j])`` to ``i`` (when wanted) and ``max`` to ``j``; ``outputs`` are the
    one (odd ``n``) or two (even ``n``) middle wires. For even ``n`` the last comparator
    between the two middle wires is dropped: their mean does not depend on their order.
    """
    outputs = (n // 2,) if n % 2 else (n // 2 - 1, n // 2)
    needed = set(outputs)
    ops: list[tuple[int, int, bool, bool]] = []
    first = True
    for i, j in reversed(batcher_pairs(n)):
        want_min, want_max = i in needed, j in needed
        if not (want_min or want_max):
            continue
        if first and n % 2 == 0 and (i, j) == outputs:
            first = False
            continue
        first = False
        ops.append((i, j, want_min, want_max))
        needed |= {i, j}
    return tuple(reversed(ops)), outputs


def run_median(slices: list[torch.Tensor]) -> torch.Tensor:
    """Coordinate-wise median of equally shaped tensors (no NaN: map it first).

    Odd count: the middle value (exactly one of the inputs). Even count: the mean of
    the two middle values, ``(a + b) * 0.5`` — so equal middle values give that value
    bit for bit, like ``numpy.median``.
    """
    n = len(slices)
    if n == 1:
        return slices[0]
    ops, outputs = median_program(n)
    v = list(slices)
    for i, j, want_min, want_max in ops:
        a, b = v[i], v[j]
        if want_min:
            v[i] = torch.minimum(a, b)
        if want_max:
            v[j] = torch.maximum(a, b)
    if len(outputs) == 1:
        return v[outputs[0]]
    return (v[outputs[0]] + v[outputs[1]]) * 0.5
