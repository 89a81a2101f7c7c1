"""Faulty replicas for tests, demos and drills — picklable, so they run inside Ray actors.

Router-level faults wrap a replica router ``router(inputs) -> ids``:

* :class:`Crashing` — raises (after ``after`` good calls): the replica abstains.
* :class:`Slow` — sleeps ``seconds`` before answering: it misses short deadlines.
* :class:`Colluding` — proposes the ``k`` *worst*-scoring experts; every colluder
  proposes the same set, the strongest attack on a vote.
* :class:`Equivocating` — answers honestly the first time it is asked about a batch
  and differently every later time (caught when a batch is re-asked).

Message-level faults are ``tamper(proposal, key)`` hooks for
:class:`~openmoe_bft.distributed.replicas.ReplicaHost`: :class:`Forge` impersonates
another replica, alters ids after signing, replays an earlier batch, or mangles the
signature — what a compromised relay or replica could try.

Killing a replica outright is not a fault model here: kill the actor
(:meth:`RayBackend.kill`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..receipts.signing import Ed25519Key
from .proposals import SignedProposal, sign_proposal

__all__ = ["Colluding", "Crashing", "Equivocating", "Forge", "Slow", "FORGE_KINDS"]

FORGE_KINDS = ("impersonate", "alter", "replay", "bad_signature")


class Crashing:
    """Raise ``RuntimeError`` on every call after the first ``after`` ones."""

    def __init__(self, router: Any, after: int = 0) -> None:
        self.router, self.after, self.calls = router, after, 0

    def __call__(self, inputs: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError("replica crashed (injected fault)")
        return self.router(inputs)


class Slow:
    """Sleep ``seconds`` (on calls ``>= after``), then answer like ``router``."""

    def __init__(self, router: Any, seconds: float, after: int = 0) -> None:
        self.router, self.seconds, self.after, self.calls = router, float(seconds), after, 0

    def __call__(self, inputs: Any) -> Any:
        self.calls += 1
        if self.calls > self.after:
            time.sleep(self.seconds)
        return self.router(inputs)


class Colluding:
    """Propose the ``k`` lowest-scoring experts of each token's logits."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, logits: Any) -> np.ndarray:
        x = np.asarray(logits)
        return np.argpartition(x, self.k - 1, axis=1)[:, : self.k].astype(np.int64)


class Equivocating:
    """Honest on the first call, :class:`Colluding` on every later call.

    Asked twice about one batch it signs two different proposals — equivocation,
    which the driver detects when it re-asks a batch and proves with both signatures.
    """

    def __init__(self, router: Any, k: int) -> None:
        self.router, self.wrong, self.calls = router, Colluding(k), 0

    def __call__(self, inputs: Any) -> Any:
        self.calls += 1
        return self.router(inputs) if self.calls == 1 else self.wrong(inputs)


class Forge:
    """A ``tamper`` hook that forges the signed proposal on its way out.

    ``impersonate``: sign the ids claiming to be ``target`` (with this replica's own
    key — it has no other). ``alter``: change one id after signing. ``replay``: send
    the previous batch's proposal again. ``bad_signature``: flip a signature bit.
    """

    def __init__(self, kind: str, target: str | None = None) -> None:
        if kind not in FORGE_KINDS:
            raise InvalidInput(f"expected one of {FORGE_KINDS}, got {kind!r}", argument="kind")
        if kind == "impersonate" and not target:
            raise InvalidInput("impersonate needs target= (the replica id to pose as)",
                               argument="target")
        self.kind, self.target = kind, target
        self._last: SignedProposal | None = None

    def __call__(self, proposal: SignedProposal, key: Ed25519Key) -> SignedProposal:
        if self.kind == "impersonate":
            assert self.target is not None
            return sign_proposal(key, self.target, proposal.batch_id, proposal.ids)
        if self.kind == "alter":
            ids = proposal.ids.copy()
            ids.flat[0] = (int(ids.flat[0]) + 1) % max(2, int(ids.max()) + 1)
            return replace(proposal, ids=ids)
        if self.kind == "replay":
            last, self._last = self._last, proposal
            return last if last is not None else proposal
        sig = bytearray(bytes.fromhex(proposal.signature))
        sig[0] ^= 1
        return replace(proposal, signature=sig.hex())
