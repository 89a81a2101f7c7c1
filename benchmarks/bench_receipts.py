"""Receipts throughput and verification speed (issue: signed receipts).

Baseline, in the same run: a naive loop of ``json.dumps(sort_keys=True)`` + SHA-256 +
Ed25519 sign per entry, written to SQLite (WAL, synchronous=FULL) with one commit
per entry.

Measured:
* append + durable persist, batch sealing (signed tree head every 1024 entries),
  ``append_many`` in chunks of 10,000 (each chunk one fsynced transaction);
* the same with per-entry Ed25519 signatures;
* single ``append`` calls (one fsynced transaction each) for comparison;
* ``verify()`` of a 1,000,000-entry batch-sealed chain read back from the store (a
  second process checks pages on a multi-core machine), and the same kept to one
  process;
* verifying one inclusion proof: the audit path alone, and with the tree head's
  Ed25519 signature.

    python benchmarks/bench_receipts.py [--verify-n 1000000] [--n 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, timeit, write_result  # noqa: E402

from openmoe_bft.receipts import AuditChain, Ed25519Key  # noqa: E402
from openmoe_bft.receipts.merkle import verify_inclusion  # noqa: E402
from openmoe_bft.receipts.stored import verify_store  # noqa: E402
from openmoe_bft.store import Store  # noqa: E402

CHUNK = 10_000


def payload(i: int) -> dict:
    return {"kind": "route", "token": i, "expert": i % 8, "session": f"s-{i // 64}",
            "votes": 5, "ok": True}


def baseline(path: Path, n: int, key: Ed25519Key) -> float:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("CREATE TABLE r (seq INTEGER PRIMARY KEY, payload TEXT, prev TEXT, hash TEXT, "
                "sig TEXT)")
    prev = ""
    t0 = time.perf_counter()
    for i in range(n):
        body = json.dumps({"payload": payload(i), "prev": prev, "seq": i}, sort_keys=True)
        h = hashlib.sha256(body.encode()).hexdigest()
        sig = key.key.sign(h.encode()).hex()
        con.execute("BEGIN")
        con.execute("INSERT INTO r VALUES (?,?,?,?,?)", (i, body, prev, h, sig))
        con.execute("COMMIT")
        prev = h
    dt = time.perf_counter() - t0
    con.close()
    return n / dt


def ours(path: Path, n: int, key: Ed25519Key, sealing: str) -> float:
    chain = AuditChain(Store(path), signer=key, sealing=sealing,
                       checkpoint_every=1024 if sealing == "batch" else None)
    t0 = time.perf_counter()
    for start in range(0, n, CHUNK):
        chain.append_many([payload(i) for i in range(start, min(n, start + CHUNK))],
                          trace_id="bench", timestamps=range(start, min(n, start + CHUNK)))
    dt = time.perf_counter() - t0
    chain.close()
    return n / dt


def single_appends(path: Path, n: int, key: Ed25519Key) -> float:
    chain = AuditChain(Store(path), signer=key)
    t0 = time.perf_counter()
    for i in range(n):
        chain.append(payload(i), trace_id="bench", timestamp=i)
    dt = time.perf_counter() - t0
    chain.close()
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000, help="entries for the append runs")
    ap.add_argument("--baseline-n", type=int, default=3_000)
    ap.add_argument("--verify-n", type=int, default=1_000_000)
    args = ap.parse_args()
    key = Ed25519Key.from_raw(bytes(range(32)))
    results: dict = {"machine": machine(), "n": args.n, "verify_n": args.verify_n}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = baseline(tmp / "base.db", args.baseline_n, key)
        batch = ours(tmp / "batch.db", args.n, key, "batch")
        entry = ours(tmp / "entry.db", args.n, key, "entry")
        single = single_appends(tmp / "single.db", args.baseline_n, key)
        results["append_per_s"] = {"baseline_naive_loop": base, "batch_sealing": batch,
                                   "per_entry_ed25519": entry, "single_append_calls": single}

        # verify a big batch-sealed chain, read back from its store
        vpath = tmp / "verify.db"
        t0 = time.perf_counter()
        ours(vpath, args.verify_n, key, "batch")
        build_s = time.perf_counter() - t0
        chain = AuditChain(Store(vpath), signer=key, sealing="batch")
        chain.checkpoint()
        t0 = time.perf_counter()
        result = chain.verify(require_sealed=True)
        verify_s = time.perf_counter() - t0
        assert result.ok and result.checked == args.verify_n, result
        # the same verification kept to this process (no worker process)
        t0 = time.perf_counter()
        single = verify_store(chain.store, chain.checkpoints, chain.keys, require_sealed=True,
                              parallel_min=1 << 62)
        single_s = time.perf_counter() - t0
        assert single == result, (single, result)
        results["verify"] = {"entries": args.verify_n, "seconds": verify_s,
                             "one_process_seconds": single_s,
                             "build_seconds": build_s, "checkpoints": result.checkpoints}

        proof = chain.inclusion_proof(args.verify_n // 3)
        leaf = bytes.fromhex(proof.entry_hash)
        root = bytes.fromhex(proof.root_hash)
        path = [bytes.fromhex(p) for p in proof.path]
        seq, size = proof.seq, proof.tree_size
        assert verify_inclusion(leaf, seq, size, path, root)
        n_iter = 2000
        t_path = timeit(lambda: [verify_inclusion(leaf, seq, size, path, root)
                                 for _ in range(n_iter)], repeat=5)
        t_full = timeit(lambda: [proof.verify(key.public_key) for _ in range(200)], repeat=5)
        results["inclusion_proof_us"] = {
            "audit_path_only": t_path["min_s"] / n_iter * 1e6,
            "with_tree_head_signature": t_full["min_s"] / 200 * 1e6,
            "path_length": len(path),
        }
        chain.close()

    a = results["append_per_s"]
    print(f"{'measure':44} {'value':>14}")
    print(f"{'baseline naive loop (append/s)':44} {a['baseline_naive_loop']:14,.0f}")
    print(f"{'batch sealing, append_many (append/s)':44} {a['batch_sealing']:14,.0f}"
          f"   {a['batch_sealing'] / a['baseline_naive_loop']:.1f}x baseline  (target 50,000)")
    print(f"{'per-entry Ed25519, append_many (append/s)':44} {a['per_entry_ed25519']:14,.0f}"
          f"   {a['per_entry_ed25519'] / a['baseline_naive_loop']:.1f}x baseline  (target 10,000)")
    print(f"{'single append() calls, fsync each (append/s)':44} {a['single_append_calls']:14,.0f}"
          f"   {a['single_append_calls'] / a['baseline_naive_loop']:.1f}x baseline")
    v = results["verify"]
    print(f"{'verify ' + format(v['entries'], ',') + '-entry chain (s)':44} {v['seconds']:14.2f}"
          "   (target 2.0)")
    print(f"{'  the same, one process only (s)':44} {v['one_process_seconds']:14.2f}")
    p = results["inclusion_proof_us"]
    print(f"{'inclusion proof, audit path only (us)':44} {p['audit_path_only']:14.1f}"
          "   (target 50)")
    print(f"{'inclusion proof + tree head signature (us)':44} "
          f"{p['with_tree_head_signature']:14.1f}")
    print("wrote", write_result("receipts", results))


if __name__ == "__main__":
    main()
