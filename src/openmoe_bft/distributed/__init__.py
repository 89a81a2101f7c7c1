"""Replicas across processes and machines: batched BFT routing over a replica backend.

    from openmoe_bft.distributed import DistributedRouter, InProcessBackend, TopK

    backend = InProcessBackend([TopK(2)] * 4)          # or RayBackend([...]) with [ray]
    router = DistributedRouter(backend, num_experts=8, k=2)
    rnd = router.settle(logits)                         # logits [tokens, 8]
    rnd.expert_ids, rnd.dispatched

* :mod:`.proposals` — signed batch proposals (Ed25519, one signature per batch)
* :mod:`.replicas` — replica routers (:class:`TopK`) and the signing host
* :mod:`.backend` — the :class:`ReplicaBackend` protocol and :class:`InProcessBackend`
* :mod:`.ray_backend` — :class:`RayBackend`: one Ray actor per replica (extra ``[ray]``)
* :mod:`.router` — :class:`DistributedRouter`: verify, settle, seal, per round
* :mod:`.per_token` — :func:`bft_replicas`: the per-token ``BFTRouter`` over any backend
* :mod:`.faults` — crash / slow / colluding / equivocating / forging replicas
* :mod:`.demo` — ``openmoe-bft demo --backend ray``

Importing this package never imports Ray; building a :class:`RayBackend` does.
"""

from __future__ import annotations

from .backend import InProcessBackend, ReplicaBackend, Reply
from .per_token import ForgedProposal, bft_replicas
from .proposals import EquivocationProof, SignedProposal, sign_proposal, verify_proposal
from .ray_backend import RayBackend
from .replicas import ReplicaHost, TopK, topk_ids
from .router import BatchRound, DistributedRouter, decisions_digest

__all__ = [
    "BatchRound",
    "DistributedRouter",
    "EquivocationProof",
    "ForgedProposal",
    "InProcessBackend",
    "RayBackend",
    "Reply",
    "ReplicaBackend",
    "ReplicaHost",
    "SignedProposal",
    "TopK",
    "bft_replicas",
    "decisions_digest",
    "sign_proposal",
    "topk_ids",
    "verify_proposal",
]

