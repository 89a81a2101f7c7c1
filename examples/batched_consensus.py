"""Settle a whole MoE batch in one call: [replicas, tokens, k] top-k proposals.

Run: python examples/batched_consensus.py
"""

import numpy as np

from openmoe_bft import settle_batch

rng = np.random.default_rng(0)
tokens, experts, k, replicas = 10_000, 64, 2, 7
x = rng.standard_normal((tokens, 32)).astype(np.float32)
w = rng.standard_normal((32, experts)).astype(np.float32)
logits = x @ w

# every replica computes the same router (exact copies); two are Byzantine
stacked = np.stack([logits] * replicas)
stacked[5] = rng.standard_normal(logits.shape)       # a replica returning noise
stacked[6, : tokens // 2] = np.nan                    # a replica whose activations blew up

s = settle_batch(logits=stacked, k=k)
print(f"dispatched {s.num_dispatched:,} of {s.num_tokens:,} tokens (threshold {s.threshold} of {s.n})")
print("flagged replicas:", s.flagged_replicas)
print("abstentions per replica:", s.abstentions.tolist())
print("token 0 goes to experts", s.expert_ids[0].tolist())
