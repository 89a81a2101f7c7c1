"""`openmoe-bft receipts ...`: keygen, append, export, verify, prove, verify-proof."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openmoe_bft.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["receipts", *map(str, args)])


@pytest.fixture
def exported(tmp_path):
    key = tmp_path / "ops.key"
    assert _run("keygen", key).exit_code == 0
    assert (key.stat().st_mode & 0o777) == 0o600
    db = tmp_path / "audit.db"
    for i in range(5):
        res = _run("append", json.dumps({"i": i}), "--store", db, "--key", key, "--trace-id", "t")
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["seq"] == i
    out = tmp_path / "audit.jsonl"
    res = _run("export", "--store", db, "--out", out, "--key", key)
    assert res.exit_code == 0 and json.loads(res.output)["entries"] == 5
    return tmp_path, key, db, out


def test_export_verifies_offline(exported):
    tmp, key, _, out = exported
    res = _run("verify", out, "--pubkey", f"{key}.pub", "--json")
    assert res.exit_code == 0 and json.loads(res.output)["ok"] is True


def test_tampered_export_exits_1_and_names_the_entry(exported):
    tmp, key, _, out = exported
    out.write_bytes(out.read_bytes().replace(b'{"i":3}', b'{"i":4}'))
    res = _run("verify", out, "--pubkey", f"{key}.pub")
    assert res.exit_code == 1 and "TAMPERED at entry 3" in res.output


def test_the_wrong_public_key_exits_1(exported, tmp_path):
    _, _, _, out = exported
    other = tmp_path / "other.key"
    _run("keygen", other)
    assert _run("verify", out, "--pubkey", f"{other}.pub").exit_code == 1


@pytest.mark.parametrize("args", [
    ["verify", "missing.jsonl", "--pubkey", "missing.pub"],
    ["verify", "{out}"],
    ["verify", "{out}", "--pubkey", "{out}"],
    ["prove", "0"],
    ["prove", "99", "--file", "{out}"],
    ["append", "not json", "--store", "{db}"],
    ["export", "--store", "nope.db", "--out", "x.jsonl"],
    ["keygen", "{key}"],
])
def test_bad_input_exits_2(exported, args):
    _, key, db, out = exported
    res = _run(*[a.format(out=out, db=db, key=key) for a in args])
    assert res.exit_code == 2, res.output


@pytest.mark.parametrize("source", ["--store", "--file"])
def test_prove_then_verify_proof_with_the_public_key(exported, source):
    tmp, key, db, out = exported
    res = _run("prove", 2, source, db if source == "--store" else out)
    assert res.exit_code == 0, res.output
    proof = tmp / "proof.json"
    proof.write_text(res.output)
    assert json.loads(res.output)["checkpoint"] is not None
    assert _run("verify-proof", proof, "--pubkey", f"{key}.pub").exit_code == 0
    data = json.loads(res.output)
    data["entry_hash"] = "0" * 64
    proof.write_text(json.dumps(data))
    assert _run("verify-proof", proof, "--pubkey", f"{key}.pub").exit_code == 1
    proof.write_text("[1, 2]")
    assert _run("verify-proof", proof, "--pubkey", f"{key}.pub").exit_code == 2
