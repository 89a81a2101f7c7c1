"""Red-team scan throughput against a loopback OpenAI-compatible target with 50 ms latency.

Target (issue 7): a full default scan with concurrency C finishes within
1.2 x (calls x 50 ms / C) for C = 1, 8, 32, where "calls" is the number of target
requests the scan makes (a 4-turn probe is 4 calls; turns of one conversation are
sequential by nature). The baseline, in the same run, is bare ``httpx.AsyncClient``
posting the same number of requests under an ``asyncio.Semaphore(C)`` (no probes,
detectors, multi-turn ordering or retries): ours / baseline is the orchestration overhead.

The target runs in a subprocess (``python -m openmoe_bft.testing hardened
0.05``) so its threads do not share the scanner's GIL; ``--in-process`` keeps it in
this process. The hardened agent is used so every turn of every probe is sent.

    python benchmarks/bench_red_team.py [--repeat 3] [--latency 0.05] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, machine, write_result  # noqa: E402

from openmoe_bft.red_team import scan  # noqa: E402


@contextmanager
def target(latency: float, in_process: bool):
    if in_process:
        from openmoe_bft.testing import FakeChatServer

        with FakeChatServer("hardened", latency=latency) as server:
            yield server.url
        return
    proc = subprocess.Popen([sys.executable, "-m", "openmoe_bft.testing", "hardened",
                             str(latency)], stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def baseline(url: str, n: int, concurrency: int) -> float:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:
        async def one() -> None:
            async with sem:
                r = await client.post(url + "/chat/completions", json=body)
                r.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - t0


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    args = ap.parse_args()
    rows = []
    load = os.getloadavg()
    with target(args.latency, args.in_process) as url:
        scan(url, strategies=["RT-BFLA"], concurrency=4)  # warm up imports and sockets
        for c in args.concurrency:
            walls, base, cpu_scan, cpu_base = [], [], [], []
            calls = probes = 0
            for _ in range(args.repeat):
                c0, t0 = _cpu(), time.perf_counter()
                rep = scan(url, concurrency=c)
                walls.append(time.perf_counter() - t0)
                cpu_scan.append(_cpu() - c0)
                calls = sum(a.requests for a in rep.attempts)
                probes = rep.probes
                assert rep.coverage == 1.0 and rep.risk_score == 1.0, "target misbehaved"
                c0 = _cpu()
                base.append(asyncio.run(baseline(url, calls, c)))
                cpu_base.append(_cpu() - c0)
            ideal = calls * args.latency / c
            bound = 1.2 * ideal
            best, med = min(walls), statistics.median(walls)
            rows.append({
                "concurrency": c, "probes": probes, "calls": calls,
                "ideal_s": ideal, "bound_s": bound, "scan_min_s": best, "scan_median_s": med,
                "baseline_min_s": min(base), "baseline_median_s": statistics.median(base),
                "scan_over_ideal": med / ideal if ideal else float("nan"), "scan_over_baseline": med / statistics.median(base),
                "meets_bound_median": med <= bound, "meets_bound_min": best <= bound,
                "scan_cpu_ms_per_call": 1000 * statistics.median(cpu_scan) / calls,
                "baseline_cpu_ms_per_call": 1000 * statistics.median(cpu_base) / calls,
            })
    header = (f"{'C':>3} {'probes':>6} {'calls':>5} {'ideal s':>8} {'bound s':>8} "
              f"{'scan med':>9} {'scan min':>9} {'httpx med':>9} {'scan/ideal':>10} "
              f"{'scan/httpx':>10} {'cpu ms/call':>11} {'httpx cpu':>9}  meets")
    print(f"red-team scan vs bare httpx, loopback target, {args.latency * 1000:g} ms latency, "
          f"target {'in-process' if args.in_process else 'in a subprocess'}, "
          f"repeat {args.repeat}")
    print(header)
    lines = []
    for r in rows:
        line = (f"{r['concurrency']:>3} {r['probes']:>6} {r['calls']:>5} {r['ideal_s']:>8.3f} "
                f"{r['bound_s']:>8.3f} {r['scan_median_s']:>9.3f} {r['scan_min_s']:>9.3f} "
                f"{r['baseline_median_s']:>9.3f} {r['scan_over_ideal']:>10.2f} "
                f"{r['scan_over_baseline']:>10.2f} {r['scan_cpu_ms_per_call']:>11.2f} "
                f"{r['baseline_cpu_ms_per_call']:>9.2f}  "
                f"{'yes' if r['meets_bound_median'] else 'NO'}")
        lines.append(line)
        print(line)
    data = {"benchmark": "red_team", "latency_s": args.latency, "repeat": args.repeat,
            "target": "in-process" if args.in_process else "subprocess",
            "target_rule": "scan wall <= 1.2 x calls x latency / C", "rows": rows,
            "machine": machine(), "load_average_before": load,
            "load_average_after": os.getloadavg()}
    path = write_result("red_team", data)
    md = RESULTS / "red_team.md"
    md.write_text("# bench_red_team\n\n```\n" + header + "\n" + "\n".join(lines) + "\n```\n\n"
                  f"machine: {data['machine']['cpu']} ({data['machine']['cores']} cores), load "
                  f"average {load[0]:.1f} before / {data['load_average_after'][0]:.1f} after\n")
    print(f"wrote {path} and {md}")


if __name__ == "__main__":
    main()
