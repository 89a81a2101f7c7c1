"""``BFTGate``: a Byzantine-fault-tolerant drop-in for a MoE layer's router.

The gate holds ``R`` router replicas as one ``[R, E, H]`` weight and settles, per
token, which experts the token goes to:

1. **Logits** — one batched matmul (``torch.bmm``, ``x`` broadcast, not copied) gives
   every replica's logits ``[R, T, E]``.
2. **Aggregate** — the coordinate-wise median over replicas (``aggregate="median"``;
   for even ``R`` the mean of the two middle values, like ``numpy.median``) or the
   mean of the middle ``R - 2f`` values (``"trimmed_mean"``). These are the
   ``router_logits`` the MoE layer trains on.
3. **Proposal** — the aggregate's top-``k`` expert set ``S`` (``torch.topk``).
4. **Vote** — replica ``r`` votes for ``S`` when its own logits rank ``S`` on top:
   ``min(l_r[S]) >= max(l_r[not S])`` (ties count as support, so exact copies of a
   router always agree, whatever ``torch.topk``'s tie order). A replica whose logit
   row for the token is not finite (NaN, ±inf, or so large its sum overflows)
   *abstains* for that token.
5. **Decision** — ``S`` is dispatched when it has ``decision_threshold(R)`` votes
   (``max(2f + 1, R // 2 + 1)``, the same rule as :func:`openmoe_bft.settle_batch`).
   Otherwise the token is **withheld**: all-zero dispatch row and combine weights,
   ``topk_ids`` set to the sentinel ``num_experts`` (Hugging Face's MoE experts skip
   that id), so the MoE layer's residual path carries it.

What is guaranteed, with ``b`` Byzantine replicas (arbitrary logits, NaN included):

* **Safety, ``b < threshold``** (``b <= 2f`` for ``R = 3f + 1``): every dispatched set
  has at least one honest vote, i.e. it is a top-``k`` set of some honest replica. A
  token is never sent to a set no honest replica ranks on top; if honest replicas
  cannot agree it is withheld.
* **Liveness and exactness, ``b <= f`` and honest replicas identical** (the normal
  case: replicas are copies of one router, see :meth:`BFTGate.from_router` and
  ``grad="replicated"``): per coordinate the median is an honest value, so the
  aggregate equals the honest logits *bit for bit* (odd ``R``; even ``R``: the mean
  of two equal values, also exact; each replica's block of the batched matmul is
  the GEMM ``F.linear`` runs for one router, bit-equal to it in our CPU tests), every token is dispatched to the honest router's
  choice with its weights, and the Byzantine replicas show up as disagreements.
* With ``b <= f`` and *non-identical* honest replicas the median lies per coordinate
  within the honest range (not equal to any one honest replica in general), and a
  token is dispatched only when the aggregate's choice gathers the threshold.
* With ``f < b < threshold`` the dispatched *set* is still honest-backed, but the
  combine weights come from the aggregate, which the ``b`` replicas can pull anywhere
  between their logits and the honest ones; many tokens are withheld.
* ``b >= threshold`` colluding replicas can outvote the honest ones: no rule can help.

A fault that keeps the honest ranking (logits scaled by a positive factor) is no
routing fault and goes unnoticed; so does a replica whose logits are constant (a
tie everywhere supports any set). Neither changes what is dispatched.

Gradients (``grad=``): ``"replicated"`` (default) — the gradient of the aggregate
logits ``g`` is given to *every* replica as if it had produced the aggregate
(``dW_r = g^T x``), so replicas that start as exact copies stay exact copies under
any elementwise optimizer, and the vote stays meaningful while training; the input
gets ``g @ median_r(W_r)`` (the robust aggregate of the weights, equal to the honest
weights under the exactness conditions above). ``"subgradient"`` — autograd's
subgradient of the median: each coordinate's gradient reaches only the replica(s)
the aggregate selected (split between the two middle ones for even ``R``, over the
middle ``R - 2f`` for the trimmed mean); use it for independently trained replicas.
Either way non-finite replica weights never turn the input gradient into NaN.

Bad input vs. faults: NaN/inf in a *replica's* logits is a fault the gate tolerates
(that replica abstains). NaN/inf in the layer's *input* hidden states is bad input:
it makes every replica's logits non-finite, and the gate raises
:class:`~openmoe_bft.errors.InvalidInput` naming the token (``check_inputs=False``
skips the check; such tokens are then withheld).

Cost: one batched matmul (R times a single router's), a pruned comparator network
of elementwise min/max for the median (6 ops for R = 4, 22 for R = 7), one top-k
of the aggregate and two reductions over ``[R, T, E]`` for the vote. On a GPU the
forward synchronises three times (finite checks) to take the all-finite fast path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ..bft.quorum import check_node_count, tolerated_faults
from ..errors import InvalidInput, InvalidType
from ._network import run_median

__all__ = ["BFTGate", "GateOutput", "GateStats", "Fault", "FAULT_MODES"]

AGGREGATES = ("median", "trimmed_mean")
GRAD_MODES = ("replicated", "subgradient")
FAULT_MODES = ("sign_flip", "scale", "noise", "zero", "nan", "inf", "target", "custom")
# Above this many replicas a torch.sort beats the comparator network.
_NETWORK_MAX_R = 16


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class GateStats:
    """Plain-Python counts of one forward (:meth:`GateOutput.stats`) or of every forward
    since the last reset (:meth:`BFTGate.stats`).

    ``disagreements[r]``: dispatched tokens for which replica ``r`` did not vote for the
    decided set. ``abstentions[r]``: tokens for which its logits were not finite.
    ``flagged_replicas``: replicas with at least one disagreement or abstention.
    """

    tokens: int
    dispatched: int
    withheld: int
    replicas: int
    f: int
    threshold: int
    disagreements: tuple[int, ...]
    abstentions: tuple[int, ...]

    @property
    def flagged_replicas(self) -> tuple[int, ...]:
        return tuple(
            r for r, (d, a) in enumerate(zip(self.disagreements, self.abstentions, strict=True)) if d or a
        )

    @property
    def withheld_fraction(self) -> float:
        return self.withheld / self.tokens if self.tokens else 0.0

    @classmethod
    def of(cls, tokens: int, withheld: int, disagreements: torch.Tensor, abstentions: torch.Tensor,
           *, replicas: int, f: int, threshold: int) -> GateStats:
        """From counters (ints or 0-d tensors; per-replica tensors); synchronises with the device."""
        tokens, withheld = int(tokens), int(withheld)
        return cls(
            tokens=tokens,
            dispatched=tokens - withheld,
            withheld=withheld,
            replicas=replicas,
            f=f,
            threshold=threshold,
            disagreements=tuple(int(v) for v in disagreements.tolist()),
            abstentions=tuple(int(v) for v in abstentions.tolist()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "dispatched": self.dispatched,
            "withheld": self.withheld,
            "replicas": self.replicas,
            "f": self.f,
            "threshold": self.threshold,
            "disagreements": list(self.disagreements),
            "abstentions": list(self.abstentions),
            "flagged_replicas": list(self.flagged_replicas),
        }


@dataclass(frozen=True, eq=False)
class GateOutput:
    """What :meth:`BFTGate.forward` returns; ``T`` = tokens (leading dims flattened).

    ``router_logits [T, E]``: the aggregate (differentiable). ``topk_ids [T, k]``
    (int64): the decided experts, highest weight first; ``num_experts`` for a
    withheld token. ``topk_weights [T, k]``: softmax of the aggregate at those
    experts (renormalised to sum 1 when ``normalize_topk``), 0 when withheld; float32
    for half-precision inputs, else the input dtype. ``dispatch_mask [T, E]`` (bool)
    and ``combine_weights [T, E]``: the same decision as dense tensors.
    ``withheld [T]`` (bool): no quorum, not dispatched. ``votes [T]``: replicas that
    voted for the aggregate's proposal. ``disagreements [R]``, ``abstentions [R]``:
    per-replica counts (see :class:`GateStats`). ``aux_loss``: Switch load-balancing
    loss over the dispatched tokens, ``E * sum_e frac_e * mean_prob_e`` (1.0 when
    balanced; 0 when nothing is dispatched). ``z_loss``: ST-MoE router z-loss,
    ``mean(logsumexp(router_logits)**2)`` over tokens with a finite aggregate. Both
    are unscaled: multiply by your coefficients (e.g. 1e-2 and 1e-3).
    """

    router_logits: torch.Tensor
    topk_ids: torch.Tensor
    topk_weights: torch.Tensor
    dispatch_mask: torch.Tensor
    combine_weights: torch.Tensor
    withheld: torch.Tensor
    votes: torch.Tensor
    disagreements: torch.Tensor
    abstentions: torch.Tensor
    aux_loss: torch.Tensor
    z_loss: torch.Tensor
    replicas: int
    f: int
    threshold: int
    num_experts: int

    @property
    def num_tokens(self) -> int:
        return int(self.withheld.shape[0])

    @property
    def num_withheld(self) -> int:
        return int(self.withheld.sum())

    @property
    def flagged_replicas(self) -> tuple[int, ...]:
        return self.stats().flagged_replicas

    def stats(self) -> GateStats:
        """Counts of this forward as Python ints (synchronises with the device)."""
        return GateStats.of(self.num_tokens, self.num_withheld, self.disagreements, self.abstentions,
                            replicas=self.replicas, f=self.f, threshold=self.threshold)

    def to_hf(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(router_logits, router_scores, router_indices)`` as Hugging Face's
        ``MixtralTopKRouter`` / ``Qwen2MoeTopKRouter`` return them (transformers 5.x).

        Withheld tokens carry index ``num_experts`` and score 0; HF's eager experts
        (``one_hot(..., num_experts + 1)``, ``if expert_idx == num_experts: continue``)
        skip them, so they take the residual path.
        """
        return self.router_logits, self.topk_weights, self.topk_ids


@dataclass(frozen=True)
class Fault:
    """A fault injected into one replica's logits on every forward (see
    :meth:`BFTGate.inject_fault`)."""

    mode: str
    scale: float = 1.0
    experts: tuple[int, ...] = ()
    seed: int = 0
    fn: Callable[[torch.Tensor], None] | None = field(default=None, compare=False, repr=False)
    # one seeded generator per device, made on first use (the gate may be moved)
    generators: dict[str, torch.Generator] = field(default_factory=dict, compare=False, repr=False)

    def generator(self, device: torch.device) -> torch.Generator:
        gen = self.generators.get(str(device))
        if gen is None:
            gen = self.generators[str(device)] = torch.Generator(device=device)
            gen.manual_seed(self.seed)
        return gen


# --------------------------------------------------------------------------- autograd


def _sanitize(t: torch.Tensor) -> torch.Tensor:
    """NaN -> +inf (keep ±inf): the order statistics then treat a NaN as an extreme."""
    return torch.nan_to_num(t, nan=math.inf, posinf=math.inf, neginf=-math.inf)


def _aggregate(stack: torch.Tensor, dim: int, method: str, f: int) -> torch.Tensor:
    """Coordinate-wise median / trimmed mean of ``stack`` over ``dim`` (no NaN inside)."""
    r = stack.shape[dim]
    if r == 1:
        return stack.select(dim, 0)
    if method == "median" and r <= _NETWORK_MAX_R:
        return run_median(list(stack.unbind(dim)))
    s = torch.sort(stack, dim=dim).values
    if method == "median":
        if r % 2:
            return s.select(dim, r // 2)
        return (s.select(dim, r // 2 - 1) + s.select(dim, r // 2)) * 0.5
    return s.narrow(dim, f, r - 2 * f).mean(dim)


def _apply_faults(logits: torch.Tensor, faults: Mapping[int, Fault]) -> None:
    """Overwrite faulty replicas' logits ``[R, T, E]`` in place."""
    for r, fault in faults.items():
        view = logits[r]
        mode = fault.mode
        if mode == "sign_flip":
            view.neg_()
        elif mode == "scale":
            view.mul_(fault.scale)
        elif mode == "zero":
            view.zero_()
        elif mode == "nan":
            view.fill_(math.nan)
        elif mode == "inf":
            view.fill_(math.inf)
        elif mode == "noise":
            gen = fault.generator(view.device)
            noise = torch.randn(view.shape, generator=gen, device=view.device, dtype=view.dtype)
            view.copy_(noise.mul_(fault.scale))
        elif mode == "target":
            view.zero_()
            view[:, list(fault.experts)] = fault.scale
        elif mode == "custom":
            fault.fn(view)


class _ReplicaRouting(torch.autograd.Function):
    """Replica logits + aggregate in one node, with the gradient rules of the module doc."""

    @staticmethod
    def forward(ctx, x, weight, bias, method, grad_mode, f, faults):  # type: ignore[override]
        r, e, h = weight.shape
        t = x.shape[0]
        # One batched matmul over replicas; x is broadcast (stride 0, not copied), and
        # each replica's [T, E] block is the same GEMM F.linear would run for it alone.
        xs = x.unsqueeze(0).expand(r, t, h)
        if bias is None:
            logits = torch.bmm(xs, weight.transpose(1, 2))
        else:
            logits = torch.baddbmm(bias.unsqueeze(1), xs, weight.transpose(1, 2))
        if faults:
            _apply_faults(logits, faults)
        finite = torch.isfinite(logits.sum(-1))  # [R, T]; overflowing rows count as not finite
        work = logits if bool(finite.all()) else _sanitize(logits)
        agg = _aggregate(work, 0, method, f)
        if r == 1:
            agg = agg.clone()  # a view of `logits`: an output must not alias another output
        ctx.method, ctx.grad_mode, ctx.f = method, grad_mode, f
        ctx.save_for_backward(x, weight, work if grad_mode == "subgradient" else None)
        ctx.mark_non_differentiable(logits, finite)
        return agg, logits, finite

    @staticmethod
    @once_differentiable
    def backward(ctx, g, _g_logits, _g_finite):  # type: ignore[override]
        x, weight, work = ctx.saved_tensors
        r, e, h = weight.shape
        need_x, need_w, need_b = ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        gx = gw = gb = None
        if g is None:
            return None, None, None, None, None, None, None
        g = g.contiguous()
        if ctx.grad_mode == "replicated":
            if need_w:
                gw = g.t().mm(x).unsqueeze(0).expand(r, e, h)
            if need_b:
                gb = g.sum(0).unsqueeze(0).expand(r, e)
            if need_x:
                w_agg = weight[0] if r == 1 else _aggregate(_sanitize(weight), 0, ctx.method, ctx.f)
                gx = g.mm(torch.where(torch.isfinite(w_agg), w_agg, 0))
        else:
            t = g.shape[0]
            g_rep = torch.zeros_like(work)  # [R, T, E]
            if r == 1:
                g_rep[0] = g
            else:
                idx = torch.sort(work, dim=0, stable=True).indices
                if ctx.method == "median" and r % 2:
                    g_rep.scatter_(0, idx[r // 2 : r // 2 + 1], g.unsqueeze(0))
                elif ctx.method == "median":
                    half = (g * 0.5).unsqueeze(0)
                    g_rep.scatter_add_(0, idx[r // 2 - 1 : r // 2], half)
                    g_rep.scatter_add_(0, idx[r // 2 : r // 2 + 1], half)
                else:
                    m = r - 2 * ctx.f
                    g_rep.scatter_(0, idx[ctx.f : ctx.f + m], (g / m).unsqueeze(0).expand(m, t, e))
            if need_w:
                gw = torch.bmm(g_rep.transpose(1, 2), x.unsqueeze(0).expand(r, t, h))
            if need_b:
                gb = g_rep.sum(1)
            if need_x:
                safe_w = torch.where(torch.isfinite(weight), weight, 0)
                gx = torch.bmm(g_rep, safe_w).sum(0)
        return gx, gw, gb, None, None, None, None


# --------------------------------------------------------------------------- module


class BFTGate(nn.Module):
    """``R`` router replicas of one MoE layer, settled per token by a Byzantine quorum.

    ``BFTGate(hidden_size, num_experts, replicas=4, k=2)`` initialises one router like
    ``nn.Linear`` and copies it into every replica (``init="copies"``; replicas of one
    router are what a quorum is for); ``init="independent"`` draws each replica on its
    own. :meth:`from_router` copies an existing router exactly.

    Options: ``k`` experts per token; ``f`` faults to tolerate (default and maximum
    ``(R - 1) // 3``; the vote threshold is ``max(2f + 1, R // 2 + 1)``);
    ``bias`` (like ``nn.Linear``); ``normalize_topk`` (Mixtral-style: the ``k``
    weights sum to 1; otherwise raw softmax probabilities); ``aggregate`` =
    ``"median"`` | ``"trimmed_mean"``; ``grad`` = ``"replicated"`` |
    ``"subgradient"``; ``check_inputs`` (raise on NaN/inf hidden states).

    ``forward(hidden_states [..., H]) -> GateOutput`` (tokens flattened to ``[T, ...]``).
    The semantics and guarantees are in this module's docstring.
    """

    weight: torch.Tensor
    bias: torch.Tensor | None

    def __init__(
        self,
        hidden_size: int,
        num_experts: int,
        replicas: int = 4,
        *,
        k: int = 2,
        f: int | None = None,
        bias: bool = False,
        normalize_topk: bool = True,
        aggregate: str = "median",
        grad: str = "replicated",
        init: str = "copies",
        check_inputs: bool = True,
        device: Any = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        hidden_size = _positive_int(hidden_size, "hidden_size")
        num_experts = _positive_int(num_experts, "num_experts")
        replicas = check_node_count(replicas, "replicas")
        k = _positive_int(k, "k")
        if k > num_experts:
            raise InvalidInput(f"k={k} is larger than the {num_experts} experts", argument="k")
        max_f = tolerated_faults(replicas)
        if f is None:
            f = max_f
        elif isinstance(f, bool) or not isinstance(f, int) or f < 0:
            raise InvalidInput(f"expected an int >= 0, got {f!r}", argument="f")
        elif f > max_f:
            raise InvalidInput(
                f"{replicas} replicas tolerate at most {max_f} faulty ones "
                f"(need replicas >= 3f + 1 = {3 * f + 1} for f={f})",
                argument="f",
            )
        if aggregate not in AGGREGATES:
            raise InvalidInput(f"expected one of {AGGREGATES}, got {aggregate!r}", argument="aggregate")
        if grad not in GRAD_MODES:
            raise InvalidInput(f"expected one of {GRAD_MODES}, got {grad!r}", argument="grad")
        if init not in ("copies", "independent"):
            raise InvalidInput(f"expected 'copies' or 'independent', got {init!r}", argument="init")
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise InvalidType(f"expected a floating torch.dtype, got {dtype!r}", argument="dtype")
        self.hidden_size = hidden_size
        self.num_experts = num_experts
        self.replicas = replicas
        self.k = k
        self.f = f
        self.threshold = max(2 * f + 1, replicas // 2 + 1)
        self.normalize_topk = bool(normalize_topk)
        self.aggregate = aggregate
        self.grad = grad
        self.check_inputs = bool(check_inputs)
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(replicas, num_experts, hidden_size, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(replicas, num_experts, **factory))
        else:
            self.register_parameter("bias", None)
        self._faults: dict[int, Fault] = {}
        counters = {"tokens": (), "withheld": (), "disagreements": (replicas,), "abstentions": (replicas,)}
        for name, shape in counters.items():
            self.register_buffer(f"_n_{name}", torch.zeros(shape, dtype=torch.int64, device=device), persistent=False)
        self.reset_parameters(independent=init == "independent")

    # -- construction ---------------------------------------------------------------

    def reset_parameters(self, *, independent: bool = False) -> None:
        """``nn.Linear``'s init; the same draw in every replica unless ``independent``."""
        with torch.no_grad():
            rows = self.replicas if independent else 1
            for r in range(rows):
                nn.init.kaiming_uniform_(self.weight[r], a=math.sqrt(5))
                if self.bias is not None:
                    bound = 1 / math.sqrt(self.hidden_size)
                    nn.init.uniform_(self.bias[r], -bound, bound)
            if not independent:
                self.weight[1:].copy_(self.weight[:1].expand_as(self.weight[1:]))
                if self.bias is not None:
                    self.bias[1:].copy_(self.bias[:1].expand_as(self.bias[1:]))

    @classmethod
    def from_router(cls, router: nn.Module, replicas: int = 4, **kwargs: Any) -> BFTGate:
        """``R`` exact copies of an existing router.

        ``router`` is an ``nn.Linear(hidden, experts)`` or any module with a 2-D
        ``weight [experts, hidden]`` (and optional ``bias``), e.g. Hugging Face's
        ``MixtralTopKRouter`` / ``Qwen2MoeTopKRouter``; their ``top_k`` and
        ``norm_topk_prob`` become ``k`` and ``normalize_topk`` unless given. The copies
        live on the router's device and dtype.
        """
        w = getattr(router, "weight", None)
        if not isinstance(w, torch.Tensor) or w.dim() != 2:
            raise InvalidType(
                f"expected an nn.Linear or a module with a 2-D weight [experts, hidden], got "
                f"{type(router).__name__}",
                argument="router",
            )
        b = getattr(router, "bias", None)
        if b is not None and (not isinstance(b, torch.Tensor) or tuple(b.shape) != (w.shape[0],)):
            raise InvalidInput(f"bias must have shape ({w.shape[0]},)", argument="router")
        if "k" not in kwargs and isinstance(getattr(router, "top_k", None), int):
            kwargs["k"] = router.top_k
        if "normalize_topk" not in kwargs and hasattr(router, "norm_topk_prob"):
            kwargs["normalize_topk"] = bool(router.norm_topk_prob)
        e, h = w.shape
        gate = cls(h, e, replicas, bias=b is not None, device=w.device, dtype=w.dtype, **kwargs)
        with torch.no_grad():
            gate.weight.copy_(w.detach().unsqueeze(0).expand_as(gate.weight))
            if b is not None:
                gate.bias.copy_(b.detach().unsqueeze(0).expand_as(gate.bias))
        return gate

    # -- faults ---------------------------------------------------------------------

    def inject_fault(
        self,
        replica: int,
        mode: str,
        *,
        scale: float | None = None,
        experts: Iterable[int] | None = None,
        seed: int = 0,
        fn: Callable[[torch.Tensor], None] | None = None,
    ) -> None:
        """Make replica ``replica`` emit faulty logits on every forward until cleared.

        Modes: ``"sign_flip"`` (negated logits: ranks the worst experts first),
        ``"scale"`` (logits × ``scale``, default 1e6), ``"noise"`` (fresh
        ``N(0, scale²)`` logits each call, default scale 1, seeded by ``seed``),
        ``"zero"``, ``"nan"``, ``"inf"``, ``"target"`` (every token pushed to
        ``experts`` with logit ``scale``, default 1e4: a router steering everything to
        one expert), ``"custom"`` (``fn(logits)`` edits the replica's ``[T, E]`` logits
        in place, e.g. bit flips; see :mod:`openmoe_bft.faults`). The fault models a
        compromised replica's *output*; its weights are untouched and keep receiving
        updates. To corrupt weights instead, edit them: ``with torch.no_grad(): gate.weight[r].neg_()``.
        """
        replica = self._check_replica(replica)
        if mode not in FAULT_MODES:
            raise InvalidInput(f"expected one of {FAULT_MODES}, got {mode!r}", argument="mode")
        default_scale = {"scale": 1e6, "target": 1e4}.get(mode, 1.0)
        scale = default_scale if scale is None else float(scale)
        if not math.isfinite(scale):
            raise InvalidInput(f"expected a finite number, got {scale!r}", argument="scale")
        chosen: tuple[int, ...] = ()
        if mode == "target":
            if experts is None:
                raise InvalidInput("mode='target' needs experts=[...]", argument="experts")
            chosen = tuple(int(x) for x in experts)
            if not chosen or any(not 0 <= x < self.num_experts for x in chosen):
                raise InvalidInput(f"expected expert ids in [0, {self.num_experts})", argument="experts")
        if (mode == "custom") != (fn is not None) or (fn is not None and not callable(fn)):
            raise InvalidInput("mode='custom' needs a callable fn=, other modes take none", argument="fn")
        self._faults[replica] = Fault(mode=mode, scale=scale, experts=chosen, seed=int(seed), fn=fn)

    def clear_faults(self, replica: int | None = None) -> None:
        """Remove the injected fault of ``replica`` (all faults when ``None``)."""
        if replica is None:
            self._faults.clear()
        else:
            self._faults.pop(self._check_replica(replica), None)

    @property
    def faults(self) -> Mapping[int, Fault]:
        """Injected faults by replica index (read-only view)."""
        return MappingProxyType(self._faults)

    # -- statistics -----------------------------------------------------------------

    def stats(self) -> GateStats:
        """Counts over every forward since construction or :meth:`reset_stats`."""
        return GateStats.of(self._n_tokens, self._n_withheld, self._n_disagreements,
                            self._n_abstentions, replicas=self.replicas, f=self.f,
                            threshold=self.threshold)

    def reset_stats(self) -> None:
        for name in ("tokens", "withheld", "disagreements", "abstentions"):
            getattr(self, f"_n_{name}").zero_()

    # -- forward --------------------------------------------------------------------

    def forward(self, hidden_states: torch.Tensor) -> GateOutput:
        x = self._check_hidden(hidden_states)
        t = x.shape[0]
        e, k, r = self.num_experts, self.k, self.replicas
        agg, logits, finite = _ReplicaRouting.apply(
            x, self.weight, self.bias, self.aggregate, self.grad, self.f, self._faults
        )
        with torch.no_grad():
            if self.check_inputs:
                self._check_finite_input(x, finite)
            agg_ok = torch.isfinite(agg.sum(-1))  # [T]
            all_ok = bool(agg_ok.all())
        safe = agg if all_ok else torch.where(agg_ok.unsqueeze(-1), agg, 0)
        wdtype = torch.promote_types(safe.dtype, torch.float32)
        probs = torch.softmax(safe.to(wdtype), dim=-1)
        with torch.no_grad():
            ids = torch.topk(safe.detach(), k, dim=-1).indices  # [T, k], highest first
            chosen = torch.zeros(t, e, dtype=torch.bool, device=x.device).scatter_(1, ids, True)
            lo = logits.gather(2, ids.unsqueeze(0).expand(r, t, k)).amin(-1)  # [R, T]
            if k < e:
                hi = logits.masked_fill(chosen.unsqueeze(0), -math.inf).amax(-1)
                support = (lo >= hi) & finite
            else:
                support = finite
            votes = support.sum(0)
            dispatched = (votes >= self.threshold) & agg_ok
            withheld = ~dispatched
            dispatch_mask = chosen & dispatched.unsqueeze(-1)
            disagreements = (support.logical_not() & dispatched.unsqueeze(0)).sum(1)
            abstentions = finite.logical_not().sum(1)
            topk_ids = torch.where(dispatched.unsqueeze(-1), ids, e)
            self._n_tokens += t
            self._n_withheld += withheld.sum()
            self._n_disagreements += disagreements
            self._n_abstentions += abstentions
        w = probs.gather(1, ids)
        if self.normalize_topk:
            w = w / w.sum(-1, keepdim=True)
        w = torch.where(dispatched.unsqueeze(-1), w, 0)
        combine = torch.zeros(t, e, dtype=wdtype, device=x.device).scatter(1, ids, w)
        # Switch load balancing over the dispatched tokens (1.0 = balanced)
        n_disp = dispatched.sum().clamp_min(1)
        frac = dispatch_mask.sum(0).to(wdtype) / (n_disp * k)
        mean_prob = torch.where(dispatched.unsqueeze(-1), probs, 0).sum(0) / n_disp
        aux = e * (frac * mean_prob).sum()
        # z-loss: logsumexp = top logit - log(top prob), with no second pass over [T, E]
        top = ids[:, :1]
        lse = safe.to(wdtype).gather(1, top).squeeze(1) - torch.log(probs.gather(1, top).squeeze(1))
        n_ok = agg_ok.sum().clamp_min(1)
        z = torch.where(agg_ok, lse.square(), 0).sum() / n_ok
        return GateOutput(
            router_logits=agg,
            topk_ids=topk_ids,
            topk_weights=w,
            dispatch_mask=dispatch_mask,
            combine_weights=combine,
            withheld=withheld,
            votes=votes,
            disagreements=disagreements,
            abstentions=abstentions,
            aux_loss=aux,
            z_loss=z,
            replicas=r,
            f=self.f,
            threshold=self.threshold,
            num_experts=e,
        )

    def extra_repr(self) -> str:
        return (
            f"hidden_size={self.hidden_size}, num_experts={self.num_experts}, replicas={self.replicas}, "
            f"k={self.k}, f={self.f}, threshold={self.threshold}, aggregate={self.aggregate!r}, "
            f"grad={self.grad!r}, bias={self.bias is not None}"
        )

    # -- checks ---------------------------------------------------------------------

    def _check_replica(self, replica: Any) -> int:
        if isinstance(replica, bool) or not isinstance(replica, int) or not 0 <= replica < self.replicas:
            raise InvalidInput(f"expected a replica index in [0, {self.replicas}), got {replica!r}", argument="replica")
        return replica

    def _check_hidden(self, h: Any) -> torch.Tensor:
        arg = "hidden_states"
        if not isinstance(h, torch.Tensor):
            raise InvalidType(f"expected a torch.Tensor [..., {self.hidden_size}], got {type(h).__name__}", argument=arg)
        if not h.is_floating_point():
            raise InvalidType(f"expected a floating-point tensor, got dtype {h.dtype}", argument=arg)
        if h.dim() < 2 or h.shape[-1] != self.hidden_size:
            raise InvalidInput(
                f"expected shape [tokens, {self.hidden_size}] or [batch, seq, {self.hidden_size}], "
                f"got {tuple(h.shape)}",
                argument=arg,
            )
        w = self.weight
        if h.device != w.device:
            raise InvalidInput(
                f"is on {h.device} but the gate's replica weights are on {w.device}; move one with .to(...)",
                argument=arg,
            )
        if h.dtype != w.dtype:
            raise InvalidType(
                f"has dtype {h.dtype} but the gate's replica weights are {w.dtype}; cast with "
                f".to({w.dtype}) or build the gate with dtype={h.dtype}",
                argument=arg,
            )
        return h.reshape(-1, self.hidden_size)

    @staticmethod
    def _check_finite_input(x: torch.Tensor, finite: torch.Tensor) -> None:
        # NaN/inf in x[t] makes *every* replica's row t non-finite, so only tokens no
        # replica computed finitely need a look at the input itself.
        dead = ~finite.any(0)
        if not bool(dead.any()):
            return
        rows = dead.nonzero().squeeze(1)
        bad = ~torch.isfinite(x[rows]).all(1)
        if bool(bad.any()):
            first = int(rows[bad.nonzero()[0, 0]])
            raise InvalidInput(
                f"token {first} (of {x.shape[0]}, leading dims flattened) holds NaN or inf; the gate "
                "routes finite hidden states only (a replica's own NaN logits are tolerated, bad input "
                "is not). Pass check_inputs=False to withhold such tokens instead.",
                argument="hidden_states",
            )


def _positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"expected an int >= 1, got {value!r}", argument=argument)
    return value
