"""Reading replica score vectors: shape, dtype, finiteness and the ``f`` preconditions.

Every rule works on one ``[replicas, experts]`` matrix or a batch
``[replicas, tokens, experts]``. Internally scores are held replica-first as
``v = [replicas, tokens, experts]`` float64 (one contiguous slab per replica, which the
coordinate-wise rules' sorting network wants) with a tokens-first view ``xt`` for the
batched Gram-matrix products of the distance-based rules. A plain (nested) list in
gives a plain list out, as in the seed; an array in gives an array out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._arrays import to_numpy
from ..errors import InvalidInput, InvalidType

NonFinite = Literal["raise", "outlier"]


@dataclass(frozen=True)
class Scores:
    """Validated scores: ``v`` is ``[replicas, tokens, experts]`` float64."""

    v: np.ndarray
    batched: bool  # input was [replicas, tokens, experts]
    as_list: bool  # input was a plain Python sequence: answer with lists
    argument: str = "vectors"
    deferred: bool = False  # finiteness not checked yet (read_scores(defer_finite=True))

    def ensure_finite(self) -> None:
        """Run the finiteness check a ``defer_finite`` read skipped (raises like :func:`read_scores`)."""
        if self.deferred:
            _refuse_nonfinite(self.v, self.batched, self.argument)

    @property
    def n(self) -> int:
        return self.v.shape[0]

    @property
    def xt(self) -> np.ndarray:
        """Tokens-first view ``[tokens, replicas, experts]``."""
        return np.swapaxes(self.v, 0, 1)

    def out(self, agg: np.ndarray) -> Any:
        """``[tokens, experts]`` aggregate back in the caller's shape and type."""
        res = agg if self.batched else agg[0]
        return res.tolist() if self.as_list else res

    def out_replicas(self, per_replica: np.ndarray) -> Any:
        """``[replicas, tokens, experts]`` (a pre-aggregation) back in the caller's layout."""
        res = per_replica if self.batched else per_replica[:, 0, :]
        return res.tolist() if self.as_list else res


def read_scores(
    scores: Any, *, argument: str = "vectors", nonfinite: NonFinite = "raise", defer_finite: bool = False
) -> Scores:
    """Validate ``scores`` and return them tokens-first as float64.

    ``nonfinite="raise"`` (default) refuses NaN/±inf with :class:`InvalidInput` naming the
    replica and expert. ``nonfinite="outlier"`` turns each non-finite value into a finite
    value far outside the finite range (``±(2·max|finite| + 1)``, NaN → ``+``), so a
    replica that sends garbage becomes a large-norm outlier, which every rule already
    tolerates while such replicas number at most ``f``.

    ``defer_finite=True`` (with ``"raise"``) skips the check, for a kernel that sees every
    value anyway and calls :meth:`Scores.ensure_finite` when it meets a non-finite one.
    """
    if isinstance(scores, (str, bytes, dict, set)):
        raise InvalidType(
            f"expected a [replicas, experts] matrix or a [replicas, tokens, experts] array, "
            f"got {type(scores).__name__}",
            argument=argument,
        )
    if nonfinite not in ("raise", "outlier"):
        raise InvalidInput(f"expected 'raise' or 'outlier', got {nonfinite!r}", argument="nonfinite")
    as_list = isinstance(scores, (list, tuple))
    if as_list and len(scores) == 0:
        raise InvalidInput("need at least one replica vector to aggregate", argument=argument)
    arr = to_numpy(scores, argument)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise InvalidType(
            f"scores must be numbers, got an array of dtype {arr.dtype}", argument=argument
        )
    if arr.ndim not in (2, 3):
        raise InvalidInput(
            f"expected rank 2 [replicas, experts] or rank 3 [replicas, tokens, experts], "
            f"got rank {arr.ndim} with shape {arr.shape}",
            argument=argument,
        )
    if arr.shape[0] == 0:
        raise InvalidInput("need at least one replica vector to aggregate", argument=argument)
    if arr.shape[-1] == 0:
        raise InvalidInput("vectors must be non-empty (at least one expert)", argument=argument)
    x = np.asarray(arr, dtype=np.float64)
    batched = x.ndim == 3
    x = x if batched else x[:, None, :]
    if nonfinite == "raise":
        if not defer_finite:
            _refuse_nonfinite(x, batched, argument)
        return Scores(v=x, batched=batched, as_list=as_list, argument=argument, deferred=defer_finite)
    if not _all_finite(x):
        finite = np.isfinite(x)
        big = 2.0 * float(np.abs(x[finite]).max(initial=0.0)) + 1.0
        x = np.where(finite, x, np.where(x < 0, -big, big))
    return Scores(v=x, batched=batched, as_list=as_list, argument=argument)


def _all_finite(x: np.ndarray) -> bool:
    # a finite sum proves every value finite (inf/NaN anywhere make it inf/NaN); only
    # a non-finite sum (or an overflow of finite values) pays the elementwise check
    with np.errstate(over="ignore", invalid="ignore"):
        total = x.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(x).all())


def _refuse_nonfinite(x: np.ndarray, batched: bool, argument: str) -> None:
    """:class:`InvalidInput` naming the first non-finite value's replica (token) and expert."""
    if _all_finite(x):
        return
    r, t, e = (int(i) for i in np.argwhere(~np.isfinite(x))[0])
    where = f"replica {r}, token {t}, expert {e}" if batched else f"replica {r}, expert {e}"
    raise InvalidInput(
        f"non-finite score {x[r, t, e]!r} at {where}; clean the scores, or pass "
        "nonfinite='outlier' to treat such replicas as Byzantine outliers",
        argument=argument,
    )


def require(cond: bool, *, rule: str, need: str, n: int, f: int) -> None:
    """Raise :class:`InvalidInput` naming ``f`` when a rule's precondition ``need`` fails."""
    if not cond:
        raise InvalidInput(
            f"{rule} requires {need}; got n={n} replicas and f={f}. Use more replicas or a "
            f"smaller f",
            argument="f",
        )


def pairwise_sq_dists(v: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[tokens, n, n]`` from one batched Gram product.

    ``‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b`` in float64: the absolute error is about
    ``1e-16 · (‖a‖² + ‖b‖²)``, which only matters for vectors whose spread is below
    ~1e-7 of their norm. A replica is at exactly 0 from itself; clamped at 0 below.
    """
    xt = np.swapaxes(v, 0, 1)
    d = np.matmul(xt, np.swapaxes(xt, 1, 2))  # the Gram matrices, turned into distances in place
    sq = np.einsum("tii->ti", d).copy()
    d *= -2.0
    d += sq[:, :, None]
    d += sq[:, None, :]
    np.maximum(d, 0.0, out=d)
    idx = np.arange(v.shape[0])
    d[:, idx, idx] = 0.0
    return d


class ChunkWork:
    """Buffers for :func:`closeness` and what follows it, reused across one call's token chunks.

    Fresh arrays each chunk cost page faults (the allocator hands large freed blocks back
    to the system); one set per call does not.
    """

    def __init__(self, n: int, d: int, chunk: int) -> None:
        self.vc = np.empty((n, chunk, d))
        self.h = np.empty((chunk, n, n))
        self.sq = np.empty((chunk, n))
        self.part = np.empty((chunk, n, n))
        self.near = np.empty((chunk, n, n), dtype=bool)
        self.w = np.empty((chunk, n, n))


def diagonal(a: np.ndarray) -> np.ndarray:
    """Writable view of the diagonals ``a[t, i, i]`` of a C-contiguous ``[tokens, n, n]``."""
    t, n, _ = a.shape
    return a.reshape(t, n * n)[:, :: n + 1]


def closeness(v: np.ndarray, work: ChunkWork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(h, sq, xc)`` for a (small) token chunk ``v = [n, tokens, d]``, in ``work``'s buffers.

    ``h[t, i, j] = x_i·x_j − ‖x_j‖²/2``: for each ``i`` a key that orders the others by
    distance, larger = nearer, since ``‖x_i − x_j‖² = ‖x_i‖² − 2·h[t, i, j]`` exactly up
    to one rounding (the factor 2 is exact), so the same ties as the distances. ``sq``
    is ``‖x_i‖²`` ``[tokens, n]`` and ``xc`` a tokens-first ``[tokens, n, d]`` view of
    a copy of the chunk (for a following mixing product).

    NOTE (speed): one subtraction instead of the four passes that turn a Gram matrix
    into clamped distances, and the Gram product is taken against a copy of the
    operand: numpy sends ``a @ a.T`` of one buffer to BLAS ``syrk``, which on 16×64
    matrices costs about twice a ``gemm`` (copy included). The copy keeps the
    replica-first layout (16 runs of ``tokens × d`` values: a tokens-first copy made of
    512-byte rows took twice as long), and both operands are strided views, which BLAS
    takes as they are. Callers keep chunks small (~1 MiB of input) so the copy, the
    product and the mixing hit the L2 cache.
    A NaN/inf input makes its ``sq`` NaN/inf: the distance rules check that instead of
    a separate pass over the whole batch (``read_scores(defer_finite=True)``).
    """
    c = v.shape[1]
    vc = work.vc[:, :c]
    np.copyto(vc, v)
    xc = np.swapaxes(vc, 0, 1)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf input: callers check sq
        h = np.matmul(np.swapaxes(v, 0, 1), np.transpose(vc, (1, 2, 0)), out=work.h[:c])
        sq = work.sq[:c]
        np.copyto(sq, diagonal(h))
        h -= 0.5 * sq[:, None, :]
    return h, sq, xc
