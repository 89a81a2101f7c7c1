"""Forward-pass throughput of a small Mixtral-config model: unpatched vs patched with
``openmoe_bft.hf.patch_moe_gates`` (R = 3, 4, 7 exact copies), in one run (issue 11).

Model (random seeded weights, float32, eval, ``torch.inference_mode``): MixtralConfig
with hidden 512, intermediate 1792 (Mixtral's 3.5x), 4 layers, 8 heads (8 KV heads),
8 experts top-2, vocab 8192, eager attention and experts; input batch 4 x seq 512
(2,048 tokens per forward, no KV cache).

  baseline : the unpatched model (HF's MixtralTopKRouter in every layer)
  ours     : the same model object patched with R replicas (then unpatched again)

Paired rounds: each round times every contender once (fastest of ``--repeat``
forwards), rotating the order, so load from other work on a shared machine hits all
alike; overhead = median over rounds of ours / baseline - 1. Target: <= 10% at R = 4
on CPU. A quiet cross-check: the router alone (layer 0's real input, HF router vs
patched router) — its added ms per call times the layers, over the unpatched forward.

Where the time goes: forward pre/post hooks time every router, experts block and
attention module (and the whole forward) for the baseline and for R = 4; the table
shows milliseconds per forward and the share of the whole forward.

    python benchmarks/bench_hf.py [--batch 4] [--seq 512] [--rounds 3] [--quick] [--device cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, timeit, write_result  # noqa: E402

from openmoe_bft.hf import patch_moe_gates  # noqa: E402

CONFIG = dict(vocab_size=8192, hidden_size=512, intermediate_size=1792, num_hidden_layers=4,
              num_attention_heads=8, num_key_value_heads=8, num_local_experts=8, num_experts_per_tok=2,
              max_position_embeddings=1024)


def build(device: str):
    from transformers import MixtralConfig, MixtralForCausalLM

    torch.manual_seed(0)
    cfg = MixtralConfig(**CONFIG, attn_implementation="eager")
    model = MixtralForCausalLM(cfg).to(device).eval()
    with torch.no_grad():  # spread tokens over experts like a trained router would
        for name, p in model.named_parameters():
            if name.endswith("gate.weight"):
                p.normal_(0, 0.05)
    return model


def component_times(model, ids, runs: int = 3) -> dict[str, float]:
    """ms per forward spent inside routers, experts, attention (hooks), and in total."""
    from transformers.models.mixtral import modeling_mixtral as mm

    kinds = {mm.MixtralTopKRouter: "router", mm.MixtralExperts: "experts", mm.MixtralAttention: "attention"}
    acc: dict[str, float] = defaultdict(float)
    start: dict[int, float] = {}
    handles = []
    for mod in model.modules():
        kind = next((k for cls, k in kinds.items() if isinstance(mod, cls)), None)
        if kind is None:
            continue

        def pre(m, args, _key=id(mod)):
            start[_key] = time.perf_counter()

        def post(m, args, out, _key=id(mod), _kind=kind):
            acc[_kind] += time.perf_counter() - start[_key]

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        model(ids)  # warm
        acc.clear()
        t0 = time.perf_counter()
        for _ in range(runs):
            model(ids)
        total = (time.perf_counter() - t0) / runs
    finally:
        for h in handles:
            h.remove()
    out = {k: v / runs * 1e3 for k, v in acc.items()}
    out["total"] = total * 1e3
    out["other"] = out["total"] - sum(out[k] for k in ("router", "experts", "attention"))
    return out


def router_costs(model, ids, replicas: list[int], repeat: int) -> dict[str, float]:
    """ms per call of layer 0's router on the real hidden states of this input: HF's
    router vs the patched router with R replicas (a quiet microbenchmark: the added
    cost per layer is what the patch adds to a forward, times the number of layers)."""
    captured = {}
    router = model.model.layers[0].mlp.gate

    def grab(module, args, out) -> None:  # a hook returning a value would replace the output
        captured["x"] = args[0]

    hook = router.register_forward_hook(grab)
    model(ids)
    hook.remove()
    x = captured["x"]
    out = {"hf_router": timeit(lambda: router(x), repeat=repeat, warmup=3)["median_s"] * 1e3}
    for r in replicas:
        with patch_moe_gates(model, replicas=r):
            patched = model.model.layers[0].mlp.gate
            out[f"R{r}"] = timeit(lambda: patched(x), repeat=repeat, warmup=3)["median_s"] * 1e3
    return out


def run(batch: int, seq: int, replicas: list[int], rounds: int, repeat: int, device: str) -> dict:
    import statistics

    model = build(device)
    ids = torch.randint(0, CONFIG["vocab_size"], (batch, seq), generator=torch.Generator().manual_seed(1)).to(device)
    tokens = batch * seq
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    def forward_s() -> float:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            model(ids)
            sync()
            best = min(best, time.perf_counter() - t0)
        return best

    names = ["baseline", *[f"R{r}" for r in replicas]]
    samples: dict[str, list[float]] = {n: [] for n in names}
    breakdown = {}
    with torch.inference_mode():
        want = model(ids).logits
        for r in replicas:  # sanity: healthy copies give the unpatched output bit for bit
            with patch_moe_gates(model, replicas=r) as handle:
                assert torch.equal(model(ids).logits, want)
                assert handle.stats().withheld == 0
        # paired rounds: every round times each contender once (rotating the order), so
        # load from other work on a shared machine hits all of them alike
        for i in range(rounds):
            order = names[i % len(names):] + names[: i % len(names)]
            for name in order:
                if name == "baseline":
                    samples[name].append(forward_s())
                else:
                    with patch_moe_gates(model, replicas=int(name[1:])):
                        samples[name].append(forward_s())
        breakdown["baseline"] = component_times(model, ids)
        r4 = 4 if 4 in replicas else replicas[0]
        with patch_moe_gates(model, replicas=r4):
            breakdown[f"R{r4}"] = component_times(model, ids)
        routers = router_costs(model, ids, replicas, repeat=30)
    base = statistics.median(samples["baseline"])
    n_layers = CONFIG["num_hidden_layers"]
    rows = [{"contender": "unpatched", "replicas": 1, "ms": base * 1e3, "min_ms": min(samples["baseline"]) * 1e3,
             "tokens_per_s": tokens / base, "overhead": 0.0, "overhead_from_router_cost": 0.0}]
    for r in replicas:
        ts = samples[f"R{r}"]
        paired = statistics.median(t / b for t, b in zip(ts, samples["baseline"], strict=True))
        added = (routers[f"R{r}"] - routers["hf_router"]) * n_layers
        rows.append({"contender": f"patched R={r}", "replicas": r, "ms": statistics.median(ts) * 1e3,
                     "min_ms": min(ts) * 1e3, "tokens_per_s": tokens / statistics.median(ts),
                     "overhead": paired - 1, "overhead_from_router_cost": added / (base * 1e3)})
    info = machine()
    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    info["device"] = device
    import transformers

    info["transformers"] = transformers.__version__
    return {
        "benchmark": "hf",
        "machine": info,
        "model": {**CONFIG, "attn_implementation": "eager", "dtype": "float32"},
        "batch": batch,
        "seq": seq,
        "tokens_per_forward": tokens,
        "rows": rows,
        "breakdown_ms": breakdown,
        "router_ms_per_call": routers,
        "rounds": rounds,
        "forwards_per_sample": repeat,
        "notes": "overhead = median over rounds of (patched / unpatched) in the same round; "
                 "overhead_from_router_cost = (patched router - HF router) ms per call x layers / unpatched forward",
        "target": {"overhead_at_R4": "<= 0.10"},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2, help="forwards per sample (the fastest counts)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--quick", action="store_true", help="batch 1 x seq 128, R = 4 only, 1 round, no result file")
    args = ap.parse_args()
    if args.quick:
        args.batch, args.seq, args.rounds = 1, 128, 2
    replicas = [4] if args.quick else [3, 4, 7]
    data = run(args.batch, args.seq, replicas, args.rounds, args.repeat, args.device)

    from rich.console import Console
    from rich.table import Table

    m = data["machine"]
    console = Console(width=140)
    table = Table(title=f"Mixtral-config forward, {args.batch}x{args.seq} tokens, hidden 512, 8 experts top-2, "
                        f"4 layers ({m['cpu']}, {m['torch_threads']} torch threads, {args.device})")
    for col in ("model", "ms / forward", "min ms", "tokens/s", "overhead (paired)", "router cost x layers"):
        table.add_column(col, justify="right")
    for row in data["rows"]:
        table.add_row(row["contender"], f"{row['ms']:.1f}", f"{row['min_ms']:.1f}", f"{row['tokens_per_s']:,.0f}",
                      f"{row['overhead']:+.1%}", f"{row['overhead_from_router_cost']:+.2%}")
    console.print(table)
    rc = data["router_ms_per_call"]
    console.print("router alone, ms per call on layer 0's real input: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in rc.items()))
    table = Table(title="where the time goes (ms per forward, share of the forward; hooks)")
    table.add_column("component")
    for name in data["breakdown_ms"]:
        table.add_column(name, justify="right")
    for comp in ("attention", "experts", "router", "other", "total"):
        cells = []
        for b in data["breakdown_ms"].values():
            cells.append(f"{b[comp]:.1f} ({b[comp] / b['total']:.1%})")
        table.add_row(comp, *cells)
    console.print(table)
    if not args.quick:
        print("wrote", write_result("hf", data))


if __name__ == "__main__":
    main()
