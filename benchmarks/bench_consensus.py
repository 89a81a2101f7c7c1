"""Batched consensus vs three baselines, in one run (issue: foundation / BFT core).

Workload: R replicas x 65,536 tokens x 64 experts, top-2 proposals (int64), two
replicas Byzantine (random sets), the rest exact copies of one router.

Baselines, same process, same data:
  (a) loop   : a straightforward per-token Python loop — hash each replica's
               proposal (sorted ids, SHA-256), count with a dict, check 2f+1;
  (b) gating : one replica's own top-k gating, np.argpartition over [tokens, experts];
  (c) copy   : a plain copy of the proposals array (the memory-bandwidth floor).
Targets (R = 7): >= 500x faster than (a); <= 0.1x of (b); <= 10x of (c); peak extra
memory <= 2x the proposals array. R = 4, 16, 31 show how cost grows with replicas.

    python benchmarks/bench_consensus.py [--tokens N] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, timeit, write_result  # noqa: E402

from openmoe_bft import settle_batch, tolerated_faults  # noqa: E402


def make_workload(r: int, tokens: int, experts: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((tokens, experts), dtype=np.float32)
    honest = np.argpartition(logits, experts - k, axis=1)[:, experts - k :]
    props = np.broadcast_to(honest, (r, tokens, k)).copy()
    byz = min(2, tolerated_faults(r))
    if byz:
        props[r - byz :] = rng.integers(0, experts, (byz, tokens, k))
    return logits, props


def loop_baseline(props: np.ndarray) -> list[tuple[int, ...] | None]:
    """What a plain implementation does: per token, hash each proposal and count."""
    r, t, _ = props.shape
    quorum = 2 * tolerated_faults(r) + 1
    rows = props.tolist()
    out: list[tuple[int, ...] | None] = []
    for tok in range(t):
        counts: dict[str, int] = {}
        chosen: dict[str, tuple[int, ...]] = {}
        for rep in range(r):
            ids = tuple(sorted(rows[rep][tok]))
            h = hashlib.sha256(repr(ids).encode()).hexdigest()
            counts[h] = counts.get(h, 0) + 1
            chosen[h] = ids
        best = max(counts, key=counts.__getitem__)
        out.append(chosen[best] if counts[best] >= quorum else None)
    return out


def _bitmask_path(fn):
    """Run ``fn`` with settle_batch's narrow keys switched off (the uint64 bitmask keys)."""
    from openmoe_bft.bft import batch

    batch._NARROW = False
    try:
        return fn()
    finally:
        batch._NARROW = True


def peak_extra_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def run(tokens: int, experts: int, k: int, replicas: list[int], repeat: int) -> dict:
    rows = []
    for r in replicas:
        logits, props = make_workload(r, tokens, experts, k)
        ours = timeit(lambda: settle_batch(props, num_experts=experts), repeat=repeat)
        bitmask = _bitmask_path(lambda: timeit(lambda: settle_batch(props, num_experts=experts), repeat=repeat))
        gating = timeit(lambda: np.argpartition(logits, experts - k, axis=1)[:, experts - k :], repeat=repeat)
        copy = timeit(lambda: props.copy(), repeat=repeat)
        loop = timeit(lambda: loop_baseline(props), repeat=1, warmup=0)
        # same answers as the plain loop
        s = settle_batch(props, num_experts=experts)
        ref = loop_baseline(props[:, :2000])
        for t, chosen in enumerate(ref):
            assert (chosen is not None) == bool(s.dispatched[t])
            if chosen is not None:
                assert list(chosen) == s.expert_ids[t].tolist()
        extra = peak_extra_bytes(lambda: settle_batch(props, num_experts=experts))
        m = ours["median_s"]
        rows.append({
            "replicas": r,
            "tokens": tokens,
            "experts": experts,
            "k": k,
            "ours_ms": m * 1e3,
            "ours_min_ms": ours["min_s"] * 1e3,
            "loop_ms": loop["median_s"] * 1e3,
            "gating_ms": gating["median_s"] * 1e3,
            "copy_ms": copy["median_s"] * 1e3,
            "speedup_vs_loop": loop["median_s"] / m,
            "ratio_vs_gating": m / gating["median_s"],
            "ratio_vs_copy": m / copy["median_s"],
            "tokens_per_s": tokens / m,
            "proposals_bytes": props.nbytes,
            "peak_extra_bytes": extra,
            "peak_extra_ratio": extra / props.nbytes,
            # added measurement: the same call with the narrow (uint8/uint16) keys off, i.e.
            # the uint64 bitmask path that k >= 3 takes (and that k <= 2 took before)
            "bitmask_path_ms": bitmask["median_s"] * 1e3,
            "narrow_keys_gain": bitmask["median_s"] / m,
        })
    return {"benchmark": "consensus", "machine": machine(), "rows": rows,
            "targets_r7": {"speedup_vs_loop": ">= 500", "ratio_vs_gating": "<= 0.1",
                           "ratio_vs_copy": "<= 10", "peak_extra_ratio": "<= 2"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=65_536)
    ap.add_argument("--experts", type=int, default=64)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=25)
    ap.add_argument("--quick", action="store_true", help="R = 7 only, fewer repeats")
    args = ap.parse_args()
    replicas = [7] if args.quick else [4, 7, 16, 31]
    data = run(args.tokens, args.experts, args.k, replicas, 5 if args.quick else args.repeat)

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"batched consensus, {args.tokens:,} tokens, {args.experts} experts, top-{args.k} "
                        f"({data['machine']['cpu']}, {data['machine']['cores']} cores)")
    for col in ("R", "ours ms", "loop ms", "gating ms", "copy ms", "x faster than loop",
                "/ gating", "/ copy", "peak extra / proposals", "M tokens/s", "bitmask path ms"):
        table.add_column(col, justify="right")
    for row in data["rows"]:
        table.add_row(
            str(row["replicas"]), f"{row['ours_ms']:.2f}", f"{row['loop_ms']:.0f}",
            f"{row['gating_ms']:.2f}", f"{row['copy_ms']:.2f}", f"{row['speedup_vs_loop']:.0f}x",
            f"{row['ratio_vs_gating']:.3f}", f"{row['ratio_vs_copy']:.1f}",
            f"{row['peak_extra_ratio']:.2f}", f"{row['tokens_per_s'] / 1e6:.1f}",
            f"{row['bitmask_path_ms']:.2f}",
        )
    Console().print(table)
    if not args.quick:
        print("wrote", write_result("consensus", data))


if __name__ == "__main__":
    main()
