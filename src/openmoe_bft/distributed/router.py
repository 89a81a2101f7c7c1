"""``DistributedRouter``: batched BFT routing over any replica backend.

One round per batch of tokens (never one RPC per token):

1. the backend asks every replica for its signed top-k proposal for the batch, within
   ``deadline`` seconds — a replica that is late, crashed or dead *abstains*;
2. every proposal is verified against the public key registered for the replica it
   came from (:func:`~openmoe_bft.distributed.proposals.verify_proposal`); a forged,
   altered, replayed or malformed one is *rejected* — an abstention that is reported;
3. the accepted proposals are stacked into ``[replicas, tokens, k]`` (``-1`` rows for
   abstainers) and settled in one :func:`~openmoe_bft.bft.settle_batch` call: a token
   is dispatched only when ``decision_threshold(n)`` replicas agree on its expert set;
4. the round is sealed into the receipts chain (``chain=``): batch id, attempt, the
   SHA-256 of the decisions, each replica's proposal digest, who abstained, who was
   rejected, flagged or caught equivocating.

With at most ``f`` crashed, slow, partitioned or Byzantine replicas every token is
dispatched to the honest choice; with more, tokens are withheld (never misrouted) and
the batch can be asked again with the same ``batch_id`` once replicas are back: tokens
already dispatched keep their decision, withheld ones may now be settled, and a
replica whose signed proposal changed between attempts is an equivocator — its vote is
dropped and an :class:`~openmoe_bft.distributed.proposals.EquivocationProof` is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import check_positive_int
from ..bft.batch import BatchSettlement, DispatchCounts, settle_batch
from ..errors import InvalidInput, InvalidType
from .backend import ReplicaBackend, check_deadline
from .proposals import EquivocationProof, SignedProposal, verify_proposal
from .replicas import ids_dtype

__all__ = ["BATCH_KIND", "BatchRound", "DistributedRouter", "decisions_digest"]

BATCH_KIND = "openmoe-bft/distributed-batch/v1"


def decisions_digest(expert_ids: np.ndarray, dispatched: np.ndarray) -> str:
    """SHA-256 hex over a batch's decisions: ``expert_ids`` as little-endian int64
    ``[tokens, k]`` (``-1`` rows where withheld), then ``dispatched`` as one byte per token."""
    h = hashlib.sha256(np.ascontiguousarray(expert_ids, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(dispatched, dtype=np.uint8).tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class BatchRound(DispatchCounts):
    """One settled round of one batch.

    ``expert_ids [tokens, k]`` / ``dispatched [tokens]``: the batch's decisions so far
    (merged over attempts: an earlier decision never changes). ``newly_dispatched``:
    tokens decided in *this* attempt — what to send to experts now. ``settlement``:
    this attempt's raw :class:`~openmoe_bft.bft.BatchSettlement`. ``abstained``:
    replica → why it sent nothing; ``rejected``: replica → why its proposal was refused
    (forged, altered, stale); ``equivocations``: proofs caught in this attempt.
    """

    batch_id: str
    attempt: int
    expert_ids: np.ndarray = field(repr=False)
    dispatched: np.ndarray = field(repr=False)
    newly_dispatched: np.ndarray = field(repr=False)
    settlement: BatchSettlement = field(repr=False)
    abstained: dict[str, str]
    rejected: dict[str, str]
    equivocations: tuple[EquivocationProof, ...]
    flagged: tuple[str, ...]
    proposal_digests: dict[str, str | None]
    decisions_sha256: str
    conflicts: int
    receipt: Any = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def voters(self) -> tuple[str, ...]:
        """Replicas whose verified proposal was counted."""
        return tuple(r for r, d in self.proposal_digests.items() if d is not None)

    @property
    def equivocators(self) -> tuple[str, ...]:
        return tuple(sorted({p.replica_id for p in self.equivocations}))

    def summary(self) -> dict[str, Any]:
        """What is sealed into the receipts chain for this round."""
        s = self.settlement
        return {
            "kind": BATCH_KIND,
            "batch_id": self.batch_id,
            "attempt": self.attempt,
            "tokens": self.num_tokens,
            "dispatched": self.num_dispatched,
            "newly_dispatched": int(np.count_nonzero(self.newly_dispatched)),
            "withheld": self.num_withheld,
            "decisions_sha256": self.decisions_sha256,
            "n": s.n, "f": s.f, "threshold": s.threshold, "k": s.k, "num_experts": s.num_experts,
            "proposals": dict(sorted(self.proposal_digests.items())),
            "abstained": dict(sorted(self.abstained.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "flagged": list(self.flagged),
            "equivocators": list(self.equivocators),
            "conflicts": self.conflicts,
        }

    def to_dict(self) -> dict[str, Any]:
        d = self.summary()
        d["equivocations"] = [p.to_dict() for p in self.equivocations]
        d["timings"] = dict(self.timings)
        d["receipt_id"] = None if self.receipt is None else self.receipt.receipt_id
        return d


@dataclass
class _Open:
    """A batch with withheld tokens, kept so it can be asked again."""

    attempts: int
    expert_ids: np.ndarray
    dispatched: np.ndarray
    proposals: dict[str, tuple[tuple[bytes, str, np.ndarray], ...]]
    equivocators: set[str]


class DistributedRouter:
    """Settle batches of tokens by BFT consensus of replicas run by ``backend``.

    One driver settles rounds one after another (an instance is not thread-safe).

    Parameters
    ----------
    backend:
        A :class:`~openmoe_bft.distributed.backend.ReplicaBackend`
        (:class:`InProcessBackend` or :class:`RayBackend`).
    num_experts, k:
        The expert count and how many experts each token goes to.
    deadline:
        Seconds a round waits for replicas (default 5); late ones abstain.
        ``None`` waits for all (a hung replica then hangs the round).
    chain:
        An :class:`~openmoe_bft.receipts.AuditChain`; every round is sealed into it.
    keys:
        Replica id → public key the proposals must verify against. Defaults to
        ``backend.public_keys()``, read once here (pin them explicitly when the
        backend is not trusted to report them).
    keep:
        How many batches with withheld tokens are remembered (with their accepted
        proposals, to check retries for equivocation) so they can be asked again.
    clock:
        Returns the receipt timestamps (default ``time.time``).
    """

    def __init__(
        self,
        backend: ReplicaBackend,
        *,
        num_experts: int,
        k: int,
        deadline: float | None = 5.0,
        chain: Any = None,
        keys: dict[str, Any] | None = None,
        keep: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(backend, ReplicaBackend):
            raise InvalidType(f"backend must be a ReplicaBackend, got {type(backend).__name__}",
                              argument="backend")
        self.backend = backend
        self.num_experts = check_positive_int(num_experts, "num_experts")
        self.k = check_positive_int(k, "k")
        if self.k > self.num_experts:
            raise InvalidInput(f"k={k} is larger than the {num_experts} experts", argument="k")
        self.deadline = check_deadline(deadline)
        if chain is not None and not callable(getattr(chain, "append", None)):
            raise InvalidType(f"chain must be an AuditChain, got {type(chain).__name__}",
                              argument="chain")
        self.chain = chain
        self.replica_ids = tuple(backend.replica_ids)
        self.keys = dict(backend.public_keys() if keys is None else keys)
        missing = [r for r in self.replica_ids if r not in self.keys]
        if missing:
            raise InvalidInput(f"no public key for replicas {missing}", argument="keys")
        self.keep = check_positive_int(keep, "keep")
        self._clock = clock
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._dtype = ids_dtype(self.num_experts)

    @property
    def n(self) -> int:
        return len(self.replica_ids)

    def settle(self, inputs: Any, *, batch_id: str | None = None,
               tokens: int | None = None) -> BatchRound:
        """Run one round for ``inputs`` (e.g. the batch's router logits
        ``[tokens, experts]``; whatever the replica routers take).

        ``tokens`` defaults to ``len(inputs)``. Pass the ``batch_id`` of a batch that
        still has withheld tokens to ask the replicas again.
        """
        t0 = time.perf_counter()
        bid = f"batch-{uuid.uuid4().hex}" if batch_id is None else batch_id
        if not isinstance(bid, str) or not bid:
            raise InvalidType(f"batch_id must be a non-empty str, got {bid!r}", argument="batch_id")
        t = self._tokens(inputs, tokens)
        prev = self._open.get(bid)
        if prev is None and bid in self._settled:
            raise InvalidInput(f"batch {bid!r} was already settled with every token dispatched "
                               "(or is too old to re-ask); use a new batch id", argument="batch_id")
        if prev is not None and prev.dispatched.shape[0] != t:
            raise InvalidInput(f"batch {bid!r} had {prev.dispatched.shape[0]} tokens, now {t}: "
                               "ask again with the same inputs", argument="inputs")
        replies = self.backend.propose(bid, inputs, deadline=self.deadline)
        t1 = time.perf_counter()
        if [r.replica_id for r in replies] != list(self.replica_ids):
            raise InvalidInput("the backend answered for a different set of replicas",
                               argument="backend")
        stacked = np.full((self.n, t, self.k), -1, dtype=self._dtype)
        abstained: dict[str, str] = {}
        rejected: dict[str, str] = {}
        digests: dict[str, str | None] = {}
        proofs: list[EquivocationProof] = []
        history = prev.proposals if prev is not None else {}
        accepted: dict[str, tuple[bytes, str, np.ndarray]] = {}
        for i, reply in enumerate(replies):
            rid = reply.replica_id
            digests[rid] = None
            if reply.failure is not None or reply.proposal is None:
                abstained[rid] = reply.failure or "sent nothing"
                continue
            why = verify_proposal(reply.proposal, self.keys[rid], replica_id=rid, batch_id=bid,
                                  tokens=t, k=self.k)
            if why is not None:
                rejected[rid] = why
                continue
            p: SignedProposal = reply.proposal
            msg = p.message
            if prev is not None and rid in prev.equivocators:
                rejected[rid] = "equivocated on this batch in an earlier attempt"
                continue
            ids = p.ids
            if ids.dtype.itemsize > self._dtype.itemsize:  # out-of-range ids must stay invalid
                ids = np.where((ids >= -1) & (ids < self.num_experts), ids, -1)
            proof = self._conflict(rid, bid, history.get(rid, ()), msg, p.signature, ids)
            if proof is not None:
                proofs.append(proof)
                rejected[rid] = ("equivocated: signed a different expert set for a token of "
                                 "this batch in an earlier attempt")
                continue
            digests[rid] = hashlib.sha256(msg).hexdigest()
            accepted[rid] = (msg, p.signature, ids)
            stacked[i] = ids
        t2 = time.perf_counter()
        s = settle_batch(stacked, num_experts=self.num_experts, replica_ids=self.replica_ids)
        t3 = time.perf_counter()
        attempt = 1 if prev is None else prev.attempts + 1
        conflicts = 0
        if prev is None:
            expert_ids, dispatched, new = s.expert_ids, s.dispatched, s.dispatched
        else:
            new = s.dispatched & ~prev.dispatched
            both = s.dispatched & prev.dispatched
            conflicts = int(np.count_nonzero((s.expert_ids[both] != prev.expert_ids[both]).any(axis=1)))
            expert_ids = np.where(prev.dispatched[:, None], prev.expert_ids, s.expert_ids)
            dispatched = prev.dispatched | s.dispatched
        flagged = self._flagged(s, stacked, set(abstained) | set(rejected))
        rnd = BatchRound(
            batch_id=bid, attempt=attempt, expert_ids=expert_ids, dispatched=dispatched,
            newly_dispatched=new, settlement=s, abstained=abstained, rejected=rejected,
            equivocations=tuple(proofs), flagged=flagged, proposal_digests=digests,
            decisions_sha256=decisions_digest(expert_ids, dispatched), conflicts=conflicts,
        )
        receipt = None
        if self.chain is not None:
            receipt = self.chain.append(rnd.summary(), trace_id=bid, timestamp=self._clock())
        t4 = time.perf_counter()
        self._bookkeep(bid, prev, attempt, expert_ids, dispatched, accepted, proofs)
        timings = {"propose_s": t1 - t0, "verify_s": t2 - t1, "settle_s": t3 - t2,
                   "seal_s": t4 - t3, "round_s": t4 - t0}
        return dataclasses.replace(rnd, receipt=receipt, timings=timings)

    def run(self, batches: Iterable[Any], *, prefix: str | None = None) -> Iterator[BatchRound]:
        """Settle each batch of ``batches`` in turn (batch ids ``{prefix}-{i}``)."""
        prefix = f"run-{uuid.uuid4().hex[:12]}" if prefix is None else prefix
        for i, inputs in zip(itertools.count(), batches):
            yield self.settle(inputs, batch_id=f"{prefix}-{i}")

    def pending(self) -> list[str]:
        """Batch ids that still have withheld tokens and can be asked again."""
        return list(self._open)

    # -- internals ------------------------------------------------------------------
    def _tokens(self, inputs: Any, tokens: int | None) -> int:
        if tokens is not None:
            return check_positive_int(tokens, "tokens")
        shape = getattr(inputs, "shape", None)
        if shape is not None and len(shape) >= 1:
            return check_positive_int(int(shape[0]), "tokens")
        try:
            return check_positive_int(len(inputs), "tokens")
        except TypeError:
            raise InvalidInput("cannot tell how many tokens the inputs hold: pass tokens=",
                               argument="tokens") from None

    def _flagged(self, s: BatchSettlement, stacked: np.ndarray, silent: set[str]) -> tuple[str, ...]:
        """Replicas that voted for something else on a dispatched token (settle_batch
        also counts tokens a replica abstained on; those are not drift)."""
        out = []
        for i, rid in enumerate(self.replica_ids):
            d = int(s.disagreements[i])
            if d == 0 or rid in silent:
                continue
            if s.abstentions[i] > 0:
                row = stacked[i]
                bad = ((row < 0) | (row >= self.num_experts)).any(axis=1)
                d -= int(np.count_nonzero(bad & s.dispatched))
            if d > 0:
                out.append(rid)
        return tuple(out)

    def _conflict(self, rid: str, bid: str, earlier: Any, msg: bytes, sig: str,
                  ids: np.ndarray) -> EquivocationProof | None:
        """Proof that ``rid`` signed, for some token of ``bid``, a different valid expert
        set than in an earlier attempt (filling in a token it abstained on is not)."""
        if not earlier:
            return None
        new_ok = ((ids >= 0) & (ids < self.num_experts)).all(axis=1)
        new_sorted = np.sort(ids, axis=1)
        for old_msg, old_sig, old_ids in earlier:
            if old_msg == msg:
                continue
            both = new_ok & ((old_ids >= 0) & (old_ids < self.num_experts)).all(axis=1)
            if (np.sort(old_ids[both], axis=1) != new_sorted[both]).any():
                return EquivocationProof(rid, bid, old_msg, old_sig, msg, sig)
        return None

    def _bookkeep(self, bid: str, prev: _Open | None, attempt: int, expert_ids: np.ndarray,
                  dispatched: np.ndarray, accepted: dict[str, tuple[bytes, str, np.ndarray]],
                  proofs: list[EquivocationProof]) -> None:
        if dispatched.all():
            self._open.pop(bid, None)
            self._settled[bid] = None
            while len(self._settled) > 64 * self.keep:
                self._settled.popitem(last=False)
            return
        history = {} if prev is None else prev.proposals
        for rid, item in accepted.items():
            history[rid] = (*history.get(rid, ()), item)
        cheats = (set() if prev is None else prev.equivocators) | {p.replica_id for p in proofs}
        self._open[bid] = _Open(attempt, expert_ids, dispatched, history, cheats)
        self._open.move_to_end(bid)
        while len(self._open) > self.keep:
            old, _ = self._open.popitem(last=False)
            self._settled[old] = None

    def __repr__(self) -> str:
        return (f"DistributedRouter(backend={self.backend!r}, num_experts={self.num_experts}, "
                f"k={self.k}, deadline={self.deadline})")
