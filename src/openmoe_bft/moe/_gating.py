"""Gating math: softmax, top-k selection, the seed's per-token functions, aux losses.

Everything here is numpy; the per-token functions (:func:`softmax`,
:func:`top_k_gating`, :func:`noisy_top_k_gating`, :func:`load_balancing_loss`) keep
the seed package's call shapes and return plain Python lists, the ``_``-prefixed
kernels work on whole ``[tokens, experts]`` arrays and back
:class:`~openmoe_bft.moe.SparseMoERouter`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._arrays import to_numpy
from ..errors import InvalidInput, InvalidType

__all__ = [
    "Assignment",
    "softmax",
    "top_k_gating",
    "noisy_top_k_gating",
    "load_balancing_loss",
    "switch_load_balancing_loss",
    "router_z_loss",
]

#: One token's routing: ``(expert_index, gate_weight)`` pairs, highest weight first.
Assignment = list[tuple[int, float]]

# Above this k the top-k kernel switches from k argmax passes to one stable sort.
_ARGMAX_TOPK_MAX = 4


# --------------------------------------------------------------------------- input


def as_float_array(x: Any, argument: str, *, ndim: int | None = None) -> np.ndarray:
    """``x`` (list, tuple, numpy array or torch tensor) as a float numpy array.

    float32 stays float32 (half precision is widened to float32, numpy has no
    bfloat16), everything else becomes float64. Ragged nesting and a wrong rank are
    :class:`InvalidInput`; non-numeric content is :class:`InvalidType`; NaN / ±inf
    is :class:`InvalidInput`. All errors name ``argument``.
    """
    if isinstance(x, (str, bytes, dict, set)) or x is None:
        raise InvalidType(f"expected numbers (a list or an array), got {type(x).__name__}",
                          argument=argument)
    arr = to_numpy(x, argument)  # lists, arrays, torch tensors (bf16/fp16 widened to fp32)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype != np.float32 and arr.dtype != np.float64:
            arr = arr.astype(np.float32 if arr.dtype.itemsize < 4 else np.float64)
    elif kind in "iu" or (kind == "O" and arr.size == 0):
        arr = arr.astype(np.float64)
    else:
        raise InvalidType(f"expected real numbers, got an array of dtype {arr.dtype}",
                          argument=argument)
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInput(f"expected a {ndim}-D array, got shape {arr.shape}", argument=argument)
    return arr


def check_finite(arr: np.ndarray, argument: str) -> None:
    """:class:`InvalidInput` naming ``argument`` when ``arr`` holds NaN or ±inf."""
    if arr.size and not (np.isfinite(arr.max()) and np.isfinite(arr.min())):
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = "[" + ", ".join(str(int(i)) for i in bad) + "]"
        raise InvalidInput(f"holds a non-finite value ({arr[tuple(bad)]!r} at {where}); "
                           "router scores must be finite numbers", argument=argument)


def check_k(value: Any, num_experts: int, argument: str = "k") -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidType(f"expected an int, got {type(value).__name__}", argument=argument)
    if value < 1:
        raise InvalidInput(f"must be >= 1, got {value}", argument=argument)
    if value > num_experts:
        raise InvalidInput(f"({value}) cannot exceed the number of experts ({num_experts})",
                           argument=argument)
    return int(value)


# --------------------------------------------------------------------------- kernels


def _topk_desc(z: np.ndarray, k: int, first: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``k`` of ``z`` ``[T, E]``, highest first, ties to the lower index.

    Returns ``(ids [T, k] intp, values [T, k])``. ``z`` is used as scratch space and
    restored before returning. For small ``k`` this is ``k`` argmax passes (each one
    SIMD-fast, and ``argmax`` returns the first maximum, i.e. the lowest index); for
    larger ``k`` one stable argsort per row. ``first``: the row argmax, when the caller
    already has it.
    """
    t, e = z.shape
    if k > _ARGMAX_TOPK_MAX and k < e:
        ids = np.argsort(-z, axis=1, kind="stable")[:, :k]
        return ids, np.take_along_axis(z, ids, axis=1)
    rows = np.arange(t)
    ids = np.empty((t, k), dtype=np.intp)
    vals = np.empty((t, k), dtype=z.dtype)
    for j in range(k):
        i = first if (j == 0 and first is not None) else z.argmax(axis=1)
        ids[:, j] = i
        vals[:, j] = z[rows, i]
        if j + 1 < k:
            z[rows, i] = -np.inf
    if k > 1:
        z[rows[:, None], ids[:, : k - 1]] = vals[:, : k - 1]
    return ids, vals


def _softmax_rows(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


# --------------------------------------------------------------------------- seed API


def softmax(logits: Any) -> Any:
    """Numerically stable softmax (subtracts the maximum before exponentiating).

    A list/tuple of numbers gives a list of floats summing to 1.0 (the seed's shape;
    nested lists give nested lists); an array or torch tensor gives a numpy array.
    Always over the last axis.
    Empty input, NaN / ±inf or non-numbers raise :class:`InvalidInput` /
    :class:`InvalidType` (both ``ValueError``).
    """
    as_list = isinstance(logits, (list, tuple))
    arr = as_float_array(logits, "logits")
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise InvalidInput("softmax requires at least one logit", argument="logits")
    check_finite(arr, "logits")
    out = _softmax_rows(np.array(arr, dtype=np.float64 if as_list else arr.dtype, copy=True))
    return out.tolist() if as_list else out


def _vector(logits: Any, argument: str) -> np.ndarray:
    arr = as_float_array(logits, argument)
    if arr.ndim != 1:
        raise InvalidInput(f"expected one token's scores (1-D), got shape {arr.shape}; "
                           "use SparseMoERouter.route for a batch", argument=argument)
    if arr.size == 0:
        raise InvalidInput("must be non-empty", argument=argument)
    check_finite(arr, argument)
    return arr.astype(np.float64)


def _gate_one(x: np.ndarray, k: int) -> Assignment:
    z = (x - x.max())[None, :]
    ids, vals = _topk_desc(z, k)
    w = np.exp(vals[0])
    w /= w.sum()
    return [(int(i), float(v)) for i, v in zip(ids[0].tolist(), w.tolist(), strict=True)]


def top_k_gating(logits: Sequence[float], k: int) -> Assignment:
    """Switch / GShard top-``k`` gate for one token.

    Softmax over ``logits``, keep the ``k`` most probable experts and renormalise their
    weights to sum to 1.0 (Fedus et al. 2022, *Switch Transformers*; Lepikhin et al.
    2020, *GShard*; the same as Mixtral's router and Qwen-MoE's ``norm_topk_prob``).
    Returns ``[(expert, weight), ...]`` highest weight first; ties go to the lower
    expert index. ``k < 1``, ``k > len(logits)``, empty or non-finite logits raise
    :class:`~openmoe_bft.errors.InvalidInput` (a ``ValueError``).
    """
    x = _vector(logits, "logits")
    return _gate_one(x, check_k(k, x.size))


def noisy_top_k_gating(logits: Sequence[float], k: int, noise: Sequence[float]) -> Assignment:
    """Noisy top-``k`` gate (Shazeer et al. 2017, *Outrageously Large Neural Networks*).

    ``noise`` (one value per expert) is added to ``logits`` before the top-``k`` gate.
    In Shazeer et al. the noise is ``StandardNormal() * Softplus(x @ W_noise)``; here the
    caller injects it, so the function is deterministic — all-zero noise is exactly
    :func:`top_k_gating`. :class:`~openmoe_bft.moe.SparseMoERouter` with
    ``noisy_gating=True`` samples it from an injected RNG instead.
    """
    x = _vector(logits, "logits")
    n = _vector(noise, "noise")
    if n.shape != x.shape:
        raise InvalidInput(f"length ({n.size}) must match logits length ({x.size})",
                           argument="noise")
    return _gate_one(x + n, check_k(k, x.size))


def load_balancing_loss(gate_assignments: Sequence[Assignment], num_experts: int) -> float:
    """The seed's Switch-style auxiliary loss over finished assignments.

    ``L = N * sum_i f_i * P_i`` with ``N = num_experts``, ``f_i`` the fraction of all
    ``(token, selection)`` routings that went to expert ``i`` and ``P_i`` the gate
    weight routed to ``i`` divided by the number of routings. 1.0 when perfectly
    balanced, ``N`` when everything lands on one expert; no routings → 0.0.

    This works from assignments alone (the seed's contract). The router's own
    :attr:`RoutingResult.load_balancing_loss` has the logits and uses the Switch
    paper's ``P_i`` = mean full-softmax router probability instead; see
    :func:`switch_load_balancing_loss`.
    """
    if isinstance(num_experts, (bool, np.bool_)) or not isinstance(num_experts, (int, np.integer)):
        raise InvalidType(f"expected an int, got {type(num_experts).__name__}",
                          argument="num_experts")
    if num_experts < 1:
        raise InvalidInput(f"must be >= 1, got {num_experts}", argument="num_experts")
    if isinstance(gate_assignments, (str, bytes)) or not isinstance(gate_assignments, Sequence):
        raise InvalidType(f"expected a list of per-token assignments, got "
                          f"{type(gate_assignments).__name__}", argument="gate_assignments")
    counts = np.zeros(num_experts)
    mass = np.zeros(num_experts)
    total = 0
    for t, assignment in enumerate(gate_assignments):
        for pair in assignment:
            try:
                expert, weight = pair
            except (TypeError, ValueError) as exc:
                raise InvalidType(f"token {t}: expected (expert, weight) pairs, got {pair!r}",
                                  argument="gate_assignments") from exc
            if isinstance(expert, (bool, np.bool_)) or not isinstance(expert, (int, np.integer)):
                raise InvalidType(f"token {t}: expert index {expert!r} is not an int",
                                  argument="gate_assignments")
            if not 0 <= expert < num_experts:
                raise InvalidInput(f"token {t}: expert_index {expert} out of range "
                                   f"[0, {num_experts})", argument="gate_assignments")
            try:
                w = float(weight)
            except (TypeError, ValueError) as exc:
                raise InvalidType(f"token {t}: weight {weight!r} is not a number",
                                  argument="gate_assignments") from exc
            if not np.isfinite(w):
                raise InvalidInput(f"token {t}: weight {w!r} is not finite",
                                   argument="gate_assignments")
            counts[expert] += 1.0
            mass[expert] += w
            total += 1
    if total == 0:
        return 0.0
    return float(num_experts * np.dot(counts / total, mass / total))


# --------------------------------------------------------------------------- array losses


def switch_load_balancing_loss(logits: Any, k: int = 1) -> float:
    """Switch auxiliary loss of a ``[tokens, experts]`` batch of router logits.

    ``L = N * sum_i f_i * P_i`` (Fedus et al. 2022, eq. 4-6), with ``f_i`` the fraction
    of the ``tokens * k`` top-``k`` selections made *before* any capacity limit that
    pick expert ``i``, and ``P_i`` the mean full-softmax probability of expert ``i``.
    1.0 = perfectly balanced, ``N`` = collapsed onto one expert.

    Relation to Hugging Face ``transformers`` (checked in the parity tests):

    * ``models.mixtral.modeling_mixtral.load_balancing_loss_func((logits,), N, top_k=k)``
      ``== k * switch_load_balancing_loss(logits, k)`` — HF divides the selection
      counts by the number of *tokens*, not of selections, so its ``f`` sums to ``k``.
    * ``models.switch_transformers...load_balancing_loss_func(softmax(logits)[None],
      argmax[None])`` ``== switch_load_balancing_loss(logits, 1)`` (one group).
    """
    x = as_float_array(logits, "logits", ndim=2)
    check_finite(x, "logits")
    if x.shape[0] == 0:
        return 0.0
    k = check_k(k, x.shape[1])
    z = x - x.max(axis=1, keepdims=True)
    ids, _ = _topk_desc(z, k)
    np.exp(z, out=z)
    s = z.sum(axis=1)
    return _switch_loss(z, s, ids, x.shape[1])[0]


def _switch_loss(e: np.ndarray, s: np.ndarray, ids: np.ndarray, num_experts: int
                 ) -> tuple[float, np.ndarray]:
    """``N * sum_i f_i P_i`` from unnormalised exponentials ``e`` [T, E] with row sums ``s``
    and the selections ``ids``; also returns the selection counts per expert."""
    t = e.shape[0]
    p = (1.0 / s).astype(e.dtype) @ e  # sum over tokens of softmax probabilities, one gemv
    f = np.bincount(ids.ravel(), minlength=num_experts)
    loss = float(num_experts * np.dot(f.astype(np.float64), p.astype(np.float64)) / (ids.size * t))
    return loss, f


def router_z_loss(logits: Any) -> float:
    """ST-MoE router z-loss (Zoph et al. 2022): mean over tokens of ``logsumexp(x)**2``.

    Penalises large router logits for numerical stability; equal to Hugging Face's
    ``switch_transformers.router_z_loss_func`` on one group. Empty → 0.0.
    """
    x = as_float_array(logits, "logits", ndim=2)
    check_finite(x, "logits")
    if x.shape[0] == 0:
        return 0.0
    m = x.max(axis=1)
    lse = m.astype(np.float64) + np.log(np.exp(x - m[:, None]).sum(axis=1, dtype=np.float64))
    return float(np.mean(lse * lse))
