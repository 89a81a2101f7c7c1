"""BFT gate vs R independent nn.Linear routers + top-k, in one run (issue 4, torch part).

Workload (CPU, float32, inference under torch.no_grad): 4,096 tokens, hidden 512 and
1024, 64 experts, top-2; R = 4 and R = 7 replicas (exact copies of one router).

  ours     : BFTGate(R).forward — one batched matmul for the R replicas' logits,
             coordinate-wise median, top-k of the median, per-replica vote, quorum,
             softmax/renormalised combine weights, dense dispatch/combine tensors,
             Switch aux loss and z-loss, running counters. Everything a MoE layer needs.
  baseline : R independent nn.Linear(hidden, experts) routers, each followed by
             torch.topk — the logits and choices of R routers with no consensus.
  single   : one Mixtral-style router (linear, softmax, top-k, renormalise), for scale.

Target: ours / baseline <= 1.5 (consensus overhead <= 50%). Also shown: ours with
f replicas faulty (NaN logits: the sanitising path), ours / single, and a training
step (forward + backward of the combine weights, x requiring grad) against R
Mixtral-style routers (linear, softmax, top-k, renormalise) each doing the same.

Timings alternate between the contenders for several rounds (other work on a shared
machine hits all of them alike); the ratio uses each one's best median over rounds.

    python benchmarks/bench_torch_gate.py [--tokens N] [--hidden 512,1024] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, timeit, write_result  # noqa: E402

from openmoe_bft.torch import BFTGate  # noqa: E402


def contenders(tokens: int, hidden: int, experts: int, k: int, r: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(tokens, hidden)
    routers = [torch.nn.Linear(hidden, experts, bias=False) for _ in range(r)]
    gate = BFTGate.from_router(routers[0], replicas=r, k=k)
    faulty = BFTGate.from_router(routers[0], replicas=r, k=k)
    for i in range(gate.f):
        faulty.inject_fault(r - 1 - i, "nan")

    def baseline():
        for lin in routers:
            torch.topk(lin(x), k, dim=-1)

    def single():
        logits = routers[0](x)
        w, ids = torch.topk(torch.softmax(logits, dim=-1), k, dim=-1)
        return w / w.sum(-1, keepdim=True), ids

    xg = x.clone().requires_grad_()

    @torch.enable_grad()
    def ours_train():  # forward + backward of the combine weights (all replicas get grads)
        gate(xg).topk_weights.sum().backward()

    @torch.enable_grad()
    def baseline_train():  # R Mixtral-style routers, each forward + backward
        for lin in routers:
            w = torch.topk(torch.softmax(lin(xg), dim=-1), k, dim=-1).values
            (w / w.sum(-1, keepdim=True)).sum().backward()

    # sanity: exact copies dispatch every token to the single router's choice
    out = gate(x)
    assert out.num_withheld == 0 and torch.equal(out.topk_ids, torch.topk(routers[0](x), k).indices)
    out = faulty(x)
    assert out.num_withheld == 0 and torch.equal(out.topk_ids, torch.topk(routers[0](x), k).indices)
    return {"ours": lambda: gate(x), "ours_f_faulty": lambda: faulty(x), "baseline": baseline, "single": single,
            "ours_train": ours_train, "baseline_train": baseline_train}


def run(tokens: int, hiddens: list[int], experts: int, k: int, replicas: list[int], rounds: int,
        repeat: int) -> dict:
    rows = []
    with torch.no_grad():
        for hidden, r in ((h, r) for h in hiddens for r in replicas):
            fns = contenders(tokens, hidden, experts, k, r)
            best = {name: {"min_s": float("inf"), "median_s": float("inf")} for name in fns}
            for _ in range(rounds):
                for name, fn in fns.items():
                    t = timeit(fn, repeat=repeat, warmup=1)
                    best[name]["min_s"] = min(best[name]["min_s"], t["min_s"])
                    best[name]["median_s"] = min(best[name]["median_s"], t["median_s"])
            ms = {name: v["median_s"] * 1e3 for name, v in best.items()}
            rows.append({
                "replicas": r,
                "f": (r - 1) // 3,
                "tokens": tokens,
                "hidden": hidden,
                "experts": experts,
                "k": k,
                "ours_ms": ms["ours"],
                "ours_f_faulty_ms": ms["ours_f_faulty"],
                "baseline_ms": ms["baseline"],
                "single_ms": ms["single"],
                "ours_min_ms": best["ours"]["min_s"] * 1e3,
                "baseline_min_ms": best["baseline"]["min_s"] * 1e3,
                "ratio_vs_baseline": ms["ours"] / ms["baseline"],
                "ratio_f_faulty_vs_baseline": ms["ours_f_faulty"] / ms["baseline"],
                "ratio_vs_baseline_min": best["ours"]["min_s"] / best["baseline"]["min_s"],
                "ratio_vs_single": ms["ours"] / ms["single"],
                "train_ours_ms": ms["ours_train"],
                "train_baseline_ms": ms["baseline_train"],
                "train_ratio_vs_baseline": ms["ours_train"] / ms["baseline_train"],
                "tokens_per_s": tokens / (ms["ours"] / 1e3),
            })
    info = machine()
    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    return {
        "benchmark": "torch_gate",
        "machine": info,
        "rows": rows,
        "rounds": rounds,
        "repeat_per_round": repeat,
        "target": {"ratio_vs_baseline": "<= 1.5"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--hidden", default="512,1024", help="comma-separated hidden sizes")
    ap.add_argument("--experts", type=int, default=64)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="R = 4 only, 2 rounds, no result file")
    args = ap.parse_args()
    replicas = [4] if args.quick else [4, 7]
    rounds = 2 if args.quick else args.rounds
    hiddens = [int(h) for h in args.hidden.split(",")]
    data = run(args.tokens, hiddens, args.experts, args.k, replicas, rounds, args.repeat)

    from rich.console import Console
    from rich.table import Table

    m = data["machine"]
    table = Table(title=f"BFT gate, {args.tokens:,} tokens, {args.experts} experts, top-{args.k}, float32 "
                        f"({m['cpu']}, {m['torch_threads']} torch threads)")
    for col in ("hidden", "R", "f", "ours ms", "ours f-bad ms", "base ms", "1 router ms",
                "ours/base", "f-bad/base", "ours/1 router", "Mtok/s", "train ours/base"):
        table.add_column(col, justify="right")
    for row in data["rows"]:
        table.add_row(
            str(row["hidden"]), str(row["replicas"]), str(row["f"]), f"{row['ours_ms']:.2f}", f"{row['ours_f_faulty_ms']:.2f}",
            f"{row['baseline_ms']:.2f}", f"{row['single_ms']:.2f}", f"{row['ratio_vs_baseline']:.2f}",
            f"{row['ratio_f_faulty_vs_baseline']:.2f}", f"{row['ratio_vs_single']:.2f}",
            f"{row['tokens_per_s'] / 1e6:.2f}", f"{row['train_ratio_vs_baseline']:.2f}",
        )
    Console(width=150).print(table)
    print("base = R nn.Linear routers + topk; f-bad = ours with f replicas emitting NaN logits; "
          "train = forward + backward (base: R Mixtral-style routers)")
    if not args.quick:
        print("wrote", write_result("torch_gate", data))


if __name__ == "__main__":
    main()
