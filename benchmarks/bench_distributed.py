"""Replicas as Ray actors vs in-process replicas: tokens settled per second (issue 10).

Workload: a stream of batches of router logits ``[batch, experts]`` (float32, top-2;
8 experts — Mixtral's gate — and 64 experts). Each replica runs the same deterministic top-k router,
signs its ids for the batch (Ed25519 over the SHA-256 of the id bytes), the driver
verifies every signature, settles the batch with ``settle_batch`` and seals the round
into an in-memory receipts chain (Ed25519-signed). A round's time covers all of it:
for Ray also the ``ray.put`` of the batch's logits (once per round, read zero-copy by
the actors) and the trip of the signed ids back.

Baseline, same process, same data: ``InProcessBackend`` (the replicas run one after
another in the driver; no deadline threads). Ray: ``RayBackend``, one actor per replica
on a local Ray cluster, deadline 10 s. Each cell is the best of ``--repeat`` blocks of
at least ``--min-seconds``; blocks of the two backends alternate so both see the same
machine load. Ratio = Ray time / in-process time for the same (replicas, batch).

Targets (7 actors, batch 65,536): >= 1M tokens/s settled, ratio <= 3x.

    python benchmarks/bench_distributed.py [--quick] [--experts 8 64] [--k 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, machine, write_result  # noqa: E402

from openmoe_bft.distributed import DistributedRouter, InProcessBackend, RayBackend, TopK  # noqa: E402
from openmoe_bft.receipts import AuditChain, Ed25519Key  # noqa: E402

TARGET_TOKENS_PER_S = 1_000_000
TARGET_RATIO = 3.0


def block(router: DistributedRouter, inputs: list[np.ndarray], min_seconds: float,
          min_rounds: int, tag: str) -> tuple[float, dict[str, float], int]:
    """Settle rounds until both minimums are met; tokens/s and median stage times."""
    rounds, tokens, t0 = 0, 0, time.perf_counter()
    stages: dict[str, list[float]] = {}
    while rounds < min_rounds or time.perf_counter() - t0 < min_seconds:
        x = inputs[rounds % len(inputs)]
        rnd = router.settle(x, batch_id=f"{tag}-{rounds}")
        assert rnd.num_dispatched == len(x), "an honest run must dispatch every token"
        for key, v in rnd.timings.items():
            stages.setdefault(key, []).append(v)
        rounds += 1
        tokens += len(x)
    elapsed = time.perf_counter() - t0
    return tokens / elapsed, {k: float(np.median(v)) for k, v in stages.items()}, rounds


def run(replicas: list[int], batches: list[int], expert_counts: list[int], k: int, repeat: int,
        min_seconds: float) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for n in replicas:
        keys = [Ed25519Key.generate() for _ in range(n)]
        local = InProcessBackend([TopK(k)] * n, keys)
        remote = RayBackend([TopK(k)] * n, keys)
        remote.wait_ready()
        try:
            for experts, b in ((e, b) for e in expert_counts for b in batches):
                inputs = [rng.standard_normal((b, experts), dtype=np.float32) for _ in range(4)]
                routers = {
                    "inprocess": DistributedRouter(local, num_experts=experts, k=k, deadline=None,
                                                   chain=AuditChain(signer=Ed25519Key.generate())),
                    "ray": DistributedRouter(remote, num_experts=experts, k=k, deadline=10.0,
                                             chain=AuditChain(signer=Ed25519Key.generate())),
                }
                best: dict[str, tuple[float, dict[str, float], int]] = {}
                for name, r in routers.items():  # warm-up: allocations, object store
                    block(r, inputs, 0.0, 3, f"warm-{name}-{n}-{b}")
                for rep in range(repeat):
                    for name, r in routers.items():
                        res = block(r, inputs, min_seconds, 5, f"{name}-{n}-{b}-{rep}")
                        if name not in best or res[0] > best[name][0]:
                            best[name] = res
                loc, ray_ = best["inprocess"], best["ray"]
                row = {
                    "replicas": n, "batch": b, "experts": experts, "k": k,
                    "inprocess_tokens_per_s": loc[0], "ray_tokens_per_s": ray_[0],
                    "ratio_ray_over_inprocess": loc[0] / ray_[0],
                    "inprocess_stages_ms": {s: v * 1e3 for s, v in loc[1].items()},
                    "ray_stages_ms": {s: v * 1e3 for s, v in ray_[1].items()},
                    "rounds": {"inprocess": loc[2], "ray": ray_[2]},
                }
                rows.append(row)
                print(f"E={experts:>3} R={n:>2} batch={b:>6,}  in-process {loc[0] / 1e6:7.2f} M tok/s   "
                      f"ray {ray_[0] / 1e6:7.2f} M tok/s   ratio {row['ratio_ray_over_inprocess']:5.2f}x",
                      flush=True)
        finally:
            remote.close()
            local.close()
    return rows


# -- on paper: across machines ------------------------------------------------------------
def cross_machine_model(row: dict, rtt_s: float, gbit_s: float, in_bytes_per_token: float) -> float:
    """Predicted tokens/s for one round per batch with replicas on separate machines.

    round = RTT + (R * T * in_bytes + R * T * k) / bandwidth   (driver NIC: inputs out,
            int8 ids back) + T * c_replica (replicas run in parallel, one per machine)
            + T * c_driver (verify + settle + seal, measured here)
    """
    n, t, k = row["replicas"], row["batch"], row["k"]
    st = row["inprocess_stages_ms"]
    c_replica = st["propose_s"] / 1e3 / n / t  # in-process runs replicas one after another
    c_driver = (st["verify_s"] + st["settle_s"] + st["seal_s"]) / 1e3 / t
    wire = (n * t * in_bytes_per_token + n * t * k) / (gbit_s * 1e9 / 8)
    return t / (rtt_s + wire + t * c_replica + t * c_driver)


def model_rows(rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        if row["replicas"] != 7 or row["batch"] not in (1024, 65536):
            continue
        for rtt_ms, label in ((0.1, "same rack"), (0.5, "same DC"), (2.0, "cross-AZ"),
                              (50.0, "cross-region")):
            for gbit in (10, 100):
                for payload, bpt in (("logits bf16", 2 * row["experts"]), ("hidden held", 0)):
                    out.append({
                        "experts": row["experts"], "batch": row["batch"], "rtt_ms": rtt_ms, "where": label, "gbit_s": gbit,
                        "inputs": payload,
                        "tokens_per_s": cross_machine_model(row, rtt_ms / 1e3, gbit, bpt),
                    })
    return out


def markdown(data: dict) -> str:
    lines = [
        "# bench_distributed: Ray actors vs in-process replicas", "",
        f"Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores "
        f"(shared with other jobs: numbers are noisy; the ratios come from one run). "
        f"Top-{data['k']}; every round signed, verified, settled and sealed; Ray {data['ray']}.",
        "", "| experts | replicas | batch | in-process tok/s | Ray tok/s | Ray / in-process time |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["rows"]:
        lines.append(f"| {r['experts']} | {r['replicas']} | {r['batch']:,} "
                     f"| {r['inprocess_tokens_per_s'] / 1e6:.2f} M "
                     f"| {r['ray_tokens_per_s'] / 1e6:.2f} M | {r['ratio_ray_over_inprocess']:.2f}x |")
    lines.append("")
    for e, t in data["targets"].items():
        lines.append(
            f"Target at {e} experts (7 actors, batch 65,536): >= 1M tokens/s — measured "
            f"{t['ray_tokens_per_s_7x64k'] / 1e6:.2f} M ({'met' if t['throughput_met'] else 'NOT met'}); "
            f"overhead <= 3x — measured {t['ratio_7x64k']:.2f}x "
            f"({'met' if t['ratio_met'] else 'NOT met'}).  ")
    lines += [
        "", "## On paper: across machines", "",
        "One round per batch, rounds not pipelined. round = RTT + (R·T·b_in + R·T·k) / bandwidth "
        "(the driver's NIC sends each replica its inputs and receives int8 ids) + T·c_replica "
        "(replicas in parallel, one per machine) + T·c_driver (verify + settle + seal), with "
        "c_replica and c_driver measured above (in-process, 7 replicas). `logits bf16`: the driver "
        "ships each replica the batch's router logits (2·experts bytes per token); `hidden held`: "
        "replicas already hold the hidden states (e.g. next to their model shard) and only the "
        "batch id and ids cross the wire.", "",
        "| experts | batch | where (RTT) | 10 Gb/s, logits | 10 Gb/s, hidden held "
        "| 100 Gb/s, logits | 100 Gb/s, hidden held |", "|---:|---:|---|---:|---:|---:|---:|",
    ]
    cells: dict[tuple[int, int, float, str], dict[tuple[int, str], float]] = {}
    for m in data["cross_machine_model"]:
        key = (m["experts"], m["batch"], m["rtt_ms"], m["where"])
        cells.setdefault(key, {})[(m["gbit_s"], m["inputs"])] = m["tokens_per_s"]
    for (e, batch, rtt, where), c in cells.items():
        vals = [c[(g, i)] / 1e6 for g in (10, 100) for i in ("logits bf16", "hidden held")]
        lines.append(f"| {e} | {batch:,} | {where} ({rtt:g} ms) | "
                     + " | ".join(f"{v:.2f} M" for v in vals) + " |")
    lines += [
        "", "Reading it: a round costs one RTT, so the RTT caps throughput at batch / RTT "
        "(64k tokens: 655 M/s same-rack, 1.3 M/s cross-region at 50 ms; 1,024 tokens: 0.5 M/s "
        "at a 2 ms cross-AZ RTT) until several rounds are pipelined, which this driver does not "
        "do yet. Within a data centre and at 64k batches the wire is what matters: shipping "
        "router logits to 7 replicas bounds a 10 Gb/s driver NIC at 64 experts (~1 M/s), so "
        "either replicas compute their gate from hidden states they already hold, or the "
        "driver's link is fat. Replica compute then parallelises across machines, unlike on "
        "this 2-core box, where 7 actors share 2 cores with the driver.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experts", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--min-seconds", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="shorter blocks, one repeat")
    args = ap.parse_args()
    import ray

    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    batches = [1024, 4096, 16384, 65536]
    if args.quick:
        args.repeat, args.min_seconds = 1, 0.3
    try:
        rows = run([4, 7], batches, args.experts, args.k, args.repeat, args.min_seconds)
    finally:
        ray.shutdown()
    targets = {}
    for e in args.experts:
        top = next(r for r in rows if r["replicas"] == 7 and r["batch"] == 65536
                   and r["experts"] == e)
        targets[str(e)] = {
            "ray_tokens_per_s_7x64k": top["ray_tokens_per_s"],
            "ratio_7x64k": top["ratio_ray_over_inprocess"],
            "throughput_met": top["ray_tokens_per_s"] >= TARGET_TOKENS_PER_S,
            "ratio_met": top["ratio_ray_over_inprocess"] <= TARGET_RATIO,
        }
    data = {
        "benchmark": "distributed", "machine": machine(), "experts": args.experts, "k": args.k,
        "ray": ray.__version__, "rows": rows, "targets": targets,
        "command": "python benchmarks/bench_distributed.py " + " ".join(sys.argv[1:]),
    }
    data["cross_machine_model"] = model_rows(rows)
    path = write_result("distributed", data)
    md = RESULTS / "distributed.md"
    md.write_text(markdown(data))
    print(markdown(data))
    print(f"wrote {path} and {md}")


if __name__ == "__main__":
    main()
