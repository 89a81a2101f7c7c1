"""Standard Byzantine attacks on robust aggregators, to stress a setup and to test ours.

Each attack is a plain callable ``attack(honest, f, **params) -> byzantine``: ``honest``
is the honest replicas' vectors, ``[h, experts]`` or batched ``[h, tokens, experts]``,
and the result is ``f`` Byzantine vectors of the same trailing shape (all ``f`` send
the same vector, the strongest choice for these attacks, except ``gaussian``).
:func:`with_attack` appends (or interleaves) them to make the full replica set. The
formulas follow ByzFL's attacks (EPFL), so results can be compared one to one.

References: sign flip and inner-product manipulation — Xie, Koyejo, Gupta, *Fall of
Empires*, UAI 2019; "a little is enough" — Baruch, Baruch, Goldberg, NeurIPS 2019;
mimic — Karimireddy, He, Jaggi, ICLR 2022.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np

from ._arrays import check_nonneg_int, to_numpy
from .errors import InvalidInput, InvalidType

__all__ = [
    "ATTACKS",
    "alie",
    "expert_boost",
    "gaussian",
    "inf",
    "ipm",
    "large_norm",
    "mimic",
    "sign_flip",
    "with_attack",
]

Attack = Callable[..., np.ndarray]


def _honest(honest: Any) -> np.ndarray:
    arr = to_numpy(honest, "honest")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InvalidType(f"honest vectors must be numbers, got dtype {arr.dtype}", argument="honest")
    if arr.ndim not in (2, 3) or arr.shape[0] == 0:
        raise InvalidInput(
            f"expected [h, experts] or [h, tokens, experts] with h >= 1, got shape {arr.shape}",
            argument="honest",
        )
    return np.asarray(arr, dtype=np.float64)


def _repeat(v: np.ndarray, f: int) -> np.ndarray:
    return np.broadcast_to(v, (check_nonneg_int(f, "f"), *v.shape)).copy()


def sign_flip(honest: Any, f: int) -> np.ndarray:
    """Send the negated honest mean (ByzFL ``SignFlipping``)."""
    return _repeat(-_honest(honest).mean(axis=0), f)


def ipm(honest: Any, f: int, *, tau: float = 2.0) -> np.ndarray:
    """Inner-product manipulation: ``-tau ×`` the honest mean (ByzFL ``InnerProductManipulation``)."""
    return _repeat(-float(tau) * _honest(honest).mean(axis=0), f)


def alie(honest: Any, f: int, *, tau: float | None = None) -> np.ndarray:
    """"A little is enough": ``mean + tau × std`` per coordinate (ByzFL ``ALittleIsEnough``).

    ``tau=None`` uses the paper's ``z_max = Φ⁻¹((n − s) / n)`` with ``n = h + f`` and
    ``s = ⌊n/2 + 1⌋ − f``: the largest shift that still hides inside the honest spread.
    ByzFL's default is ``tau=1.5``. The std uses ``ddof=1`` (0 when ``h = 1``).
    """
    x = _honest(honest)
    f = check_nonneg_int(f, "f")
    if tau is None:
        n = x.shape[0] + f
        s = n // 2 + 1 - f
        p = (n - s) / n
        tau = NormalDist().inv_cdf(min(max(p, 1e-9), 1 - 1e-9))
    std = x.std(axis=0, ddof=1) if x.shape[0] > 1 else np.zeros(x.shape[1:])
    return _repeat(x.mean(axis=0) + float(tau) * std, f)


def mimic(honest: Any, f: int, *, target: int = 0) -> np.ndarray:
    """Copy one honest replica (ByzFL ``Mimic(epsilon=target)``): over-weights its view."""
    x = _honest(honest)
    if not -x.shape[0] <= int(target) < x.shape[0]:
        raise InvalidInput(f"target must index one of {x.shape[0]} honest replicas", argument="target")
    return _repeat(x[int(target)], f)


def large_norm(honest: Any, f: int, *, scale: float = 1e6) -> np.ndarray:
    """Send a vector of norm ``scale`` opposite to the honest mean (per token)."""
    m = _honest(honest).mean(axis=0)
    norm = np.linalg.norm(m, axis=-1, keepdims=True)
    unit = np.where(norm > 0, m / np.where(norm > 0, norm, 1.0), 1.0 / np.sqrt(m.shape[-1]))
    return _repeat(-float(scale) * unit, f)


def inf(honest: Any, f: int) -> np.ndarray:
    """Send ``+inf`` everywhere (ByzFL ``Inf``): tests non-finite handling."""
    return _repeat(np.full(_honest(honest).shape[1:], np.inf), f)


def gaussian(honest: Any, f: int, *, mu: float = 0.0, sigma: float = 1.0, rng: Any = None) -> np.ndarray:
    """Independent Gaussian noise per Byzantine replica; ``rng`` a seed or ``numpy.random.Generator``."""
    x = _honest(honest)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return gen.normal(mu, sigma, size=(check_nonneg_int(f, "f"), *x.shape[1:]))


def expert_boost(honest: Any, f: int, *, scale: float = 1e6, target: int | None = None) -> np.ndarray:
    """Routing-specific: start from the honest mean, lift one expert by ``scale`` and sink the honest winner.

    ``target=None`` boosts the honest runner-up (per token), the cheapest way to flip an
    argmax. This is the seed's "±1e6" attack generalised.
    """
    m = _honest(honest).mean(axis=0)
    order = np.argsort(-m, axis=-1, kind="stable")
    win = order[..., 0]
    tgt = order[..., 1] if target is None else np.full(win.shape, int(target))
    v = m.copy()
    np.put_along_axis(v, tgt[..., None], np.take_along_axis(v, tgt[..., None], -1) + scale, -1)
    same = win == tgt
    np.put_along_axis(v, win[..., None], np.take_along_axis(v, win[..., None], -1) - np.where(same, 0.0, scale)[..., None], -1)
    return _repeat(v, f)


ATTACKS: dict[str, Attack] = {
    "sign_flip": sign_flip,
    "ipm": ipm,
    "alie": alie,
    "mimic": mimic,
    "large_norm": large_norm,
    "expert_boost": expert_boost,
    "gaussian": gaussian,
    "inf": inf,
}


def with_attack(
    honest: Any,
    attack: str | Attack,
    f: int,
    *,
    position: str = "end",
    rng: Any = None,
    **params: Any,
) -> np.ndarray:
    """All replicas: the honest ones plus ``f`` Byzantine vectors from ``attack``.

    ``position``: ``"end"`` (Byzantine last), ``"start"``, or ``"random"`` (a random
    permutation drawn from ``rng``). ``attack`` is a name from :data:`ATTACKS` or a callable.
    """
    x = _honest(honest)
    fn = ATTACKS.get(attack) if isinstance(attack, str) else attack
    if fn is None or not callable(fn):
        raise InvalidInput(f"unknown attack {attack!r}; choose one of {sorted(ATTACKS)}", argument="attack")
    if fn is gaussian:
        params.setdefault("rng", rng)
    byz = np.asarray(fn(x, f, **params), dtype=np.float64)
    if position == "end":
        return np.concatenate([x, byz])
    if position == "start":
        return np.concatenate([byz, x])
    if position == "random":
        allv = np.concatenate([x, byz])
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return allv[gen.permutation(allv.shape[0])]
    raise InvalidInput(f"expected 'end', 'start' or 'random', got {position!r}", argument="position")
