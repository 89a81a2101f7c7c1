"""A memory store killed mid-dream reopens consistent, and the next dream finishes the job
exactly as an uninterrupted one would.

The child process is killed with ``os._exit`` from inside SQLite (a progress handler
that fires every N virtual-machine steps, so inside a write transaction, sometimes in
the middle of COMMIT) or from inside a plug-in between phases.
"""

import shutil
import subprocess
import sys
import textwrap

import pytest

from openmoe_bft.memory import MemoryPyramid
from openmoe_bft.store import Store

_CHILD = textwrap.dedent("""
    import os, sys
    from openmoe_bft.memory import MemoryPyramid, TopicClusterer
    path, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    p = MemoryPyramid(path)
    steps = [0]
    def tick():
        steps[0] += 1
        if mode == "sqlite" and steps[0] >= n:
            os._exit(17)
        return 0
    p.store._conn.set_progress_handler(tick, 50)
    clusterer = TopicClusterer()
    def dying_clusterer(atoms):
        os._exit(18)
    p.dream(clusterer=dying_clusterer if mode == "plugin" else clusterer)
    print(steps[0])
""")


def _conversation(n=60):
    cities = ["lyon", "oslo", "perth"]
    out = []
    for i in range(n):
        if i % 7 == 0:
            out.append((float(i), "user", f"I live in {cities[i % 3]} now"))
        elif i % 11 == 0:
            out.append((float(i), "assistant", "ok thanks"))
        else:
            out.append((float(i), "user", f"Project topic{i % 5} needs review by team{i % 4}. "
                                          f"Remember invoice {i} for client{i % 6}"))
    return out


def _snapshot(p):
    return (p.atoms, p.scenarios, p.traits, p.events, p.stats(),
            [p.provenance(a.id) for a in p.atoms])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    path = base / "seed.db"
    with MemoryPyramid(path) as p:
        for ts, role, text in _conversation():
            p.observe_message(ts, role, text)
    ref_path = base / "ref.db"
    shutil.copy(path, ref_path)
    with MemoryPyramid(ref_path) as ref:
        ref.dream()
        expected = _snapshot(ref)
    return base, path, expected


def _run_child(db, mode, n):
    return subprocess.run([sys.executable, "-c", _CHILD, str(db), mode, str(n)],
                          capture_output=True, text=True, timeout=120)


def _reopen_and_finish(db, expected):
    with MemoryPyramid(Store(db)) as p:
        assert p.check() == []
        p.dream()
        assert p.check() == []
        assert _snapshot(p) == expected


def test_killed_inside_sqlite_at_many_points(seeded):
    base, path, expected = seeded
    probe = base / "probe.db"
    shutil.copy(path, probe)
    done = _run_child(probe, "count", 0)
    assert done.returncode == 0, done.stderr
    total = int(done.stdout.strip())
    assert total > 20
    for i, frac in enumerate((0.03, 0.2, 0.4, 0.6, 0.8, 0.98)):
        db = base / f"kill{i}.db"
        shutil.copy(path, db)
        r = _run_child(db, "sqlite", max(1, int(total * frac)))
        assert r.returncode == 17, (frac, r.stderr)
        _reopen_and_finish(db, expected)


def test_killed_in_a_plugin_between_phases(seeded):
    base, path, expected = seeded
    db = base / "plugin.db"
    shutil.copy(path, db)
    r = _run_child(db, "plugin", 0)
    assert r.returncode == 18, r.stderr
    with MemoryPyramid(db) as p:
        assert p.check() == []
        s = p.stats()
        assert s["l1_atoms"] > 0 and s["l2_scenarios"] == 0  # distill committed, no more
        assert s["events_compacted"] == 0
    _reopen_and_finish(db, expected)


@pytest.mark.slow
def test_killed_inside_sqlite_sweep(tmp_path):
    """Soak: 40 kill points over a 400-event dream, each reopened, checked and finished."""
    path = tmp_path / "seed.db"
    with MemoryPyramid(path) as p:
        for ts, role, text in _conversation(400):
            p.observe_message(ts, role, text)
    ref = tmp_path / "ref.db"
    shutil.copy(path, ref)
    with MemoryPyramid(ref) as p:
        p.dream()
        expected = _snapshot(p)
    probe = tmp_path / "probe.db"
    shutil.copy(path, probe)
    total = int(_run_child(probe, "count", 0).stdout.strip())
    for i in range(40):
        db = tmp_path / f"k{i}.db"
        shutil.copy(path, db)
        r = _run_child(db, "sqlite", max(1, total * (2 * i + 1) // 80))
        assert r.returncode == 17, r.stderr
        _reopen_and_finish(db, expected)
        db.unlink()
