"""``run_debate``: debate refines positions, the BFT quorum decides.

Each round every proposer — a plain callable ``proposer(transcript) -> (position,
message)``, sync or async, so any LLM backend plugs in — sees the transcript so far
(a list of ``(proposer_id, message)``) and states its position. After the final
round each proposer's final-round position is a vote, settled in a
:class:`~openmoe_bft.bft.BFTLedger` round named ``debate_id`` by the same rule as
routing: a position is agreed with ``max(2f + 1, n // 2 + 1)`` of ``n`` votes.

* ``mode="sequential"`` (default, the seed's): within a round proposers speak one
  after another, each seeing the messages of those before it.
  ``mode="parallel"``: a round's proposers run concurrently on the transcript as it
  stood at the start of the round; their messages are appended in proposer order.
* A proposer that raises, runs past ``timeout``, returns something that is not a
  ``(position, message)`` pair, or returns the position ``None`` *abstains* for that
  round (the turn records why) and the debate carries on. A proposer whose last
  call is still running after a timeout abstains until it returns. Only the final
  round votes: a proposer that abstains there abstains in the settlement.
* Positions are voted by hash. A ``str`` position is its own vote hash (the seed
  treated positions as opaque claim ids, so ``agreed_hash`` is the agreed string);
  any other position (numbers, lists, dicts) is hashed canonically with
  :func:`openmoe_bft.canonical.value_hash`. ``agreed_value`` is the position itself.
  Keep to one kind of position per debate: a str that spells another position's
  hash counts as a vote for it (as it did in the seed).

Sync proposers run in daemon threads (a hung one is abandoned, never joined); async
ones are awaited with :func:`asyncio.wait_for` and cancelled on timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import inspect
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..bft import Ballot, BFTConsensus, BFTLedger, Settlement
from ..canonical import value_hash
from ..errors import InvalidInput, InvalidType, NoConsensusError

__all__ = ["DebateResult", "DebateRound", "Proposer", "Turn", "arun_debate", "position_hash",
           "run_debate"]

Transcript = list[tuple[Any, str]]
Proposer = Callable[[Transcript], "tuple[Any, str] | Awaitable[tuple[Any, str]]"]
_MODES = ("sequential", "parallel")
_STILL_RUNNING = "still running an earlier call that timed out"
_STUCK: Any = object()


def position_hash(position: Any) -> str:
    """The vote hash of a position: a non-empty str is its own hash, anything else is
    hashed canonically (:func:`~openmoe_bft.canonical.value_hash`)."""
    if isinstance(position, str):
        if not position:
            raise InvalidInput("a position cannot be the empty string", argument="position")
        return position
    return value_hash(position)


@dataclass
class DebateRound:
    """The accumulated debate (the seed's shape): ``participants`` in first-speaking
    order, each one's latest stated ``positions`` (id → position hash), and the
    ``transcript`` of ``(id, message)`` entries across all rounds."""

    participants: list[Any] = field(default_factory=list)
    positions: dict[Any, Any] = field(default_factory=dict)
    transcript: list[tuple[Any, str]] = field(default_factory=list)

    def record(self, participant: Any, claim_hash: Any, argument: str) -> None:
        """Append one turn: update the participant's position, extend the transcript."""
        if participant not in self.positions:
            self.participants.append(participant)
        self.positions[participant] = claim_hash
        self.transcript.append((participant, argument))


@dataclass(frozen=True)
class Turn:
    """One proposer's turn in one round: its position and message, or why it abstained."""

    round: int
    proposer: Any
    position: Any = None
    position_hash: str | None = None
    message: str | None = None
    abstained: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"round": self.round, "proposer": _jsonable(self.proposer),
                "position": _jsonable(self.position), "position_hash": self.position_hash,
                "message": self.message, "abstained": self.abstained, "reason": self.reason}


@dataclass(frozen=True)
class DebateResult:
    """The outcome of :func:`run_debate`.

    ``consensus`` (alias ``agreed``): a position reached the quorum; ``agreed_hash``
    its vote hash and ``agreed_value`` the position (both None without consensus).
    ``debate`` is the :class:`DebateRound` (``debate.transcript``), ``turns`` every
    turn with abstention reasons, ``abstentions`` the final-round abstainers and why,
    ``settlement`` the frozen ledger :class:`~openmoe_bft.bft.Settlement` and
    ``round`` the live :class:`~openmoe_bft.bft.BFTConsensus`. ``receipt`` is the
    audit receipt when ``audit=`` was given.
    """

    session_id: str
    consensus: bool
    agreed_hash: str | None
    quorum: int
    f: int
    total_participants: int
    rounds: int
    debate: DebateRound
    round: BFTConsensus = field(repr=False)
    settlement: Settlement = field(repr=False)
    agreed_value: Any = None
    turns: tuple[Turn, ...] = field(default=(), repr=False)
    abstentions: dict[str, str] = field(default_factory=dict)
    receipt: Any = field(default=None, repr=False)

    @property
    def debate_id(self) -> str:
        return self.session_id

    @property
    def agreed(self) -> bool:
        return self.consensus

    @property
    def transcript(self) -> list[tuple[Any, str]]:
        return list(self.debate.transcript)

    def to_dict(self) -> dict[str, Any]:
        return {
            "debate_id": self.session_id, "consensus": self.consensus,
            "agreed_hash": self.agreed_hash, "agreed_value": _jsonable(self.agreed_value),
            "quorum": self.quorum, "f": self.f, "total_participants": self.total_participants,
            "rounds": self.rounds,
            "transcript": [[_jsonable(p), m] for p, m in self.debate.transcript],
            "turns": [t.to_dict() for t in self.turns],
            "abstentions": dict(self.abstentions),
            "settlement": self.settlement.to_dict(),
        }


def _jsonable(value: Any) -> Any:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _short(obj: Any, limit: int = 120) -> str:
    text = str(obj) if isinstance(obj, BaseException) else repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _call_sync(fn: Proposer, transcript: Transcript) -> Any:
    result = fn(transcript)
    if inspect.isawaitable(result):
        async def wait() -> Any:
            return await result

        return asyncio.run(wait())
    return result


class _Failed:
    """A proposer's own exception, kept apart from our timeout (in Python 3.11+
    ``asyncio.TimeoutError`` *is* the builtin ``TimeoutError`` a proposer may raise)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _guarded_sync(fn: Proposer, transcript: Transcript) -> Any:
    try:
        return _call_sync(fn, transcript)
    except Exception as exc:  # noqa: BLE001 - a failing proposer abstains
        return _Failed(exc)


async def _guarded_async(aw: Awaitable[Any]) -> Any:
    try:
        return await aw
    except Exception as exc:  # noqa: BLE001 - a failing proposer abstains
        return _Failed(exc)


def _in_daemon_thread(fn: Proposer, transcript: Transcript, name: str) -> cf.Future[Any]:
    fut: cf.Future[Any] = cf.Future()

    def work() -> None:
        if not fut.set_running_or_notify_cancel():
            return
        try:
            fut.set_result(_guarded_sync(fn, transcript))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting debate
            fut.set_exception(exc)

    threading.Thread(target=work, name=f"openmoe-bft-proposer-{name}", daemon=True).start()
    return fut


class _Caller:
    """Calls proposers with a timeout and keeps track of hung ones."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.stuck: dict[str, cf.Future[Any]] = {}

    async def __call__(self, node: str, fn: Proposer, transcript: Transcript
                       ) -> tuple[Any, str | None]:
        """(returned value, None) or (None, why it abstains)."""
        try:
            value = await self._call(node, fn, transcript)
        except asyncio.TimeoutError:
            return None, f"timed out after {self.timeout}s"
        except Exception as exc:  # noqa: BLE001 - e.g. an awaitable that is not awaitable
            value = _Failed(exc)
        if isinstance(value, _Failed):
            return None, f"raised {type(value.exc).__name__}: {_short(value.exc)}"
        if value is _STUCK:
            return None, _STILL_RUNNING
        return value, None

    async def _call(self, node: str, fn: Proposer, transcript: Transcript) -> Any:
        if self.timeout is None:
            try:
                value = fn(transcript)
            except Exception as exc:  # noqa: BLE001
                return _Failed(exc)
            return await _guarded_async(value) if inspect.isawaitable(value) else value
        if inspect.iscoroutinefunction(fn):
            return await asyncio.wait_for(_guarded_async(fn(transcript)), self.timeout)
        stuck = self.stuck.get(node)
        if stuck is not None and not stuck.done():
            return _STUCK
        self.stuck.pop(node, None)
        fut = _in_daemon_thread(fn, transcript, node)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(fut)), self.timeout)
        except asyncio.TimeoutError:
            self.stuck[node] = fut
            raise


def _read_turn(rnd: int, pid: Any, value: Any, why: str | None) -> Turn:
    if why is not None:
        return Turn(rnd, pid, abstained=True, reason=why)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return Turn(rnd, pid, abstained=True,
                    reason=f"returned {_short(value, 60)}, not a (position, message) pair")
    position, message = value
    if not isinstance(message, str):
        return Turn(rnd, pid, abstained=True,
                    reason=f"message is a {type(message).__name__}, not a str")
    if position is None:
        return Turn(rnd, pid, message=message, abstained=True, reason="stated no position")
    try:
        h = position_hash(position)
    except (InvalidInput, TypeError, ValueError) as exc:
        return Turn(rnd, pid, message=message, abstained=True,
                    reason=f"position cannot be voted on: {_short(exc, 80)}")
    return Turn(rnd, pid, position=position, position_hash=h, message=message)


def _check_args(debate_id: Any, proposers: Any, rounds: Any, ledger: Any, timeout: Any,
                mode: Any, audit: Any) -> list[tuple[Any, str, Proposer]]:
    if not isinstance(debate_id, str) or not debate_id:
        raise InvalidType(f"debate_id must be a non-empty str, got {debate_id!r:.60}",
                          argument="debate_id")
    if not isinstance(proposers, Mapping):
        raise InvalidType("proposers must be a dict id -> callable(transcript)",
                          argument="proposers")
    if not proposers:
        raise InvalidInput("run_debate needs at least one proposer", argument="proposers")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise InvalidInput(f"rounds must be an int >= 1, got {rounds!r}", argument="rounds")
    if ledger is not None and not isinstance(ledger, BFTLedger):
        raise InvalidType(f"ledger must be a BFTLedger, got {type(ledger).__name__}",
                          argument="ledger")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not timeout > 0):
        raise InvalidInput(f"timeout must be seconds > 0 or None, got {timeout!r}",
                           argument="timeout")
    if mode not in _MODES:
        raise InvalidInput(f"mode must be one of {_MODES}, got {mode!r}", argument="mode")
    if audit is not None and not (callable(getattr(audit, "append", None))
                                  and callable(getattr(audit, "verify", None))):
        raise InvalidType(f"audit must be an AuditChain, got {type(audit).__name__}",
                          argument="audit")
    entries = []
    for pid, fn in proposers.items():
        if not callable(fn):
            raise InvalidType(f"proposer {pid!r} is a {type(fn).__name__}, not a callable",
                              argument="proposers")
        entries.append((pid, str(pid), fn))
    nodes = [node for _, node, _ in entries]
    dupes = sorted({n for n in nodes if nodes.count(n) > 1})
    if dupes or any(not n for n in nodes):
        raise InvalidInput(f"proposer ids must be distinct and non-empty as strings, got "
                           f"{dupes or nodes}", argument="proposers")
    if ledger is not None:
        existing = ledger.status(debate_id)
        if existing is not None and existing.total_nodes != len(entries):
            raise InvalidInput(f"ledger round {debate_id!r} has {existing.total_nodes} nodes, not "
                               f"{len(entries)}: use a new debate_id", argument="debate_id")
    return entries


async def arun_debate(
    debate_id: str,
    proposers: Mapping[Any, Proposer],
    rounds: int = 2,
    ledger: BFTLedger | None = None,
    *,
    timeout: float | None = 60.0,
    mode: str = "sequential",
    audit: Any = None,
    strict: bool = False,
) -> DebateResult:
    """Async :func:`run_debate` (use it from inside a running event loop)."""
    entries = _check_args(debate_id, proposers, rounds, ledger, timeout, mode, audit)
    ledger = ledger if ledger is not None else BFTLedger()
    call = _Caller(timeout)
    debate = DebateRound()
    turns: list[Turn] = []
    last: dict[str, Turn] = {}

    def apply(turn: Turn, node: str) -> None:
        turns.append(turn)
        last[node] = turn
        if turn.message is not None and not turn.abstained:
            debate.record(turn.proposer, turn.position_hash, turn.message)
        elif turn.message is not None:  # a proposer that spoke without a position
            debate.transcript.append((turn.proposer, turn.message))

    for r in range(rounds):
        if mode == "sequential":
            for pid, node, fn in entries:
                value, why = await call(node, fn, list(debate.transcript))
                apply(_read_turn(r, pid, value, why), node)
        else:
            snapshot = list(debate.transcript)
            outcomes = await asyncio.gather(
                *(call(node, fn, list(snapshot)) for _, node, fn in entries))
            for (pid, node, _), (value, why) in zip(entries, outcomes, strict=True):
                apply(_read_turn(r, pid, value, why), node)

    ballots = []
    abstentions: dict[str, str] = {}
    for _, node, _ in entries:
        turn = last[node]
        if turn.abstained:
            abstentions[node] = turn.reason or "abstained"
            ballots.append(Ballot(node, reason=abstentions[node]))
        else:
            ballots.append(Ballot(node, value_hash=turn.position_hash, value=turn.position))
    rnd = ledger.record(debate_id, ballots, total_nodes=len(entries),
                        nodes=[node for _, node, _ in entries])
    settlement = rnd.settle()
    receipt = None
    if audit is not None:
        receipt = audit.append(
            {"type": "debate.settled", "debate_id": debate_id, "rounds": rounds,
             "transcript": [[str(p), m] for p, m in debate.transcript],
             "settlement": settlement.to_dict()},
            trace_id=debate_id)
    result = DebateResult(
        session_id=debate_id, consensus=rnd.consensus_reached, agreed_hash=rnd.agreed_hash,
        quorum=rnd.quorum, f=rnd.f, total_participants=len(entries), rounds=rounds,
        debate=debate, round=rnd, settlement=settlement, agreed_value=rnd.agreed_value,
        turns=tuple(turns), abstentions=abstentions, receipt=receipt)
    if strict and not result.consensus:
        raise NoConsensusError(
            f"debate {debate_id!r}: no position reached {rnd.threshold} of {rnd.total_nodes} "
            f"votes (best {rnd.majority_count})", settlement=settlement)
    return result


def run_debate(
    debate_id: str,
    proposers: Mapping[Any, Proposer],
    rounds: int = 2,
    ledger: BFTLedger | None = None,
    *,
    timeout: float | None = 60.0,
    mode: str = "sequential",
    audit: Any = None,
    strict: bool = False,
) -> DebateResult:
    """Run ``rounds`` rounds of debate, then settle the final positions by BFT quorum.

    ``proposers``: ``{id: callable(transcript) -> (position, message)}`` (sync or
    async); ``n = len(proposers)`` is the round's node count. ``ledger``: where the
    votes go (a new in-memory :class:`~openmoe_bft.bft.BFTLedger` when None).
    ``timeout``: seconds per proposer call (None: no limit, called in this thread).
    ``audit``: an :class:`~openmoe_bft.receipts.AuditChain` to seal the outcome in.
    ``strict``: raise :class:`~openmoe_bft.errors.NoConsensusError` without consensus.
    See the module docstring for modes, abstentions and how positions are hashed.
    Called inside a running event loop it runs the debate on a helper thread; await
    :func:`arun_debate` there instead to stay on the loop.
    """
    kwargs = {"timeout": timeout, "mode": mode, "audit": audit, "strict": strict}
    _check_args(debate_id, proposers, rounds, ledger, timeout, mode, audit)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_debate(debate_id, proposers, rounds, ledger, **kwargs))
    with cf.ThreadPoolExecutor(1, thread_name_prefix="openmoe-bft-debate") as pool:
        return pool.submit(
            lambda: asyncio.run(arun_debate(debate_id, proposers, rounds, ledger, **kwargs))
        ).result()
