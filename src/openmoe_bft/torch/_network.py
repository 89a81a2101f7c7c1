"""Selection networks: the median of ``R`` tensors with elementwise min/max only.

Sorting ``R`` values per coordinate with ``torch.sort`` along a short axis is slow on
CPU; a comparator network on whole ``[T, E]`` slices is a handful of vectorised
``minimum``/``maximum`` calls. The network is Batcher's odd–even merge sort
(valid for any ``R``), pruned backwards to the comparators that feed the middle
output wire(s), so ``R = 4`` costs 6 elementwise ops and ``R = 7`` 22.
"""

from __future__ import annotations

import torch

from .._sortnet import batcher_pairs, median_program

__all__ = ["batcher_pairs", "median_program", "run_median"]


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
