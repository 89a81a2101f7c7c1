"""SparseMoERouter: top-k token-choice and expert-choice routing with expert capacity.

References
----------
- Shazeer et al. 2017, *Outrageously Large Neural Networks: The Sparsely-Gated
  Mixture-of-Experts Layer* — top-k gating and noisy top-k gating.
- Lepikhin et al. 2020, *GShard* — top-2 gating, expert capacity, position priority.
- Fedus, Zoph & Shazeer 2022, *Switch Transformers* — top-1 routing, capacity factor,
  the auxiliary load-balancing loss ``N * sum_i f_i * P_i``.
- Zoph et al. 2022, *ST-MoE* — the router z-loss.
- Zhou et al. 2022, *Mixture-of-Experts with Expert Choice Routing* — experts pick
  their top-``C`` tokens.
- Xue et al. 2024, *OpenMoE* (arXiv:2402.01739) — the open MoE LLM family this
  router is a cleanroom reconstruction for (no OpenMoE code is used).
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput, InvalidType
from . import _capacity
from ._gating import (
    Assignment,
    _switch_loss,
    _topk_desc,
    as_float_array,
    check_finite,
    check_k,
)

__all__ = ["SparseMoERouter", "RoutingResult"]

_POLICIES = ("reroute", "drop")
_MODES = ("token_choice", "expert_choice")


def _build_assignments(ids: np.ndarray, weights: np.ndarray) -> list[Assignment]:
    # Millions of small tuples: pause the cyclic GC while building them (none of them
    # can form a cycle), which halves the time on a large heap.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        ids_l = ids.tolist()
        w_l = weights.tolist()
        if ids.size and (ids < 0).any():
            return [[(e, w) for e, w in zip(i, ws, strict=True) if e >= 0] for i, ws in zip(ids_l, w_l, strict=True)]
        return [list(zip(i, ws, strict=True)) for i, ws in zip(ids_l, w_l, strict=True)]
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, init=False, eq=False)
class RoutingResult:
    """Output of :meth:`SparseMoERouter.route`.

    The seed's three fields keep their meaning:

    ``assignments``
        per token a list of ``(expert, weight)`` pairs, the token's primary expert
        first (highest weight first unless the seed's reroute policy moved the token
        to a lower-ranked expert, which is then listed first); ``[]`` for a dropped
        token. Built from the arrays on first access and cached, so the array path
        never pays for Python lists.
    ``load_balancing_loss``
        Switch auxiliary loss ``N * sum_i f_i * P_i`` (1.0 = perfectly balanced); see
        :func:`~openmoe_bft.moe.switch_load_balancing_loss` for the exact convention.
    ``dropped``
        indices of tokens that no expert processes (over capacity), ascending.

    Arrays for fast paths: ``expert_ids`` ``[tokens, k]`` (``-1`` = no expert in that
    slot), ``weights`` ``[tokens, k]`` (0 where ``-1``), ``expert_load`` ``[experts]``
    (routings each expert receives after capacity), plus ``router_z_loss`` (ST-MoE)
    and the ``capacity`` that was applied (``None``: unlimited).

    ``RoutingResult(assignments, load_balancing_loss, dropped)`` — the seed's
    constructor — still works and fills the arrays from the lists.
    """

    expert_ids: np.ndarray
    weights: np.ndarray
    load_balancing_loss: float
    dropped: list[int]
    router_z_loss: float
    expert_load: np.ndarray
    capacity: int | None
    num_experts: int
    mode: str

    def __init__(
        self,
        assignments: list[Assignment] | None = None,
        load_balancing_loss: float = 0.0,
        dropped: list[int] | None = None,
        *,
        expert_ids: Any = None,
        weights: Any = None,
        router_z_loss: float = 0.0,
        expert_load: Any = None,
        capacity: int | None = None,
        num_experts: int | None = None,
        mode: str = "token_choice",
    ) -> None:
        cache: list[Assignment] | None = None
        if expert_ids is None:
            rows = [list(a) for a in (assignments or [])]
            width = max((len(r) for r in rows), default=0)
            ids = np.full((len(rows), width), -1, dtype=np.int64)
            w = np.zeros((len(rows), width))
            for t, row in enumerate(rows):
                for j, (e, x) in enumerate(row):
                    ids[t, j] = e
                    w[t, j] = x
            cache = [[(int(e), float(x)) for e, x in row] for row in rows]
        else:
            if assignments is not None:
                raise InvalidInput("give either assignments or expert_ids/weights, not both",
                                   argument="assignments")
            ids = np.asarray(expert_ids)
            w = np.asarray(weights)
            if ids.ndim != 2 or w.shape != ids.shape:
                raise InvalidInput(f"expert_ids {ids.shape} and weights {w.shape} must be the "
                                   "same [tokens, k] shape", argument="weights")
        if num_experts is None:
            num_experts = int(ids.max()) + 1 if ids.size else 0
        if expert_load is None:
            expert_load = np.bincount(ids[ids >= 0].ravel(), minlength=num_experts)
        set_ = object.__setattr__
        set_(self, "expert_ids", ids)
        set_(self, "weights", w)
        set_(self, "load_balancing_loss", float(load_balancing_loss))
        set_(self, "dropped", list(dropped) if dropped is not None else [])
        set_(self, "router_z_loss", float(router_z_loss))
        set_(self, "expert_load", np.asarray(expert_load))
        set_(self, "capacity", capacity)
        set_(self, "num_experts", int(num_experts))
        set_(self, "mode", mode)
        set_(self, "_assignments", cache)

    @property
    def assignments(self) -> list[Assignment]:
        """Per token ``[(expert, weight), ...]`` — built lazily from the arrays, cached."""
        cached = self.__dict__.get("_assignments")
        if cached is None:
            cached = _build_assignments(self.expert_ids, self.weights)
            object.__setattr__(self, "_assignments", cached)
        return cached

    @property
    def num_tokens(self) -> int:
        return int(self.expert_ids.shape[0])

    @property
    def num_dropped(self) -> int:
        return len(self.dropped)

    def combine_weights(self) -> np.ndarray:
        """Dense ``[tokens, experts]`` gate weights (GShard's combine tensor, 0 = not routed)."""
        out = np.zeros((self.num_tokens, self.num_experts), dtype=self.weights.dtype)
        rows, slots = np.nonzero(self.expert_ids >= 0)
        out[rows, self.expert_ids[rows, slots]] = self.weights[rows, slots]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "expert_ids": self.expert_ids.tolist(),
            "weights": self.weights.tolist(),
            "load_balancing_loss": self.load_balancing_loss,
            "router_z_loss": self.router_z_loss,
            "dropped": list(self.dropped),
            "expert_load": self.expert_load.tolist(),
            "capacity": self.capacity,
            "num_experts": self.num_experts,
            "mode": self.mode,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingResult:
        """Inverse of :meth:`to_dict`."""
        ids = np.asarray(data["expert_ids"], dtype=np.int64)
        w = np.asarray(data["weights"], dtype=np.float64)
        return cls(
            load_balancing_loss=data["load_balancing_loss"], dropped=data["dropped"],
            expert_ids=ids.reshape(len(data["expert_ids"]), -1), weights=w.reshape(ids.shape[0], -1),
            router_z_loss=data["router_z_loss"], expert_load=np.asarray(data["expert_load"], np.int64),
            capacity=data["capacity"], num_experts=data["num_experts"], mode=data["mode"],
        )

    def __repr__(self) -> str:
        return (f"RoutingResult(tokens={self.num_tokens}, num_experts={self.num_experts}, "
                f"mode={self.mode!r}, capacity={self.capacity}, dropped={self.num_dropped}, "
                f"load_balancing_loss={self.load_balancing_loss:.6g}, "
                f"router_z_loss={self.router_z_loss:.6g})")


def _check_int(value: Any, argument: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidType(f"expected an int, got {type(value).__name__}", argument=argument)
    if value < minimum:
        raise InvalidInput(f"must be >= {minimum}, got {value}", argument=argument)
    return int(value)


def _check_float(value: Any, argument: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidType(f"expected a number, got {type(value).__name__}", argument=argument)
    if not (math.isfinite(value) and value > 0):
        raise InvalidInput(f"must be a finite number > 0, got {value!r}", argument=argument)
    return float(value)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


@dataclass(frozen=True)
class SparseMoERouter:
    """Sparse Mixture-of-Experts router over a batch of router logits (numpy).

    ``SparseMoERouter(num_experts, k=1, capacity_factor=None)`` is the seed's call
    shape; everything after it is keyword configuration.

    Token choice (``mode="token_choice"``, default): each token's softmax over experts,
    its top-``k`` experts (ties → lower index), gate weights renormalised over those
    ``k`` (Mixtral; ``normalize_weights=False`` keeps the raw softmax probabilities, as
    Switch top-1 and Qwen-MoE with ``norm_topk_prob=False`` do).

    Noisy top-k gating (Shazeer et al. 2017, ``noisy_gating=True``): before the top-k,
    ``StandardNormal() * std`` is added to each logit, ``std = softplus(noise_logits)``
    when :meth:`route` gets ``noise_logits`` (the paper's ``x @ W_noise``), else
    ``noise_std``. The normal draws come from ``rng`` (a ``numpy.random.Generator``) or
    one built from ``seed`` — never from global state. ``route(..., noise=...)``
    injects the noise itself.

    Expert capacity (``capacity_factor`` or ``expert_capacity``)::

        capacity = min(tokens, max(min_capacity,
                       expert_capacity or ceil(capacity_factor * slots * tokens / num_experts)))

    where ``slots`` is the number of capacity-limited routings per token: ``1`` for
    ``capacity_policy="reroute"`` (the seed's formula ``ceil(cf * tokens / N)``) and
    ``k`` for ``"drop"`` (GShard's ``k * tokens / N`` per expert). Capacity never
    exceeds the number of tokens: DeepSpeed's gates computed
    ``ceil(tokens / N * capacity_factor * k)`` unclamped, which exceeds ``tokens`` once
    ``capacity_factor * k > N`` (or ``min_capacity > tokens``) and crashed
    ``torch.topk(..., k=capacity)`` (deepspeedai/DeepSpeed PRs #5353, #8155). Policies (see
    :mod:`openmoe_bft.moe._capacity`):

    * ``"reroute"`` (default, the seed's semantics): in token order, a token takes the
      first expert of its ranked top-``k`` with room left; only that primary placement
      counts against capacity and the token keeps its other selections, listed after
      it. No room anywhere → dropped. With ``k=1`` this is Switch's token dropping.
    * ``"drop"``: GShard/Switch position priority per slot — all first choices in
      token order, then all second choices, each kept while the expert has room,
      otherwise dropped (no rerouting); weights are not renormalised after a drop.
      This is what HF ``SwitchTransformersTop1Router`` does for ``k=1``.

    Expert choice (``mode="expert_choice"``, Zhou et al. 2022): every expert takes the
    ``C`` tokens with the highest softmax affinity for it (ties → lower token index),
    ``C = ceil(capacity_factor * tokens / num_experts)`` with ``capacity_factor``
    defaulting to ``k`` (on average ``k`` experts per token). Tokens no expert picks
    are dropped; a token's weights are its affinities (renormalised over the experts
    that picked it when ``normalize_weights``).

    A batch is one routing group (HF Switch routes each batch row as its own group:
    call :meth:`route` per group for that).

    The load-balancing loss follows Switch: ``f_i`` from the top-``k`` selections
    before capacity (in expert-choice mode, from the final routings), ``P_i`` the mean
    full-softmax probability of the gate logits (after noise); 1.0 = balanced for every
    ``k``. Hugging Face's Mixtral/Qwen ``load_balancing_loss_func(..., top_k=k)`` is
    exactly ``k`` times this value; Switch's (top-1) equals it. (The seed package took
    ``P_i`` from the finished assignments' renormalised weights, which for ``k=1`` is
    ``N * sum_i f_i**2`` rather than Switch's loss; :func:`load_balancing_loss` keeps
    that formula for callers who only have assignments.) The z-loss (ST-MoE) uses the
    raw logits.
    """

    num_experts: int
    k: int = 1
    capacity_factor: float | None = None
    noisy_gating: bool = False
    noise_std: float = 1.0
    capacity_policy: str = "reroute"
    mode: str = "token_choice"
    normalize_weights: bool = True
    expert_capacity: int | None = None
    min_capacity: int = 0
    seed: int | None = None
    rng: np.random.Generator | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_int(self.num_experts, "num_experts", 1)
        check_k(self.k, self.num_experts)
        if self.capacity_factor is not None:
            _check_float(self.capacity_factor, "capacity_factor")
        if self.expert_capacity is not None:
            _check_int(self.expert_capacity, "expert_capacity", 1)
        _check_int(self.min_capacity, "min_capacity", 0)
        _check_float(self.noise_std, "noise_std")
        if self.capacity_policy not in _POLICIES:
            raise InvalidInput(f"must be one of {_POLICIES}, got {self.capacity_policy!r}",
                               argument="capacity_policy")
        if self.mode not in _MODES:
            raise InvalidInput(f"must be one of {_MODES}, got {self.mode!r}", argument="mode")
        for name in ("noisy_gating", "normalize_weights"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidType(f"expected a bool, got {type(getattr(self, name)).__name__}",
                                  argument=name)
        if self.rng is not None and not isinstance(self.rng, np.random.Generator):
            raise InvalidType(f"expected a numpy.random.Generator, got {type(self.rng).__name__}",
                              argument="rng")
        if self.seed is not None:
            _check_int(self.seed, "seed", 0)
        # the generator is private state: built here, never at import time
        object.__setattr__(self, "_rng", self.rng if self.rng is not None
                           else np.random.default_rng(self.seed))

    # ------------------------------------------------------------------ capacity

    def capacity_for(self, num_tokens: int) -> int | None:
        """Expert capacity applied to a batch of ``num_tokens`` (``None``: unlimited)."""
        t = num_tokens
        if self.expert_capacity is not None:
            c = self.expert_capacity
        elif self.mode == "expert_choice":
            cf = self.capacity_factor if self.capacity_factor is not None else float(self.k)
            c = math.ceil(cf * t / self.num_experts)
        elif self.capacity_factor is None:
            return None
        else:
            slots = self.k if self.capacity_policy == "drop" else 1
            c = math.ceil(self.capacity_factor * slots * t / self.num_experts)
        return int(min(t, max(c, self.min_capacity)))

    # ------------------------------------------------------------------ routing

    def _empty(self) -> RoutingResult:
        width = self.k if self.mode == "token_choice" else 0
        return RoutingResult(
            expert_ids=np.zeros((0, width), dtype=np.intp), weights=np.zeros((0, width)),
            load_balancing_loss=0.0, dropped=[], router_z_loss=0.0,
            expert_load=np.zeros(self.num_experts, dtype=np.intp), capacity=self.capacity_for(0),
            num_experts=self.num_experts, mode=self.mode,
        )

    def route(
        self,
        logits: Any,
        *,
        noise: Any = None,
        noise_logits: Any = None,
        selected: Any = None,
        rng: np.random.Generator | None = None,
    ) -> RoutingResult:
        """Route a batch: ``logits`` ``[tokens, num_experts]`` (list of lists, numpy array or
        torch tensor; torch is read through numpy, never imported).

        ``noise``: explicit additive noise ``[tokens, num_experts]``. ``noise_logits``:
        ``[tokens, num_experts]`` noise-scale logits for ``noisy_gating`` (Shazeer et al.'s
        ``x @ W_noise``; std = softplus of it).
        ``rng``: overrides the router's generator for this call. ``selected``:
        ``[tokens, j]`` expert ids chosen elsewhere (e.g. by a Byzantine quorum, see
        :func:`~openmoe_bft.moe.route_settled`) — used instead of the top-``k``; the
        logits then only set the weights, the order and the losses.

        Bad input raises :class:`~openmoe_bft.errors.InvalidInput` /
        :class:`~openmoe_bft.errors.InvalidType` naming the argument: ragged rows, a
        wrong rank or row length, NaN / ±inf scores, non-numbers.
        """
        x = as_float_array(logits, "logits")
        e_count = self.num_experts
        if x.size == 0 and (x.ndim == 1 or (x.ndim == 2 and x.shape[1] in (0, e_count))):
            return self._empty()
        if x.ndim != 2:
            raise InvalidInput(f"expected [tokens, num_experts] router scores, got shape {x.shape}",
                               argument="logits")
        if x.shape[1] != e_count:
            raise InvalidInput(f"each token must have {e_count} logits, got rows of length "
                               f"{x.shape[1]}", argument="logits")
        check_finite(x, "logits")
        t = x.shape[0]
        gate, noisy = self._gate_logits(x, noise, noise_logits, rng)

        rows = np.arange(t)
        top = gate.argmax(axis=1)
        m = gate[rows, top]
        z = gate - m[:, None]  # our own scratch copy from here on
        if self.mode == "expert_choice":
            if selected is not None:
                raise InvalidInput("selected= needs mode='token_choice'", argument="selected")
            return self._expert_choice(x, z, m, noisy)

        if selected is None:
            ids, vals = _topk_desc(z, self.k, first=top)
        else:
            ids, vals = self._selected(selected, z)
        np.exp(z, out=z)
        s = z.sum(axis=1)
        w = np.exp(vals)
        if self.normalize_weights:
            w /= w.sum(axis=1, keepdims=True)
        else:
            w /= s[:, None]
        aux, f = _switch_loss(z, s, ids, e_count)
        if noisy:
            zl = _z_loss(x)
        else:
            lse = m.astype(np.float64) + np.log(s, dtype=np.float64)
            zl = float(np.dot(lse, lse) / t)

        cap = self.capacity_for(t)
        dropped_mask = None
        if cap is not None:
            if self.capacity_policy == "drop":
                keep = _capacity.drop(ids, cap, e_count)
                if not keep.all():
                    ids = np.where(keep, ids, -1)
                    w = np.where(keep, w, 0.0).astype(w.dtype, copy=False)
                    dropped_mask = ~keep.any(axis=1)
            else:
                rank = _capacity.reroute(ids, cap, e_count)
                if rank.any():
                    ids, w, dropped_mask = _apply_rank(ids, w, rank)
        if dropped_mask is None:
            dropped: list[int] = []
            load = f
        else:
            dropped = np.flatnonzero(dropped_mask).tolist()
            load = np.bincount(ids[ids >= 0], minlength=e_count)
        return RoutingResult(
            expert_ids=ids, weights=w, load_balancing_loss=aux, dropped=dropped,
            router_z_loss=zl, expert_load=load, capacity=cap, num_experts=e_count,
            mode=self.mode,
        )

    def _gate_logits(self, x: np.ndarray, noise: Any, noise_logits: Any,
                     rng: np.random.Generator | None) -> tuple[np.ndarray, bool]:
        if noise is not None:
            n = as_float_array(noise, "noise")
            if n.shape != x.shape:
                raise InvalidInput(f"shape {n.shape} must match logits {x.shape}", argument="noise")
            check_finite(n, "noise")
            return x + n, True
        if noise_logits is not None and not self.noisy_gating:
            raise InvalidInput("only used with noisy_gating=True", argument="noise_logits")
        if not self.noisy_gating:
            return x, False
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise InvalidType(f"expected a numpy.random.Generator, got {type(rng).__name__}",
                              argument="rng")
        gen = rng if rng is not None else self.__dict__["_rng"]
        if noise_logits is not None:
            nl = as_float_array(noise_logits, "noise_logits")
            if nl.shape != x.shape:
                raise InvalidInput(f"shape {nl.shape} must match logits {x.shape}",
                                   argument="noise_logits")
            check_finite(nl, "noise_logits")
            std: Any = _softplus(nl)
        else:
            std = self.noise_std
        draw = gen.standard_normal(x.shape, dtype=x.dtype)
        return x + draw * std, True

    def _selected(self, selected: Any, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sel = np.asarray(selected.detach().cpu().numpy() if hasattr(selected, "detach") else selected)
        if sel.dtype.kind not in "iu":
            raise InvalidType(f"expected integer expert ids, got dtype {sel.dtype}", argument="selected")
        if sel.ndim == 1:
            sel = sel[:, None]
        if sel.ndim != 2 or sel.shape[0] != z.shape[0] or sel.shape[1] < 1:
            raise InvalidInput(f"expected [tokens, j] expert ids for {z.shape[0]} tokens, got "
                               f"shape {sel.shape}", argument="selected")
        if sel.size and (sel.min() < 0 or sel.max() >= self.num_experts):
            raise InvalidInput(f"expert ids must be in [0, {self.num_experts})", argument="selected")
        sel = np.sort(sel.astype(np.intp), axis=1)
        if sel.shape[1] > 1 and (np.diff(sel, axis=1) == 0).any():
            raise InvalidInput("a token lists the same expert twice", argument="selected")
        vals = np.take_along_axis(z, sel, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        return np.take_along_axis(sel, order, axis=1), np.take_along_axis(vals, order, axis=1)

    def _expert_choice(self, x: np.ndarray, z: np.ndarray, m: np.ndarray, noisy: bool) -> RoutingResult:
        t, e_count = z.shape
        np.exp(z, out=z)
        s = z.sum(axis=1)
        probs = z / s[:, None]
        cap = int(self.capacity_for(t))  # type: ignore[arg-type]
        pt = np.ascontiguousarray(probs.T)  # [experts, tokens]
        if cap >= t:
            pick = np.ones_like(pt, dtype=bool)
        else:
            thr = -np.partition(-pt, cap - 1, axis=1)[:, cap - 1]  # each expert's C-th best
            pick = pt >= thr[:, None]
            if not (pick.sum(axis=1) == cap).all():  # ties at the threshold: lower token wins
                gt = pt > thr[:, None]
                eq = pt == thr[:, None]
                need = cap - gt.sum(axis=1)
                pick = gt | (eq & (np.cumsum(eq, axis=1) <= need[:, None]))
        ei, ti = np.nonzero(pick)
        wv = pt[ei, ti]
        order = np.lexsort((ei, -wv, ti))  # by token, then weight descending, then expert
        ei, ti, wv = ei[order], ti[order], wv[order]
        per_token = np.bincount(ti, minlength=t)
        width = int(per_token.max())
        pos = np.arange(ti.size) - np.repeat(np.cumsum(per_token) - per_token, per_token)
        ids = np.full((t, width), -1, dtype=np.intp)
        ids[ti, pos] = ei
        w = np.zeros((t, width), dtype=probs.dtype)
        w[ti, pos] = wv
        if self.normalize_weights:
            tot = w.sum(axis=1, keepdims=True)
            w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
        load = pick.sum(axis=1)
        total = int(load.sum())
        p_mean = probs.mean(axis=0, dtype=np.float64)
        aux = float(e_count * np.dot(load / total, p_mean)) if total else 0.0
        if noisy:
            zl = _z_loss(x)
        else:
            lse = m.astype(np.float64) + np.log(s, dtype=np.float64)
            zl = float(np.dot(lse, lse) / t)
        return RoutingResult(
            expert_ids=ids, weights=w, load_balancing_loss=aux,
            dropped=np.flatnonzero(per_token == 0).tolist(), router_z_loss=zl,
            expert_load=load, capacity=cap, num_experts=e_count, mode=self.mode,
        )


def _z_loss(x: np.ndarray) -> float:
    m = x.max(axis=1)
    lse = m.astype(np.float64) + np.log(np.exp(x - m[:, None]).sum(axis=1, dtype=np.float64))
    return float(np.dot(lse, lse) / x.shape[0])


def _apply_rank(ids: np.ndarray, w: np.ndarray, rank: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reorder each token's slots so the placed rank comes first (the seed's layout);
    dropped tokens (``rank == k``) get ``-1`` / 0 everywhere."""
    t, k = ids.shape
    dropped = rank >= k
    r = np.minimum(rank, k - 1)[:, None]
    perm = np.empty((t, k), dtype=np.intp)
    perm[:, :1] = r
    if k > 1:
        j = np.arange(k - 1)[None, :]
        perm[:, 1:] = j + (j >= r)
    ids = np.take_along_axis(ids, perm, axis=1)
    w = np.take_along_axis(w, perm, axis=1)
    if dropped.any():
        ids[dropped] = -1
        w[dropped] = 0.0
    return ids, w, dropped
