"""`openmoe-bft covenant ...` sub-app: exit codes 0 / 1 / 2 and --json output."""

import json

from typer.testing import CliRunner

from openmoe_bft.covenants import CovenantRegistry
from openmoe_bft.covenants.cli import app
from openmoe_bft.receipts import AuditChain

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_inscribe_audit_trust_round_trip(tmp_path):
    db = tmp_path / "t.db"
    r = run("inscribe", "bot", "--allow", "spend", "--allow", "read", "--store", db,
            "--constraints", '{"max_cost_usd": 1}', "--timestamp", 1000, "--seal", "--json")
    assert r.exit_code == 0, r.output
    cov = json.loads(r.output)
    assert cov["allowed_actions"] == ["read", "spend"] and len(cov["covenant_id"]) == 64

    ok = run("audit", "--agent", "bot", "--action", "spend", "--payload", '{"cost_usd": 0.5}',
             "--store", db, "--timestamp", 1001)
    assert ok.exit_code == 0 and "COMPLIANT" in ok.output
    bad = run("audit", "--agent", "bot", "--action", "spend", "--payload", '{"cost_usd": 5}',
              "--store", db, "--timestamp", 1002, "--seal", "--json")
    assert bad.exit_code == 1
    verdict = json.loads(bad.output)
    assert verdict["constraint"] == "max_cost_usd" and verdict["severity"] == "major"
    dry = run("audit", "--agent", "bot", "--action", "rm", "--store", db, "--dry-run")
    assert dry.exit_code == 1 and "critical" in dry.output

    assert run("vouch", "alice", "bot", "--store", db, "--weight", 2).exit_code == 0
    t = run("trust", "--store", db, "--json", "--pretrusted", "alice")
    assert t.exit_code == 0, t.output
    rows = {row["agent"]: row for row in json.loads(t.output)["agents"]}
    assert rows["bot"]["own"] == 0.8 and rows["bot"]["breaches"] == 1
    assert rows["bot"]["actions"] == 2  # the dry run recorded nothing
    assert abs(sum(r["global"] for r in rows.values()) - 1.0) < 1e-9
    table = run("trust", "--store", db)
    assert table.exit_code == 0 and "bot" in table.output

    with CovenantRegistry(db) as reg:
        chain = AuditChain(reg.store)
        kinds = [x.payload["type"] for x in chain.receipts]
        assert kinds == ["covenant.inscribed", "covenant.breach"] and chain.verify().ok


def test_bad_input_exits_2(tmp_path):
    db = tmp_path / "t.db"
    assert run("audit", "--agent", "a", "--action", "x", "--store", db).exit_code == 2
    assert run("trust", "--store", db).exit_code == 2
    assert run("inscribe", "a", "--allow", "x", "--store", db,
               "--constraints", "{nope").exit_code == 2
    assert run("inscribe", "a", "--allow", "x", "--store", db,
               "--constraints", '{"rate_limit": 3}').exit_code == 2
    assert run("vouch", "a", "a", "--store", db).exit_code == 2
    run("inscribe", "a", "--allow", "x", "--store", db)
    assert run("audit", "--agent", "a", "--action", "x", "--store", db,
               "--payload", "[1]").exit_code == 2
    assert run("trust", "zed", "--store", db).exit_code == 2
