"""The seed's call shapes (SPEC.md, "openmoe_bft.covenants") keep working unchanged."""

import pytest

from openmoe_bft.covenants import (
    NO_ACTION_BASELINE,
    SEVERITY_PENALTY,
    Action,
    Breach,
    Covenant,
    CovenantRegistry,
    expert_covenants,
)
from openmoe_bft.experts import EXPERTS


def act(agent, name, payload=None, *, action_id="a", timestamp=1000):
    return Action(action_id=action_id, agent_id=agent, action_name=name,
                  payload=payload or {}, timestamp=timestamp)


def registry_with(agent="a", allowed=("read",), constraints=None):
    reg = CovenantRegistry()
    reg.inscribe(Covenant.inscribe(agent_id=agent, allowed_actions=set(allowed),
                                   constraints=constraints, timestamp=1000))
    return reg


def test_inscribe_returns_the_covenant_and_latest_wins():
    reg = CovenantRegistry()
    first = Covenant.inscribe(agent_id="a", allowed_actions={"read"}, timestamp=1000)
    assert reg.inscribe(first) is first and reg.covenant_for("a") is first
    reg.inscribe(Covenant.inscribe(agent_id="a", allowed_actions={"write"}, timestamp=1001))
    assert reg.covenant_for("a").allowed_actions == frozenset({"write"})
    assert reg.covenant_for("nobody") is None


def test_covenant_id_is_sha256_of_content_and_order_free():
    a = Covenant.inscribe(agent_id="x", allowed_actions=["read", "write"], timestamp=1000)
    b = Covenant.inscribe(agent_id="x", allowed_actions=("write", "read"), timestamp=1000)
    assert a.covenant_id == b.covenant_id == a.inscription_hash
    assert len(a.covenant_id) == 64 and int(a.covenant_id, 16) >= 0
    assert isinstance(a.allowed_actions, frozenset)
    for changed in (dict(agent_id="y"), dict(timestamp=1001), dict(allowed_actions=["read"]),
                    dict(constraints={"max_cost_usd": 1.0})):
        kw = dict(agent_id="x", allowed_actions=["read", "write"], timestamp=1000) | changed
        assert Covenant.inscribe(**kw).covenant_id != a.covenant_id


def test_compliant_action_is_none():
    assert registry_with().check(act("a", "read")) is None


def test_action_outside_allowed_actions_is_critical():
    breach = registry_with().check(act("a", "delete"))
    assert isinstance(breach, Breach)
    assert breach.severity == "critical" and "delete" in breach.reason
    assert breach.action_id == "a" and breach.covenant_id is not None


def test_agent_without_covenant_is_critical():
    breach = CovenantRegistry().check(act("ghost", "read"))
    assert breach.severity == "critical"
    assert breach.reason == "no covenant inscribed"
    assert breach.covenant_id is None


def test_max_constraint_violation_is_major_and_limit_is_inclusive():
    reg = registry_with(allowed=("spend",), constraints={"max_cost_usd": 1.0})
    over = reg.check(act("a", "spend", {"cost_usd": 2.5}))
    assert over.severity == "major" and over.constraint == "max_cost_usd"
    assert reg.check(act("a", "spend", {"cost_usd": 1.0})) is None
    assert reg.check(act("a", "spend", {"cost_usd": 0.5})) is None
    assert reg.check(act("a", "spend", {})) is None  # no cost: not applicable


def test_record_appends_actions_and_breaches():
    reg = registry_with()
    assert reg.record(act("a", "read", action_id="ok")) is None
    assert reg.record(act("a", "nuke", action_id="bad", timestamp=1001)).action_id == "bad"
    assert [a.action_id for a in reg.actions_for("a")] == ["ok", "bad"]
    assert [b.action_id for b in reg.breaches_for("a")] == ["bad"]


def test_trust_score_rules():
    assert SEVERITY_PENALTY["critical"] > SEVERITY_PENALTY["major"] > SEVERITY_PENALTY["minor"]
    assert NO_ACTION_BASELINE == 0.5
    reg = registry_with(allowed=("read", "spend"), constraints={"max_cost_usd": 1.0})
    assert reg.trust_score("a") == NO_ACTION_BASELINE  # inscribed, never acted
    reg.record(act("a", "read"))
    assert reg.trust_score("a") == 1.0
    reg.record(act("a", "spend", {"cost_usd": 9}, action_id="m"))
    assert reg.trust_score("a") == pytest.approx(1.0 - SEVERITY_PENALTY["major"])
    reg.record(act("a", "delete", action_id="c"))
    assert reg.trust_score("a") == pytest.approx(1.0 - 0.2 - 0.5)
    for i in range(3):
        reg.record(act("a", "delete", action_id=f"x{i}"))
    assert reg.trust_score("a") == 0.0  # clamped


def _mid_and(reg, other_name, other_breaches):
    reg.inscribe(Covenant.inscribe(agent_id="mid", allowed_actions={"spend"},
                                   constraints={"max_cost_usd": 1.0}, timestamp=1000))
    reg.record(act("mid", "spend", {"cost_usd": 5.0}))
    reg.inscribe(Covenant.inscribe(agent_id=other_name, allowed_actions={"read"}, timestamp=1000))
    reg.record(act(other_name, "delete" if other_breaches else "read"))


def test_web_of_trust_high_voucher_lifts_low_voucher_pulls_down():
    reg = CovenantRegistry()
    _mid_and(reg, "high", False)
    assert reg.web_of_trust({"mid": ["high"]})["mid"] == pytest.approx(0.9)
    reg2 = CovenantRegistry()
    _mid_and(reg2, "low", True)
    wot = reg2.web_of_trust({"mid": ["low"]})
    assert wot["mid"] == pytest.approx(0.65) and wot["mid"] < reg2.trust_score("mid")


def test_web_of_trust_without_vouchers_keeps_own_score():
    reg = registry_with()
    reg.record(act("a", "read"))
    assert reg.web_of_trust({"a": []}) == {"a": 1.0}


def test_expert_covenants_are_the_registry_experts():
    covs = expert_covenants(timestamp=1000)
    assert list(covs) == [e.expert_id for e in EXPERTS] == list(range(1, 15))
    assert covs[1].agent_id == "expert:1"
    assert covs[1].allowed_actions == frozenset({"audit:metadata.riskAssessment"})
    for e in EXPERTS:
        assert covs[e.expert_id].agent_id == e.covenant_agent_id
        assert covs[e.expert_id].allowed_actions == frozenset({e.covenant_action})
    reg = CovenantRegistry()
    reg.inscribe(covs[1])
    assert reg.check(act("expert:1", "audit:metadata.riskAssessment")) is None
    assert reg.check(act("expert:1", "audit:something.else")).severity == "critical"
    assert expert_covenants(1000)[5].covenant_id == covs[5].covenant_id  # reproducible
