"""The supported router classes and how each one's BFT stand-in behaves.

Every patched router is an instance of a *subclass* of the original router class
(``BFTMixtralTopKRouter(MixtralTopKRouter)``, made once per class), so everything in
``transformers`` that finds routers by class — ``OutputRecorder(MixtralTopKRouter,
index=0)`` for ``output_router_logits=True``, ``isinstance`` checks — keeps working.
The subclass never runs the original ``__init__`` (it needs the config); it copies the
router's plain attributes (``top_k``, ``num_experts``, ...) and its forward hooks,
and holds a :class:`~openmoe_bft.torch.BFTGate` as its only submodule ``bft``.

Two router shapes exist in the installed ``transformers`` 5.x:

* **top-k** (Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE): ``forward(h) -> (router_logits
  [T, E], scores [T, k], indices [T, k])``. The BFT gate's aggregate logits, weights
  and ids are returned in that layout; a withheld token gets index ``E`` and score 0,
  which every HF experts implementation (eager, ``batched_mm``, ``grouped_mm``) skips,
  so it takes the residual path (Qwen2-MoE: the shared expert still runs).
* **Switch top-1 with capacity** (Switch Transformers): ``forward(h [B, S, H]) ->
  (expert_index one-hot [B, S, E] after the per-sequence capacity mask, router_probs
  [B, S, 1], router_logits [B, S, E])``. The gate (``k=1``, raw softmax probability)
  decides the expert; a withheld token gets an all-zero one-hot row (not dispatched,
  no capacity used, exactly like a token HF drops for capacity) and probability 0.
  Capacity is then applied as HF does (cumulative count per sequence), as are the
  router dtype (``router_dtype``, float32 by default) and, in training mode, the
  multiplicative input jitter (one draw shared by all replicas: the jitter is input
  noise, not a replica's fault).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Family", "FAMILIES", "family_of", "bft_router_class", "is_patched"]


@dataclass(frozen=True)
class Family:
    """One supported router class."""

    name: str
    module: str  # transformers module that defines the router class
    router_class: str
    kind: str  # "topk" | "switch"
    scores_fp32: bool = False  # top-k: scores stay float32 (Mixtral) or take the logits' dtype

    def router_type(self) -> type | None:
        """The router class if its module is already imported (a model of this family
        exists only if it is), else ``None`` — so detection imports nothing."""
        mod = sys.modules.get(self.module)
        return getattr(mod, self.router_class, None) if mod is not None else None

    def linear(self, router: nn.Module) -> nn.Module:
        """The module holding the router's ``weight [E, H]`` (and bias)."""
        return router.classifier if self.kind == "switch" else router

    def gate_kwargs(self, router: nn.Module) -> dict[str, Any]:
        if self.kind == "switch":
            return {"k": 1, "normalize_topk": False}
        kw: dict[str, Any] = {"k": int(router.top_k)}
        kw["normalize_topk"] = bool(getattr(router, "norm_topk_prob", True))  # Mixtral always normalises
        return kw

    def from_logits(self, router: nn.Module, hidden: torch.Tensor, logits: torch.Tensor) -> tuple:
        """HF's router output computed from ``logits`` exactly as the original forward
        does (used to corrupt an *unpatched* router's activations)."""
        if self.kind == "switch":
            probs = F.softmax(logits, dim=-1, dtype=router.dtype).to(hidden.dtype)
            idx = F.one_hot(torch.argmax(probs, dim=-1), num_classes=router.num_experts)
            idx = idx * (torch.cumsum(idx, dim=-2) <= router.expert_capacity)
            return idx, torch.max(probs, dim=-1).values.unsqueeze(-1), logits
        if self.scores_fp32:
            probs = F.softmax(logits.float(), dim=-1)
        else:
            probs = F.softmax(logits, dtype=torch.float, dim=-1)
        top, ids = torch.topk(probs, router.top_k, dim=-1)
        if self.gate_kwargs(router)["normalize_topk"]:
            top /= top.sum(dim=-1, keepdim=True)
        if not self.scores_fp32:
            top = top.to(logits.dtype)
        return logits, top, ids


FAMILIES: tuple[Family, ...] = (
    Family("mixtral", "transformers.models.mixtral.modeling_mixtral", "MixtralTopKRouter", "topk", True),
    Family("qwen2_moe", "transformers.models.qwen2_moe.modeling_qwen2_moe", "Qwen2MoeTopKRouter", "topk"),
    Family("qwen3_moe", "transformers.models.qwen3_moe.modeling_qwen3_moe", "Qwen3MoeTopKRouter", "topk"),
    Family("olmoe", "transformers.models.olmoe.modeling_olmoe", "OlmoeTopKRouter", "topk"),
    Family(
        "switch_transformers",
        "transformers.models.switch_transformers.modeling_switch_transformers",
        "SwitchTransformersTop1Router",
        "switch",
    ),
)


def family_of(module: nn.Module) -> Family | None:
    """The family whose router class ``module`` is an instance of (patched or not)."""
    for fam in FAMILIES:
        cls = fam.router_type()
        if cls is not None and isinstance(module, cls):
            return fam
    return None


class _BFTRouter:
    """Mixed into the dynamic subclass; ``bft`` is the BFTGate, ``_bft_family`` the Family."""

    bft: Any
    _bft_family: Family
    _is_bft_router = True

    def _topk_forward(self, hidden_states: torch.Tensor) -> tuple:
        out = self.bft(hidden_states.reshape(-1, self.hidden_dim))
        scores = out.topk_weights
        scores = scores.float() if self._bft_family.scores_fp32 else scores.to(out.router_logits.dtype)
        return out.router_logits, scores, out.topk_ids

    def _switch_forward(self, hidden_states: torch.Tensor) -> tuple:
        # Mirrors SwitchTransformersTop1Router.forward (transformers 5.x), with the
        # argmax replaced by the gate's quorum decision.
        self.input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(self.dtype)
        if self.training and self.jitter_noise > 0:
            hidden_states *= torch.empty_like(hidden_states).uniform_(1.0 - self.jitter_noise, 1.0 + self.jitter_noise)
        if self.bft.weight.dtype != self.dtype:
            self.bft.to(self.dtype)
        out = self.bft(hidden_states)
        e = self.num_experts
        lead = hidden_states.shape[:-1]
        router_logits = out.router_logits.reshape(*lead, e)
        router_probs = F.softmax(router_logits, dim=-1, dtype=self.dtype).to(self.input_dtype)
        expert_index = F.one_hot(out.topk_ids[:, 0], num_classes=e + 1)[:, :e].reshape(*lead, e)
        token_priority = torch.cumsum(expert_index, dim=-2)
        expert_index = expert_index * (token_priority <= self.expert_capacity)
        top = torch.max(router_probs, dim=-1).values.unsqueeze(-1)
        top = torch.where(out.withheld.reshape(*lead, 1), 0, top)
        return expert_index, top, router_logits

    def forward(self, hidden_states: torch.Tensor) -> tuple:
        if self._bft_family.kind == "switch":
            return self._switch_forward(hidden_states)
        return self._topk_forward(hidden_states)

    def extra_repr(self) -> str:
        return f"family={self._bft_family.name!r}"


@cache
def bft_router_class(router_cls: type, family: Family) -> type:
    """``BFT<RouterClass>``: a subclass of the HF router class whose forward settles the
    routing with the ``bft`` gate (made once per class)."""
    name = f"BFT{router_cls.__name__}"
    return type(name, (_BFTRouter, router_cls), {"__module__": __name__, "__qualname__": name, "_bft_family": family})


def is_patched(module: nn.Module) -> bool:
    return bool(getattr(type(module), "_is_bft_router", False))


HOOK_DICTS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
)


def make_patched(router: nn.Module, family: Family, gate: nn.Module) -> nn.Module:
    """A ``BFT<RouterClass>`` instance standing in for ``router`` (left untouched)."""
    from collections import OrderedDict

    cls = bft_router_class(type(router), family)
    new = cls.__new__(cls)
    nn.Module.__init__(new)
    for key, value in vars(router).items():
        if not key.startswith("_") and key != "training":
            new.__dict__[key] = value
    for key in HOOK_DICTS:  # HF's output-capturing hooks (installed once per model), user hooks
        if key in vars(router):
            new.__dict__[key] = OrderedDict(vars(router)[key])
    new.train(router.training)
    new.bft = gate
    gate.train(router.training)
    return new

