"""``openmoe-bft eu-ai-act ...`` (the sub-app, driven through CliRunner)."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from openmoe_bft.eu_ai_act import CHECKS, evidence_schema
from openmoe_bft.eu_ai_act.cli import app
from openmoe_bft.eu_ai_act.samples import sample_evidence

TODAY = "2026-11-25"
runner = CliRunner()


def run(*args: str, input: str | bytes | None = None):
    return runner.invoke(app, list(args), input=input)


def write(tmp_path, doc, name="evidence.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_compliant_file_exits_0(tmp_path):
    result = run("evaluate", write(tmp_path, sample_evidence(TODAY)), "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("COMPLIANT: score 1.000, evidenced 1.000")


def test_not_compliant_exits_1_and_lists_what_is_wrong(tmp_path):
    doc = {"metadata.riskAssessment": True, "metadata": {"eventLogging": {"automatic": False}}}
    result = run("evaluate", write(tmp_path, doc), "--today", TODAY)
    assert result.exit_code == 1
    assert result.output.startswith("NOT COMPLIANT")
    assert "ATTESTED EUAIACT-ART9-002" in result.output
    assert "FAIL     EUAIACT-ART12-001" in result.output and "automatic: is false" in result.output


def test_json_output(tmp_path):
    result = run("evaluate", write(tmp_path, {}), "--json", "--today", TODAY)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["compliant"] is False and data["score"] == 0.0 and data["today"] == TODAY
    assert len(data["results"]) == len(CHECKS)


def test_markdown_output(tmp_path):
    result = run("evaluate", write(tmp_path, sample_evidence(TODAY)), "--markdown",
                 "--today", TODAY)
    assert result.exit_code == 0
    assert result.output.startswith("# EU AI Act")
    assert "**COMPLIANT**" in result.output


def test_stdin(tmp_path):
    result = run("evaluate", "-", "--today", TODAY,
                 input=json.dumps({c.evidence_field: True for c in CHECKS}))
    assert result.exit_code == 0


@pytest.mark.parametrize(("content", "phrase"), [
    ("[1, 2]", "must be a JSON object"),
    ('"metadata"', "must be a JSON object"),
    ("{not json", "is not JSON"),
    (b"\xff\xfe{}", "is not UTF-8"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("", "is not JSON"),
])
def test_bad_input_exits_2(tmp_path, content, phrase):
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = run("evaluate", str(path))
    assert result.exit_code == 2
    assert phrase in result.output


def test_missing_file_bad_today_and_both_formats_exit_2(tmp_path):
    assert run("evaluate", str(tmp_path / "nope.json")).exit_code == 2
    good = write(tmp_path, {})
    r = run("evaluate", good, "--today", "tomorrow-ish")
    assert r.exit_code == 2 and "today" in r.output
    r = run("evaluate", good, "--json", "--markdown")
    assert r.exit_code == 2 and "at most one" in r.output


def test_oversized_file_exits_2(tmp_path, monkeypatch):
    from openmoe_bft.eu_ai_act import cli

    monkeypatch.setattr(cli, "MAX_FILE_BYTES", 10)
    r = run("evaluate", write(tmp_path, {"metadata.riskAssessment": True}))
    assert r.exit_code == 2 and "larger than" in r.output


def test_schema_prints_the_json_schema():
    result = run("schema")
    assert result.exit_code == 0
    assert json.loads(result.output) == evidence_schema()


def test_checks_lists_the_nineteen():
    result = run("checks")
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 19 and lines[0].startswith("EUAIACT-ART9-001   Art. 9(1)")
    data = json.loads(run("checks", "--json").output)
    assert [c["id"] for c in data] == [c.id for c in CHECKS]


def test_template_round_trips_through_evaluate(tmp_path):
    result = run("template", "--today", TODAY)
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc == sample_evidence(date(2026, 11, 25))
    flat = json.loads(run("template", "--today", TODAY, "--flat").output)
    assert "metadata.riskAssessment" in flat
    assert run("evaluate", write(tmp_path, flat), "--today", TODAY).exit_code == 0
    assert run("template", "--today", "never").exit_code == 2


def test_tier_command():
    r = run("tier", "--annex-iii", "employment", "--interacts", "--today", "2026-08-01")
    assert r.exit_code == 0
    assert r.output.startswith("high-risk (judged on 2026-08-01)")
    assert "Art. 8-15                    applies from 2026-08-02" in r.output
    data = json.loads(run("tier", "--annex-iii", "employment", "--omnibus", "--json",
                          "--today", TODAY).output)
    assert data["tier"] == "high-risk"
    assert any(o["applies_from"] == "2027-12-02" for o in data["obligations"])
    assert json.loads(run("tier", "--json", "--today", TODAY).output)["tier"] == "minimal"
    assert json.loads(run("tier", "--prohibited", "social-scoring", "--json").output)[
        "tier"] == "prohibited"
    bad = run("tier", "--annex-iii", "astrology")
    assert bad.exit_code == 2 and "unknown annex_iii_area" in bad.output
