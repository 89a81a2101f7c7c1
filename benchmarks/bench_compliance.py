"""EU AI Act ``evaluate`` throughput, evidence documents per second on one core (one
thread, one process; the load average at start is recorded, since other work on the
machine slows it).

Baseline, in the same run: the seed's algorithm — a truthiness test of the 19 evidence
keys and a severity-weighted sum (what the original package did; no validation, no
per-check reasons).

Corpora (each ``--n`` distinct documents, evaluated in a loop, best of ``--repeat``):

* ``a2a_attested``  — what A2A extraction gives: dotted keys -> ``True`` for a random
  subset of the checks (the seed's evidence format);
* ``structured_full`` — every check evidenced by a structured object (nested), incl. a
  red-team report and an HMAC-signed receipt whose entry hash is recomputed;
* ``structured_flat`` — the same, flattened dotted keys;
* ``mixed`` — per check at random: absent, attested, structured, or malformed (one
  field broken), nested or flattened;
* ``empty`` — ``{}``.

    python benchmarks/bench_compliance.py [--n 2000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, write_result  # noqa: E402

from openmoe_bft.eu_ai_act import CHECKS, evaluate  # noqa: E402
from openmoe_bft.eu_ai_act.samples import sample_evidence  # noqa: E402

TODAY = date(2026, 11, 25)
TARGET = 20_000
_WEIGHT = {"blocker": 5.0, "major": 2.0, "minor": 1.0}


def seed_style(evidence: dict) -> float:
    """The seed's evaluate, reduced to its arithmetic: truthy key -> weight earned."""
    earned = total = 0.0
    for c in CHECKS:
        w = _WEIGHT[c.severity]
        total += w
        if evidence.get(c.evidence_field):
            earned += w
    return earned / total


def _break(value: dict, rng: random.Random) -> dict:
    value = copy.deepcopy(value)
    key = rng.choice(sorted(value))
    value[key] = {"wrong": ["type"]}
    return value


def corpora(n: int, rng: random.Random) -> dict[str, list[dict]]:
    full = sample_evidence(TODAY)
    good = full["metadata"]
    names = [c.evidence_field.split(".", 1)[1] for c in CHECKS]
    out: dict[str, list[dict]] = {"a2a_attested": [], "structured_full": [],
                                  "structured_flat": [], "mixed": [], "empty": []}
    for _ in range(n):
        out["a2a_attested"].append({f"metadata.{k}": True for k in names
                                    if rng.random() < 0.8})
        out["structured_full"].append(copy.deepcopy(full))
        out["structured_flat"].append({f"metadata.{k}": copy.deepcopy(v)
                                       for k, v in good.items()})
        md: dict = {}
        for k in names:
            roll = rng.random()
            if roll < 0.2:
                continue
            md[k] = (True if roll < 0.45 else copy.deepcopy(good[k]) if roll < 0.85
                     else _break(good[k], rng))
        out["mixed"].append({"metadata": md} if rng.random() < 0.5
                            else {f"metadata.{k}": v for k, v in md.items()})
        out["empty"].append({})
    return out


def throughput(fn, docs: list[dict], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat + 1):  # first run warms the per-check plans
        t0 = time.perf_counter()
        for d in docs:
            fn(d)
        best = min(best, time.perf_counter() - t0)
    return len(docs) / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="documents per corpus")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    rng = random.Random(2024_1689)
    data = corpora(args.n, rng)
    ours = {name: throughput(lambda d: evaluate(d, today=TODAY), docs, args.repeat)
            for name, docs in data.items()}
    base = {name: throughput(seed_style, docs, args.repeat) for name, docs in data.items()}
    results = {
        "machine": machine(),
        "n": args.n,
        "repeat": args.repeat,
        "threads": 1,
        "load_average_at_start": load,
        "target_docs_per_s": TARGET,
        "evaluate_docs_per_s": ours,
        "seed_truthiness_baseline_docs_per_s": base,
        "ratio_ours_over_baseline": {k: ours[k] / base[k] for k in ours},
    }
    print(f"{'corpus':18} {'evaluate docs/s':>16} {'seed-style docs/s':>18} {'ratio':>7}")
    for name in data:
        mark = "ok" if ours[name] >= TARGET else "BELOW TARGET"
        print(f"{name:18} {ours[name]:16,.0f} {base[name]:18,.0f} "
              f"{ours[name] / base[name]:7.2f}  {mark} (target {TARGET:,})")
    print("wrote", write_result("compliance", results))


if __name__ == "__main__":
    main()
