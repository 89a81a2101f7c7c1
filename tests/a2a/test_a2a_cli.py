"""``openmoe-bft a2a validate``: exit codes, JSON output, sealing, keys."""

from __future__ import annotations

import json

import pytest
from _a2a_corpus import card_with_fields, minimal_card
from typer.testing import CliRunner

from openmoe_bft.a2a.cli import app
from openmoe_bft.receipts import AuditChain

runner = CliRunner()


def _write(tmp_path, name, card):
    path = tmp_path / name
    path.write_text(json.dumps(card), encoding="utf-8")
    return str(path)


def test_a_compliant_card_exits_0(tmp_path):
    r = runner.invoke(app, ["validate", _write(tmp_path, "ok.json", card_with_fields()),
                            "--today", "2026-11-25"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("COMPLIANT") and "14/14" in r.output


def test_a_non_compliant_card_exits_1_and_lists_what_to_add(tmp_path):
    r = runner.invoke(app, ["validate", _write(tmp_path, "bare.json", minimal_card())])
    assert r.exit_code == 1
    assert "NOT COMPLIANT" in r.output and "add Expert #14" in r.output


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[]", b"[" * 5000])
def test_bad_input_exits_2(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    r = runner.invoke(app, ["validate", str(path)])
    assert r.exit_code == 2


def test_missing_file_and_bad_scheme_exit_2(tmp_path):
    assert runner.invoke(app, ["validate", str(tmp_path / "nope.json")]).exit_code == 2
    assert runner.invoke(app, ["validate", "gopher://example.com/"]).exit_code == 2


def test_json_output_and_seal(tmp_path):
    store = tmp_path / "verdicts.db"
    r = runner.invoke(app, ["validate", _write(tmp_path, "ok.json", card_with_fields()),
                            "--today", "2026-11-25", "--json", "--seal", str(store)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["compliant"] is True and out["experts_missing"] == []
    with AuditChain(store) as chain:
        assert len(chain) == 1 and chain.verify().ok
        assert chain.receipts[0].receipt_id == out["receipt_id"]


def test_key_option_verifies_signatures(tmp_path):
    pytest.importorskip("joserfc")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from openmoe_bft.a2a import sign_card

    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "pub.pem").write_bytes(pem)
    signed = sign_card(card_with_fields(), key, kid="k")
    path = _write(tmp_path, "signed.json", signed)
    args = ["validate", path, "--today", "2026-11-25", "--require-signature"]
    assert runner.invoke(app, args).exit_code == 1  # unverifiable without the key
    r = runner.invoke(app, [*args, "--key", str(tmp_path / "pub.pem")])
    assert r.exit_code == 0 and "VALID" in r.output
    signed["name"] = "tampered"
    path = _write(tmp_path, "tampered.json", signed)
    r = runner.invoke(app, ["validate", path, "--key", str(tmp_path / "pub.pem")])
    assert r.exit_code == 1 and "INVALID" in r.output


def test_extension_prints_the_block():
    r = runner.invoke(app, ["extension"])
    block = json.loads(r.output)
    assert block["uri"].endswith("/extensions/openscore/v1")
    assert "riskAssessment" in block["params"] and len(block["params"]) == 14


def test_sdk_option_uses_a2a_sdk_types(tmp_path):
    pytest.importorskip("a2a.types")
    card = card_with_fields()
    card["skills"][0]["tags"] = "maps"  # a string where the proto wants a list
    r = runner.invoke(app, ["validate", _write(tmp_path, "c.json", card), "--sdk", "--json",
                            "--today", "2026-11-25"])
    assert r.exit_code == 1
    out = json.loads(r.output)
    assert out["structure"]["sdk"] is True
    assert any(i["message"].startswith("a2a-sdk") for i in out["structure"]["issues"])
