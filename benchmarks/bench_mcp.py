"""MCP server tool-call throughput and latency (issue 9).

Ours: ``openmoe-bft serve`` (bearer-token auth, body limit, structured output) calling
``bft_quorum``. Baseline, in the same run: a bare ``MCPServer`` (FastMCP's successor in
the official SDK) with a one-line echo tool, served the same way (streamable HTTP,
uvicorn, loopback). Each server runs in its own subprocess; the same client (the SDK's
``ClientSession`` over ``streamable_http_client``) drives both, alternating rounds so
machine noise hits both alike. Bounded request counts; loopback only.

Also measured: a paid ``bft_quorum`` call through the x402 paywall (sign EIP-3009 →
402 → verify → settle → seal a receipt → run), against the same server's free call.

    python benchmarks/bench_mcp.py [--calls 200] [--rounds 12] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, machine, write_result  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
BASELINE = """
import sys, uvicorn
from mcp.server.mcpserver import MCPServer
mcp = MCPServer("echo", log_level="WARNING")
@mcp.tool()
async def echo(text: str) -> str: return text
uvicorn.run(mcp.streamable_http_app(), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning", access_log=False)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv: list[str], port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/mcp", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start")


async def _measure(url: str, tool: str, args: dict, calls: int, concurrency: int,
                   headers: dict, auth=None) -> dict:
    import anyio
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, auth=auth, timeout=30) as http, \
            streamable_http_client(url, http_client=http) as streams, \
            ClientSession(streams[0], streams[1]) as s:
        await s.initialize()
        for _ in range(20):  # warm-up
            await s.call_tool(tool, args)
        lat = []
        t0 = time.perf_counter()
        for _ in range(calls):
            a = time.perf_counter()
            res = await s.call_tool(tool, args)
            lat.append(time.perf_counter() - a)
            assert not res.is_error, res.content
        seq_s = time.perf_counter() - t0

        async def worker(n: int) -> None:
            for _ in range(n):
                res = await s.call_tool(tool, args)
                assert not res.is_error
        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker, calls // concurrency)
        conc_s = time.perf_counter() - t0
    lat.sort()
    return {"calls": calls, "seq_calls_per_s": calls / seq_s,
            "p50_ms": 1e3 * lat[len(lat) // 2], "p99_ms": 1e3 * lat[int(0.99 * (len(lat) - 1))],
            "conc_calls_per_s": (calls // concurrency) * concurrency / conc_s}


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _with_cpu(pid: int, measure) -> dict:
    """Run ``measure()`` and add the server's CPU time per call (noise-robust: it does
    not count time the server spent waiting for a core)."""
    c0 = _cpu_s(pid)
    row = measure()
    c1 = _cpu_s(pid)
    total = row["calls"] * 2 + 20
    row["server_cpu_us_per_call"] = None if c0 is None or c1 is None else 1e6 * (c1 - c0) / total
    return row


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    import anyio

    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--paid-calls", type=int, default=100)
    a = ap.parse_args()

    from eth_account import Account

    from openmoe_bft.server.paywall import X402Auth

    payer, payee = Account.create(), Account.create().address
    p_ours, p_base, p_paid = _free_port(), _free_port(), _free_port()
    py = sys.executable
    procs = [
        _start([py, "-m", "openmoe_bft.server", "--port", str(p_ours), "--token", TOKEN],
               p_ours),
        _start([py, "-c", BASELINE, str(p_base)], p_base),
        _start([py, "-m", "openmoe_bft.server", "--port", str(p_paid), "--token", TOKEN,
                "--pay-to", payee, "--price", "bft_quorum=1000"], p_paid),
    ]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    ours, base = [], []

    def run_base() -> None:
        base.append(_with_cpu(procs[1].pid, lambda: anyio.run(
            _measure, f"http://127.0.0.1:{p_base}/mcp", "echo", {"text": "hi"}, a.calls,
            a.concurrency, {})))

    def run_ours() -> None:
        ours.append(_with_cpu(procs[0].pid, lambda: anyio.run(
            _measure, f"http://127.0.0.1:{p_ours}/mcp", "bft_quorum", {"num_nodes": 7},
            a.calls, a.concurrency, bearer)))

    try:
        for i in range(a.rounds):  # paired rounds, order alternating (AB, BA, ...)
            for step in ((run_base, run_ours) if i % 2 == 0 else (run_ours, run_base)):
                step()
        frees, paids = [], []
        for _ in range(3):  # paid vs free on the same build, alternating
            frees.append(anyio.run(_measure, f"http://127.0.0.1:{p_ours}/mcp", "bft_quorum",
                                   {"num_nodes": 7}, a.paid_calls, 1, bearer))
            auth = X402Auth(payer, token=TOKEN)
            paids.append(anyio.run(_measure, f"http://127.0.0.1:{p_paid}/mcp", "bft_quorum",
                                   {"num_nodes": 7}, a.paid_calls, 1, {}, auth))
            assert len(auth.settlements) == 2 * a.paid_calls + 20  # warm-up + seq + conc
        free = {k: _median(frees, k) for k in ("seq_calls_per_s", "p50_ms", "p99_ms")}
        paid = {k: _median(paids, k) for k in ("seq_calls_per_s", "p50_ms", "p99_ms")}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)

    keys = ("seq_calls_per_s", "p50_ms", "p99_ms", "conc_calls_per_s")
    if ours[0]["server_cpu_us_per_call"] is not None:
        keys += ("server_cpu_us_per_call",)
    o = {k: _median(ours, k) for k in keys}
    b = {k: _median(base, k) for k in keys}
    # the median over rounds of each paired (same-moment) ratio: robust to machine noise
    ratio_seq = statistics.median(x["seq_calls_per_s"] / y["seq_calls_per_s"]
                                  for x, y in zip(ours, base, strict=True))
    ratio_conc = statistics.median(x["conc_calls_per_s"] / y["conc_calls_per_s"]
                                   for x, y in zip(ours, base, strict=True))
    rows = [("bare MCPServer echo (baseline)", b), ("openmoe-bft bft_quorum (auth on)", o)]
    print(f"MCP tool calls over streamable HTTP, loopback; {a.calls} calls x {a.rounds} "
          f"paired rounds (medians), concurrency {a.concurrency}")
    print(f"{'server':36s} {'seq calls/s':>12s} {'p50 ms':>8s} {'p99 ms':>8s} "
          f"{'conc calls/s':>13s}")
    for name, r in rows:
        print(f"{name:36s} {r['seq_calls_per_s']:12.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
              f"{r['conc_calls_per_s']:13.0f}")
    print(f"ratio ours/baseline (median of paired rounds): sequential {ratio_seq:.2f}, "
          f"concurrent {ratio_conc:.2f} "
          f"(target >= 0.8: {'met' if min(ratio_seq, ratio_conc) >= 0.8 else 'NOT met'})")
    if "server_cpu_us_per_call" in o:
        print(f"server CPU per call: ours {o['server_cpu_us_per_call']:.0f} us, baseline "
              f"{b['server_cpu_us_per_call']:.0f} us (ratio baseline/ours "
              f"{b['server_cpu_us_per_call'] / o['server_cpu_us_per_call']:.2f})")
    print(f"x402-paid bft_quorum: {paid['seq_calls_per_s']:.0f} calls/s, p50 "
          f"{paid['p50_ms']:.2f} ms, p99 {paid['p99_ms']:.2f} ms (free on the same build: "
          f"{free['seq_calls_per_s']:.0f} calls/s, p50 {free['p50_ms']:.2f} ms)")
    data = {
        "command": "python benchmarks/bench_mcp.py " + " ".join(sys.argv[1:]),
        "machine": machine(), "calls": a.calls, "rounds": a.rounds,
        "concurrency": a.concurrency, "baseline": b, "ours": o,
        "ratio_seq_throughput": ratio_seq, "ratio_conc_throughput": ratio_conc,
        "ratio_p50_latency": b["p50_ms"] / o["p50_ms"],
        "ratio_server_cpu": (b["server_cpu_us_per_call"] / o["server_cpu_us_per_call"]
                             if "server_cpu_us_per_call" in o else None),
        "target_ratio": 0.8, "met": min(ratio_seq, ratio_conc) >= 0.8,
        "paid": paid, "free_same_build": free, "rounds_raw": {"ours": ours, "baseline": base},
    }
    path = write_result("mcp", data)
    md = RESULTS / "mcp.md"
    md.write_text("| server | seq calls/s | p50 ms | p99 ms | concurrent calls/s |\n"
                  "|---|---:|---:|---:|---:|\n" + "".join(
                      f"| {n} | {r['seq_calls_per_s']:.0f} | {r['p50_ms']:.2f} | "
                      f"{r['p99_ms']:.2f} | {r['conc_calls_per_s']:.0f} |\n" for n, r in rows)
                  + f"\nratio ours/baseline (median of paired rounds): sequential "
                    f"{ratio_seq:.2f}, concurrent {ratio_conc:.2f} (target >= 0.8)\n"
                  + (f"\nserver CPU per call: ours {o['server_cpu_us_per_call']:.0f} us, "
                     f"baseline {b['server_cpu_us_per_call']:.0f} us\n"
                     if "server_cpu_us_per_call" in o else "")
                  + f"\nx402-paid call: {paid['seq_calls_per_s']:.0f} calls/s, p50 "
                    f"{paid['p50_ms']:.2f} ms\n")
    print(f"wrote {path} and {md} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
