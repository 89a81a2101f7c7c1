"""``openmoe-bft memory ...`` through its typer sub-app."""

import json

from typer.testing import CliRunner

from openmoe_bft.memory.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_observe_dream_recall_stats_show_check(tmp_path):
    db = tmp_path / "m.db"
    r = run("observe", "I live in Lisbon and I surf every weekend", "--store", db,
            "--timestamp", 10)
    assert r.exit_code == 0 and r.stdout.strip().startswith("ev-")
    assert run("observe", "ok", "--store", db, "--timestamp", 11).exit_code == 0
    r = run("dream", "--store", db, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["atoms_added"] >= 1 and d["events_compacted"] == 1
    r = run("recall", "lisbon", "--store", db, "--json", "-k", 3)
    assert r.exit_code == 0
    hits = json.loads(r.stdout)
    assert hits and all("lisbon" in h["text"].lower() for h in hits)
    r = run("recall", "lisbon", "--store", db, "--tier", "L1")
    assert r.exit_code == 0 and r.stdout.startswith("L1 ")
    assert run("recall", "nothingmatches", "--store", db).exit_code == 1
    s = json.loads(run("stats", "--store", db, "--json").stdout)
    assert s["l0_events"] == 1 and s["raw_chars_ever"] == len(
        "I live in Lisbon and I surf every weekend") + 2
    atom_id = next(h["id"] for h in hits if h["tier"] == "L1")
    prov = json.loads(run("show", atom_id, "--store", db).stdout)
    assert prov["tier"] == "L1" and prov["events"][0]["compacted"] is True
    r = run("check", "--store", db)
    assert r.exit_code == 0 and "OK" in r.stdout
    r = run("dream", "--store", db)
    assert r.exit_code == 0 and "atoms +0" in r.stdout


def test_import_jsonl_and_bad_input(tmp_path):
    db = tmp_path / "m.db"
    f = tmp_path / "events.jsonl"
    f.write_text("\n".join(json.dumps(e) for e in [
        {"timestamp": 1, "role": "user", "content": "alpha"},
        {"timestamp": 2, "role": "user", "content": "beta", "meta": {"ch": "x"}},
        {"timestamp": 1, "role": "user", "content": "alpha"},
    ]) + "\n")
    r = run("import", f, "--store", db, "--tokenizer", "words")
    assert r.exit_code == 0 and json.loads(r.stdout) == {"read": 3, "new": 2}
    assert json.loads(run("stats", "--store", db, "--json").stdout)["tokenizer"] == "words"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"timestamp": 1, "role": "user"}\n')
    r = run("import", bad, "--store", db)
    assert r.exit_code == 2 and "bad.jsonl:1" in r.output
    assert run("recall", "x", "--store", tmp_path / "missing.db").exit_code == 2
    assert run("recall", "alpha", "--store", db, "--tier", "L7").exit_code == 2
    assert run("show", "no-such-id", "--store", db).exit_code == 2
    assert run("observe", "x", "--store", db, "--tokenizer", "chars").exit_code == 2


def test_check_reports_problems(tmp_path):
    from openmoe_bft.memory import MemoryPyramid

    db = tmp_path / "m.db"
    with MemoryPyramid(db) as p:
        p.observe_message(1.0, "user", "the quick brown fox")
        p.store.query("DELETE FROM mem_fts")  # simulate a damaged index
    r = run("check", "--store", db)
    assert r.exit_code == 1 and "FTS index out of step" in r.stdout
