import json

import numpy as np
from typer.testing import CliRunner

from openmoe_bft import __version__
from openmoe_bft.cli import app

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def test_quorum_json_and_table():
    r = runner.invoke(app, ["quorum", "7", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.output) == {
        "num_nodes": 7, "tolerated_faults": 2, "quorum_size": 5, "decision_threshold": 5,
        "byzantine_safe": True,
    }
    r = runner.invoke(app, ["quorum", "3"])
    assert r.exit_code == 0 and "n < 4" in r.output


def test_quorum_bad_input_exits_2():
    for bad in ("0", "x", "-1"):
        r = runner.invoke(app, ["quorum", bad])
        assert r.exit_code == 2, bad
        assert "error" in r.output.lower()


def test_demo_json_zero_wrong_dispatches():
    r = runner.invoke(app, ["demo", "--tokens", "20000", "--json"])
    assert r.exit_code == 0, r.output
    within, over = json.loads(r.output)
    assert within["byzantine"] == 2 and within["dispatched"] == 20000 and within["wrong_dispatches"] == 0
    assert sorted(within["flagged_replicas"]) == ["replica-5", "replica-6"]
    assert over["byzantine"] == 3 and over["wrong_dispatches"] == 0 and over["withheld"] == 20000


def test_demo_table():
    r = runner.invoke(app, ["demo", "--tokens", "5000"])
    assert r.exit_code == 0 and "wrong dispatches" in r.output


def test_demo_bad_k():
    r = runner.invoke(app, ["demo", "--k", "64"])
    assert r.exit_code == 2


def test_settle_file(tmp_path):
    p = np.array([[[0, 1], [2, 3]], [[1, 0], [2, 3]], [[0, 1], [3, 2]], [[5, 6], [2, 3]]])
    path = tmp_path / "p.npy"
    np.save(path, p)
    r = runner.invoke(app, ["settle", str(path), "-e", "8", "--json"])
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["dispatched"] == 2 and data["flagged_replicas"] == ["replica-3"]
    r = runner.invoke(app, ["settle", str(tmp_path / "missing.npy"), "-e", "8"])
    assert r.exit_code == 2


def test_demo_bad_sizes_exit_2_instead_of_hanging():
    for args in (["--tokens", "0"], ["--replicas", "0"]):
        r = runner.invoke(app, ["demo", *args])
        assert r.exit_code == 2, args


def test_route_json_and_npy(tmp_path):
    scores = [[3.0, 1.0, 0.0]] * 5 + [[-1e6, 1e6, 0.0]] * 2
    path = tmp_path / "scores.json"
    path.write_text(json.dumps(scores))
    r = runner.invoke(app, ["route", str(path), "--method", "krum", "-f", "2", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["winners"] == 0
    r = runner.invoke(app, ["route", str(path), "-f", "2"])
    assert r.exit_code == 0 and "winner: 0" in r.output
    batch = np.repeat(np.array(scores)[:, None, :], 6, axis=1)
    npy = tmp_path / "batch.npy"
    np.save(npy, batch)
    r = runner.invoke(app, ["route", str(npy), "-f", "2", "-k", "2", "--json"])
    assert json.loads(r.output)["winners"] == [[0, 1]] * 6
    r = runner.invoke(app, ["route", str(npy), "-f", "2"])
    assert r.exit_code == 0 and "6" in r.output


def test_route_bad_input_exit_2(tmp_path):
    path = tmp_path / "scores.json"
    path.write_text(json.dumps([[1.0, 2.0]] * 4))
    r = runner.invoke(app, ["route", str(path), "--method", "krum", "-f", "1"])
    assert r.exit_code == 2 and "n >= 2f + 3" in r.output
    r = runner.invoke(app, ["route", str(tmp_path / "missing.npy")])
    assert r.exit_code == 2


def test_demo_backend_ray_kills_two_and_misroutes_nothing():
    import pytest

    pytest.importorskip("ray")
    r = runner.invoke(app, ["demo", "--backend", "ray", "--tokens", "8192", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output[r.output.index("{"):])
    assert data["before"]["wrong_dispatches"] == data["after"]["wrong_dispatches"] == 0
    assert data["after"]["live_replicas"] == 5 and len(data["killed"]) == 2


def test_demo_rejects_an_unknown_backend():
    r = runner.invoke(app, ["demo", "--backend", "nope"])
    assert r.exit_code == 2 and "inprocess or ray" in r.output
