"""Byzantine-robust aggregation rules, vectorized and batched over tokens.

Each public rule takes one ``[replicas, experts]`` matrix (a plain list of lists, as
in the seed, or an array) or a batch ``[replicas, tokens, experts]`` and returns the
aggregate ``[experts]`` / ``[tokens, experts]``: a list for list input, an array for
array input. ``f`` is the number of Byzantine replicas the caller wants tolerated;
each rule's precondition on ``n`` vs ``f`` raises :class:`~openmoe_bft.errors.InvalidInput`
(naming ``f``) when it does not hold.

References
----------
- Coordinate-wise median / trimmed mean: Yin, Chen, Kannan, Bartlett, *Byzantine-Robust
  Distributed Learning: Towards Optimal Statistical Rates*, ICML 2018.
- Krum / Multi-Krum: Blanchard, El Mhamdi, Guerraoui, Stainer, *Machine Learning with
  Adversaries: Byzantine Tolerant Gradient Descent*, NeurIPS 2017.
- Geometric median (smoothed Weiszfeld): Weiszfeld 1937; Pillutla, Kakade, Harchaoui,
  *Robust Aggregation for Federated Learning*, IEEE TSP 2022.
- Bulyan: El Mhamdi, Guerraoui, Rouault, *The Hidden Vulnerability of Distributed
  Learning in Byzantium*, ICML 2018.
- Nearest-neighbour mixing (NNM): Allouah, Farhadkhani, Guerraoui, Gupta, Pinot,
  Stephan, *Fixing by Mixing: A Recipe for Optimal Byzantine ML under Heterogeneity*,
  AISTATS 2023.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._arrays import check_nonneg_int, check_positive_int
from ..errors import InvalidInput
from ._input import NonFinite, pairwise_sq_dists, read_scores, require

__all__ = [
    "mean",
    "coordinate_wise_median",
    "trimmed_mean",
    "krum",
    "krum_scores",
    "multi_krum",
    "geometric_median",
    "bulyan",
    "nnm",
]


# ── kernels: x is [tokens, n, d] float64, results are [tokens, d] ─────────────


def _median(x: np.ndarray) -> np.ndarray:
    return np.median(x, axis=1)


def _trimmed(x: np.ndarray, f: int) -> np.ndarray:
    if f == 0:
        return x.mean(axis=1)
    n = x.shape[1]
    return np.sort(x, axis=1)[:, f : n - f].mean(axis=1)


def _krum_neighbors(n: int, f: int, neighbors: Any) -> int:
    if neighbors is None:
        return n - f - 2
    k = check_positive_int(neighbors, "neighbors")
    if k > n - 1:
        raise InvalidInput(
            f"a replica has only n - 1 = {n - 1} neighbours, got neighbors={k}",
            argument="neighbors",
        )
    return k


def _krum_score_kernel(x: np.ndarray, k: int, dists: np.ndarray | None = None) -> np.ndarray:
    """``[tokens, n]``: sum of squared distances from each vector to its ``k`` nearest others."""
    d = pairwise_sq_dists(x) if dists is None else dists.copy()
    idx = np.arange(x.shape[1])
    d[:, idx, idx] = np.inf
    return np.partition(d, k - 1, axis=2)[:, :, :k].sum(axis=2)


def _krum_pick(x: np.ndarray, f: int, k: int, m: int) -> np.ndarray:
    """Indices ``[tokens, m]`` of the ``m`` lowest Krum scores (ties → lowest index)."""
    scores = _krum_score_kernel(x, k)
    return np.argsort(scores, axis=1, kind="stable")[:, :m]


def _gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``x[t, idx[t, j], :]`` → ``[tokens, j, d]``."""
    return np.take_along_axis(x, idx[:, :, None], axis=1)


def _weiszfeld(
    x: np.ndarray, *, nu: float, max_iter: int, tol: float, init: str
) -> np.ndarray:
    if init == "median":
        z = np.median(x, axis=1)
    elif init == "mean":
        z = x.mean(axis=1)
    elif init == "zeros":
        z = np.zeros((x.shape[0], x.shape[2]))
    else:
        raise InvalidInput(f"expected 'median', 'mean' or 'zeros', got {init!r}", argument="init")
    scale = 1.0 + np.abs(x).max()
    active = np.ones(x.shape[0], dtype=bool)
    for _ in range(max_iter):
        xa, za = x[active], z[active]
        dist = np.sqrt(np.einsum("tnd,tnd->tn", xa - za[:, None, :], xa - za[:, None, :]))
        beta = 1.0 / np.maximum(dist, nu)
        new = np.einsum("tn,tnd->td", beta, xa) / beta.sum(axis=1, keepdims=True)
        moved = np.abs(new - za).max(axis=1)
        z[active] = new
        if tol > 0:
            still = moved > tol * scale
            active[np.flatnonzero(active)[~still]] = False
            if not active.any():
                break
    return z


def _bulyan(x: np.ndarray, f: int) -> np.ndarray:
    t, n, _ = x.shape
    theta = n - 2 * f
    beta = theta - 2 * f
    base = pairwise_sq_dists(x)
    idx = np.arange(n)
    base[:, idx, idx] = np.inf
    removed = np.zeros((t, n), dtype=bool)
    chosen = np.empty((t, theta), dtype=np.intp)
    rows = np.arange(t)
    for step in range(theta):
        remaining = n - step
        if remaining == 1:
            pick = np.argmin(removed, axis=1)  # the one left
        else:
            k = min(max(remaining - f - 2, 1), remaining - 1)
            d = np.where(removed[:, None, :], np.inf, base)
            score = np.sort(d, axis=2)[:, :, :k].sum(axis=2)
            score[removed] = np.inf
            pick = np.argmin(score, axis=1)
        chosen[:, step] = pick
        removed[rows, pick] = True
    sel = _gather(x, chosen)  # [t, theta, d]
    med = np.median(sel, axis=1, keepdims=True)
    closest = np.argsort(np.abs(sel - med), axis=1, kind="stable")[:, :beta, :]
    return np.take_along_axis(sel, closest, axis=1).mean(axis=1)


def _nnm(x: np.ndarray, f: int) -> np.ndarray:
    """``[tokens, n, d]``: each vector replaced by the mean of its ``n - f`` nearest (itself included)."""
    t, n, _ = x.shape
    keep = n - f
    if f == 0:
        return np.broadcast_to(x.mean(axis=1, keepdims=True), x.shape).copy()
    d = pairwise_sq_dists(x)
    idx = np.arange(n)
    d[:, idx, idx] = -1.0  # a vector is always its own nearest neighbour
    near = np.argsort(d, axis=2, kind="stable")[:, :, :keep]
    w = np.zeros((t, n, n))
    np.put_along_axis(w, near, 1.0 / keep, axis=2)
    return np.matmul(w, x)


# ── public rules ───────────────────────────────────────────────────────────


def mean(vectors: Any, *, nonfinite: NonFinite = "raise") -> Any:
    """Plain average (not robust: one Byzantine replica moves it anywhere). A baseline."""
    s = read_scores(vectors, nonfinite=nonfinite)
    return s.out(s.x.mean(axis=1))


def coordinate_wise_median(vectors: Any, *, nonfinite: NonFinite = "raise") -> Any:
    """Per-coordinate median across replicas (Yin et al. 2018).

    Even counts average the two middle values (numpy's median). With at most ``f``
    Byzantine replicas and ``n > 2f`` every coordinate stays within the honest
    replicas' range for that coordinate.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    return s.out(_median(s.x))


def trimmed_mean(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Per coordinate, drop the ``f`` largest and ``f`` smallest values and average the rest.

    Requires ``n > 2f``. Like the median, each coordinate stays within the honest range.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n > 2 * f, rule="trimmed_mean", need="n > 2f", n=s.n, f=f)
    return s.out(_trimmed(s.x, f))


def krum_scores(vectors: Any, f: int, *, neighbors: int | None = None, nonfinite: NonFinite = "raise") -> np.ndarray:
    """Krum score of every replica: ``[replicas]`` (or ``[tokens, replicas]`` batched).

    The sum of squared distances to its ``neighbors`` nearest other replicas
    (default ``n - f - 2``, Blanchard et al.). Requires ``n >= 2f + 3``.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="krum", need="n >= 2f + 3", n=s.n, f=f)
    sc = _krum_score_kernel(s.x, _krum_neighbors(s.n, f, neighbors))
    return sc if s.batched else sc[0]


def krum(vectors: Any, f: int, *, neighbors: int | None = None, nonfinite: NonFinite = "raise") -> Any:
    """Krum: return the replica vector with the lowest Krum score (ties → lowest index).

    Requires ``n >= 2f + 3`` so the chosen vector always has an honest neighbour.
    ``neighbors`` overrides the ``n - f - 2`` neighbourhood size (ByzFL's ``Krum`` uses
    ``n - f - 1``; pass that to reproduce it).
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="krum", need="n >= 2f + 3", n=s.n, f=f)
    pick = _krum_pick(s.x, f, _krum_neighbors(s.n, f, neighbors), 1)
    return s.out(_gather(s.x, pick)[:, 0, :])


def multi_krum(
    vectors: Any,
    f: int,
    m: int | None = None,
    *,
    neighbors: int | None = None,
    nonfinite: NonFinite = "raise",
) -> Any:
    """Multi-Krum: average the ``m`` replicas with the lowest Krum scores (default ``m = n - f``).

    ``m = 1`` is :func:`krum`. Requires ``n >= 2f + 3`` and ``1 <= m <= n``.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="multi_krum", need="n >= 2f + 3", n=s.n, f=f)
    m = _check_m(m, s.n, f)
    pick = _krum_pick(s.x, f, _krum_neighbors(s.n, f, neighbors), m)
    return s.out(_gather(s.x, pick).mean(axis=1))


def _check_m(m: Any, n: int, f: int) -> int:
    if m is None:
        return n - f
    m = check_positive_int(m, "m")
    if m > n:
        raise InvalidInput(f"m must be in [1, n={n}], got {m}", argument="m")
    return m


def geometric_median(
    vectors: Any,
    *,
    nu: float = 1e-8,
    max_iter: int = 200,
    tol: float = 1e-12,
    init: str = "median",
    nonfinite: NonFinite = "raise",
) -> Any:
    """Geometric median by the smoothed Weiszfeld algorithm (breakdown point 1/2).

    Iterates ``z ← Σ βᵢ xᵢ / Σ βᵢ`` with ``βᵢ = 1 / max(‖xᵢ − z‖, nu)`` from ``init``
    (``"median"``, ``"mean"`` or ``"zeros"``) until no coordinate moves more than
    ``tol · (1 + max|x|)`` or ``max_iter`` rounds; ``tol=0`` runs exactly ``max_iter``
    rounds. ByzFL's ``GeometricMedian(nu=0.1, T=3)`` is ``init="zeros", nu=0.1,
    max_iter=3, tol=0``.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    if not (isinstance(nu, (int, float)) and np.isfinite(nu) and nu > 0):
        raise InvalidInput(f"expected a finite number > 0, got {nu!r}", argument="nu")
    max_iter = check_nonneg_int(max_iter, "max_iter")
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise InvalidInput(f"expected a number >= 0, got {tol!r}", argument="tol")
    return s.out(_weiszfeld(s.x, nu=float(nu), max_iter=max_iter, tol=float(tol), init=init))


def bulyan(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Bulyan (El Mhamdi et al. 2018) on top of Krum. Requires ``n >= 4f + 3``.

    Selects ``θ = n − 2f`` replicas by repeated Krum (each pick removed from the pool),
    then per coordinate averages the ``β = θ − 2f`` selected values closest to their
    median.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n >= 4 * f + 3, rule="bulyan", need="n >= 4f + 3", n=s.n, f=f)
    return s.out(_bulyan(s.x, f))


def nnm(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Nearest-neighbour mixing (Allouah et al. 2023), a pre-aggregation step.

    Replaces every replica vector by the average of its ``n − f`` nearest vectors
    (itself included) and returns all ``n`` mixed vectors, in the input's layout, to be
    fed to any rule. Requires ``n > 2f``.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n > 2 * f, rule="nnm", need="n > 2f", n=s.n, f=f)
    return s.out_replicas(_nnm(s.x, f))
