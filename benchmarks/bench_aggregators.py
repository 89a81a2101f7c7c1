"""Robust aggregation rules: ours (one batched call) vs ByzFL (one call per token), one run.

Workload: 16 replicas x 4,096 tokens x 64 experts of float64 router scores (honest
replicas = a shared per-token logit vector + small noise; 5 Byzantine replicas send
ALIE vectors), f = 5. ByzFL (EPFL) aggregates one vector set at a time, so its
baseline is a loop over tokens calling the rule on that token's [16, 64] matrix —
how a user would apply it to a batch. Both produce the same aggregate (checked here
to 1e-6). Target: >= 5x ByzFL for every rule both have.

ByzFL settings matched: Krum / Multi-Krum with ``neighbors = n - f - 1`` (ByzFL's
neighbourhood; ours defaults to the paper's n - f - 2), geometric median with ByzFL's
``nu=0.1, T=3`` from zero.

    python benchmarks/bench_aggregators.py [--tokens N] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, timeit, write_result  # noqa: E402

from openmoe_bft import attacks  # noqa: E402
from openmoe_bft.aggregators import (  # noqa: E402
    bulyan,
    coordinate_wise_median,
    geometric_median,
    krum,
    multi_krum,
    nnm,
    robust_route,
    trimmed_mean,
)
from openmoe_bft.aggregators._byzfl import load_byzfl  # noqa: E402


def workload(n: int, f: int, tokens: int, experts: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(tokens, experts))
    honest = base[None] + rng.normal(scale=0.1, size=(n - f, tokens, experts))
    return attacks.with_attack(honest, "alie", f, position="random", rng=rng)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument("--quick", action="store_true", help="256 tokens, fewer repeats")
    args = ap.parse_args()
    tokens = 256 if args.quick else args.tokens
    n, f, experts = 16, 5, 64
    repeat = 3 if args.quick else 7
    x = workload(n, f, tokens, experts)
    agg, pre, _ = load_byzfl()

    rules = [
        ("median", lambda v: coordinate_wise_median(v), agg.Median()),
        ("trimmed_mean", lambda v: trimmed_mean(v, f), agg.TrMean(f=f)),
        ("krum", lambda v: krum(v, f, neighbors=n - f - 1), agg.Krum(f=f)),
        ("multi_krum", lambda v: multi_krum(v, f, neighbors=n - f - 1), agg.MultiKrum(f=f)),
        (
            "geometric_median",
            lambda v: geometric_median(v, init="zeros", nu=0.1, max_iter=3, tol=0.0),
            agg.GeometricMedian(nu=0.1, T=3),
        ),
        ("nnm", lambda v: nnm(v, f), pre.NNM(f=f)),
    ]
    rows = []
    print(f"{n} replicas x {tokens} tokens x {experts} experts, f={f} (ALIE attackers)")
    print(f"{'rule':18} {'ours ms':>9} {'byzfl ms':>10} {'speed-up':>9} {'(of mins)':>9}  identical")
    for name, ours_fn, theirs in rules:
        ours_out = np.asarray(ours_fn(x))
        theirs_out = np.stack([np.asarray(theirs(x[:, t, :])) for t in range(tokens)])
        if name == "nnm":
            theirs_out = np.swapaxes(theirs_out, 0, 1)  # ByzFL gives [n, d] per token
        same = bool(np.allclose(ours_out, theirs_out, rtol=1e-6, atol=1e-6))
        t_ours = timeit(lambda fn=ours_fn: fn(x), repeat=repeat)
        t_theirs = timeit(
            lambda th=theirs: [th(x[:, t, :]) for t in range(tokens)], repeat=max(1, repeat // 3), warmup=1
        )
        ratio = t_theirs["median_s"] / t_ours["median_s"]
        ratio_min = t_theirs["min_s"] / t_ours["min_s"]  # less sensitive to a busy machine
        rows.append(
            {"rule": name, "ours": t_ours, "byzfl": t_theirs, "speedup": ratio, "speedup_min": ratio_min,
             "identical": same}
        )
        print(f"{name:18} {t_ours['median_s'] * 1e3:9.2f} {t_theirs['median_s'] * 1e3:10.1f} {ratio:8.1f}x "
              f"{ratio_min:8.1f}x  {same}")

    extra = []
    for name, fn in [
        ("bulyan (f=3)", lambda v: bulyan(v, 3)),
        ("geometric_median (converged)", lambda v: geometric_median(v)),
        ("robust_route median top-2", lambda v: robust_route(v, f=f, k=2)),
        ("robust_route krum", lambda v: robust_route(v, f=f, method="krum")),
    ]:
        t = timeit(lambda fn=fn: fn(x), repeat=repeat)
        extra.append({"rule": name, "ours": t})
        print(f"{name:30} {t['median_s'] * 1e3:9.2f} ms (ours only)")

    out = write_result(
        "aggregators",
        {
            "workload": {"replicas": n, "f": f, "tokens": tokens, "experts": experts, "attack": "alie"},
            "target": ">= 5x ByzFL per-token calls, identical results",
            "rows": rows,
            "ours_only": extra,
            "machine": machine(),
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
