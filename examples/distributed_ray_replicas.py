"""Router replicas as Ray actors: signed batch proposals, a forger, a kill, sealed rounds.

Seven replicas each sign their top-2 proposals for a whole batch with their own Ed25519
key; replica-6 alters its ids after signing (caught, counted as an abstention) and
replica-5 is killed with ``ray.kill`` after the first batch. With f = 2 of 7 faulty,
every token still goes to the clean router's experts, and every round is sealed into
a receipts chain stored in SQLite. Uses a local Ray cluster when Ray is installed
(pip install 'openmoe-bft[ray]'), the in-process backend otherwise.

    python examples/distributed_ray_replicas.py receipts.db
"""

import sys

import numpy as np

from openmoe_bft.distributed import DistributedRouter, InProcessBackend, RayBackend, TopK, topk_ids
from openmoe_bft.distributed.faults import Forge
from openmoe_bft.receipts import AuditChain, Ed25519Key

try:
    import ray  # noqa: F401
    have_ray = True
except ImportError:
    have_ray = False

db = sys.argv[1] if len(sys.argv) > 1 else ":memory:"
routers = [TopK(2)] * 7
tampers = {"replica-6": Forge("alter")}
if have_ray:  # starts a local Ray cluster on this machine, stopped again by close()
    backend = RayBackend(routers, tampers=tampers, ray_init={"num_cpus": 2})
else:
    backend = InProcessBackend(routers, tampers=tampers)

sealer = Ed25519Key.generate()
chain = AuditChain(db, signer=sealer)
router = DistributedRouter(backend, num_experts=64, k=2, deadline=10, chain=chain)
rng = np.random.default_rng(0)
try:
    for i in range(3):
        logits = rng.standard_normal((16_384, 64), dtype=np.float32)
        rnd = router.settle(logits, batch_id=f"batch-{i}")
        truth = np.sort(topk_ids(logits, 2), axis=1)
        wrong = ((np.sort(rnd.expert_ids, axis=1) != truth).any(axis=1) & rnd.dispatched).sum()
        print(f"{rnd.batch_id}: dispatched {rnd.num_dispatched:,}/{rnd.num_tokens:,}, wrong {wrong}, "
              f"abstained {sorted(rnd.abstained)}, rejected {sorted(rnd.rejected)}")
        if i == 0 and isinstance(backend, RayBackend):
            backend.kill("replica-5")  # a crashed machine: its actor is gone
        elif i == 0:
            backend.host("replica-5").router = lambda x: 1 / 0  # in-process stand-in
finally:
    backend.close()
print(f"{len(chain)} rounds sealed; chain verifies: {chain.verify(keys=[sealer.public_key]).ok}")
print("last round:", {k: chain.receipts[-1].payload[k] for k in ("batch_id", "decisions_sha256")})
chain.close()
