"""Sparse MoE routing with expert capacity, then the same gate behind a Byzantine quorum.

Run: python examples/moe_routing.py
"""

import numpy as np

from openmoe_bft.bft import settle_batch
from openmoe_bft.moe import SparseMoERouter, route_settled

# the seed's call shape: a list of per-token logit lists
router = SparseMoERouter(num_experts=4, k=2, capacity_factor=1.25)
result = router.route([[2.0, 1.0, 0.1, -1.0], [1.5, 1.4, 0.0, 0.0], [0.0, 3.0, 0.2, 0.1]])
print("token 0 ->", result.assignments[0])
print(f"load-balancing loss {result.load_balancing_loss:.3f} (1.0 = balanced), dropped {result.dropped}")

# a real batch: arrays in, arrays out (expert_ids [tokens, k], weights [tokens, k])
rng = np.random.default_rng(0)
tokens, experts = 4096, 16
hidden, w_gate = rng.standard_normal((tokens, 32)), rng.standard_normal((32, experts)) / np.sqrt(32)
logits = (hidden @ w_gate).astype(np.float32)
switch = SparseMoERouter(experts, k=2, capacity_factor=1.0, capacity_policy="drop")
out = switch.route(logits)
lost = int((out.expert_ids < 0).sum())
print(f"GShard-style top-2, capacity {out.capacity}: {lost} of {2 * tokens} routings over capacity, "
      f"{out.num_dropped} tokens lost both; z-loss {out.router_z_loss:.2f}")

# seven router replicas, two of them Byzantine: route only what a quorum agrees on
replicas = np.stack([logits] * 7)
replicas[5] = rng.standard_normal(logits.shape) * 10   # a replica returning noise
replicas[6, : tokens // 2] = np.nan                     # a replica whose activations blew up
settlement = settle_batch(logits=replicas, k=2)
agreed = route_settled(settlement, replicas, SparseMoERouter(experts, k=2, capacity_factor=1.25))
print(f"quorum dispatched {agreed.tokens.size} tokens, withheld {agreed.withheld.size}; "
      f"token {agreed.tokens[0]} -> {agreed.routing.assignments[0]}")
