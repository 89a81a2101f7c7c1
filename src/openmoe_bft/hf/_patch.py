"""``patch_moe_gates``: every MoE router of a transformers model -> a BFT gate."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ..errors import InvalidInput, InvalidType
from . import PATCH_MODES, SUPPORTED_FAMILIES
from ._deps import require_torch, require_transformers

require_torch()

import torch  # noqa: E402
from torch import nn  # noqa: E402

from ..bft.quorum import check_node_count  # noqa: E402
from ..torch.gate import BFTGate, GateStats  # noqa: E402
from ._families import Family, family_of, is_patched, make_patched  # noqa: E402

__all__ = ["patch_moe_gates", "find_moe_routers", "PatchHandle", "PatchStats", "LayerStats", "PatchedLayer",
           "RouterSite"]

SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float64)
ReplicaWeights = Callable[[str, nn.Module], "torch.Tensor | Sequence[torch.Tensor]"]


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class LayerStats:
    """Running counts of one patched layer (see :class:`~openmoe_bft.torch.GateStats`)."""

    name: str
    family: str
    stats: GateStats

    @property
    def withheld(self) -> int:
        return self.stats.withheld

    @property
    def flagged_replicas(self) -> tuple[int, ...]:
        return self.stats.flagged_replicas

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, **self.stats.to_dict()}


@dataclass(frozen=True)
class PatchStats:
    """Per-layer running counts of a patch since it was made or last reset."""

    layers: tuple[LayerStats, ...]

    @property
    def tokens(self) -> int:
        """Token-routings counted over all layers (a token counts once per layer)."""
        return sum(s.stats.tokens for s in self.layers)

    @property
    def withheld(self) -> int:
        return sum(s.stats.withheld for s in self.layers)

    @property
    def flagged(self) -> dict[str, tuple[int, ...]]:
        """Layer name -> replicas that disagreed or abstained there (only flagged layers)."""
        return {s.name: s.flagged_replicas for s in self.layers if s.flagged_replicas}

    def to_dict(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "withheld": self.withheld,
            "flagged": {k: list(v) for k, v in self.flagged.items()},
            "layers": [s.to_dict() for s in self.layers],
        }


@dataclass(frozen=True, eq=False)
class PatchedLayer:
    """One replaced router: ``parent.<attr>`` was ``original`` and is now ``patched``."""

    name: str
    family: str
    parent: nn.Module
    attr: str
    original: nn.Module
    patched: nn.Module

    @property
    def gate(self) -> BFTGate:
        return self.patched.bft


@dataclass(frozen=True, eq=False)
class RouterSite:
    """Where a supported router lives in a model (see :func:`find_moe_routers`)."""

    name: str
    family: Family
    parent: nn.Module
    attr: str
    router: nn.Module

    def weight(self) -> torch.Tensor:
        """The router's ``[E, H]`` weight (unpatched), or replica weights ``[R, E, H]`` (patched)."""
        if is_patched(self.router):
            return self.router.bft.weight
        return self.family.linear(self.router).weight


class PatchHandle:
    """What :func:`patch_moe_gates` returns: the patched layers, their stats, and undo.

    ``handle.layers`` (:class:`PatchedLayer` tuple, model order), ``handle.gates``
    (router name -> :class:`~openmoe_bft.torch.BFTGate`), ``handle.stats()``,
    ``handle.reset_stats()``, ``handle.unpatch()`` (also on leaving a ``with`` block):
    puts the original router objects back, untouched (their weights are the ones
    they had; replica weights trained while patched are dropped). If the model was
    moved to another device or dtype while patched, the originals follow it.
    """

    __slots__ = ("_model", "_layers", "_replicas", "_mode", "_active")

    def __init__(self, model: nn.Module, layers: tuple[PatchedLayer, ...], replicas: int, mode: str) -> None:
        self._model = model
        self._layers = layers
        self._replicas = replicas
        self._mode = mode
        self._active = True

    @property
    def model(self) -> nn.Module:
        return self._model

    @property
    def layers(self) -> tuple[PatchedLayer, ...]:
        return self._layers

    @property
    def replicas(self) -> int:
        return self._replicas

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def active(self) -> bool:
        """True until :meth:`unpatch`."""
        return self._active

    @property
    def gates(self) -> Mapping[str, BFTGate]:
        return MappingProxyType({lay.name: lay.gate for lay in self._layers})

    def gate(self, layer: int | str) -> BFTGate:
        """The gate of MoE layer ``layer`` (index in model order, or router name)."""
        return self._layer(layer).gate

    def _layer(self, layer: int | str) -> PatchedLayer:
        if isinstance(layer, str):
            for lay in self._layers:
                if lay.name == layer:
                    return lay
            raise InvalidInput(f"no patched router named {layer!r}; have {[x.name for x in self._layers]}",
                               argument="layer")
        if isinstance(layer, bool) or not isinstance(layer, int) or not -len(self._layers) <= layer < len(self._layers):
            raise InvalidInput(f"expected a layer index in [0, {len(self._layers)}) or a router name, got {layer!r}",
                               argument="layer")
        return self._layers[layer]

    def stats(self) -> PatchStats:
        """Per-layer counts since patching or :meth:`reset_stats` (synchronises)."""
        return PatchStats(tuple(LayerStats(lay.name, lay.family, lay.gate.stats()) for lay in self._layers))

    def reset_stats(self) -> None:
        for lay in self._layers:
            lay.gate.reset_stats()

    def unpatch(self) -> None:
        """Restore every original router module (idempotent)."""
        if not self._active:
            return
        for lay in self._layers:
            if getattr(lay.parent, lay.attr, None) is not lay.patched:
                raise InvalidInput(
                    f"{lay.name} is no longer the patched router (something replaced it since patching); "
                    "nothing was restored",
                    argument="model",
                )
        for lay in reversed(self._layers):
            _follow_moves(lay)
            setattr(lay.parent, lay.attr, lay.original)
        self._active = False

    def __enter__(self) -> PatchHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unpatch()

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[PatchedLayer]:
        return iter(self._layers)

    def __repr__(self) -> str:
        fams = sorted({lay.family for lay in self._layers})
        state = "active" if self._active else "unpatched"
        return f"PatchHandle({len(self._layers)} layers, families={fams}, replicas={self._replicas}, " \
               f"mode={self._mode!r}, {state})"


def _follow_moves(lay: PatchedLayer) -> None:
    """If the model was moved (``model.to(...)``) while patched, move the original router
    the same way, so the restored model is consistent (otherwise it is left untouched)."""
    gw = lay.gate.weight
    linear = _family(lay).linear(lay.original)
    w = linear.weight
    if w.device != gw.device:
        lay.original.to(device=gw.device)
    if _family(lay).kind == "topk" and w.dtype != gw.dtype and gw.dtype.is_floating_point:
        lay.original.to(dtype=gw.dtype)  # (Switch casts its classifier to router_dtype itself)


def _family(lay: PatchedLayer) -> Family:
    return type(lay.patched)._bft_family


# --------------------------------------------------------------------------- discovery


def _unsupported_hint(model: nn.Module) -> str:
    names = sorted({
        type(m).__name__ for m in model.modules()
        if any(w in type(m).__name__ for w in ("Router", "SparseMoe", "MoeBlock", "MoE", "TopK"))
    })
    if names:
        return f"; it has MoE-looking modules of an unsupported kind: {', '.join(names[:6])}"
    return "; it has no MoE layers"


def find_moe_routers(model: nn.Module) -> tuple[RouterSite, ...]:
    """Every router of a supported family in ``model``, in module order (patched ones too)."""
    if not isinstance(model, nn.Module):
        raise InvalidType(f"expected a torch.nn.Module (a transformers model), got {type(model).__name__}",
                          argument="model")
    sites = []
    for name, module in model.named_modules():
        fam = family_of(module)
        if fam is None:
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if not name:
            raise InvalidInput("expected a model that contains MoE routers, got a router itself", argument="model")
        sites.append(RouterSite(name, fam, parent, attr, module))
    return tuple(sites)


# --------------------------------------------------------------------------- patching


def _check_weight(site: RouterSite) -> torch.Tensor:
    w = site.family.linear(site.router).weight
    if w.device.type == "meta":
        raise InvalidInput(
            f"{site.name} has its weights on the meta device (not materialised); load or initialise the model "
            "on cpu/cuda before patching",
            argument="model",
        )
    if w.dtype not in SUPPORTED_DTYPES:
        raise InvalidInput(
            f"{site.name} has {w.dtype} router weights (quantised?); the BFT gate needs a floating router weight "
            f"of one of {[str(d).removeprefix('torch.') for d in SUPPORTED_DTYPES]}",
            argument="model",
        )
    if w.dim() != 2:
        raise InvalidInput(f"{site.name} has a router weight of shape {tuple(w.shape)}; expected [experts, hidden]",
                           argument="model")
    return w


def _replica_weights(mode: str, site: RouterSite, index: int, w: torch.Tensor, replicas: int, *,
                     noise: float, seed: int, replica_weights: ReplicaWeights | None) -> torch.Tensor | None:
    """``[R, E, H]`` replica weights, or None for exact copies."""
    if mode == "copies":
        return None
    if mode == "perturbed":
        gen = torch.Generator(device="cpu").manual_seed(seed * 1_000_003 + index)
        scale = float(w.detach().float().std()) * noise if w.numel() > 1 else noise
        eps = torch.randn((replicas, *w.shape), generator=gen, dtype=torch.float32) * scale
        return w.detach().unsqueeze(0) + eps.to(device=w.device, dtype=w.dtype)
    got = replica_weights(site.name, site.router)  # type: ignore[misc]
    if isinstance(got, torch.Tensor):
        stack = got
    else:
        try:
            stack = torch.stack([torch.as_tensor(t) for t in got])
        except (TypeError, RuntimeError) as exc:
            raise InvalidInput(f"replica_weights({site.name!r}) must return {replicas} tensors {tuple(w.shape)}: {exc}",
                               argument="replica_weights") from exc
    if tuple(stack.shape) != (replicas, *w.shape):
        raise InvalidInput(
            f"replica_weights({site.name!r}) returned shape {tuple(stack.shape)}; expected "
            f"{(replicas, *w.shape)} (replicas, experts, hidden)",
            argument="replica_weights",
        )
    return stack.detach().to(device=w.device, dtype=w.dtype)


def patch_moe_gates(
    model: nn.Module,
    replicas: int = 4,
    mode: str = "copies",
    *,
    f: int | None = None,
    aggregate: str = "median",
    noise: float = 1e-3,
    seed: int = 0,
    replica_weights: ReplicaWeights | None = None,
    check_inputs: bool = True,
) -> PatchHandle:
    """Replace the router of every MoE layer of ``model`` by a ``replicas``-way BFT gate.

    ``model``: a ``transformers`` model (or any module) containing routers of a
    supported family: Mixtral (``MixtralTopKRouter``), Qwen2-MoE / Qwen3-MoE
    (``Qwen2MoeTopKRouter`` / ``Qwen3MoeTopKRouter``), OLMoE (``OlmoeTopKRouter``)
    or Switch Transformers (``SwitchTransformersTop1Router``, top-1 with capacity).
    Each router is swapped for an instance of ``BFT<RouterClass>``, a subclass of
    its class (so ``output_router_logits=True`` still records the router logits —
    the gate's aggregate) holding a :class:`~openmoe_bft.torch.BFTGate` as ``.bft``;
    the original module is kept, untouched, for :meth:`PatchHandle.unpatch`.

    ``mode``: ``"copies"`` (default) — ``replicas`` exact copies of the router
    weight: protection against silent data corruption, and with every replica healthy
    the model's outputs equal the unpatched model's bit for bit (tested for every family
    in float32, bfloat16 and float16 on CPU);
    ``"perturbed"`` — each replica is the router weight plus seeded Gaussian noise of
    ``noise`` × the weight's standard deviation (diverse replicas; outputs close to,
    not equal to, the original); ``"given"`` — ``replica_weights(name, router)``
    returns the ``[replicas, experts, hidden]`` weights (e.g. independently
    fine-tuned routers). Router biases (Switch ``router_bias=True``) are copied.

    ``f`` (faults tolerated, default ``(R - 1) // 3``), ``aggregate``
    (``"median"`` | ``"trimmed_mean"``), ``check_inputs`` pass through to the gate.

    Raises :class:`~openmoe_bft.errors.InvalidInput` for a model with no supported
    MoE router (naming the supported families), ``replicas < 1``, an unknown
    ``mode``, an already patched model, or routers on the meta device / with
    non-floating (quantised) weights.
    """
    replicas = check_node_count(replicas, "replicas")
    if mode not in PATCH_MODES:
        raise InvalidInput(f"expected one of {PATCH_MODES}, got {mode!r}", argument="mode")
    if (mode == "given") != (replica_weights is not None):
        raise InvalidInput("mode='given' needs replica_weights=callable(name, router); other modes take none",
                           argument="replica_weights")
    if replica_weights is not None and not callable(replica_weights):
        raise InvalidType(f"expected a callable, got {type(replica_weights).__name__}", argument="replica_weights")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise InvalidInput(f"expected a finite number >= 0, got {noise!r}", argument="noise")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidType(f"expected an int, got {seed!r}", argument="seed")
    transformers = require_transformers()
    sites = find_moe_routers(model)
    if not sites:
        version = str(getattr(transformers, "__version__", "?"))
        if version.split(".")[0].isdigit() and int(version.split(".")[0]) < 5:
            raise InvalidInput(
                f"openmoe_bft.hf patches the router modules of transformers 5.x (tested with 5.24); "
                f"transformers {version} is installed, whose MoE blocks have no router class to patch. "
                "Upgrade: pip install -U 'transformers>=5'",
                argument="model",
            )
        raise InvalidInput(
            f"found no MoE router of a supported family in {type(model).__name__}{_unsupported_hint(model)}. "
            f"Supported: {', '.join(SUPPORTED_FAMILIES)} (transformers models built from their config classes "
            "or from_pretrained)",
            argument="model",
        )
    done = [s.name for s in sites if is_patched(s.router)]
    if done:
        raise InvalidInput(f"{done[0]} is already patched; call unpatch() on the first handle before patching again",
                           argument="model")
    layers = []
    for i, site in enumerate(sites):  # build everything first: nothing changes if one fails
        w = _check_weight(site)
        gate = BFTGate.from_router(site.family.linear(site.router), replicas=replicas, f=f, aggregate=aggregate,
                                   check_inputs=check_inputs, **site.family.gate_kwargs(site.router))
        stack = _replica_weights(mode, site, i, w, replicas, noise=float(noise), seed=seed,
                                 replica_weights=replica_weights)
        if stack is not None:
            with torch.no_grad():
                gate.weight.copy_(stack)
        if site.family.kind == "switch" and w.dtype != site.router.dtype:
            gate.to(site.router.dtype)  # HF casts the classifier to router_dtype on every forward
        patched = make_patched(site.router, site.family, gate)
        layers.append(PatchedLayer(site.name, site.family.name, site.parent, site.attr, site.router, patched))
    for lay in layers:
        setattr(lay.parent, lay.attr, lay.patched)
    return PatchHandle(model, tuple(layers), replicas, mode)
