"""Reading replica score vectors: shape, dtype, finiteness and the ``f`` preconditions.

Every rule works on one ``[replicas, experts]`` matrix or a batch
``[replicas, tokens, experts]``. Internally the batch is held tokens-first,
``[tokens, replicas, experts]``, so pairwise distances are one batched Gram-matrix
product. A plain (nested) list in gives a plain list out, as in the seed; an array
in gives an array out.
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
    """Validated scores, tokens-first: ``x`` is ``[tokens, replicas, experts]`` float64."""

    x: np.ndarray
    batched: bool  # input was [replicas, tokens, experts]
    as_list: bool  # input was a plain Python sequence: answer with lists

    @property
    def n(self) -> int:
        return self.x.shape[1]

    @property
    def dim(self) -> int:
        return self.x.shape[2]

    def out(self, agg: np.ndarray) -> Any:
        """``[tokens, experts]`` aggregate back in the caller's shape and type."""
        res = agg if self.batched else agg[0]
        return res.tolist() if self.as_list else res

    def out_replicas(self, per_replica: np.ndarray) -> Any:
        """``[tokens, replicas, experts]`` (a pre-aggregation) back in the caller's layout."""
        res = np.swapaxes(per_replica, 0, 1) if self.batched else per_replica[0]
        return res.tolist() if self.as_list else res


def read_scores(scores: Any, *, argument: str = "vectors", nonfinite: NonFinite = "raise") -> Scores:
    """Validate ``scores`` and return them tokens-first as float64.

    ``nonfinite="raise"`` (default) refuses NaN/±inf with :class:`InvalidInput` naming the
    replica and expert. ``nonfinite="outlier"`` turns each non-finite value into a finite
    value far outside the finite range (``±(2·max|finite| + 1)``, NaN → ``+``), so a
    replica that sends garbage becomes a large-norm outlier, which every rule already
    tolerates while such replicas number at most ``f``.
    """
    if isinstance(scores, (str, bytes, dict, set)):
        raise InvalidType(
            f"expected a [replicas, experts] matrix or a [replicas, tokens, experts] array, "
            f"got {type(scores).__name__}",
            argument=argument,
        )
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
    x = np.swapaxes(x, 0, 1) if batched else x[None]
    finite = np.isfinite(x)
    if not finite.all():
        if nonfinite == "raise":
            t, r, e = (int(i) for i in np.argwhere(~finite)[0])
            where = f"replica {r}, token {t}, expert {e}" if batched else f"replica {r}, expert {e}"
            raise InvalidInput(
                f"non-finite score {x[t, r, e]!r} at {where}; clean the scores, or pass "
                "nonfinite='outlier' to treat such replicas as Byzantine outliers",
                argument=argument,
            )
        if nonfinite != "outlier":
            raise InvalidInput(
                f"expected 'raise' or 'outlier', got {nonfinite!r}", argument="nonfinite"
            )
        big = 2.0 * float(np.abs(x[finite]).max(initial=0.0)) + 1.0
        x = np.where(finite, x, np.where(x < 0, -big, big))
    return Scores(x=x, batched=batched, as_list=as_list)


def require(cond: bool, *, rule: str, need: str, n: int, f: int) -> None:
    """Raise :class:`InvalidInput` naming ``f`` when a rule's precondition ``need`` fails."""
    if not cond:
        raise InvalidInput(
            f"{rule} requires {need}; got n={n} replicas and f={f}. Use more replicas or a "
            f"smaller f",
            argument="f",
        )


def pairwise_sq_dists(x: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``[tokens, n, n]`` via one batched Gram product.

    Rows are first centred on their coordinate-wise median (a robust centre: a huge
    Byzantine vector cannot inflate the honest rows' norms), which keeps the
    ``|a|² + |b|² − 2a·b`` form accurate for small honest distances.
    """
    c = x - np.median(x, axis=1, keepdims=True)
    sq = np.einsum("tnd,tnd->tn", c, c)
    gram = np.matmul(c, np.swapaxes(c, 1, 2))
    d = sq[:, :, None] + sq[:, None, :] - 2.0 * gram
    np.maximum(d, 0.0, out=d)
    idx = np.arange(x.shape[1])
    d[:, idx, idx] = 0.0
    return d
