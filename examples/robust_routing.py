"""Fuse router-replica scores with Byzantine-robust rules, under the standard attacks.

11 replicas score 2,048 tokens over 32 experts; 3 of them are Byzantine. The plain mean
is steered by one attacker; the robust rules keep every token's honest winner.

    python examples/robust_routing.py
"""

import numpy as np

from openmoe_bft import robust_route
from openmoe_bft.attacks import with_attack

# The seed's call shape: one token, a plain list of per-replica score lists.
honest = [[3.0, 1.0, 0.5, 0.2]] * 5
byzantine = [[-1e6, 1e6, 1e6, -1e6], [-1e6, -1e6, 1e6, 1e6]]
print("one token, krum ->", robust_route(honest + byzantine, f=2, method="krum"))

# A batch: [replicas, tokens, experts] in one vectorized call.
rng = np.random.default_rng(0)
tokens, experts, n, f = 2048, 32, 11, 3
logits = rng.normal(size=(tokens, experts))
logits[np.arange(tokens), rng.integers(experts, size=tokens)] += 8.0  # a clear favourite: the honest replicas agree with margin
honest_replicas = logits[None] + rng.normal(scale=0.05, size=(n - f, tokens, experts))
truth = honest_replicas.mean(axis=0).argmax(axis=1)

print(f"{n} replicas, {f} Byzantine, {tokens} tokens: share of tokens routed to the honest winner")
for attack in ("sign_flip", "alie", "ipm", "expert_boost"):
    scores = with_attack(honest_replicas, attack, f, position="random", rng=1)
    row = {"mean": np.mean(robust_route(scores, f=0, method="mean") == truth)}
    for method in ("median", "trimmed_mean", "krum", "multi_krum", "geometric_median"):
        row[method] = np.mean(robust_route(scores, f=f, method=method) == truth)
    print(f"  {attack:13}", "  ".join(f"{k}={v:.3f}" for k, v in row.items()))

top2 = robust_route(with_attack(honest_replicas, "expert_boost", f), f=f, method="median", k=2)
print("top-2 per token (median):", top2[:3].tolist(), "...")
