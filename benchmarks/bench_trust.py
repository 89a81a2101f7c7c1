"""EigenTrust global trust and covenant audit speed (issue: covenants + web of trust).

Target: EigenTrust over 10,000 agents / 100,000 weighted edges in <= 1 s.

Graphs (seeded): ``uniform`` (edge endpoints uniform at random) and ``powerlaw``
(trustees drawn from a Zipf-like popularity, as reputation graphs are skewed). 10
pre-trusted seeds, damping a = 0.15, tol = 1e-10 (L1).

Baselines, in the same run, on the same edges:
* ``scipy.sparse``: the same power iteration with a CSR matrix-vector product;
* ``networkx.pagerank`` (the reference; EigenTrust = personalised PageRank with
  alpha = 1 - a, personalization = dangling = p), also the parity check.
Both are skipped (and say so) when not installed.

Also: ``CovenantRegistry.global_trust`` end to end (vouches held in the registry,
breaches folded in), and covenant audits per second.

    python benchmarks/bench_trust.py [--agents 10000] [--edges 100000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, machine, timeit, write_result  # noqa: E402

from openmoe_bft.covenants import Action, Covenant, CovenantRegistry, eigentrust  # noqa: E402

ALPHA, TOL = 0.15, 1e-10


def make_graph(kind: str, n: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n, m)
    if kind == "uniform":
        dst = rng.integers(0, n, m)
    else:
        pop = 1.0 / np.arange(1, n + 1) ** 0.9
        dst = rng.permutation(n)[rng.choice(n, size=m, p=pop / pop.sum())]
    w = rng.random(m) + 0.01
    p = np.zeros(n)
    p[rng.choice(n, 10, replace=False)] = 1.0
    return src, dst, w, p


def scipy_eigentrust(n, src, dst, w, p):
    import scipy.sparse as sp

    keep = src != dst
    s, d, x = src[keep], dst[keep], w[keep]
    out = np.bincount(s, weights=x, minlength=n)
    ct = sp.csr_matrix((x / out[s], (d, s)), shape=(n, n))  # Cᵀ
    dangling = out == 0
    pn = p / p.sum()
    t = pn.copy()
    for _ in range(1000):
        new = (1 - ALPHA) * (ct @ t + t[dangling].sum() * pn) + ALPHA * pn
        if np.abs(new - t).sum() < TOL:
            return new
        t = new
    return t


def networkx_graph(n, src, dst, w):
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    acc: dict[tuple[int, int], float] = {}
    for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if a != b:
            acc[(a, b)] = acc.get((a, b), 0.0) + x
    g.add_weighted_edges_from((a, b, x) for (a, b), x in acc.items())
    return g


def bench_graph(kind: str, n: int, m: int, repeat: int) -> dict:
    src, dst, w, p = make_graph(kind, n, m)
    ours = eigentrust(n, src, dst, w, pretrusted=p, alpha=ALPHA, tol=TOL)
    row = {"graph": kind, "agents": n, "edges": m, "iterations": ours.iterations,
           "converged": ours.converged, "trust_sum": float(ours.trust.sum()),
           "ours": timeit(lambda: eigentrust(n, src, dst, w, pretrusted=p, alpha=ALPHA,
                                             tol=TOL), repeat=repeat)}
    try:
        import scipy  # noqa: F401

        ref = scipy_eigentrust(n, src, dst, w, p)
        row["scipy"] = timeit(lambda: scipy_eigentrust(n, src, dst, w, p), repeat=repeat)
        row["scipy_max_abs_diff"] = float(np.abs(ref - ours.trust).max())
    except ImportError:
        row["scipy"] = None
    try:
        import networkx as nx

        g = networkx_graph(n, src, dst, w)
        pers = {i: float(p[i]) for i in range(n)}
        ref_nx = nx.pagerank(g, alpha=1 - ALPHA, personalization=pers, dangling=pers,
                             tol=1e-12, max_iter=1000)
        row["networkx"] = timeit(lambda: nx.pagerank(
            g, alpha=1 - ALPHA, personalization=pers, dangling=pers, tol=TOL / n,
            max_iter=1000), repeat=max(3, repeat // 2), warmup=1)
        row["networkx_max_abs_diff"] = float(
            np.abs(np.array([ref_nx[i] for i in range(n)]) - ours.trust).max())
    except ImportError:
        row["networkx"] = None
    return row


def bench_registry(n: int, m: int, repeat: int) -> dict:
    src, dst, w, _ = make_graph("powerlaw", n, m, seed=1)
    reg = CovenantRegistry()
    t0 = time.perf_counter()
    for a, b, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if a != b:
            reg.vouch(f"agent-{a}", f"agent-{b}", x, timestamp=0)
    vouch_s = time.perf_counter() - t0
    for i in range(0, n, 10):  # every 10th agent has a covenant and acts; some breach
        agent = f"agent-{i}"
        reg.inscribe(Covenant.inscribe(agent_id=agent, allowed_actions={"work"}, timestamp=0))
        reg.record(Action(f"{agent}-1", agent, "work" if i % 50 else "steal", {}, 1))
    seeds = [f"agent-{i}" for i in range(0, 100, 10)]
    gt = reg.global_trust(seeds)
    return {"agents": len(reg.agents), "vouches": len(reg.vouches()),
            "vouch_calls_s": vouch_s, "converged": gt.converged, "iterations": gt.iterations,
            "global_trust": timeit(lambda: reg.global_trust(seeds), repeat=max(3, repeat // 2),
                                   warmup=1)}


def bench_audit(k: int) -> dict:
    reg = CovenantRegistry()
    reg.inscribe(Covenant.inscribe(
        agent_id="bot", allowed_actions={"buy", "fetch"}, timestamp=0,
        constraints={"max_cost_usd": 50, "allowed_domains": ["example.org"],
                     "allowed_tools": ["http"], "time_window": {"hours_utc": [0, 24]}}))
    actions = [Action(f"a{i}", "bot", "buy", {"cost_usd": i % 80, "tool": "http",
                                              "url": "https://shop.example.org/x"}, i)
               for i in range(k)]
    t = timeit(lambda: [reg.audit(a) for a in actions], repeat=3, warmup=1)
    return {"audits": k, "median_s": t["median_s"], "audits_per_s": k / t["median_s"]}


def fmt(t: dict | None) -> str:
    return "   n/a  " if t is None else f"{t['median_s'] * 1e3:8.1f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--edges", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    rows = [bench_graph(kind, args.agents, args.edges, args.repeat)
            for kind in ("uniform", "powerlaw")]
    registry = bench_registry(args.agents, args.edges, args.repeat)
    audit = bench_audit(20_000)

    lines = ["EigenTrust, median ms (ratio = ours / baseline; < 1 means ours is faster)", "",
             "| graph | agents | edges | iters | ours ms | scipy ms | ratio | networkx ms "
             "| ratio | max abs diff vs networkx |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ours = r["ours"]["median_s"]
        sc = r["scipy"]["median_s"] if r["scipy"] else None
        nxs = r["networkx"]["median_s"] if r["networkx"] else None
        r["ratio_vs_scipy"] = ours / sc if sc else None
        r["ratio_vs_networkx"] = ours / nxs if nxs else None
        r["target_met"] = ours <= 1.0
        lines.append(
            f"| {r['graph']} | {r['agents']} | {r['edges']} | {r['iterations']} | {fmt(r['ours'])}"
            f" | {fmt(r['scipy'])} | {r['ratio_vs_scipy'] or float('nan'):.2f} | "
            f"{fmt(r['networkx'])} | {r['ratio_vs_networkx'] or float('nan'):.3f} | "
            f"{r.get('networkx_max_abs_diff', float('nan')):.1e} |")
    lines += ["", f"Target: <= 1000 ms for {args.agents} agents / {args.edges} edges: "
              + ("met" if all(r["target_met"] for r in rows) else "NOT met"), "",
              f"CovenantRegistry.global_trust ({registry['agents']} agents, "
              f"{registry['vouches']} vouches, breaches folded in): "
              f"{registry['global_trust']['median_s'] * 1e3:.1f} ms median "
              f"(building it with {args.edges} vouch() calls: {registry['vouch_calls_s']:.2f} s)",
              f"Covenant audits (4 constraints): {audit['audits_per_s']:,.0f} per second"]
    text = "\n".join(lines)
    print(text)
    data = {"machine": machine(), "alpha": ALPHA, "tol": TOL, "eigentrust": rows,
            "registry": registry, "audit": audit,
            "command": "python benchmarks/bench_trust.py " + " ".join(sys.argv[1:])}
    path = write_result("trust", data)
    (RESULTS / "trust.md").write_text(text + "\n")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
