"""Silent-data-corruption (SDC) fault injection for MoE routers.

A router replica can be corrupted in its **weights** (a bit stuck or flipped in the
memory holding ``W [E, H]``: persists across forwards) or in its **activations**
(a bit flipped in the logits it computes: fresh positions on every forward). Kinds:

* ``"sign"`` — flip the sign bit of the chosen elements;
* ``"exponent"`` — flip the top exponent bit (float32 bit 30): ``0.1`` becomes
  ``~3.4e37``, ``3.0`` becomes ``~1e-38`` — the classic catastrophic SDC;
* ``"random"`` — flip one uniformly drawn bit of each chosen element;
* ``"zero"`` — set the chosen elements to 0 (``rate=1``: a dead replica);
* ``"saturate"`` — set them to ``±finfo.max`` keeping their sign (a stuck-high unit);
* ``"target"`` (activations only) — the replica scores expert ``expert`` with
  ``1e4`` and every other expert 0 for every token: a router steering all traffic.

Bit flips use integer views of the float storage (``int32`` for float32, ``int16``
for float16/bfloat16, ``int64`` for float64). ``rate`` is the fraction of elements
hit (at least one), drawn from a seeded ``torch.Generator``.

:func:`inject` applies one :class:`SDCFault` either to replicas of a model patched by
:func:`openmoe_bft.hf.patch_moe_gates` (pass the :class:`~openmoe_bft.hf.PatchHandle`;
several ``replicas`` get the *identical* corruption, i.e. they collude and vote alike)
or to the single routers of an unpatched model (pass the model). The same fault,
seed and layer give the same corrupted positions and bits in both, so the two can be
compared. It returns an :class:`Injection` whose ``undo()`` (or ``with`` block) removes
the corruption exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, InvalidType

__all__ = ["KINDS", "TARGETS", "SDCFault", "Injection", "inject", "corrupt_", "exponent_bit"]

KINDS = ("sign", "exponent", "random", "zero", "saturate", "target")
TARGETS = ("weights", "activations")
TARGET_LOGIT = 1e4


@dataclass(frozen=True)
class SDCFault:
    """One silent-data-corruption fault (see the module doc for the kinds)."""

    kind: str
    target: str = "weights"
    rate: float = 0.01
    seed: int = 0
    expert: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"expected one of {KINDS}, got {self.kind!r}", argument="kind")
        if self.target not in TARGETS:
            raise InvalidInput(f"expected one of {TARGETS}, got {self.target!r}", argument="target")
        if self.kind == "target" and self.target != "activations":
            raise InvalidInput("kind='target' steers a replica's logits: use target='activations'", argument="kind")
        r = self.rate
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or not 0 < r <= 1:
            raise InvalidInput(f"expected a fraction in (0, 1], got {r!r}", argument="rate")
        for name in ("seed", "expert"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidInput(f"expected an int >= 0, got {v!r}", argument=name)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "rate": self.rate, "seed": self.seed,
                "expert": self.expert}


# --------------------------------------------------------------------------- tensors

_INT_VIEW = {"float32": ("int32", 32, 30), "float16": ("int16", 16, 14), "bfloat16": ("int16", 16, 14),
             "float64": ("int64", 64, 62)}


def _int_view(dtype: Any) -> tuple[Any, int, int]:
    import torch

    name = str(dtype).removeprefix("torch.")
    if name not in _INT_VIEW:
        raise InvalidType(f"expected a float16/bfloat16/float32/float64 tensor, got {dtype}", argument="tensor")
    iname, nbits, exp_msb = _INT_VIEW[name]
    return getattr(torch, iname), nbits, exp_msb


def exponent_bit(dtype: Any) -> int:
    """Index of the top exponent bit of ``dtype`` (30 for float32)."""
    return _int_view(dtype)[2]


def corrupt_(tensor: Any, kind: str, *, rate: float = 0.01, generator: Any = None, expert: int = 0) -> int:
    """Corrupt ``tensor`` (a contiguous float tensor) in place; return how many
    elements were hit. ``tensor`` is treated as ``[..., E]`` for ``kind="target"``.
    Positions (and random bits) come from ``generator`` (a CPU ``torch.Generator``)."""
    import torch

    if kind not in KINDS:
        raise InvalidInput(f"expected one of {KINDS}, got {kind!r}", argument="kind")
    if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
        raise InvalidType("expected a floating torch.Tensor", argument="tensor")
    if not tensor.is_contiguous():
        raise InvalidInput("expected a contiguous tensor (corruption edits its storage)", argument="tensor")
    with torch.no_grad():
        t = tensor.detach()
        if kind == "target":
            e = t.shape[-1]
            if not 0 <= expert < e:
                raise InvalidInput(f"expected an expert id in [0, {e}), got {expert}", argument="expert")
            t.zero_()
            t[..., expert] = TARGET_LOGIT
            return t.numel() // max(e, 1)
        n = t.numel()
        if n == 0:
            return 0
        count = max(1, min(n, round(rate * n)))
        pos = torch.randperm(n, generator=generator)[:count].to(t.device)
        flat = t.view(-1)
        if kind == "zero":
            flat[pos] = 0
        elif kind == "saturate":
            big = torch.finfo(t.dtype).max
            flat[pos] = torch.where(flat[pos] < 0, -big, big).to(t.dtype)
        else:
            itype, nbits, exp_msb = _int_view(t.dtype)
            if kind == "sign":
                bits = torch.full((count,), nbits - 1, dtype=itype)
            elif kind == "exponent":
                bits = torch.full((count,), exp_msb, dtype=itype)
            else:
                bits = torch.randint(0, nbits, (count,), generator=generator).to(itype)
            masks = (torch.ones(count, dtype=itype) << bits).to(t.device)
            iv = flat.view(itype)
            iv[pos] = iv[pos] ^ masks
        return count


# --------------------------------------------------------------------------- models


def _generator(seed: int, layer: int) -> Any:
    import torch

    return torch.Generator(device="cpu").manual_seed(seed * 1_000_003 + layer)


def _logit_corrupter(fault: SDCFault, layer: int) -> Callable[[Any], None]:
    gen = _generator(fault.seed, layer)

    def corrupt(logits: Any) -> None:
        corrupt_(logits, fault.kind, rate=fault.rate, generator=gen, expert=fault.expert)

    return corrupt


class Injection:
    """Applied corruption; :meth:`undo` (or leaving a ``with`` block) removes it."""

    __slots__ = ("_fault", "_layers", "_replicas", "_undo", "_active")

    def __init__(self, fault: SDCFault, layers: tuple[str, ...], replicas: tuple[int, ...],
                 undo: list[Callable[[], None]]) -> None:
        self._fault, self._layers, self._replicas, self._undo = fault, layers, replicas, undo
        self._active = True

    @property
    def fault(self) -> SDCFault:
        return self._fault

    @property
    def layers(self) -> tuple[str, ...]:
        """Router names corrupted."""
        return self._layers

    @property
    def replicas(self) -> tuple[int, ...]:
        """Replica indices corrupted (``()`` for an unpatched model)."""
        return self._replicas

    @property
    def active(self) -> bool:
        return self._active

    def undo(self) -> None:
        """Restore the corrupted weights / remove the activation hooks (idempotent)."""
        if self._active:
            for fn in reversed(self._undo):
                fn()
            self._active = False

    def __enter__(self) -> Injection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.undo()

    def to_dict(self) -> dict[str, Any]:
        return {"fault": self._fault.to_dict(), "layers": list(self._layers), "replicas": list(self._replicas),
                "active": self._active}

    def __repr__(self) -> str:
        return f"Injection({self._fault!r}, layers={list(self._layers)}, replicas={list(self._replicas)})"


def _select(names: list[str], layers: Any) -> list[int]:
    if layers is None:
        return list(range(len(names)))
    items = [layers] if isinstance(layers, (int, str)) else list(layers)
    out = []
    for item in items:
        if isinstance(item, str):
            if item not in names:
                raise InvalidInput(f"no MoE router named {item!r}; have {names}", argument="layers")
            out.append(names.index(item))
        elif isinstance(item, bool) or not isinstance(item, int) or not -len(names) <= item < len(names):
            raise InvalidInput(f"expected MoE layer indices in [0, {len(names)}) or router names, got {item!r}",
                               argument="layers")
        else:
            out.append(item % len(names))
    if not out:
        raise InvalidInput("expected at least one layer", argument="layers")
    return sorted(set(out))


def inject(target: Any, fault: SDCFault, *, layers: int | str | Iterable[int | str] | None = None,
           replicas: Iterable[int] = (0,)) -> Injection:
    """Apply ``fault`` to the MoE routers of ``target``.

    ``target``: a :class:`~openmoe_bft.hf.PatchHandle` (corrupts replicas
    ``replicas`` of each chosen layer's BFT gate, identically: up to ``f`` of them
    are tolerated) or an unpatched ``transformers`` model (corrupts its one router
    per layer; ``replicas`` is ignored). ``layers``: MoE layer indices in model order
    or router names (default: every MoE layer). Layer ``i`` uses the generator seeded
    from ``(fault.seed, i)`` in both cases, so patched and unpatched models receive
    the same corrupted positions and bits.
    """
    if not isinstance(fault, SDCFault):
        raise InvalidType(f"expected an SDCFault, got {type(fault).__name__}", argument="fault")
    from .hf._patch import PatchHandle, find_moe_routers

    undo: list[Callable[[], None]] = []
    if isinstance(target, PatchHandle):
        if not target.active:
            raise InvalidInput("the patch was undone; patch the model again", argument="target")
        names = [lay.name for lay in target.layers]
        chosen = _select(names, layers)
        reps = tuple(sorted({int(r) for r in replicas}))
        if not reps:
            raise InvalidInput("expected at least one replica index", argument="replicas")
        for i in chosen:
            gate = target.layers[i].gate
            for r in reps:
                gate._check_replica(r)
            if fault.target == "weights":
                saved = gate.weight.detach().clone()
                for r in reps:  # identical corruption in every colluding replica
                    corrupt_(gate.weight[r], fault.kind, rate=fault.rate, generator=_generator(fault.seed, i))
                undo.append(_restore(gate.weight, saved))
            else:
                for r in reps:
                    if r in gate.faults:
                        raise InvalidInput(f"replica {r} of {names[i]} already has a fault injected",
                                           argument="replicas")
                    gate.inject_fault(r, "custom", fn=_logit_corrupter(fault, i))
                    undo.append(lambda g=gate, r=r: g.clear_faults(r))
        return Injection(fault, tuple(names[i] for i in chosen), reps, undo)

    sites = find_moe_routers(target)
    if not sites:
        raise InvalidInput("expected a PatchHandle or a transformers model with supported MoE routers",
                           argument="target")
    from .hf._families import is_patched

    if any(is_patched(s.router) for s in sites):
        raise InvalidInput("this model is patched: pass the PatchHandle to corrupt replicas", argument="target")
    names = [s.name for s in sites]
    chosen = _select(names, layers)
    for i in chosen:
        site = sites[i]
        if fault.target == "weights":
            w = site.family.linear(site.router).weight
            saved = w.detach().clone()
            corrupt_(w, fault.kind, rate=fault.rate, generator=_generator(fault.seed, i))
            undo.append(_restore(w, saved))
        else:
            hook = site.router.register_forward_hook(_unpatched_hook(site.family, _logit_corrupter(fault, i)))
            undo.append(hook.remove)
    return Injection(fault, tuple(names[i] for i in chosen), (), undo)


def _restore(param: Any, saved: Any) -> Callable[[], None]:
    def restore() -> None:
        import torch

        with torch.no_grad():
            param.copy_(saved)

    return restore


def _unpatched_hook(family: Any, corrupt: Callable[[Any], None]) -> Callable[..., Any]:
    """Forward hook: corrupt the router's logits, recompute its outputs the HF way."""

    def hook(module: Any, args: tuple, output: tuple) -> tuple:
        logits = output[-1] if family.kind == "switch" else output[0]
        logits = logits.detach().clone()
        corrupt(logits.view(-1, logits.shape[-1]))
        hidden = args[0]
        return family.from_logits(module, hidden, logits)

    return hook
