"""Sealing BFT decisions as receipts.

* :func:`seal_decision` — one receipt per :class:`~openmoe_bft.bft.RoutingDecision`
  (``BFTRouter(..., audit=chain)`` does this for every token it routes).
* :func:`seal_settlement` — one receipt per :class:`~openmoe_bft.bft.BatchSettlement`,
  holding the RFC 9162 Merkle root of its per-token decisions; any single token's
  decision is then provable against that receipt with :meth:`SealedBatch.prove`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..canonical import canonical_json
from ..errors import InvalidInput
from .merkle import MerkleTree, leaf_hash, verify_inclusion
from .records import HEX64, Receipt

__all__ = ["SealedBatch", "TokenProof", "decision_payload", "seal_decision", "seal_settlement",
           "token_leaf"]

DECISION_KIND = "openmoe-bft/routing-decision/v1"
BATCH_KIND = "openmoe-bft/batch-settlement/v1"


def _jsonable(value: Any) -> bool:
    try:
        canonical_json(value)
    except InvalidInput:
        return False
    return True


def decision_payload(decision: Any) -> dict[str, Any]:
    """The JSON a routing decision is sealed as (what was decided, by whom)."""
    key = decision.expert_key
    return {
        "kind": DECISION_KIND,
        "session_id": decision.session_id,
        "consensus": decision.consensus,
        "expert_key": key if key is None or _jsonable(key) else repr(key),
        "agreed_hash": decision.agreed_hash,
        "threshold": decision.threshold,
        "f": decision.f,
        "total_replicas": decision.total_replicas,
        "votes": dict(sorted(decision.votes.items())),
        "abstentions": sorted(a.node_id for a in decision.abstentions),
        "equivocators": sorted(decision.equivocators),
    }


def seal_decision(chain: Any, decision: Any, *, trace_id: str | None = None,
                  timestamp: int | float | None = None) -> Receipt:
    """Append ``decision`` to ``chain``; the trace id defaults to its session id."""
    return chain.append(decision_payload(decision),
                        trace_id=decision.session_id if trace_id is None else trace_id,
                        timestamp=timestamp)


def token_leaf(token: int, dispatched: bool, experts: list[int], votes: int) -> bytes:
    """Canonical bytes of one token's decision (the Merkle leaf input)."""
    return canonical_json({"dispatched": dispatched, "experts": experts, "token": token,
                           "votes": votes})


@dataclass(frozen=True)
class TokenProof:
    """One token's decision and its audit path to a sealed batch's Merkle root."""

    token: int
    dispatched: bool
    experts: tuple[int, ...]
    votes: int
    num_tokens: int
    path: tuple[str, ...]

    def verify(self, receipt: Receipt) -> bool:
        """True when this decision is leaf ``token`` of the batch ``receipt`` seals."""
        payload = receipt.payload
        if not isinstance(payload, dict) or payload.get("kind") != BATCH_KIND:
            return False
        root = payload.get("decisions_root")
        if (not isinstance(root, str) or HEX64.fullmatch(root) is None
                or payload.get("tokens") != self.num_tokens
                or not all(isinstance(p, str) and HEX64.fullmatch(p) for p in self.path)):
            return False
        leaf = leaf_hash(token_leaf(self.token, self.dispatched, list(self.experts), self.votes))
        return verify_inclusion(leaf, self.token, self.num_tokens,
                                [bytes.fromhex(p) for p in self.path], bytes.fromhex(root))

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "dispatched": self.dispatched, "experts": list(self.experts),
                "votes": self.votes, "num_tokens": self.num_tokens, "path": list(self.path)}


@dataclass(frozen=True)
class SealedBatch:
    """A batch settlement sealed as one receipt, with its per-token Merkle tree."""

    receipt: Receipt
    tree: MerkleTree
    decisions: tuple[tuple[bool, tuple[int, ...], int], ...]

    def prove(self, token: int) -> TokenProof:
        if isinstance(token, bool) or not isinstance(token, (int, np.integer)) or not (
                0 <= token < len(self.decisions)):
            raise InvalidInput(f"token must be in [0, {len(self.decisions)}), got {token!r}",
                               argument="token")
        token = int(token)
        dispatched, experts, votes = self.decisions[token]
        path = tuple(h.hex() for h in self.tree.inclusion_proof(token))
        return TokenProof(token, dispatched, experts, votes, len(self.decisions), path)


def seal_settlement(chain: Any, settlement: Any, *, trace_id: str = "",
                    timestamp: int | float | None = None) -> SealedBatch:
    """Seal a :class:`~openmoe_bft.bft.BatchSettlement` as one receipt whose payload
    holds the Merkle root of the per-token decisions."""
    dispatched = np.asarray(settlement.dispatched, dtype=bool).tolist()
    expert_ids = np.asarray(settlement.expert_ids).tolist()
    votes = np.asarray(settlement.votes).tolist()
    tree = MerkleTree()
    decisions = []
    for t, (d, ids, v) in enumerate(zip(dispatched, expert_ids, votes, strict=True)):
        experts = tuple(ids) if d else ()
        decisions.append((d, experts, v))
        tree.append(leaf_hash(token_leaf(t, d, list(experts), v)))
    payload = {
        "kind": BATCH_KIND,
        "tokens": len(decisions),
        "dispatched": int(sum(dispatched)),
        "decisions_root": tree.root().hex(),
        "n": settlement.n, "f": settlement.f, "threshold": settlement.threshold,
        "k": settlement.k, "num_experts": settlement.num_experts,
        "flagged_replicas": list(settlement.flagged_replicas),
    }
    receipt = chain.append(payload, trace_id=trace_id, timestamp=timestamp)
    return SealedBatch(receipt, tree, tuple(decisions))
