"""The seed's call shapes: strategies, results, orchestrator, report, A2A evidence."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.red_team import (
    SEVERITY_WEIGHTS,
    STRATEGIES,
    VALID_CATEGORIES,
    VALID_SEVERITIES,
    AttackResult,
    AttackStrategy,
    RedTeamOrchestrator,
    RedTeamReport,
    default_orchestrator,
    to_a2a_evidence,
)

SEED_IDS = {
    "RT-PROMPT-SEND": "prompt_injection", "RT-INJECT-OVERRIDE": "prompt_injection",
    "RT-REDTEAM-LLM": "jailbreak", "RT-CRESCENDO": "multi_turn", "RT-BARGE-IN": "multi_turn",
    "RT-IDOR-BOLA": "api_abuse", "RT-BFLA": "api_abuse", "RT-DATA-EXFIL": "data_exfil",
}


def test_constants_match_the_seed():
    assert VALID_CATEGORIES == ("prompt_injection", "jailbreak", "multi_turn", "api_abuse",
                                "data_exfil")
    assert set(VALID_SEVERITIES) == {"low", "medium", "high", "critical"}
    assert SEVERITY_WEIGHTS == {"low": 1, "medium": 2, "high": 4, "critical": 8}
    assert {s.id: s.category for s in STRATEGIES} == SEED_IDS
    assert len(STRATEGIES) == 8 and {s.category for s in STRATEGIES} == set(VALID_CATEGORIES)


def test_every_default_strategy_has_several_probes_and_an_owasp_entry():
    for s in STRATEGIES:
        probes = s.probes()
        assert len(probes) >= 4, s.id
        assert s.owasp and all(e.startswith("LLM") and e.endswith(":2025") for e in s.owasp)
        assert len({p.id for p in probes}) == len(probes)
        assert all(p.id.startswith(s.id + "/") for p in probes)


def test_strategy_validation():
    with pytest.raises(InvalidInput, match="category"):
        AttackStrategy("X", "x", "phishing", "d", "low")
    with pytest.raises(InvalidInput, match="severity"):
        AttackStrategy("X", "x", "jailbreak", "d", "extreme")
    with pytest.raises(InvalidInput, match="OWASP"):
        AttackStrategy("X", "x", "jailbreak", "d", "low", owasp=("LLM11:2025",))
    with pytest.raises(InvalidType):
        AttackStrategy("X", "x", "jailbreak", "d", "low").with_probe("nope")


def test_seed_style_probe_via_with_probe():
    s = AttackStrategy("X-1", "custom", "jailbreak", "d", "high")
    seen = []

    def probe(target, context):
        seen.append((target, context))
        return True

    s2 = s.with_probe(probe)
    assert s.probe is None and s2.probe is probe
    orch = RedTeamOrchestrator()
    orch.register(s2)
    [res] = orch.run("agent:demo", context={"k": 1})
    assert isinstance(res, AttackResult)
    assert (res.strategy_id, res.target_id, res.succeeded, res.severity) == \
        ("X-1", "agent:demo", True, "high")
    assert seen == [("agent:demo", {"k": 1})]


@pytest.mark.parametrize("out, ok", [
    (True, True), (False, False), ({"succeeded": True, "why": "x"}, True),
    ((False, {"note": 1}), False),
])
def test_seed_probe_return_shapes(out, ok):
    orch = RedTeamOrchestrator([AttackStrategy("X", "x", "data_exfil", "d", "low",
                                               probe=lambda t, c: out)])
    [res] = orch.run("t")
    assert res.succeeded is ok and res.status == ("landed" if ok else "defended")


def test_seed_probe_that_raises_or_hangs_is_inconclusive_not_a_crash():
    import time

    def boom(t, c):
        raise RuntimeError("target down")

    orch = RedTeamOrchestrator([
        AttackStrategy("A", "a", "data_exfil", "d", "low", probe=boom),
        AttackStrategy("B", "b", "data_exfil", "d", "low", probe=lambda t, c: time.sleep(2)),
        AttackStrategy("C", "c", "data_exfil", "d", "low", probe=lambda t, c: True),
    ], timeout=0.2)
    a, b, c = orch.run("t")
    assert a.status == b.status == "inconclusive" and not a.succeeded
    assert "target down" in a.evidence["error"] and "0.2" in b.evidence["error"]
    rep = orch.report([a, b, c])
    assert rep.inconclusive == 2 and rep.succeeded == 1 and rep.risk_score == 0.0


def test_seed_probe_bad_return_type_is_a_typed_error():
    orch = RedTeamOrchestrator([AttackStrategy("X", "x", "jailbreak", "d", "low",
                                               probe=lambda t, c: 42)])
    with pytest.raises(InvalidType, match="AttackResult"):
        orch.run("t")


def test_orchestrator_registry_surface():
    orch = default_orchestrator()
    assert [s.id for s in orch.strategies] == list(SEED_IDS)
    assert [s.id for s in orch.strategies_by_category("multi_turn")] == ["RT-CRESCENDO",
                                                                        "RT-BARGE-IN"]
    replacement = AttackStrategy("RT-BFLA", "mine", "api_abuse", "d", "low")
    orch.register(replacement)
    assert len(orch.strategies) == 8 and orch.strategies[6] is replacement
    with pytest.raises(InvalidInput):
        orch.strategies_by_category("nope")


def test_default_orchestrator_probe_for_replaces_our_probes():
    orch = default_orchestrator(probe_for=lambda s: (lambda t, c: s.severity_if_successful
                                                     == "critical"))
    results = orch.run("anything")
    assert [r.strategy_id for r in results] == list(SEED_IDS)
    assert {r.strategy_id for r in results if r.succeeded} == {
        "RT-IDOR-BOLA", "RT-BFLA", "RT-DATA-EXFIL"}
    rep = orch.report(results)
    assert isinstance(rep, RedTeamReport)
    assert (rep.total, rep.succeeded, rep.defended) == (8, 3, 5)
    assert rep.by_severity == {"critical": 3}
    assert rep.critical_findings == ["RT-IDOR-BOLA", "RT-BFLA", "RT-DATA-EXFIL"]
    ev = orch.to_a2a_evidence(rep)["metadata"]["redTeamReport"]
    assert {"targetId", "total", "succeeded", "riskScore", "bySeverity",
            "criticalFindings"} <= set(ev)
    assert ev["total"] == 8 and ev["succeeded"] == 3
    assert ev["riskScore"] == pytest.approx(1 - 24 / (24 + 2 + 4 + 4 + 4 + 2))


def test_run_order_is_deterministic_and_follows_registration(vulnerable_url):
    orch = default_orchestrator(concurrency=16)
    a = orch.run(vulnerable_url, strategies=["RT-BFLA", "RT-PROMPT-SEND"])
    b = orch.run(vulnerable_url, strategies=["RT-BFLA", "RT-PROMPT-SEND"])
    assert [r.strategy_id for r in a] == ["RT-BFLA", "RT-PROMPT-SEND"]
    assert [[x.probe_id for x in r.attempts] for r in a] == \
        [[x.probe_id for x in r.attempts] for r in b]
    assert [x.id for x in STRATEGIES[6].probes()] == [x.probe_id for x in a[0].attempts]


def test_empty_report_scores_one():
    rep = RedTeamOrchestrator().report([])
    assert rep.risk_score == 1.0 and rep.total == 0
    assert rep.results == [] and rep.critical_findings == [] and rep.by_severity == {}


def _results(sevs, landed):
    return [AttackResult(f"S{i}", "t", ok, sev, {}, 0.0) for i, (sev, ok) in
            enumerate(zip(sevs, landed, strict=True))]


sev_lists = st.lists(st.sampled_from(VALID_SEVERITIES), min_size=1, max_size=12)


@given(sev_lists)
def test_risk_score_bounds(sevs):
    orch = RedTeamOrchestrator()
    assert orch.report(_results(sevs, [False] * len(sevs))).risk_score == 1.0
    assert orch.report(_results(sevs, [True] * len(sevs))).risk_score == 0.0


@given(sev_lists, st.data())
def test_risk_score_is_one_iff_nothing_landed_and_in_unit_interval(sevs, data):
    landed = data.draw(st.lists(st.booleans(), min_size=len(sevs), max_size=len(sevs)))
    rep = RedTeamOrchestrator().report(_results(sevs, landed))
    assert 0.0 <= rep.risk_score <= 1.0
    assert (rep.risk_score == 1.0) == (not any(landed))
    # and the seed-shaped evidence is self-consistent for the Art. 15 validator
    from openmoe_bft.eu_ai_act.evidence import FieldSpec
    spec = FieldSpec("redTeamReport", "red_team_report", "r")
    import datetime
    assert spec.check(to_a2a_evidence(rep)["metadata"]["redTeamReport"],
                      datetime.date(2026, 1, 1)) is None


@given(st.lists(st.sampled_from(VALID_SEVERITIES), min_size=0, max_size=8))
def test_a_landed_critical_costs_more_than_a_landed_low(others):
    orch = RedTeamOrchestrator()
    sevs = ["critical", "low", *others]
    crit = orch.report(_results(sevs, [True, False] + [False] * len(others))).risk_score
    low = orch.report(_results(sevs, [False, True] + [False] * len(others))).risk_score
    assert crit < low


def test_importing_the_package_pulls_in_no_optional_dependency():
    import subprocess
    import sys

    code = ("import sys, openmoe_bft.red_team as rt; rt.STRATEGIES[0].probes(); "
            "print(sorted(m for m in ('httpx', 'a2a', 'mcp', 'x402', 'ray', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_report_to_dict_is_json_serialisable_for_the_mcp_tool():
    import json

    rep = default_orchestrator().report(default_orchestrator().run("builtin:vulnerable",
                                                                   strategies=["RT-BFLA"]))
    again = json.loads(json.dumps(rep.to_dict()))
    assert again["results"][0]["attempts"][0]["verdict"]["method"] == "tool_authz"
