"""``robust_route``: fuse replica score vectors with a robust rule, then argmax / top-k.

The numeric complement of :class:`~openmoe_bft.bft.BFTRouter`: instead of voting over
discrete expert keys, each router replica sends a per-expert score vector, a
Byzantine-robust rule fuses them, and the winner is the argmax (or the top-k) of the
fused vector. Up to ``f`` adversarial replicas cannot move the winner while the honest
replicas agree with the margin the rule needs (see the README's robustness table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import check_nonneg_int, check_positive_int, to_numpy
from ..bft.quorum import tolerated_faults
from ..errors import InvalidInput, InvalidType
from . import rules
from ._input import NonFinite, Scores, read_scores, require

__all__ = ["METHODS", "aggregate", "robust_route", "top_k"]

def _k_median(x: np.ndarray, f: int, **_: Any) -> np.ndarray:
    return rules._median(x)


def _k_trimmed(x: np.ndarray, f: int, **_: Any) -> np.ndarray:
    return rules._trimmed(x, f)


def _k_krum(x: np.ndarray, f: int, *, neighbors: int | None = None, **_: Any) -> np.ndarray:
    return rules._krum(x, f, neighbors)


def _k_multi_krum(
    x: np.ndarray, f: int, *, m: int | None = None, neighbors: int | None = None, **_: Any
) -> np.ndarray:
    return rules._multi_krum(x, f, m, neighbors)


def _k_geomed(x: np.ndarray, f: int, **_: Any) -> np.ndarray:
    return rules._weiszfeld(x, **rules.GEOMED_DEFAULTS)


def _k_bulyan(x: np.ndarray, f: int, **_: Any) -> np.ndarray:
    return rules._bulyan(x, f)


def _k_mean(x: np.ndarray, f: int, **_: Any) -> np.ndarray:
    return x.mean(axis=0)


_Kernel = Callable[..., np.ndarray]
#: name -> (kernel on [n, tokens, d] -> [tokens, d], precondition, its test)
METHODS: dict[str, tuple[_Kernel, str, Callable[[int, int], bool]]] = {
    "median": (_k_median, "n > 2f", lambda n, f: n > 2 * f),
    "trimmed_mean": (_k_trimmed, "n > 2f", lambda n, f: n > 2 * f),
    "krum": (_k_krum, "n >= 2f + 3", lambda n, f: n >= 2 * f + 3),
    "multi_krum": (_k_multi_krum, "n >= 2f + 3", lambda n, f: n >= 2 * f + 3),
    "geometric_median": (_k_geomed, "n > 2f", lambda n, f: n > 2 * f),
    "bulyan": (_k_bulyan, "n >= 4f + 3", lambda n, f: n >= 4 * f + 3),
    "mean": (_k_mean, "f = 0 (the mean is not robust)", lambda n, f: f == 0),
}


def _fuse(
    s: Scores,
    f: Any,
    method: str | Callable[..., Any],
    *,
    pre: str | None,
    m: int | None,
    neighbors: int | None,
) -> tuple[np.ndarray, int]:
    f = tolerated_faults(s.n) if f is None else check_nonneg_int(f, "f")
    x = s.v
    if pre is not None:
        if pre != "nnm":
            raise InvalidInput(f"unknown pre-aggregation {pre!r}; use 'nnm' or None", argument="pre")
        require(s.n > 2 * f, rule="nnm", need="n > 2f", n=s.n, f=f)
        x = rules._nnm(x, f)
    if callable(method):
        out = np.asarray(method(x, f), dtype=np.float64)
        if out.shape != x.shape[1:]:
            raise InvalidInput(
                f"a custom rule must map [replicas, tokens, experts] to [tokens, experts] = "
                f"{x.shape[1:]}, got shape {out.shape}",
                argument="method",
            )
        return out, f
    if not isinstance(method, str) or method not in METHODS:
        raise InvalidInput(
            f"unknown method {method!r}; choose one of {sorted(METHODS)} or pass a callable "
            "(vectors [replicas, tokens, experts], f) -> [tokens, experts]",
            argument="method",
        )
    kernel, need, ok = METHODS[method]
    require(ok(s.n, f), rule=method, need=need, n=s.n, f=f)
    if m is not None and method != "multi_krum":
        raise InvalidInput(f"m only applies to method='multi_krum', not {method!r}", argument="m")
    return kernel(x, f, m=m, neighbors=neighbors), f


def aggregate(
    scores: Any,
    f: int | None = None,
    method: str | Callable[..., Any] = "median",
    *,
    pre: str | None = None,
    m: int | None = None,
    neighbors: int | None = None,
    nonfinite: NonFinite = "raise",
) -> Any:
    """The fused score vector(s): ``[experts]`` or ``[tokens, experts]`` (list in → list out).

    ``f`` defaults to ``tolerated_faults(n) = (n - 1) // 3``. ``method`` is a name from
    :data:`METHODS` or a callable ``(vectors [replicas, tokens, experts], f) ->
    [tokens, experts]``. ``pre="nnm"`` mixes nearest neighbours first.
    """
    s = read_scores(scores, argument="scores", nonfinite=nonfinite)
    fused, _ = _fuse(s, f, method, pre=pre, m=m, neighbors=neighbors)
    return s.out(fused)


def top_k(fused: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores along the last axis, best first, ties → lowest index."""
    arr = np.asarray(to_numpy(fused, "fused"), dtype=np.float64)
    k = check_positive_int(k, "k")
    if k > arr.shape[-1]:
        raise InvalidInput(f"k={k} exceeds the number of experts {arr.shape[-1]}", argument="k")
    if k == 1:
        return np.argmax(arr, axis=-1)[..., None]
    return np.argsort(-arr, axis=-1, kind="stable")[..., :k]


def robust_route(
    scores: Any,
    f: int | None = None,
    method: str | Callable[..., Any] = "median",
    *,
    k: int | None = None,
    pre: str | None = None,
    m: int | None = None,
    neighbors: int | None = None,
    nonfinite: NonFinite = "raise",
) -> Any:
    """Aggregate replica score vectors robustly and return the winning expert(s).

    ``scores`` is one ``[replicas, experts]`` matrix (a plain list of lists, as in the
    seed) or a batch ``[replicas, tokens, experts]``. Returns the argmax expert index
    (an ``int``; ties → lowest index) — per token for a batch (a list for list input,
    an int array otherwise). With ``k``, the ``k`` best experts, best first
    (``[k]`` or ``[tokens, k]``).

    ``method``: ``"median"`` (default), ``"trimmed_mean"``, ``"krum"``, ``"multi_krum"``
    (``m`` defaults to ``n - f``), ``"geometric_median"``, ``"bulyan"``, ``"mean"``
    (baseline, only with ``f=0``) or a callable. ``f`` defaults to
    ``(n - 1) // 3``. Preconditions: median / trimmed mean / geometric median ``n > 2f``,
    Krum ``n >= 2f + 3``, Bulyan ``n >= 4f + 3``; a violation raises
    :class:`~openmoe_bft.errors.InvalidInput` naming ``f``.
    """
    s = read_scores(scores, argument="scores", nonfinite=nonfinite)
    fused, _ = _fuse(s, f, method, pre=pre, m=m, neighbors=neighbors)
    if k is None:
        win = np.argmax(fused, axis=1)
        if not s.batched:
            return int(win[0])
        return win.tolist() if s.as_list else win
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise InvalidType(f"expected an int number of experts, got {k!r}", argument="k")
    idx = top_k(fused, k)
    res = idx if s.batched else idx[0]
    return res.tolist() if s.as_list else res
