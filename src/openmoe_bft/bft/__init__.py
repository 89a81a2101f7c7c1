"""Byzantine-fault-tolerant consensus for MoE routing.

* :mod:`~openmoe_bft.bft.quorum` — ``tolerated_faults``, ``quorum_size``, ``decision_threshold``
* :mod:`~openmoe_bft.bft.consensus` — one voting round (``BFTConsensus``) and its ``Settlement``
* :mod:`~openmoe_bft.bft.ledger` — ``BFTLedger``: rounds by session id, in memory or SQLite
* :mod:`~openmoe_bft.bft.router` — ``BFTRouter``: per-token routing over replica callables
* :mod:`~openmoe_bft.bft.batch` — ``settle_batch``: a whole batch in one vectorized call
"""

from ..errors import NoConsensusError
from .batch import BatchSettlement, settle_batch
from .consensus import Abstention, BFTConsensus, EquivocationEvidence, Settlement, Vote
from .ledger import Ballot, BFTLedger
from .quorum import decision_threshold, quorum_size, tolerated_faults
from .router import BFTRouter, RoutingDecision, assignment_hash

__all__ = [
    "Abstention",
    "Ballot",
    "BatchSettlement",
    "BFTConsensus",
    "BFTLedger",
    "BFTRouter",
    "EquivocationEvidence",
    "NoConsensusError",
    "RoutingDecision",
    "Settlement",
    "Vote",
    "assignment_hash",
    "decision_threshold",
    "quorum_size",
    "settle_batch",
    "tolerated_faults",
]
