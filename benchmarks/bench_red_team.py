"""Red-team scan throughput against a loopback OpenAI-compatible target with 50 ms latency.

Target (issue 7): a full default scan with concurrency C finishes within
1.2 x (probes x 50 ms / C) for C = 1, 8, 32. Both readings are reported:

* **calls** (the one we hold ourselves to): "probes" counted as target requests -- a
  4-turn Crescendo probe is 4 requests, and the turns of one conversation are
  sequential by nature (each turn carries the previous answers). Bound 1.2 x calls x 50 ms / C.
* **literal**: the 138 probes x 50 ms / C. Its floor is calls / probes = 157 / 138 =
  1.14 x before any client cost; at C = 32 the 157 requests need at least 5 sequential
  rounds on 32 connections (0.25 s of a 0.259 s bound), which leaves < 2 ms per round
  trip for client, server and timer together.

The scan uses ``transport="auto"`` (the lean h11 client for this ``http://`` target).
References in the same run: the same scan over ``httpx``, and bare clients (h11 pool,
``httpx.AsyncClient``) posting the same number of requests under ``asyncio.Semaphore(C)``
with no probes, detectors, multi-turn ordering or retries.

The target runs in a subprocess (``python -m openmoe_bft.testing hardened 0.05``) so its
threads do not share the scanner's GIL; ``--in-process`` keeps it in this process. Its
latency runs from a request's arrival (the answer is computed inside the 50 ms). The
hardened agent is used so every turn of every probe is sent.

    python benchmarks/bench_red_team.py [--repeat 3] [--latency 0.05] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


BODY = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}


async def bare_httpx(url: str, n: int, concurrency: int) -> float:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:
        async def one() -> None:
            async with sem:
                r = await client.post(url + "/chat/completions", json=BODY)
                r.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - t0


async def bare_h11(url: str, n: int, concurrency: int) -> float:
    from openmoe_bft.red_team.http11 import H11Pool

    sem = asyncio.Semaphore(concurrency)
    pool = H11Pool(url + "/chat/completions", max_connections=concurrency)
    body = json.dumps(BODY).encode()

    async def one() -> None:
        async with sem:
            _, raw = await pool.post(body)
            json.loads(raw)

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    dt = time.perf_counter() - t0
    await pool.aclose()
    return dt


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _timed(fn: Any) -> tuple[float, float, Any]:
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, _cpu() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--in-process", action="store_true")
    ap.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32])
    args = ap.parse_args()
    rows = []
    load = os.getloadavg()
    med = statistics.median
    with target(args.latency, args.in_process) as url:
        for t in ("h11", "httpx"):  # warm up imports and sockets
            scan({"url": url, "transport": t}, strategies=["RT-BFLA"], concurrency=4)
        for c in args.concurrency:
            runs: dict[str, list[tuple[float, float]]] = {k: [] for k in
                                                          ("scan", "scan_httpx", "h11", "httpx")}
            calls = probes = 0
            for _ in range(args.repeat):
                for key, transport in (("scan", "auto"), ("scan_httpx", "httpx")):
                    wall, cpu, rep = _timed(lambda t=transport: scan(
                        {"url": url, "transport": t}, concurrency=c))
                    runs[key].append((wall, cpu))
                    assert rep.coverage == 1.0 and rep.risk_score == 1.0, "target misbehaved"
                    calls = sum(a.requests for a in rep.attempts)
                    probes = rep.probes
                for key, bare in (("h11", bare_h11), ("httpx", bare_httpx)):
                    wall, cpu, _ = _timed(lambda b=bare: asyncio.run(b(url, calls, c)))
                    runs[key].append((wall, cpu))
            ideal_calls = calls * args.latency / c
            ideal_probes = probes * args.latency / c
            walls = {k: [w for w, _ in v] for k, v in runs.items()}
            scan_med = med(walls["scan"])
            rows.append({
                "concurrency": c, "probes": probes, "calls": calls,
                "ideal_calls_s": ideal_calls, "bound_calls_s": 1.2 * ideal_calls,
                "ideal_probes_s": ideal_probes, "bound_probes_s": 1.2 * ideal_probes,
                "scan_median_s": scan_med, "scan_min_s": min(walls["scan"]),
                "scan_httpx_median_s": med(walls["scan_httpx"]),
                "bare_h11_median_s": med(walls["h11"]), "bare_httpx_median_s": med(walls["httpx"]),
                "scan_over_ideal_calls": scan_med / ideal_calls,
                "scan_over_ideal_probes": scan_med / ideal_probes,
                "scan_httpx_over_ideal_calls": med(walls["scan_httpx"]) / ideal_calls,
                "meets_calls_bound": scan_med <= 1.2 * ideal_calls,
                "meets_literal_bound": scan_med <= 1.2 * ideal_probes,
                "cpu_ms_per_call": {k: 1000 * med([u for _, u in v]) / calls
                                    for k, v in runs.items()},
            })
    header = (f"{'C':>3} {'probes':>6} {'calls':>5} {'ideal s':>8} {'bound s':>8} "
              f"{'scan med':>9} {'scan min':>9} {'/ideal':>7} {'meets':>5} "
              f"{'literal bound':>13} {'/lit':>5} {'meets':>5} "
              f"{'httpx scan':>10} {'/ideal':>7} {'bare h11':>8} {'bare httpx':>10} "
              f"{'cpu ms/call scan|httpx scan':>27}")
    title = (f"red-team scan (auto = h11 transport) vs the same scan over httpx and bare clients, "
             f"loopback target, {args.latency * 1000:g} ms latency, target "
             f"{'in-process' if args.in_process else 'in a subprocess'}, repeat {args.repeat}; "
             "ideal = calls x latency / C")
    print(title)
    print(header)
    lines = []
    for r in rows:
        cpu = r["cpu_ms_per_call"]
        line = (f"{r['concurrency']:>3} {r['probes']:>6} {r['calls']:>5} {r['ideal_calls_s']:>8.3f} "
                f"{r['bound_calls_s']:>8.3f} {r['scan_median_s']:>9.3f} {r['scan_min_s']:>9.3f} "
                f"{r['scan_over_ideal_calls']:>7.2f} {'yes' if r['meets_calls_bound'] else 'NO':>5} "
                f"{r['bound_probes_s']:>13.3f} {r['scan_over_ideal_probes']:>5.2f} "
                f"{'yes' if r['meets_literal_bound'] else 'NO':>5} "
                f"{r['scan_httpx_median_s']:>10.3f} {r['scan_httpx_over_ideal_calls']:>7.2f} "
                f"{r['bare_h11_median_s']:>8.3f} {r['bare_httpx_median_s']:>10.3f} "
                f"{cpu['scan']:>13.2f} | {cpu['scan_httpx']:>11.2f}")
        lines.append(line)
        print(line)
    data = {"benchmark": "red_team", "latency_s": args.latency, "repeat": args.repeat,
            "target": "in-process" if args.in_process else "subprocess",
            "target_rule": "scan wall <= 1.2 x calls x latency / C (literal: probes)",
            "rows": rows, "machine": machine(), "load_average_before": load,
            "load_average_after": os.getloadavg()}
    path = write_result("red_team", data)
    md = RESULTS / "red_team.md"
    md.write_text("# bench_red_team\n\n" + title + "\n\n```\n" + header + "\n"
                  + "\n".join(lines) + "\n```\n\n"
                  f"machine: {data['machine']['cpu']} ({data['machine']['cores']} cores), load "
                  f"average {load[0]:.1f} before / {data['load_average_after'][0]:.1f} after\n")
    print(f"wrote {path} and {md}")


if __name__ == "__main__":
    main()
