"""Crash safety (SIGKILL mid-append) and multi-process appends on one store."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from openmoe_bft.receipts import AuditChain, Ed25519Key

HELPER = Path(__file__).with_name("_appender.py")
KEY = Ed25519Key.from_raw(bytes(range(32)))


def _start(path, name, count, sealing="entry", *barrier):
    return subprocess.Popen([sys.executable, str(HELPER), str(path), name, str(count), sealing,
                             *map(str, barrier)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reported(text):
    return {int(s): h for s, h in (line.split() for line in text.splitlines() if line.strip())}


@pytest.mark.parametrize("kills", [20])
def test_sigkill_never_loses_a_returned_receipt_or_breaks_the_chain(tmp_path, kills):
    rng = random.Random(7)
    path = tmp_path / "crash.db"
    seen: dict[int, str] = {}
    for round_ in range(kills):
        proc = _start(path, f"w{round_}", 100_000, "batch" if round_ % 2 else "entry")
        assert proc.stdout is not None
        first = proc.stdout.readline()  # it is appending now
        assert first, proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.15))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        seen.update(_reported(first + rest))
        with AuditChain(path, signer=KEY) as chain:
            stored = {r.seq: r.entry_hash for r in chain.iter_receipts()}
            for seq, h in seen.items():
                assert stored.get(seq) == h, f"round {round_}: receipt {seq} was lost"
            result = chain.verify()
            assert result.ok, (round_, result)
    assert len(seen) > kills


def test_two_processes_appending_to_one_store_never_fork(tmp_path):
    path = tmp_path / "shared.db"
    AuditChain(path).close()  # create the schema once
    go = tmp_path / "go"
    procs = [_start(path, name, 300, "entry", go) for name in ("a", "b")]
    time.sleep(1.0)  # both are started and waiting
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    reported = [_reported(out) for out, _ in outs]
    assert not set(reported[0]) & set(reported[1])  # no sequence number given twice
    with AuditChain(path, signer=KEY) as chain:
        assert len(chain) == 600
        stored = {r.seq: r.entry_hash for r in chain.iter_receipts()}
        for rep in reported:
            assert all(stored[s] == h for s, h in rep.items())
        assert chain.verify(require_sealed=True).ok
        order = "".join(r.trace_id for r in chain.iter_receipts())
    assert order.count("ab") + order.count("ba") >= 2, "the writers did not overlap"


def test_an_in_process_chain_catches_up_with_another_writer(tmp_path):
    path = tmp_path / "two.db"
    a = AuditChain(path, signer=KEY, sealing="batch", checkpoint_every=4)
    b = AuditChain(path, signer=KEY, sealing="batch", checkpoint_every=4)
    a.append_many([{"a": i} for i in range(3)])
    b.append_many([{"b": i} for i in range(3)])  # crosses size 4: b's tree must include a's
    a.append({"a": 3})
    assert [cp.size for cp in a.checkpoints] == [4]
    assert a.verify(require_sealed=False).ok and a.root() == b.root()
