"""One voting round: :class:`BFTConsensus`, and its frozen :class:`Settlement`.

Differences from the seed, on purpose and for safety:

* **Equivocation.** The seed let a node's later vote silently replace its earlier
  one. Here a node that votes two *different* values in one round is an
  equivocator: it is flagged, neither of its votes counts, both are kept as
  evidence (like Tendermint's duplicate-vote evidence), and its later votes are
  ignored. Voting the *same* value again is harmless and idempotent.
* **Decisions never change.** Once a value has been decided it stays decided,
  even if one of its voters is later caught equivocating.
* **Strict majority.** A value is decided with ``decision_threshold(n) =
  max(2f + 1, n // 2 + 1)`` votes (see :mod:`openmoe_bft.bft.quorum`); ``quorum``
  keeps the seed's ``2f + 1``.
* **At most n voters.** A round of ``n`` nodes refuses an ``(n+1)``-th distinct
  node (or, when the node ids are given, any unknown node).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..canonical import value_hash as _value_hash
from ..errors import InvalidInput, InvalidType
from .quorum import check_node_count, decision_threshold

__all__ = [
    "BFTConsensus",
    "Settlement",
    "Vote",
    "Abstention",
    "EquivocationEvidence",
]

_UNSET: Any = object()


@dataclass(frozen=True)
class Vote:
    """One counted vote: ``node_id`` voted for ``value_hash`` (``value`` when known)."""

    node_id: str
    value_hash: str
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "value_hash": self.value_hash, "value": _jsonable(self.value)}


@dataclass(frozen=True)
class Abstention:
    """``node_id`` cast no vote; ``reason`` says why (raised, timed out, garbage, ...)."""

    node_id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "reason": self.reason}


@dataclass(frozen=True)
class EquivocationEvidence:
    """Proof that ``node_id`` voted two different values in round ``round_id``."""

    round_id: Any
    node_id: str
    first_hash: str
    second_hash: str
    first_value: Any = None
    second_value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "node_id": self.node_id,
            "first_hash": self.first_hash,
            "second_hash": self.second_hash,
            "first_value": _jsonable(self.first_value),
            "second_value": _jsonable(self.second_value),
        }


@dataclass(frozen=True)
class Settlement:
    """The frozen outcome of one round.

    ``agreed`` is True when ``value_hash`` has ``votes_for >= threshold`` counted votes
    (or had them when it was decided). ``abstained`` lists the nodes that cast no
    counted vote and did not equivocate: explicit abstentions (with reasons in
    ``abstentions``) and, when the round knows its node ids, silent nodes.
    """

    round_id: Any
    agreed: bool
    value: Any
    value_hash: str | None
    votes_for: int
    quorum: int
    threshold: int
    n: int
    f: int
    votes: tuple[Vote, ...] = ()
    abstained: tuple[str, ...] = ()
    abstentions: tuple[Abstention, ...] = ()
    equivocators: tuple[str, ...] = ()
    evidence: tuple[EquivocationEvidence, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "agreed": self.agreed,
            "value": _jsonable(self.value),
            "value_hash": self.value_hash,
            "votes_for": self.votes_for,
            "quorum": self.quorum,
            "threshold": self.threshold,
            "n": self.n,
            "f": self.f,
            "votes": [v.to_dict() for v in self.votes],
            "abstained": list(self.abstained),
            "abstentions": [a.to_dict() for a in self.abstentions],
            "equivocators": list(self.equivocators),
            "evidence": [e.to_dict() for e in self.evidence],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _nonempty_str(value: Any, what: str, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidType(
            f"expected a non-empty str {what}, got {type(value).__name__} {value!r:.60}",
            argument=argument,
        )
    return value


def _check_node_id(node_id: Any) -> str:
    return _nonempty_str(node_id, "node id", "node_id")


def _check_hash(value_hash: Any) -> str:
    return _nonempty_str(value_hash, "value hash", "value_hash")


class BFTConsensus:
    """Consensus state of one voting round over ``total_nodes`` nodes.

    >>> c = BFTConsensus(total_nodes=4)
    >>> [c.vote(n, "H") for n in ("a", "b", "c")]
    [False, False, True]
    >>> c.agreed_hash
    'H'
    """

    def __init__(
        self, total_nodes: int, round_id: Any = 0, *, nodes: Iterable[str] | None = None
    ) -> None:
        self.total_nodes = check_node_count(total_nodes, "total_nodes")
        self.round_id = round_id
        self.nodes: frozenset[str] | None = None
        if nodes is not None:
            ids = [_check_node_id(n) for n in nodes]
            if len(set(ids)) != len(ids):
                raise InvalidInput("node ids must be unique", argument="nodes")
            if len(ids) != self.total_nodes:
                raise InvalidInput(
                    f"got {len(ids)} node ids for total_nodes={self.total_nodes}", argument="nodes"
                )
            self.nodes = frozenset(ids)
        self.votes: dict[str, str] = {}  # counted votes: node -> hash
        self.values: dict[str, Any] = {}  # hash -> value, when known
        self.abstentions: dict[str, str] = {}  # node -> reason
        self._evidence: dict[str, EquivocationEvidence] = {}
        self._tally: Counter[str] = Counter()
        self._decided: str | None = None
        self._decided_count = 0
        # set by a persistent BFTLedger: every vote() / abstain() is written there first
        self._recorder: Callable[[str, str | None, Any, str | None], None] | None = None

    # -- arithmetic -------------------------------------------------------------
    @property
    def f(self) -> int:
        """Tolerated Byzantine faults, ``(n - 1) // 3``."""
        return (self.total_nodes - 1) // 3

    @property
    def quorum(self) -> int:
        """``2f + 1`` (the seed's quorum)."""
        return 2 * self.f + 1

    @property
    def threshold(self) -> int:
        """Votes needed to decide: ``max(2f + 1, n // 2 + 1)``."""
        return decision_threshold(self.total_nodes)

    # -- voting -----------------------------------------------------------------
    def _participants(self) -> set[str]:
        return set(self.votes) | set(self._evidence) | set(self.abstentions)

    def check_can_join(self, node_ids: Iterable[str]) -> None:
        """Raise :class:`InvalidInput` if these nodes cannot take part in the round."""
        new = {_check_node_id(n) for n in node_ids}
        if self.nodes is not None:
            unknown = sorted(new - self.nodes)
            if unknown:
                raise InvalidInput(
                    f"nodes {unknown} are not members of round {self.round_id!r}", argument="node_id"
                )
            return
        total = self._participants() | new
        if len(total) > self.total_nodes:
            raise InvalidInput(
                f"round {self.round_id!r} has {self.total_nodes} nodes and already has "
                f"{len(self._participants())} distinct participants; refusing more",
                argument="node_id",
            )

    def vote(self, node_id: str, value_hash: str | None = None, *, value: Any = _UNSET) -> bool:
        """Record ``node_id``'s vote for ``value_hash`` (or for ``value``, hashed canonically).

        Returns True once the round has decided. A second, different vote from the
        same node makes it an equivocator (see the module docstring).
        """
        if value_hash is None:
            if value is _UNSET:
                raise InvalidInput("give a value_hash or a value", argument="value_hash")
            value_hash = _value_hash(value)
        _check_hash(value_hash)
        self.check_can_join([node_id])
        if self._recorder is not None:
            self._recorder(node_id, value_hash, value, None)  # persists, then applies
        else:
            self._apply_vote(node_id, value_hash, value)
        return self.consensus_reached

    def abstain(self, node_id: str, reason: str) -> None:
        """Record that ``node_id`` cast no vote, and why. Ignored if it already voted."""
        self.check_can_join([node_id])
        if self._recorder is not None:
            self._recorder(node_id, None, _UNSET, str(reason))
        else:
            self._apply_abstain(node_id, str(reason))

    def _apply_vote(self, node_id: str, value_hash: str, value: Any = _UNSET) -> None:
        if value is not _UNSET:
            self.values.setdefault(value_hash, value)
        if node_id in self._evidence:
            return  # an equivocator's later votes are ignored
        previous = self.votes.get(node_id)
        if previous == value_hash:
            return
        self.abstentions.pop(node_id, None)
        if previous is not None:
            del self.votes[node_id]
            self._tally[previous] -= 1
            if not self._tally[previous]:
                del self._tally[previous]
            self._evidence[node_id] = EquivocationEvidence(
                round_id=self.round_id,
                node_id=node_id,
                first_hash=previous,
                second_hash=value_hash,
                first_value=self.values.get(previous),
                second_value=self.values.get(value_hash),
            )
            return
        self.votes[node_id] = value_hash
        self._tally[value_hash] += 1
        if self._decided is None and self._tally[value_hash] >= self.threshold:
            self._decided = value_hash
            self._decided_count = self._tally[value_hash]

    def _apply_abstain(self, node_id: str, reason: str) -> None:
        if node_id not in self.votes and node_id not in self._evidence:
            self.abstentions[node_id] = reason

    # -- reading ----------------------------------------------------------------
    @property
    def equivocators(self) -> dict[str, EquivocationEvidence]:
        """Equivocating nodes and the evidence against each."""
        return dict(self._evidence)

    @property
    def majority_hash(self) -> str | None:
        """The most-voted hash (ties: the smallest hash), or None with no counted votes."""
        if not self._tally:
            return None
        return min(self._tally.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    @property
    def majority_count(self) -> int:
        """Counted votes for :attr:`majority_hash` (0 with no votes)."""
        return max(self._tally.values(), default=0)

    @property
    def consensus_reached(self) -> bool:
        """True once some value has reached the decision threshold (never reverts)."""
        return self._decided is not None

    @property
    def agreed_hash(self) -> str | None:
        """The decided hash, or None until a value is decided."""
        return self._decided

    @property
    def agreed_value(self) -> Any:
        """The decided value when it is known, else None."""
        return None if self._decided is None else self.values.get(self._decided)

    def settle(self) -> Settlement:
        """A frozen snapshot of the round's outcome."""
        decided = self._decided
        votes_for = self._tally.get(decided, 0) if decided is not None else self.majority_count
        if decided is not None:
            votes_for = max(votes_for, self._decided_count)
        silent: list[str] = []
        if self.nodes is not None:
            silent = sorted(self.nodes - self._participants())
        abstained = tuple(sorted(set(self.abstentions) | set(silent)))
        return Settlement(
            round_id=self.round_id,
            agreed=decided is not None,
            value=self.agreed_value,
            value_hash=decided,
            votes_for=votes_for,
            quorum=self.quorum,
            threshold=self.threshold,
            n=self.total_nodes,
            f=self.f,
            votes=tuple(
                Vote(node, h, self.values.get(h)) for node, h in sorted(self.votes.items())
            ),
            abstained=abstained,
            abstentions=tuple(Abstention(n, r) for n, r in sorted(self.abstentions.items())),
            equivocators=tuple(sorted(self._evidence)),
            evidence=tuple(self._evidence[n] for n in sorted(self._evidence)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_nodes": self.total_nodes,
            "round_id": self.round_id,
            "votes": dict(self.votes),
            "f": self.f,
            "quorum": self.quorum,
            "threshold": self.threshold,
            "consensus_reached": self.consensus_reached,
            "agreed_hash": self.agreed_hash,
            "majority_hash": self.majority_hash,
            "majority_count": self.majority_count,
            "abstentions": dict(self.abstentions),
            "equivocators": [e.to_dict() for e in self._evidence.values()],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=repr)

    def __repr__(self) -> str:
        return (
            f"BFTConsensus(total_nodes={self.total_nodes}, round_id={self.round_id!r}, "
            f"votes={len(self.votes)}, agreed_hash={self.agreed_hash!r})"
        )
