"""Train a tiny MoE transformer layer while a router replica goes rogue mid-training.

Three runs from the same initial weights, on a synthetic task whose targets depend
on which of 4 clusters a token comes from (so routing matters):

* clean  — one router, no fault;
* BFT    — BFTGate with 4 replicas (exact copies of that router); at half-time
           replica 3 is compromised: from then on it steers every token to
           expert 0 (``inject_fault(3, "target", experts=[0])``);
* single — one router with the same fault at the same step.

The BFT gate's median is the honest router's logits bit for bit, so its loss curve
*is* the clean one; the single router's degrades. Needs the [torch] extra.

Run: python examples/bft_gate_training.py [--steps N]   (default 200: about 3 s on one core)
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn

from openmoe_bft.torch import BFTGate, TinyMoE

HIDDEN, EXPERTS, K, CLUSTERS, SEQ, BATCH = 32, 4, 1, 4, 16, 16


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, then a MoE feed-forward."""

    def __init__(self, gate: BFTGate) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(HIDDEN)
        self.attn = nn.MultiheadAttention(HIDDEN, num_heads=4, batch_first=True)
        self.norm2 = nn.LayerNorm(HIDDEN)
        self.moe = TinyMoE(HIDDEN, EXPERTS, k=K, ffn_size=16, gate=gate)
        self.head = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        y, route = self.moe(self.norm2(x))
        return self.head(y), route


def make_task(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(CLUSTERS, HIDDEN, generator=g) * 2.0
    maps = torch.randn(CLUSTERS, HIDDEN, HIDDEN, generator=g) / HIDDEN**0.5

    def batch(step: int):
        gb = torch.Generator().manual_seed(seed * 100_003 + step)
        c = torch.randint(0, CLUSTERS, (BATCH, SEQ), generator=gb)
        x = centers[c] + 0.5 * torch.randn(BATCH, SEQ, HIDDEN, generator=gb)
        y = torch.tanh(torch.einsum("bsh,bsoh->bso", x, maps[c]))
        return x, y

    return batch


def train(replicas: int, fault_at: int | None, steps: int, seed: int = 0) -> dict:
    torch.manual_seed(seed)
    router = nn.Linear(HIDDEN, EXPERTS, bias=False)
    gate = BFTGate.from_router(router, replicas=replicas, k=K)
    torch.manual_seed(seed + 1)
    model = Block(gate)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    batch = make_task(seed)
    losses, withheld = [], 0
    for step in range(steps):
        if step == fault_at:
            gate.inject_fault(replicas - 1, "target", experts=[0])  # the last replica goes rogue
            gate.reset_stats()
        x, y = batch(step)
        pred, route = model(x)
        task = nn.functional.mse_loss(pred, y)
        loss = task + 1e-2 * route.aux_loss + 1e-3 * route.z_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(task.item())
        withheld += route.num_withheld
    return {"losses": losses, "withheld": withheld, "stats": gate.stats()}


def run(steps: int = 200, seed: int = 0) -> dict[str, dict]:
    fault_at = steps // 2
    return {
        "clean": train(1, None, steps, seed),
        "bft": train(4, fault_at, steps, seed),
        "single": train(1, fault_at, steps, seed),
    }


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", nargs="?", help="ignored (the examples' test passes a database path)")
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args(argv)
    steps = max(args.steps, 4)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest and immune to oversubscription
    try:
        res = run(steps)
    finally:
        torch.set_num_threads(threads)
    fault_at, tail = steps // 2, max(1, steps // 10)

    def mean(xs):
        return sum(xs) / len(xs)

    print(f"tiny MoE block: {EXPERTS} experts, top-{K}, {SEQ * BATCH} tokens/step, {steps} steps; "
          f"a router replica starts steering every token to expert 0 at step {fault_at}")
    print(f"{'step':>6} {'clean':>9} {'BFT R=4':>9} {'single':>9}")
    for s in sorted({0, fault_at - 1, *range(fault_at, steps, max(1, steps // 8)), steps - 1}):
        print(f"{s:>6} " + " ".join(f"{res[name]['losses'][s]:>9.4f}" for name in ("clean", "bft", "single")))
    for name in ("clean", "bft", "single"):
        print(f"{name:>7}: mean loss of the last {tail} steps {mean(res[name]['losses'][-tail:]):.4f}")
    same = res["bft"]["losses"] == res["clean"]["losses"]
    st = res["bft"]["stats"]
    print(f"BFT curve identical to clean: {same}; tokens withheld: {res['bft']['withheld']}; "
          f"after the fault replica {st.flagged_replicas} disagreed on {st.disagreements[-1]:,} "
          f"of {st.dispatched:,} dispatched tokens")
    ratio = mean(res["single"]["losses"][-tail:]) / mean(res["clean"]["losses"][-tail:])
    print(f"single router after the fault: final loss {ratio:.1f}x the clean run's")


if __name__ == "__main__":
    main(sys.argv[1:])
