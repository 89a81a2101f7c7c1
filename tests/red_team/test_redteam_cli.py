"""The ``red-team`` typer sub-app: exit codes 0 / 1 / 2, --json, log, store, markdown."""

import json

from typer.testing import CliRunner

from openmoe_bft.receipts import AuditChain
from openmoe_bft.red_team.cli import app

runner = CliRunner()


def test_scan_hardened_exits_0_and_vulnerable_exits_1():
    ok = runner.invoke(app, ["scan", "--target", "builtin:hardened"])
    assert ok.exit_code == 0, ok.output
    assert "risk score 1.000" in ok.output and "RT-DATA-EXFIL" in ok.output
    bad = runner.invoke(app, ["scan", "--target", "builtin:vulnerable", "-s", "api_abuse"])
    assert bad.exit_code == 1 and "landed" in bad.output


def test_scan_json_and_fail_under(vulnerable_url):
    r = runner.invoke(app, ["scan", "-t", vulnerable_url, "--json", "-s", "RT-BFLA,RT-PROMPT-SEND",
                            "--canary", "KW-90417735", "-c", "4"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert [x["strategy_id"] for x in data["results"]] == ["RT-BFLA", "RT-PROMPT-SEND"]
    assert data["succeeded"] == 2 and "attempts" not in data["results"][0]
    r = runner.invoke(app, ["scan", "-t", vulnerable_url, "-s", "RT-BFLA", "--fail-under", "0"])
    assert r.exit_code == 0


def test_scan_writes_log_markdown_and_seals(tmp_path):
    log, md, store = tmp_path / "a.jsonl", tmp_path / "r.md", tmp_path / "receipts.db"
    r = runner.invoke(app, ["scan", "-t", "builtin:hardened", "-s", "multi_turn", "--log",
                            str(log), "--markdown", str(md), "--store", str(store)])
    assert r.exit_code == 0, r.output
    assert "sealed as" in r.output
    assert sum(1 for line in log.read_text().splitlines()
               if json.loads(line)["entry_type"] == "attempt") == 11
    assert md.read_text().startswith("# Red-team report: `builtin:hardened`")
    with AuditChain(store) as chain:
        assert len(chain) == 1 and chain.verify().ok
    rep = runner.invoke(app, ["replay", str(log)])
    assert rep.exit_code == 0 and "11 attempts replayed, 0 disagree" in rep.output


def test_bad_input_exits_2(tmp_path):
    for args in (["scan", "-t", "nonsense"], ["scan", "-t", "builtin:x"],
                 ["scan", "-t", "builtin:hardened", "-s", "RT-NOPE"],
                 ["scan", "-t", "{not json"], ["scan", "-t", "builtin:hardened",
                                                "--fail-under", "2"],
                 ["replay", str(tmp_path / "missing.jsonl")]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)


def test_json_target_spec_and_strategies_listing():
    r = runner.invoke(app, ["scan", "-t", '{"kind": "builtin", "name": "hardened"}', "-s",
                            "data_exfil", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["target_id"] == "builtin:hardened"
    r = runner.invoke(app, ["strategies", "--json"])
    rows = json.loads(r.output)
    assert r.exit_code == 0 and len(rows) == 8 and all(row["probes"] >= 4 for row in rows)


def test_progress_bar_runs(tmp_path):
    r = runner.invoke(app, ["scan", "-t", "builtin:hardened", "-s", "RT-BFLA", "--progress"])
    assert r.exit_code == 0
