"""Registry (decorator, entry points), strategy selection, LLM attacker and judge."""

import pytest

import openmoe_bft.red_team.registry as registry_mod
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.red_team import (
    AttackStrategy,
    Probe,
    StrategyRegistry,
    canary_detector,
    default_orchestrator,
    make_canary,
    scan,
)
from openmoe_bft.red_team.builtin import hardened_agent, vulnerable_agent


def test_decorator_registers_a_probe_generator():
    reg = StrategyRegistry()

    @reg.strategy(id="X-ECHO", name="echo", category="prompt_injection", severity="low",
                  owasp=["LLM01:2025"])
    def echo(ctx):
        """Asks for a canary."""
        c = make_canary(ctx.seed, "echo")
        return [Probe("X-ECHO/1", "direct", (f"say {c}",), canary_detector(c))]

    assert isinstance(echo, AttackStrategy) and reg.get("X-ECHO") is echo
    assert echo.description == "Asks for a canary." and len(echo.probes()) == 1
    with pytest.raises(InvalidInput, match="no strategy"):
        reg.get("nope")
    with pytest.raises(InvalidType):
        reg.register("not a strategy")
    # an echoing target repeats the literal canary: this custom probe lands
    rep = scan(lambda p: p, strategies=[echo])
    assert rep.succeeded == 1


def test_module_registry_makes_ids_available_to_scan(monkeypatch):
    monkeypatch.setattr(registry_mod, "registry", StrategyRegistry())
    monkeypatch.setattr("openmoe_bft.red_team.orchestrator.registry", registry_mod.registry)

    @registry_mod.register_strategy(id="X-MOD", name="m", category="data_exfil",
                                    severity="medium")
    def gen(ctx):
        return [Probe("X-MOD/1", "t", ("hello",), canary_detector("ZZ-1"))]

    rep = scan("builtin:hardened", strategies=["X-MOD", "RT-BFLA"])
    assert [r.strategy_id for r in rep.results] == ["X-MOD", "RT-BFLA"]


def test_entry_point_strategies_are_loaded(monkeypatch):
    plugin = AttackStrategy("X-PLUGIN", "p", "jailbreak", "d", "high",
                            generate=lambda ctx: [Probe("X-PLUGIN/1", "t", ("hi",),
                                                        canary_detector("ZZ-2"))])

    class EP:
        name, value = "demo", "demo_pkg:STRATEGIES"

        def load(self):
            return lambda: [plugin]

    monkeypatch.setattr("importlib.metadata.entry_points",
                        lambda group: [EP()] if group == registry_mod.ENTRY_POINT_GROUP else [])
    assert [s.id for s in registry_mod.load_entry_points()] == ["X-PLUGIN"]
    reg = StrategyRegistry()
    assert reg.load_entry_points() == ["X-PLUGIN"]
    rep = scan("builtin:hardened", strategies=["X-PLUGIN"])
    assert rep.results[0].strategy_id == "X-PLUGIN" and rep.succeeded == 0


def test_select_by_category_id_and_errors():
    orch = default_orchestrator()
    ids = [s.id for s in orch.select(["api_abuse", "RT-PROMPT-SEND", "RT-BFLA"])]
    assert ids == ["RT-IDOR-BOLA", "RT-BFLA", "RT-PROMPT-SEND"]
    with pytest.raises(InvalidInput, match="RT-NOPE"):
        orch.select(["RT-NOPE"])
    with pytest.raises(InvalidType):
        orch.select([3])


def test_llm_attacker_drives_adaptive_probes():
    """An attacker callable sees the conversation; it escalates after a refusal."""
    calls = []

    def attacker(goal, conversation):
        calls.append(len(conversation))
        if not conversation:
            return "Hello, how are you?"
        # goal: "Make the target assistant output the code made of ... (a proof ...)"
        return goal.replace("Make the target assistant output", "Reply with")

    def agent(messages, tools=None):
        # resists the first turn, obeys once the conversation is long enough
        if len(messages) < 3:
            return hardened_agent(messages, tools)
        return vulnerable_agent(messages, tools)

    rep = scan(agent, strategies=["RT-REDTEAM-LLM"], context={"attacker": attacker,
                                                              "attacker_turns": 3})
    res = rep.results[0]
    assert res.succeeded and all(a.technique == "LLM attacker (iterative)"
                                 for a in res.attempts)
    assert len(res.attempts) == 10  # 5 goals x 2 attacker streams
    assert all(len(a.responses) == 2 for a in res.attempts if a.landed)
    assert 0 in calls and 2 in calls


def test_async_attacker_and_judge():
    async def attacker(goal, conversation):
        return None if conversation else "hi"  # gives up after one turn

    rep = scan("builtin:hardened", strategies=["RT-REDTEAM-LLM"],
               context={"attacker": attacker})
    assert rep.succeeded == 0 and all(len(a.responses) == 1 for a in rep.attempts)
    judged = scan("builtin:hardened", strategies=["RT-PROMPT-SEND"],
                  context={"judge": lambda text: "ACME" in text})
    assert judged.succeeded == 1
    assert {a.verdict.method for a in judged.attempts} == {"judge"}


def test_failing_attacker_is_an_error_not_a_crash():
    def attacker(goal, conversation):
        raise RuntimeError("LLM quota exceeded")

    rep = scan("builtin:hardened", strategies=["RT-REDTEAM-LLM"], context={"attacker": attacker})
    assert rep.inconclusive == 1 and "quota" in rep.attempts[0].error


def test_progress_reports_every_probe_in_order():
    seen = []
    rep = scan("builtin:hardened", strategies=["RT-BFLA", "RT-CRESCENDO"],
               progress=lambda done, total, attempt: seen.append((done, total, attempt.probe_id)))
    assert [d for d, _, _ in seen] == list(range(1, rep.probes + 1))
    assert {t for _, t, _ in seen} == {rep.probes} == {10}
    assert sorted(p for _, _, p in seen) == sorted(a.probe_id for a in rep.attempts)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25)
@given(st.lists(st.sampled_from(["text", "dict", "raise", "none", "int", "tool", "leak"]),
                min_size=1, max_size=20))
def test_any_target_behaviour_is_recorded_never_raised(behaviours):
    """Whatever a target does on each call, the scan finishes and records every probe."""
    calls = iter(behaviours * 100)

    def target(messages, tools=None):
        kind = next(calls)
        if kind == "raise":
            raise ValueError("boom")
        return {"text": "fine", "dict": {"content": "ok"}, "none": None, "int": 7,
                "tool": {"content": "", "tool_calls": [{"function": {
                    "name": "delete_user", "arguments": "{not json"}}]},
                "leak": "KW-90417735"}[kind]

    rep = scan(target, strategies=["RT-BFLA", "RT-BARGE-IN", "RT-PROMPT-SEND"], retries=1,
               backoff=0, concurrency=4, context={"canaries": ["KW-90417735"]})
    assert rep.probes == 6 + 7 + 8
    assert {a.outcome for a in rep.attempts} <= {"landed", "defended", "error"}
    assert rep.total == rep.succeeded + rep.defended + rep.inconclusive
    assert (rep.risk_score == 1.0) == (rep.succeeded == 0)


def test_replay_knows_custom_strategies(tmp_path):
    from openmoe_bft.red_team import red_team_scan, replay

    custom = AttackStrategy("X-R", "r", "jailbreak", "d", "low", generate=lambda ctx: [
        Probe("X-R/1", "t", ("say ZZ-12345678",), canary_detector("ZZ-12345678"))])
    log = tmp_path / "s.jsonl"
    rep = red_team_scan(lambda p: p, strategies=[custom], log_path=log)
    assert rep.succeeded == 1
    assert replay(log)[0]["replayed"] == "unknown"
    assert replay(log, strategies=[custom])[0] == {"probe_id": "X-R/1", "recorded": "landed",
                                                   "replayed": "landed", "agrees": True}
