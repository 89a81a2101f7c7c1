"""``openmoe-bft distributed demo`` (in-process backend; the Ray run is in the Ray tests)."""

import json
import sys

import pytest
from typer.testing import CliRunner

from openmoe_bft.distributed.cli import app
from openmoe_bft.distributed.demo import render_demo, run_distributed_demo
from openmoe_bft.errors import InvalidInput, MissingDependency

SMALL = ["--backend", "inprocess", "--tokens", "8192", "--batch", "2048", "--experts", "16"]


def test_inprocess_demo_json_shows_zero_wrong_dispatches():
    res = CliRunner().invoke(app, ["demo", *SMALL, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["backend"] == "inprocess" and data["ok"] and data["wrong_dispatches"] == 0
    assert data["before"]["live_replicas"] == 7 and data["after"]["live_replicas"] == 5
    assert data["before"]["dispatched"] == data["after"]["dispatched"] == 4096


def test_killing_more_than_f_withholds_but_still_exits_ok():
    res = CliRunner().invoke(app, ["demo", *SMALL, "--kill", "3", "--json"])
    assert res.exit_code == 0, res.output
    after = json.loads(res.output)["after"]
    assert after["dispatched"] == 0 and after["withheld"] == 4096 and after["wrong_dispatches"] == 0


def test_table_output_and_bad_input_exit_codes():
    res = CliRunner().invoke(app, ["demo", *SMALL])
    assert res.exit_code == 0 and "wrong dispatches" in res.output
    bad = CliRunner().invoke(app, ["demo", "--backend", "carrier-pigeon"])
    assert bad.exit_code == 2 and "carrier-pigeon" in bad.output
    one = CliRunner().invoke(app, ["demo", *SMALL, "--tokens", "1"])
    assert one.exit_code == 2 and "at least 2 tokens" in one.output
    small = CliRunner().invoke(app, ["demo", *SMALL, "--tokens", "100", "--json"])
    assert small.exit_code == 0 and json.loads(small.output)["batch"] == 50


def test_demo_result_round_trips_and_renders():
    r = run_distributed_demo(backend="inprocess", tokens=4096, batch=1024, experts=16,
                             replicas=4, kill=1)
    assert r.ok and r.f == 1 and r.killed == ("replica-3",)
    assert r.to_dict()["tokens"] == 4096 and r.before.tokens_per_s > 0
    assert render_demo(r).row_count == 7
    with pytest.raises(InvalidInput):
        run_distributed_demo(backend="inprocess", kill=9)


def test_ray_backend_without_ray_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    from openmoe_bft.distributed import RayBackend, TopK

    with pytest.raises(MissingDependency, match=r"openmoe-bft\[ray\]"):
        RayBackend([TopK(2)] * 4)
