"""Replica routers and the host that signs their proposals.

A *replica router* is any picklable callable ``router(inputs) -> ids [tokens, k]``
(integer expert ids; a ``-1`` row abstains for that token). :class:`TopK` is the
usual one: top-k over a ``[tokens, experts]`` logits array. :class:`ReplicaHost` runs
one router with one Ed25519 key and signs each batch's ids; the in-process backend
holds hosts directly, the Ray backend holds one host inside each actor, so a
replica's private key lives only where the replica runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._arrays import check_positive_int
from ..errors import InvalidInput, InvalidType
from ..receipts.signing import Ed25519Key
from .proposals import SignedProposal, sign_proposal

__all__ = ["ReplicaHost", "TopK", "Tamper", "ids_dtype", "topk_ids"]

Tamper = Callable[[SignedProposal, Ed25519Key], Any]
_CHUNK = 4096


def ids_dtype(num_experts: int) -> np.dtype:
    """The smallest signed integer dtype holding ids ``-1 .. num_experts - 1``."""
    for dt in (np.int8, np.int16, np.int32):
        if num_experts - 1 <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def topk_ids(logits: Any, k: int) -> np.ndarray:
    """Top-``k`` expert ids per token of ``logits [tokens, experts]`` (as a set, any
    order), in the smallest dtype that holds them; a token whose row is not finite
    gets a ``-1`` row (the replica abstains for it).

    For small ``k`` this is ``k`` passes of ``argmax`` over cache-sized token chunks
    (about 3x faster than ``argpartition`` at 64 experts); larger ``k`` uses
    ``argpartition``.
    """
    x = np.asarray(logits)
    if x.ndim != 2 or x.dtype.kind != "f":
        raise InvalidInput(f"expected float logits [tokens, experts], got {x.dtype} {x.shape}",
                           argument="logits")
    t, e = x.shape
    if not 1 <= k <= e:
        raise InvalidInput(f"k={k} must be in [1, {e}]", argument="k")
    finite = np.isfinite(x).all(axis=1) if not np.isfinite(x).all() else None
    if finite is not None:
        x = np.where(finite[:, None], x, 0)
    out = np.empty((t, k), dtype=ids_dtype(e))
    if k == e:
        out[:] = np.arange(e)
    elif k <= 3:  # token chunks keep the masked copy in cache between argmax passes
        rows = np.arange(min(t, _CHUNK))
        buf = np.empty((min(t, _CHUNK), e), dtype=x.dtype) if k > 1 else None
        for c0 in range(0, t, _CHUNK):
            xc = x[c0:c0 + _CHUNK]
            n = xc.shape[0]
            best = xc.argmax(axis=1)
            out[c0:c0 + n, 0] = best
            if buf is not None:
                work = buf[:n]
                np.copyto(work, xc)
                for j in range(1, k):
                    work[rows[:n], best] = -np.inf
                    best = work.argmax(axis=1)
                    out[c0:c0 + n, j] = best
    else:
        out[:] = np.argpartition(x, e - k, axis=1)[:, e - k:]
    if finite is not None:
        out[~finite] = -1
    return out


class TopK:
    """The honest replica router: top-``k`` of the round's logits ``[tokens, experts]``."""

    def __init__(self, k: int) -> None:
        self.k = check_positive_int(k, "k")

    def __call__(self, logits: Any) -> np.ndarray:
        return topk_ids(logits, self.k)

    def __repr__(self) -> str:
        return f"TopK(k={self.k})"


class ReplicaHost:
    """One replica: its id, its router, and its Ed25519 signing key.

    ``key`` is an :class:`~openmoe_bft.receipts.Ed25519Key` or its 32-byte raw seed
    (what crosses a process boundary: ``cryptography`` keys do not pickle).
    ``tamper(proposal, key)``, when given, rewrites the signed proposal before it
    leaves the host: the hook the fault models in
    :mod:`openmoe_bft.distributed.faults` use to forge votes.
    """

    def __init__(self, replica_id: str, router: Callable[[Any], Any], key: Ed25519Key | bytes,
                 tamper: Tamper | None = None) -> None:
        if not isinstance(replica_id, str) or not replica_id:
            raise InvalidType(f"replica ids are non-empty str, got {replica_id!r}",
                              argument="replica_id")
        if not callable(router):
            raise InvalidType(f"replica {replica_id!r}: router is a {type(router).__name__}, "
                              "not a callable", argument="routers")
        self.replica_id = replica_id
        self.router = router
        self.key = key if isinstance(key, Ed25519Key) else Ed25519Key.from_raw(key)
        self.tamper = tamper

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def propose(self, batch_id: str, inputs: Any) -> Any:
        """Route ``inputs`` and sign the ids as this replica's proposal for ``batch_id``."""
        proposal = sign_proposal(self.key, self.replica_id, batch_id, self.router(inputs))
        if self.tamper is not None:
            return self.tamper(proposal, self.key)
        return proposal

    def configure(self, router: Callable[[Any], Any], tamper: Tamper | None = None) -> str:
        """Swap this replica's router (e.g. new gate weights) and tamper hook; same key."""
        if not callable(router):
            raise InvalidType(f"router is a {type(router).__name__}, not a callable",
                              argument="router")
        self.router, self.tamper = router, tamper
        return self.replica_id

    def ping(self) -> str:
        return self.replica_id

    def __repr__(self) -> str:
        return f"ReplicaHost({self.replica_id!r}, {self.router!r}, key_id={self.key_id!r})"
