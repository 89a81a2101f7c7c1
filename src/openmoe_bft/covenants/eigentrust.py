"""EigenTrust global trust (Kamvar, Schlosser, Garcia-Molina, WWW 2003), in numpy.

Agents ``0..n-1`` vouch for each other with weights ``w[i -> j] >= 0``. Row-normalising
gives the local trust matrix ``C`` (``c_ij = w_ij / sum_k w_ik``; each row sums to 1).
An agent that vouches for nobody (a *dangling* row) trusts the pre-trusted
distribution ``p`` instead. Global trust is the fixed point of ::

    t = (1 - a) · Cᵀ t + a · p          (a: damping, the weight of pre-trust)

iterated from ``t = p`` until ``||t_{k+1} - t_k||_1 < tol``. With ``0 < a <= 1`` the map
is a contraction (factor ``1 - a``), so it converges from any start, and because every
row of ``C`` (with dangling rows replaced by ``p``) sums to 1 and ``p`` sums to 1,
**``t`` is a probability distribution: entries in [0, 1] that sum to 1** (up to
rounding). Self-edges are ignored (a peer cannot vouch for itself) and parallel edges
add up. ``Cᵀ t`` is computed CSR-style with :func:`numpy.bincount` over the edge
list, so one iteration costs O(edges); no scipy needed.

This is personalised PageRank with restart distribution ``p`` and dangling
distribution ``p`` (networkx's ``pagerank(alpha=1 - a, personalization=p,
dangling=p)``); the tests check parity with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInput, InvalidType

__all__ = ["EigenTrustResult", "eigentrust"]


@dataclass(frozen=True)
class EigenTrustResult:
    """``trust``: the global trust distribution (length n, sums to 1).

    ``scores`` maps it into [0, 1] relative to the most trusted agent
    (``trust / trust.max()``: the top agent scores 1.0). ``converged`` is False when
    ``max_iter`` ran out first; ``residual`` is the last L1 step.
    """

    trust: np.ndarray
    iterations: int
    converged: bool
    residual: float

    @property
    def scores(self) -> np.ndarray:
        top = float(self.trust.max()) if self.trust.size else 0.0
        return self.trust / top if top > 0 else np.zeros_like(self.trust)

    def to_dict(self) -> dict[str, Any]:
        return {"trust": self.trust.tolist(), "scores": self.scores.tolist(),
                "iterations": self.iterations, "converged": self.converged,
                "residual": self.residual}


def _index_array(a: Any, n: int, argument: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise InvalidInput(f"expected a 1-D array of agent indices, got shape {arr.shape}",
                           argument=argument)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InvalidType(f"agent indices must be integers, got dtype {arr.dtype}",
                          argument=argument)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise InvalidInput(f"agent indices must lie in [0, {n}), got "
                           f"[{int(arr.min())}, {int(arr.max())}]", argument=argument)
    return arr


def eigentrust(
    n: int,
    src: Any,
    dst: Any,
    weight: Any = None,
    *,
    pretrusted: Any = None,
    discount: Any = None,
    alpha: float = 0.15,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> EigenTrustResult:
    """Global trust of ``n`` agents from the edges ``src[e] -> dst[e]`` (``weight[e]``).

    ``weight`` defaults to 1 per edge. ``pretrusted`` is the pre-trust vector ``p``:
    None (uniform over all agents) or ``n`` non-negative weights (e.g. 1 for each
    pre-trusted seed, 0 elsewhere); it is normalised to sum to 1.
    ``discount`` (``n`` factors in [0, 1], default all 1) scales the trust every agent
    receives: ``c_ij = w_ij · discount_j / sum_k w_ik``. The share a truster withholds
    this way is not given to its other trustees (row normalisation would otherwise
    undo the discount for an agent vouching for one peer only); it goes to ``p``, as
    a dangling row does, so ``t`` still sums to 1.
    ``alpha`` is the damping ``a`` in ``(0, 1]``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InvalidInput(f"n must be an int >= 0, got {n!r}", argument="n")
    n = int(n)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha <= 1:
        raise InvalidInput(f"alpha (damping) must be in (0, 1], got {alpha!r}", argument="alpha")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise InvalidInput(f"tol must be > 0, got {tol!r}", argument="tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise InvalidInput(f"max_iter must be an int >= 1, got {max_iter!r}", argument="max_iter")
    s = _index_array(src, n, "src")
    d = _index_array(dst, n, "dst")
    if s.shape != d.shape:
        raise InvalidInput(f"src has {s.size} edges but dst has {d.size}", argument="dst")
    if weight is None:
        w = np.ones(s.size, dtype=np.float64)
    else:
        w = np.asarray(weight, dtype=np.float64)
        if w.shape != s.shape:
            raise InvalidInput(f"weight has shape {w.shape}, expected ({s.size},)",
                               argument="weight")
        if w.size and (not np.isfinite(w).all() or w.min() < 0):
            raise InvalidInput("weights must be finite and >= 0", argument="weight")
    if n == 0:
        return EigenTrustResult(np.zeros(0), 0, True, 0.0)

    p = _pretrust(pretrusted, n)
    keep = (s != d) & (w > 0)
    if not keep.all():
        s, d, w = s[keep], d[keep], w[keep]
    out = np.bincount(s, weights=w, minlength=n).astype(np.float64, copy=False)
    c = w / out[s]  # row-normalised local trust, c[e] = c_{src[e], dst[e]}
    if discount is not None:
        q = np.asarray(discount, dtype=np.float64)
        if q.shape != (n,) or not np.isfinite(q).all() or q.min(initial=0) < 0 or q.max(
                initial=0) > 1:
            raise InvalidInput(f"discount must be {n} factors in [0, 1]", argument="discount")
        c = c * q[d]
    # the share of each row that goes to p: 1 for dangling rows, what a discount withheld
    leak = 1.0 - np.bincount(s, weights=c, minlength=n).astype(np.float64, copy=False)
    leak[out == 0] = 1.0
    np.clip(leak, 0.0, 1.0, out=leak)
    leaky = leak > 1e-15
    any_leak = bool(leaky.any())
    leak_idx = np.flatnonzero(leaky)
    leak_w = leak[leak_idx]

    t = p.copy()
    residual = float("inf")
    for it in range(1, max_iter + 1):
        ct = np.bincount(d, weights=c * t[s], minlength=n).astype(np.float64, copy=False)
        if any_leak:
            ct += float(leak_w @ t[leak_idx]) * p
        new = (1.0 - alpha) * ct + alpha * p
        residual = float(np.abs(new - t).sum())
        t = new
        if residual < tol:
            return EigenTrustResult(t / t.sum(), it, True, residual)
    return EigenTrustResult(t / t.sum(), max_iter, False, residual)


def _pretrust(pretrusted: Any, n: int) -> np.ndarray:
    if pretrusted is None:
        return np.full(n, 1.0 / n)
    p = np.asarray(pretrusted, dtype=np.float64)
    if p.shape != (n,):
        raise InvalidInput(f"pretrusted must be {n} weights (one per agent), got shape {p.shape}",
                           argument="pretrusted")
    if not np.isfinite(p).all() or p.min() < 0:
        raise InvalidInput("pretrusted weights must be finite and >= 0", argument="pretrusted")
    total = p.sum()
    if total <= 0:
        raise InvalidInput("pretrusted weights sum to 0: name at least one trusted agent",
                           argument="pretrusted")
    return p / total
