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

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import check_nonneg_int, check_positive_int
from ..errors import InvalidInput
from ._input import (
    ChunkWork,
    NonFinite,
    closeness,
    diagonal,
    pairwise_sq_dists,
    read_scores,
    require,
)
from ._network import middle_sum, sorted_ranks

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


# ── kernels: v is [n, tokens, d] float64 (replica-first), results [tokens, d] ──


def _median(v: np.ndarray) -> np.ndarray:
    n = v.shape[0]
    if n % 2:
        return sorted_ranks(v, (n // 2,))[0]
    lo, hi = sorted_ranks(v, (n // 2 - 1, n // 2))
    return (lo + hi) / 2.0


def _trimmed(v: np.ndarray, f: int, on_nonfinite: Callable[[], None] | None = None) -> np.ndarray:
    n = v.shape[0]
    if f == 0:
        if on_nonfinite is not None:
            on_nonfinite()
        return v.mean(axis=0)
    total = middle_sum(v, f, n - f, on_nonfinite)
    total /= n - 2 * f
    return total


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


#: tokens per pass of the distance-based rules: 128 x 16 replicas x 64 experts of
#: float64 is 1 MiB, so a chunk's copy, Gram product and mixing product stay in L2
#: (512 was 20% slower for NNM: the chunk no longer fit and every step re-read memory).
#: NOTE (speed), measured on 16 x 4,096 x 64: the batched 16x64 Gram products are
#: BLAS-call bound (~0.9 us a token as gemm); einsum was 3x and block-diagonal products
#: of 2 or 4 tokens 2-3x slower. Per-row selection on 16 values: in-place sort and
#: np.partition cost the same (~35 ns a row), argpartition twice that, and building
#: NNM's weights with put_along_axis as much again, hence the mask from the partition.
#: numpy reduces short rows slowly, so short sums and checks run column by column.
TOKEN_CHUNK = 128


#: a replica's key for itself in Krum: below every real key, and finite so that the
#: 0-weight it gets in the mat-vec that sums the k nearest stays 0 (0 * -inf is NaN)
_SELF_LAST = -np.finfo(np.float64).max


def _overflowed(h: np.ndarray, on_nonfinite: Callable[[], None] | None) -> None:
    """A chunk whose ``‖x‖²`` is not finite: NaN/inf input (``on_nonfinite`` raises), or
    finite values beyond ~1e154 whose squares overflow. Then keys that are NaN (inf − inf)
    or −inf become the farthest finite key and +inf the nearest, so such replicas rank
    as far away and no 0-weight meets an infinity."""
    if on_nonfinite is not None:
        on_nonfinite()
    np.nan_to_num(h, copy=False, nan=_SELF_LAST, posinf=-_SELF_LAST, neginf=_SELF_LAST)


def _krum_score_kernel(v: np.ndarray, k: int, on_nonfinite: Callable[[], None] | None = None) -> np.ndarray:
    """``[tokens, n]``: sum of squared distances from each vector to its ``k`` nearest others.

    Per row the closeness keys (see :func:`closeness`) are sorted in place, self first
    (the lowest key); the ``k`` largest are the ``k`` nearest, and their distances sum to
    ``k·‖x_i‖² − 2·Σ h``, clamped at 0 like any sum of squared distances.
    ``on_nonfinite`` is called when a chunk's ``‖x_i‖²`` is not finite (NaN/inf input).
    """
    n, t, d = v.shape
    out = np.empty((t, n))
    work = ChunkWork(n, d, min(t, TOKEN_CHUNK))
    pick = np.zeros(n)
    pick[n - k :] = 1.0
    for start in range(0, t, TOKEN_CHUNK):
        h, sq, _ = closeness(v[:, start : start + TOKEN_CHUNK], work)
        if not np.isfinite(sq).all():
            _overflowed(h, on_nonfinite)
        diagonal(h)[...] = _SELF_LAST
        h.sort(axis=2)
        acc = out[start : start + TOKEN_CHUNK]
        np.matmul(h, pick, out=acc)  # sum of the k largest: one mat-vec, not k short sums
        acc *= -2.0
        acc += k * sq
        np.maximum(acc, 0.0, out=acc)
    return out


def _krum_pick(v: np.ndarray, k: int, m: int, on_nonfinite: Callable[[], None] | None = None) -> np.ndarray:
    """Indices ``[tokens, m]`` of the ``m`` lowest Krum scores (ties → lowest index)."""
    scores = _krum_score_kernel(v, k, on_nonfinite)
    if not np.isfinite(scores).all():  # overflowed scores (see _overflowed) never win
        scores = np.where(np.isnan(scores), np.inf, scores)
    if m == 1:
        return np.argmin(scores, axis=1)[:, None]
    return np.argsort(scores, axis=1, kind="stable")[:, :m]


def _gather(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``v[idx[t, j], t, :]`` → ``[tokens, j, d]`` (one fancy index; no copy of ``v``)."""
    return v[idx, np.arange(v.shape[1])[:, None]]


def _mean_of(v: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per token, the mean of replicas ``idx[t, :]``: one batched mat-vec, no gathered copy."""
    t, m = idx.shape
    w = np.zeros((t, 1, v.shape[0]))
    np.put_along_axis(w[:, 0, :], idx, 1.0 / m, axis=1)
    return np.matmul(w, np.swapaxes(v, 0, 1))[:, 0, :]


def _krum(v: np.ndarray, f: int, neighbors: Any = None, on_nonfinite: Callable[[], None] | None = None) -> np.ndarray:
    """``[tokens, d]``: per token, the replica vector with the lowest Krum score."""
    pick = _krum_pick(v, _krum_neighbors(v.shape[0], f, neighbors), 1, on_nonfinite)
    return _gather(v, pick)[:, 0, :]


def _multi_krum(
    v: np.ndarray, f: int, m: Any = None, neighbors: Any = None, on_nonfinite: Callable[[], None] | None = None
) -> np.ndarray:
    """``[tokens, d]``: per token, the mean of the ``m`` lowest Krum scores (default ``n - f``)."""
    n = v.shape[0]
    return _mean_of(v, _krum_pick(v, _krum_neighbors(n, f, neighbors), _check_m(m, n, f), on_nonfinite))


#: geometric_median's defaults, also what robust_route(method="geometric_median") uses
GEOMED_DEFAULTS: dict[str, Any] = {"nu": 1e-8, "max_iter": 200, "tol": 1e-12, "init": "median"}


def _weiszfeld(v: np.ndarray, *, nu: float, max_iter: int, tol: float, init: str) -> np.ndarray:
    xt = np.swapaxes(v, 0, 1)  # [t, n, d]
    if init == "median":
        z = _median(v)
    elif init == "mean":
        z = v.mean(axis=0)
    elif init == "zeros":
        z = np.zeros(v.shape[1:])
    else:
        raise InvalidInput(f"expected 'median', 'mean' or 'zeros', got {init!r}", argument="init")
    sqx = np.einsum("tnd,tnd->tn", xt, xt)
    step = tol * (1.0 + float(np.abs(v).max())) if tol > 0 else -1.0
    for _ in range(max_iter):
        # ‖x − z‖² = ‖x‖² − 2x·z + ‖z‖², as two batched mat-vec products
        dots = np.matmul(xt, z[:, :, None])[:, :, 0]
        d2 = sqx - 2.0 * dots + np.einsum("td,td->t", z, z)[:, None]
        beta = 1.0 / np.maximum(np.sqrt(np.maximum(d2, 0.0)), nu)
        new = np.matmul(beta[:, None, :], xt)[:, 0, :] / beta.sum(axis=1, keepdims=True)
        moved = float(np.abs(new - z).max())
        z = new
        if moved <= step:
            break
    return z


def _bulyan(v: np.ndarray, f: int) -> np.ndarray:
    n, t, _ = v.shape
    theta = n - 2 * f
    beta = theta - 2 * f
    base = pairwise_sq_dists(v)
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
            d.sort(axis=2)
            score = d[:, :, :k].sum(axis=2)
            score[removed] = np.inf
            pick = np.argmin(score, axis=1)
        chosen[:, step] = pick
        removed[rows, pick] = True
    sel = np.swapaxes(_gather(v, chosen), 0, 1)  # [theta, t, d]
    med = _median(sel)
    closest = np.argsort(np.abs(sel - med), axis=0, kind="stable")[:beta]
    return np.take_along_axis(sel, closest, axis=0).mean(axis=0)


def _nnm(v: np.ndarray, f: int, on_nonfinite: Callable[[], None] | None = None) -> np.ndarray:
    """``[n, tokens, d]``: each vector replaced by the mean of its ``n - f`` nearest (itself included).

    Per token chunk: closeness keys (self ``+inf``, always kept), the ``n - f`` largest
    found by one ``np.partition`` and turned into a 0 / ``1/(n-f)`` weight mask, then
    one batched product. Rows where the boundary value is tied pick exactly ``n - f``
    by ``argpartition`` instead. ``on_nonfinite`` as for :func:`_krum_score_kernel`.
    """
    n, t, d = v.shape
    keep = n - f
    if f == 0:
        if on_nonfinite is not None:
            on_nonfinite()  # no distances to see the values: check them all
        return np.broadcast_to(v.mean(axis=0), v.shape).copy()
    cut = n - keep  # h sorted ascending: indices cut.. are the keep nearest
    out = np.empty((t, n, d))
    work = ChunkWork(n, d, min(t, TOKEN_CHUNK))
    for start in range(0, t, TOKEN_CHUNK):
        h, sq, xc = closeness(v[:, start : start + TOKEN_CHUNK], work)
        c = h.shape[0]
        if not np.isfinite(sq).all():
            _overflowed(h, on_nonfinite)
        diagonal(h)[...] = np.inf
        part = work.part[:c]
        np.copyto(part, h)
        part.partition(cut, axis=2)
        kth = part[:, :, cut : cut + 1]
        near = np.greater_equal(h, kth, out=work.near[:c])
        # every row keeps >= keep; more only where the boundary value is tied
        if np.count_nonzero(near) != near.shape[0] * n * keep:
            rows = np.nonzero(np.count_nonzero(near, axis=2) != keep)
            pick = np.argpartition(h[rows], cut, axis=1)[:, cut:]
            fixed = np.zeros((rows[0].size, n), dtype=bool)
            np.put_along_axis(fixed, pick, True, axis=1)
            near[rows] = fixed
        w = np.multiply(near, 1.0 / keep, out=work.w[:c])
        np.matmul(w, xc, out=out[start : start + TOKEN_CHUNK])
    return np.swapaxes(out, 0, 1)


# ── public rules ───────────────────────────────────────────────────────────


def mean(vectors: Any, *, nonfinite: NonFinite = "raise") -> Any:
    """Plain average (not robust: one Byzantine replica moves it anywhere). A baseline."""
    s = read_scores(vectors, nonfinite=nonfinite)
    return s.out(s.v.mean(axis=0))


def coordinate_wise_median(vectors: Any, *, nonfinite: NonFinite = "raise") -> Any:
    """Per-coordinate median across replicas (Yin et al. 2018).

    Even counts average the two middle values (numpy's median). With at most ``f``
    Byzantine replicas and ``n > 2f`` every coordinate stays within the honest
    replicas' range for that coordinate.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    return s.out(_median(s.v))


def trimmed_mean(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Per coordinate, drop the ``f`` largest and ``f`` smallest values and average the rest.

    Requires ``n > 2f``. Like the median, each coordinate stays within the honest range.
    """
    s = read_scores(vectors, nonfinite=nonfinite, defer_finite=True)
    f = check_nonneg_int(f, "f")
    require(s.n > 2 * f, rule="trimmed_mean", need="n > 2f", n=s.n, f=f)
    return s.out(_trimmed(s.v, f, s.ensure_finite))


def krum_scores(vectors: Any, f: int, *, neighbors: int | None = None, nonfinite: NonFinite = "raise") -> np.ndarray:
    """Krum score of every replica: ``[replicas]`` (or ``[tokens, replicas]`` batched).

    The sum of squared distances to its ``neighbors`` nearest other replicas
    (default ``n - f - 2``, Blanchard et al.). Requires ``n >= 2f + 3``.
    """
    s = read_scores(vectors, nonfinite=nonfinite, defer_finite=True)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="krum", need="n >= 2f + 3", n=s.n, f=f)
    sc = _krum_score_kernel(s.v, _krum_neighbors(s.n, f, neighbors), s.ensure_finite)
    return sc if s.batched else sc[0]


def krum(vectors: Any, f: int, *, neighbors: int | None = None, nonfinite: NonFinite = "raise") -> Any:
    """Krum: return the replica vector with the lowest Krum score (ties → lowest index).

    Requires ``n >= 2f + 3`` so the chosen vector always has an honest neighbour.
    ``neighbors`` overrides the ``n - f - 2`` neighbourhood size (ByzFL's ``Krum`` uses
    ``n - f - 1``; pass that to reproduce it).
    """
    s = read_scores(vectors, nonfinite=nonfinite, defer_finite=True)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="krum", need="n >= 2f + 3", n=s.n, f=f)
    return s.out(_krum(s.v, f, neighbors, s.ensure_finite))


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
    s = read_scores(vectors, nonfinite=nonfinite, defer_finite=True)
    f = check_nonneg_int(f, "f")
    require(s.n >= 2 * f + 3, rule="multi_krum", need="n >= 2f + 3", n=s.n, f=f)
    return s.out(_multi_krum(s.v, f, m, neighbors, s.ensure_finite))


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
    nu: float = GEOMED_DEFAULTS["nu"],
    max_iter: int = GEOMED_DEFAULTS["max_iter"],
    tol: float = GEOMED_DEFAULTS["tol"],
    init: str = GEOMED_DEFAULTS["init"],
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
    return s.out(_weiszfeld(s.v, nu=float(nu), max_iter=max_iter, tol=float(tol), init=init))


def bulyan(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Bulyan (El Mhamdi et al. 2018) on top of Krum. Requires ``n >= 4f + 3``.

    Selects ``θ = n − 2f`` replicas by repeated Krum (each pick removed from the pool),
    then per coordinate averages the ``β = θ − 2f`` selected values closest to their
    median.
    """
    s = read_scores(vectors, nonfinite=nonfinite)
    f = check_nonneg_int(f, "f")
    require(s.n >= 4 * f + 3, rule="bulyan", need="n >= 4f + 3", n=s.n, f=f)
    return s.out(_bulyan(s.v, f))


def nnm(vectors: Any, f: int, *, nonfinite: NonFinite = "raise") -> Any:
    """Nearest-neighbour mixing (Allouah et al. 2023), a pre-aggregation step.

    Replaces every replica vector by the average of its ``n − f`` nearest vectors
    (itself included) and returns all ``n`` mixed vectors, in the input's layout, to be
    fed to any rule. Requires ``n > 2f``.
    """
    s = read_scores(vectors, nonfinite=nonfinite, defer_finite=True)
    f = check_nonneg_int(f, "f")
    require(s.n > 2 * f, rule="nnm", need="n > 2f", n=s.n, f=f)
    return s.out_replicas(_nnm(s.v, f, s.ensure_finite))
