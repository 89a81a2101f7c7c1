"""``BFTRouter``: dispatch a token to an expert only when a Byzantine quorum agrees.

Each replica is a callable ``replica(token) -> expert_key`` (sync or async). The
router asks every replica, records the proposals as votes in a
:class:`~openmoe_bft.bft.BFTLedger` round, and dispatches the token to
``experts[key]`` only when ``key`` reaches the decision threshold
(``max(2f + 1, n // 2 + 1)`` of ``n`` replicas).

A replica that raises, runs past ``timeout``, returns something that is not a
registered expert key, or is still stuck in an earlier timed-out call, *abstains*
for that token: the abstention and its reason are recorded and reported, and the
router carries on. With ``≤ f`` faulty replicas and the honest ones agreeing, the
token is dispatched to the honest choice.

``session_id`` names the routing decision (the ledger round). Re-routing with the
same session id re-asks the replicas for the *same* decision: identical votes are
idempotent, changed votes are equivocation and are flagged. Leave it out to get a
fresh id per call.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import dataclasses
import inspect
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..canonical import value_hash
from ..errors import ExpertError, InvalidInput, InvalidType, NoConsensusError
from .consensus import Abstention, Settlement
from .ledger import Ballot, BFTLedger

__all__ = ["BFTRouter", "RoutingDecision", "assignment_hash", "Replica"]

Replica = Callable[[Any], Any] | Callable[[Any], Awaitable[Any]]
_NO_PROPOSAL: Any = object()
_STILL_RUNNING = "still running an earlier call that timed out"


def assignment_hash(expert_key: Any) -> str:
    """Deterministic SHA-256 hex hash of a proposed expert assignment (canonical encoding)."""
    return value_hash(expert_key)


@dataclass(frozen=True)
class RoutingDecision:
    """What happened to one token.

    ``consensus``: a key reached the threshold. ``dispatched``: the expert ran and
    ``result`` is its return value. ``votes`` maps replica id → hash of its counted
    vote and ``proposals`` replica id → what it returned; ``abstentions`` say which
    replicas cast no vote and why; ``equivocators`` lists replicas caught voting two
    values for this session. ``receipt`` is the audit receipt sealing this decision
    when the router has ``audit=`` (else None).
    """

    session_id: str
    consensus: bool
    expert_key: Any
    agreed_hash: str | None
    quorum: int
    threshold: int
    f: int
    total_replicas: int
    votes: dict[str, str]
    proposals: dict[str, Any]
    dispatched: bool = False
    result: Any = None
    abstentions: tuple[Abstention, ...] = ()
    equivocators: tuple[str, ...] = ()
    settlement: Settlement | None = field(default=None, repr=False)
    receipt: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "consensus": self.consensus,
            "dispatched": self.dispatched,
            "expert_key": self.expert_key,
            "agreed_hash": self.agreed_hash,
            "quorum": self.quorum,
            "threshold": self.threshold,
            "f": self.f,
            "total_replicas": self.total_replicas,
            "votes": dict(self.votes),
            "proposals": {k: repr(v) for k, v in self.proposals.items()},
            "abstentions": [a.to_dict() for a in self.abstentions],
            "equivocators": list(self.equivocators),
        }


def _normalise_replicas(replicas: Any) -> list[tuple[str, Replica]]:
    if isinstance(replicas, Mapping):
        pairs = list(replicas.items())
    elif isinstance(replicas, (str, bytes)) or not isinstance(replicas, Iterable):
        raise InvalidType(
            "expected a list of replica callables, a dict id -> callable, or (id, callable) pairs",
            argument="replicas",
        )
    else:
        items = list(replicas)
        if items and all(isinstance(p, tuple) and len(p) == 2 and not callable(p) for p in items):
            pairs = items
        else:
            pairs = [(f"replica-{i}", fn) for i, fn in enumerate(items)]
    if not pairs:
        raise InvalidInput("BFTRouter needs at least one router replica", argument="replicas")
    ids = [rid for rid, _ in pairs]
    for rid, fn in pairs:
        if not isinstance(rid, str) or not rid:
            raise InvalidType(f"replica ids must be non-empty str, got {rid!r}", argument="replicas")
        if not callable(fn):
            raise InvalidType(
                f"replica {rid!r} is a {type(fn).__name__}, not a callable", argument="replicas"
            )
    dupes = sorted({r for r in ids if ids.count(r) > 1})
    if dupes:
        raise InvalidInput(f"duplicate replica ids {dupes}", argument="replicas")
    return pairs


class _ReplicaRaised(Exception):
    """Carries (as ``__cause__``) an exception a replica itself raised."""


async def _tag_failure(aw: Awaitable[Any]) -> Any:
    try:
        return await aw
    except Exception as exc:
        raise _ReplicaRaised() from exc


class BFTRouter:
    """Route tokens to experts only on Byzantine-fault-tolerant agreement.

    Parameters
    ----------
    experts:
        ``{expert_key: callable(token)}``; a value of ``None`` (or a plain sequence
        of keys, as in the seed) means decision-only: the key is agreed but nothing runs.
    replicas:
        Router replicas: a list of callables (ids ``replica-0``, ``replica-1``, ...),
        a dict ``{id: callable}``, or ``(id, callable)`` pairs. Async callables work.
    strict:
        Default for :meth:`route`: raise :class:`NoConsensusError` on a split vote.
    timeout:
        Seconds each replica gets per token (default 5). ``None`` calls replicas one
        after another in the calling thread, with no timeout.
    ledger:
        Where votes are recorded (a new in-memory :class:`BFTLedger` by default; pass
        ``BFTLedger("votes.db")`` to persist them).
    audit:
        An :class:`~openmoe_bft.receipts.AuditChain`: every decision (dispatched or
        withheld) is sealed as a receipt before the expert runs; the decision's
        ``receipt`` field holds it.
    """

    def __init__(
        self,
        experts: Mapping[Any, Callable[[Any], Any] | None] | Sequence[Any],
        replicas: Any,
        *,
        strict: bool = False,
        timeout: float | None = 5.0,
        ledger: BFTLedger | None = None,
        audit: Any = None,
    ) -> None:
        self._experts: dict[Any, Callable[[Any], Any] | None] = {}
        self._canon: dict[Any, Any] = {}
        self._key_hash: dict[Any, str] = {}
        if isinstance(experts, Mapping):
            items = list(experts.items())
        elif isinstance(experts, (str, bytes)) or not isinstance(experts, Iterable):
            raise InvalidType(
                "expected a dict expert_key -> callable, or a sequence of expert keys",
                argument="experts",
            )
        else:
            items = [(k, None) for k in experts]
        if not items:
            raise InvalidInput("BFTRouter needs at least one expert", argument="experts")
        for key, fn in items:
            self.add_expert(key, fn)
        self._replicas = _normalise_replicas(replicas)
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
        ):
            raise InvalidInput(f"expected seconds > 0 or None, got {timeout!r}", argument="timeout")
        if ledger is not None and not isinstance(ledger, BFTLedger):
            raise InvalidType(f"expected a BFTLedger, got {type(ledger).__name__}", argument="ledger")
        self.timeout = timeout
        self.strict = bool(strict)
        self.ledger = ledger if ledger is not None else BFTLedger()
        if audit is not None and not callable(getattr(audit, "append", None)):
            raise InvalidType(f"audit must be an AuditChain, got {type(audit).__name__}",
                              argument="audit")
        self.audit = audit
        self._executor: cf.ThreadPoolExecutor | None = None
        self._stuck: dict[str, cf.Future[Any]] = {}
        self._lock = threading.Lock()

    # -- configuration ----------------------------------------------------------
    def add_expert(self, key: Any, fn: Callable[[Any], Any] | None) -> None:
        """Register (or replace) the expert for ``key``; ``fn=None`` means decision-only."""
        try:
            h = assignment_hash(key)
            hash(key)
        except TypeError as exc:
            raise InvalidType(f"expert key {key!r} is not hashable: {exc}", argument="experts") from exc
        if fn is not None and not callable(fn):
            raise InvalidType(
                f"expert {key!r} is a {type(fn).__name__}, not a callable or None", argument="experts"
            )
        self._experts[key] = fn
        self._canon[key] = key
        self._key_hash[key] = h

    @property
    def experts(self) -> dict[Any, Callable[[Any], Any] | None]:
        return dict(self._experts)

    @property
    def replica_ids(self) -> list[str]:
        return [rid for rid, _ in self._replicas]

    @property
    def replicas(self) -> list[Replica]:
        return [fn for _, fn in self._replicas]

    @property
    def total_replicas(self) -> int:
        return len(self._replicas)

    # -- proposals --------------------------------------------------------------
    def _canonical_key(self, proposal: Any) -> tuple[Any, str | None]:
        """(registered key, None) for a valid proposal, else (None, reason)."""
        try:
            key = self._canon.get(proposal, _NO_PROPOSAL)
        except TypeError:
            return None, f"returned an unhashable {type(proposal).__name__}"
        if key is _NO_PROPOSAL or (isinstance(proposal, bool) != isinstance(key, bool)):
            return None, f"returned {_short(proposal)}, which is not a registered expert key"
        return key, None

    def _ballots(self, proposals: dict[str, Any], failures: dict[str, str]) -> list[Ballot]:
        ballots = []
        for rid, _ in self._replicas:
            if rid in failures:
                ballots.append(Ballot(rid, reason=failures[rid]))
                continue
            key, why = self._canonical_key(proposals[rid])
            if why is not None:
                ballots.append(Ballot(rid, reason=why))
            else:
                ballots.append(Ballot(rid, value_hash=self._key_hash[key], value=key))
        return ballots

    def _settle(self, session_id: str, proposals: dict[str, Any], failures: dict[str, str]) -> RoutingDecision:
        rnd = self.ledger.record(
            session_id, self._ballots(proposals, failures),
            total_nodes=self.total_replicas, nodes=self.replica_ids,
        )
        s = rnd.settle()
        return RoutingDecision(
            session_id=session_id,
            consensus=s.agreed,
            expert_key=s.value if s.agreed else None,
            agreed_hash=s.value_hash,
            quorum=s.quorum,
            threshold=s.threshold,
            f=s.f,
            total_replicas=s.n,
            votes=dict(rnd.votes),
            proposals=dict(proposals),
            abstentions=s.abstentions,
            equivocators=s.equivocators,
            settlement=s,
        )

    def _finish(self, token: Any, decision: RoutingDecision, strict: bool | None, dispatch: bool) -> RoutingDecision:
        if self.audit is not None:  # seal what was decided, before anything runs
            from ..receipts.sealing import seal_decision

            decision = dataclasses.replace(decision, receipt=seal_decision(self.audit, decision))
        if not decision.consensus:
            if self.strict if strict is None else strict:
                s = decision.settlement
                raise NoConsensusError(
                    f"no BFT consensus for session {decision.session_id!r}: best value had "
                    f"{s.votes_for if s else 0} votes, {decision.threshold} of "
                    f"{decision.total_replicas} replicas needed "
                    f"({len(decision.abstentions)} abstained, {len(decision.equivocators)} equivocated)",
                    settlement=s,
                    decision=decision,
                )
            return decision
        fn = self._experts.get(decision.expert_key)
        if not dispatch or fn is None:
            return decision
        try:
            result = fn(token)
        except Exception as exc:
            raise ExpertError(
                f"expert {decision.expert_key!r} raised {type(exc).__name__}: {exc} "
                f"(session {decision.session_id!r}; the votes are recorded)",
                decision=decision,
            ) from exc
        return dataclasses.replace(decision, dispatched=True, result=result)

    # -- sync API ---------------------------------------------------------------
    def _pool(self) -> cf.ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = cf.ThreadPoolExecutor(
                    max_workers=max(8, 2 * self.total_replicas + 4),
                    thread_name_prefix="openmoe-bft-replica",
                )
            return self._executor

    def _submit(self, rid: str, fn: Replica, token: Any) -> cf.Future[Any] | None:
        """Start ``fn(token)`` on the pool, or None while its last timed-out call still runs
        (so a hung replica holds at most one worker thread)."""
        stuck = self._stuck.get(rid)
        if stuck is not None and not stuck.done():
            return None
        self._stuck.pop(rid, None)
        return self._pool().submit(_call_sync, fn, token)

    def _ask_all(self, token: Any) -> tuple[dict[str, Any], dict[str, str]]:
        proposals: dict[str, Any] = {}
        failures: dict[str, str] = {}
        if self.timeout is None:
            for rid, fn in self._replicas:
                try:
                    proposals[rid] = _call_sync(fn, token)
                except Exception as exc:
                    failures[rid] = f"raised {type(exc).__name__}: {_short(exc)}"
            return proposals, failures
        futures: dict[str, cf.Future[Any]] = {}
        for rid, fn in self._replicas:
            fut = self._submit(rid, fn, token)
            if fut is None:
                failures[rid] = _STILL_RUNNING
            else:
                futures[rid] = fut
        cf.wait(futures.values(), timeout=self.timeout)
        for rid, fut in futures.items():
            if not fut.done():
                self._stuck[rid] = fut
                failures[rid] = f"timed out after {self.timeout}s"
            elif fut.exception() is not None:
                exc = fut.exception()
                failures[rid] = f"raised {type(exc).__name__}: {_short(exc)}"
            else:
                proposals[rid] = fut.result()
        return proposals, failures

    def decide(self, token: Any, session_id: str | None = None) -> RoutingDecision:
        """Run the replicas through consensus without dispatching to the expert."""
        sid = session_id if session_id is not None else _new_session_id()
        return self._settle(sid, *self._ask_all(token))

    def route(self, token: Any, session_id: str | None = None, strict: bool | None = None) -> RoutingDecision:
        """Decide by consensus, then dispatch ``token`` to the agreed expert.

        Split vote: nothing is dispatched; with ``strict`` (this argument, else the
        router's default) :class:`NoConsensusError` is raised carrying the settlement.
        """
        sid = session_id if session_id is not None else _new_session_id()
        return self._finish(token, self._settle(sid, *self._ask_all(token)), strict, True)

    def route_many(
        self, tokens: Iterable[Any], *, session_prefix: str | None = None,
        strict: bool | None = None, concurrency: int = 64,
    ) -> list[RoutingDecision]:
        """Route many tokens, asking replicas concurrently; decisions in input order.

        Session ids are ``{session_prefix}-{i}`` (a fresh prefix when omitted). Call
        :meth:`aroute_many` instead from inside a running event loop.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise InvalidInput(
                "route_many() was called inside a running event loop; await aroute_many() instead",
                argument="tokens",
            )
        return asyncio.run(
            self.aroute_many(tokens, session_prefix=session_prefix, strict=strict, concurrency=concurrency)
        )

    # -- async API --------------------------------------------------------------
    async def _aask_all(self, token: Any) -> tuple[dict[str, Any], dict[str, str]]:
        async def one(rid: str, fn: Replica) -> tuple[str, Any, str | None]:
            fut: cf.Future[Any] | None = None
            try:
                if inspect.iscoroutinefunction(fn):
                    aw: Awaitable[Any] = fn(token)
                else:
                    fut = self._submit(rid, fn, token)
                    if fut is None:
                        return rid, None, _STILL_RUNNING
                    aw = asyncio.wrap_future(fut)
                guarded = _tag_failure(aw)  # a replica's own TimeoutError is a raise, not a timeout
                value = await (guarded if self.timeout is None
                               else asyncio.wait_for(guarded, self.timeout))
                return rid, value, None
            except _ReplicaRaised as raised:
                exc = raised.__cause__
                return rid, None, f"raised {type(exc).__name__}: {_short(exc)}"
            except asyncio.TimeoutError:
                if fut is not None and not fut.done():
                    self._stuck[rid] = fut
                return rid, None, f"timed out after {self.timeout}s"
            except Exception as exc:
                return rid, None, f"raised {type(exc).__name__}: {_short(exc)}"

        results = await asyncio.gather(*(one(rid, fn) for rid, fn in self._replicas))
        proposals = {rid: val for rid, val, why in results if why is None}
        failures = {rid: why for rid, _, why in results if why is not None}
        return proposals, failures

    async def aroute(
        self, token: Any, session_id: str | None = None, strict: bool | None = None
    ) -> RoutingDecision:
        """Async :meth:`route`: replicas are asked concurrently, async ones awaited."""
        sid = session_id if session_id is not None else _new_session_id()
        proposals, failures = await self._aask_all(token)
        return self._finish(token, self._settle(sid, proposals, failures), strict, True)

    async def aroute_many(
        self, tokens: Iterable[Any], *, session_prefix: str | None = None,
        strict: bool | None = None, concurrency: int = 64,
    ) -> list[RoutingDecision]:
        """Async :meth:`route_many`, at most ``concurrency`` tokens in flight."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInput(f"expected an int >= 1, got {concurrency!r}", argument="concurrency")
        prefix = session_prefix if session_prefix is not None else _new_session_id()
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int, token: Any) -> RoutingDecision:
            async with gate:
                return await self.aroute(token, f"{prefix}-{i}", strict)

        return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))

    # -- lifecycle --------------------------------------------------------------
    def close(self) -> None:
        """Release the worker threads (hung replica calls are abandoned, not joined)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None

    def __enter__(self) -> BFTRouter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"BFTRouter(experts={len(self._experts)}, replicas={self.total_replicas}, "
            f"timeout={self.timeout}, strict={self.strict})"
        )


def _call_sync(fn: Replica, token: Any) -> Any:
    result = fn(token)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(aw: Awaitable[Any]) -> Any:
    return await aw


def _new_session_id() -> str:
    return f"route-{uuid.uuid4().hex}"


def _short(obj: Any, limit: int = 80) -> str:
    text = repr(obj) if not isinstance(obj, BaseException) else str(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


