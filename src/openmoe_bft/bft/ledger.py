"""The vote ledger: rounds keyed by session / round id, in memory or on SQLite.

>>> ledger = BFTLedger()
>>> for node in ("a", "b", "c"):
...     _ = ledger.cast("tok-1", node, 7, total_nodes=4)
>>> s = ledger.settle("tok-1")
>>> (s.agreed, s.value, s.votes_for)
(True, 7, 3)

With ``store=`` (a path or a :class:`~openmoe_bft.store.Store`) every vote and
abstention is written, in order, to the ``bft_events`` table before it is applied
in memory; reopening the ledger replays them, so a decided round stays decided and
equivocation evidence survives restarts. A call that fails validation writes
nothing and changes nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..canonical import from_tagged, to_tagged
from ..canonical import value_hash as _value_hash
from ..errors import InvalidInput, InvalidType
from ..store import Store, open_store
from .consensus import (
    _UNSET,
    BFTConsensus,
    Settlement,
    _check_hash,
    _check_node_id,
    _nonempty_str,
)

__all__ = ["BFTLedger", "Ballot"]

_MIGRATIONS = [
    """
    CREATE TABLE bft_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        round_id TEXT NOT NULL,
        total_nodes INTEGER NOT NULL,
        nodes TEXT,
        node_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('vote', 'abstain')),
        value_hash TEXT,
        value TEXT,
        reason TEXT
    );
    CREATE INDEX bft_events_round ON bft_events (round_id, seq)
    """,
]


@dataclass(frozen=True)
class Ballot:
    """One entry of a batch given to :meth:`BFTLedger.record`.

    Either a vote (``value_hash`` and/or ``value``) or an abstention (``reason``).
    """

    node_id: str
    value_hash: str | None = None
    value: Any = _UNSET
    reason: str | None = None

    @property
    def is_abstention(self) -> bool:
        return self.reason is not None


def _check_round_id(round_id: Any) -> str:
    return _nonempty_str(round_id, "session / round id", "session_id")


def _check_size(rnd: BFTConsensus, total_nodes: int) -> None:
    if rnd.total_nodes != total_nodes:
        raise InvalidInput(
            f"round {rnd.round_id!r} has {rnd.total_nodes} nodes, not {total_nodes}; "
            "use a new session id for a different replica set",
            argument="total_nodes",
        )


class BFTLedger:
    """Registry of consensus rounds keyed by session id (the seed's ``BFTLedger``)."""

    def __init__(self, store: Store | str | os.PathLike[str] | None = None) -> None:
        self._rounds: dict[str, BFTConsensus] = {}
        self._store = open_store(store)
        if self._store is not None:
            self._store.migrate("bft_ledger", _MIGRATIONS)
            self._replay()

    @property
    def store(self) -> Store | None:
        return self._store

    # -- rounds -----------------------------------------------------------------
    def round_for(
        self, session_id: str, total_nodes: int, *, nodes: Iterable[str] | None = None
    ) -> BFTConsensus:
        """Get the round for ``session_id``, creating it (in memory) on first use."""
        rnd = self._rounds.get(_check_round_id(session_id))
        if rnd is None:
            rnd = self._keep(BFTConsensus(total_nodes=total_nodes, round_id=session_id, nodes=nodes))
        else:
            _check_size(rnd, total_nodes)
        return rnd

    def status(self, session_id: str) -> BFTConsensus | None:
        """The round for ``session_id``, or None if it has no votes."""
        return self._rounds.get(session_id)

    def settle(self, session_id: str) -> Settlement:
        """The frozen :class:`Settlement` of a round."""
        rnd = self._rounds.get(session_id)
        if rnd is None:
            raise InvalidInput(f"no round named {session_id!r} in this ledger", argument="session_id")
        return rnd.settle()

    def reset(self, session_id: str) -> None:
        """Forget a round (and delete its stored events)."""
        if self._store is not None:
            with self._store.transaction() as cur:
                cur.execute("DELETE FROM bft_events WHERE round_id = ?", (session_id,))
        self._rounds.pop(session_id, None)

    @property
    def rounds(self) -> list[str]:
        return list(self._rounds)

    def __len__(self) -> int:
        return len(self._rounds)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._rounds

    # -- voting -----------------------------------------------------------------
    def cast_vote(
        self, session_id: str, node_id: str, value_hash: str | None = None,
        total_nodes: int | None = None, *, vote_hash: str | None = None,
    ) -> BFTConsensus:
        """Cast one vote (by hash) into a session's round; returns the round (seed shape).

        ``vote_hash=`` is accepted as another spelling of ``value_hash`` (some seed-era
        callers used it); give one of them.
        """
        if vote_hash is not None:
            if value_hash is not None and value_hash != vote_hash:
                raise InvalidInput("give value_hash or vote_hash, not two different hashes",
                                   argument="vote_hash")
            value_hash = vote_hash
        if value_hash is None:
            raise InvalidInput("cast_vote needs the vote's hash (value_hash=...)",
                               argument="value_hash")
        if total_nodes is None:
            raise InvalidInput("cast_vote needs total_nodes=n (the round's replica count)",
                               argument="total_nodes")
        return self.record(session_id, [Ballot(node_id, value_hash=value_hash)], total_nodes=total_nodes)

    def cast(
        self, session_id: str, node_id: str, value: Any, *, total_nodes: int
    ) -> BFTConsensus:
        """Cast one vote for ``value`` (hashed canonically); returns the round."""
        return self.record(session_id, [Ballot(node_id, value=value)], total_nodes=total_nodes)

    def abstain(self, session_id: str, node_id: str, reason: str, *, total_nodes: int) -> BFTConsensus:
        """Record an abstention with its reason; returns the round."""
        return self.record(session_id, [Ballot(node_id, reason=reason)], total_nodes=total_nodes)

    def record(
        self,
        session_id: str,
        ballots: Sequence[Ballot],
        *,
        total_nodes: int,
        nodes: Iterable[str] | None = None,
    ) -> BFTConsensus:
        """Record several votes / abstentions into one round, atomically.

        Everything is validated first; if anything is wrong nothing is written or
        applied. With a store, all ballots are committed in one transaction.
        """
        _check_round_id(session_id)
        existing = self._rounds.get(session_id)
        rnd = existing if existing is not None else BFTConsensus(
            total_nodes=total_nodes, round_id=session_id, nodes=nodes
        )
        if existing is not None:
            _check_size(existing, total_nodes)
        prepared = [self._prepare(b) for b in ballots]
        rnd.check_can_join(p[0] for p in prepared)
        if self._store is not None:
            nodes_json = json.dumps(sorted(rnd.nodes)) if rnd.nodes is not None else None
            rows = [
                (
                    session_id, rnd.total_nodes, nodes_json, node, kind, h,
                    None if v is _UNSET else json.dumps(to_tagged(v), separators=(",", ":")),
                    reason,
                )
                for node, kind, h, v, reason in prepared
            ]
            with self._store.transaction() as cur:
                cur.executemany(
                    "INSERT INTO bft_events (round_id, total_nodes, nodes, node_id, kind, "
                    "value_hash, value, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        self._keep(rnd)
        for node, kind, h, v, reason in prepared:
            if kind == "vote":
                rnd._apply_vote(node, h, v)
            else:
                rnd._apply_abstain(node, reason)
        return rnd

    def _keep(self, rnd: BFTConsensus) -> BFTConsensus:
        """Hold ``rnd``; with a store, route its own vote()/abstain() through record()."""
        self._rounds[rnd.round_id] = rnd
        if self._store is not None and rnd._recorder is None:
            def recorder(node: str, value_hash: str | None, value: Any, reason: str | None) -> None:
                ballot = (Ballot(node, reason=reason) if reason is not None
                          else Ballot(node, value_hash=value_hash, value=value))
                self.record(rnd.round_id, [ballot], total_nodes=rnd.total_nodes)

            rnd._recorder = recorder
        return rnd

    @staticmethod
    def _prepare(ballot: Ballot) -> tuple[str, str, str | None, Any, str | None]:
        if not isinstance(ballot, Ballot):
            raise InvalidType(f"expected Ballot, got {type(ballot).__name__}", argument="ballots")
        node = _check_node_id(ballot.node_id)
        if ballot.reason is not None:
            return node, "abstain", None, _UNSET, str(ballot.reason)
        if ballot.value_hash is None and ballot.value is _UNSET:
            raise InvalidInput(f"ballot of {node!r} has neither a value nor a hash", argument="ballots")
        h = ballot.value_hash if ballot.value_hash is not None else _value_hash(ballot.value)
        _check_hash(h)
        if ballot.value is not _UNSET:
            to_tagged(ballot.value)  # refuse values we could not store, before writing
        return node, "vote", h, ballot.value, None

    # -- persistence ------------------------------------------------------------
    def _replay(self) -> None:
        assert self._store is not None
        rows = self._store.query(
            "SELECT round_id, total_nodes, nodes, node_id, kind, value_hash, value, reason "
            "FROM bft_events ORDER BY seq"
        )
        for round_id, total, nodes_json, node, kind, h, value_json, reason in rows:
            rnd = self._rounds.get(round_id)
            if rnd is None:
                nodes = json.loads(nodes_json) if nodes_json else None
                rnd = self._keep(BFTConsensus(total_nodes=total, round_id=round_id, nodes=nodes))
            if kind == "vote":
                value = _UNSET if value_json is None else from_tagged(json.loads(value_json))
                rnd._apply_vote(node, h, value)
            else:
                rnd._apply_abstain(node, reason)
