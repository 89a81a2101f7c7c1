"""Declarative constraints, custom evaluators, expiry; audits are deterministic."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.covenants import Action, Covenant, CovenantRegistry, Verdict
from openmoe_bft.errors import InvalidInput, InvalidType

T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC


def cov(constraints=None, allowed=("go",), **kw):
    return Covenant.inscribe(agent_id="bot", allowed_actions=set(allowed),
                             constraints=constraints, timestamp=T0, **kw)


def act(payload=None, name="go", t=T0, aid="a1", agent="bot"):
    return Action(aid, agent, name, payload or {}, t)


def test_verdict_names_the_violated_constraint():
    v = cov({"max_cost_usd": 1, "allowed_tools": ["search"]}).audit(
        act({"cost_usd": 3, "tool": "shell"}))
    assert isinstance(v, Verdict) and not v.compliant and v.severity == "major"
    assert v.constraint == "allowed_tools"  # sorted key order: allowed_tools < max_cost_usd
    assert [c for c, _ in v.violations] == ["allowed_tools", "max_cost_usd"]
    assert "'shell'" in v.reason
    assert v.breach.constraint == "allowed_tools" and v.breach.severity == "major"
    assert cov({"max_cost_usd": 1}).audit(act({"cost_usd": 1})).breach is None


def test_min_constraint():
    c = cov({"min_confidence": 0.8})
    assert c.audit(act({"confidence": 0.5})).constraint == "min_confidence"
    assert c.audit(act({"confidence": 0.9})).compliant


@pytest.mark.parametrize("payload,ok", [
    ({"url": "https://api.example.org/v1"}, True),
    ({"url": "https://example.org"}, True),
    ({"url": "https://evil.org/?example.org"}, False),
    ({"url": "https://notexample.org"}, False),
    ({"domain": "docs.example.org"}, True),
    ({"urls": ["https://example.org", "https://evil.org"]}, False),
    ({"url": "not a url"}, False),
    ({}, True),
])
def test_allowed_domains(payload, ok):
    v = cov({"allowed_domains": ["example.org"]}).audit(act(payload))
    assert v.compliant is ok
    if not ok:
        assert v.constraint == "allowed_domains"


def test_allowed_tools_lists():
    c = cov({"allowed_tools": ["search", "fetch"]})
    assert c.audit(act({"tools": ["search", "fetch"]})).compliant
    assert not c.audit(act({"tools": ["search", "rm"]})).compliant


def test_rate_limit_counts_recorded_actions_in_window():
    reg = CovenantRegistry()
    reg.inscribe(cov({"rate_limit": {"max_actions": 2, "per_seconds": 60}}))
    assert reg.record(act(aid="1", t=T0)) is None
    assert reg.record(act(aid="2", t=T0 + 10)) is None
    breach = reg.record(act(aid="3", t=T0 + 20))
    assert breach.constraint == "rate_limit" and breach.severity == "major"
    assert reg.check(act(aid="4", t=T0 + 61)) is not None  # 2 and 3 still inside
    assert reg.check(act(aid="5", t=T0 + 81)) is None  # only 3 left in (21, 81]


def test_time_window_bounds_and_hours():
    c = cov({"time_window": {"start": T0, "end": T0 + 100}})
    assert c.audit(act(t=T0 + 50)).compliant
    assert c.audit(act(t=T0 - 1)).constraint == "time_window"
    assert c.audit(act(t=T0 + 101)).constraint == "time_window"
    nine = int(datetime(2024, 1, 1, 9, tzinfo=timezone.utc).timestamp())
    office = cov({"time_window": {"hours_utc": [9, 17]}})
    assert office.audit(act(t=nine)).compliant
    assert not office.audit(act(t=nine + 8 * 3600)).compliant  # 17:00
    night = cov({"time_window": {"hours_utc": [22, 6]}})  # wraps midnight
    assert night.audit(act(t=nine - 6 * 3600)).compliant  # 03:00
    assert not night.audit(act(t=nine)).compliant


def test_expiry_and_foreign_agent_are_critical():
    c = cov(expires_at=T0 + 10)
    assert c.audit(act(t=T0 + 10)).compliant
    v = c.audit(act(t=T0 + 11))
    assert (v.severity, v.constraint) == ("critical", "expires_at")
    assert c.audit(act(agent="other")).constraint == "agent_id"
    with pytest.raises(InvalidInput, match="before"):
        cov(expires_at=T0 - 1)


def test_custom_evaluator_unchecked_keys_and_fail_closed():
    c = cov({"no_pii": True, "max_label": "x"})
    v = c.audit(act({"email": "a@b.c"}))
    assert v.compliant and set(v.unchecked) == {"no_pii", "max_label"}

    def no_pii(limit, action, history):
        return "payload carries an email" if limit and "email" in action.payload else None

    v = c.audit(act({"email": "a@b.c"}), evaluators={"no_pii": no_pii})
    assert (v.constraint, v.reason) == ("no_pii", "payload carries an email")
    assert c.audit(act({}), evaluators={"no_pii": no_pii}).compliant

    def boom(limit, action, history):
        raise RuntimeError("down")

    v = c.audit(act(), evaluators={"no_pii": boom})
    assert not v.compliant and "RuntimeError" in v.reason
    reg = CovenantRegistry(evaluators={"no_pii": no_pii})
    reg.inscribe(c)
    assert reg.check(act({"email": "x"})).constraint == "no_pii"


@pytest.mark.parametrize("constraints", [
    {"rate_limit": {"max_actions": 1}},
    {"rate_limit": {"max_actions": -1, "per_seconds": 5}},
    {"time_window": {"start": "monday"}},
    {"time_window": {"hours_utc": [9, 25]}},
    {"allowed_tools": "search"},
    {"allowed_domains": [""]},
    {"max_cost_usd": float("nan")},
    {1: 2},
])
def test_malformed_constraints_are_refused(constraints):
    with pytest.raises(InvalidInput):
        cov(constraints)


def test_bad_actions_are_refused():
    with pytest.raises(InvalidType):
        Action("", "bot", "go", {}, 0)
    with pytest.raises(InvalidType):
        Action("a", "bot", "go", ["not", "a", "dict"], 0)
    with pytest.raises(InvalidType):
        Action("a", "bot", "go", {}, True)
    with pytest.raises(InvalidType):
        cov().audit({"action_id": "a"})


def test_constraints_are_read_only_and_tamper_is_detected():
    c = cov({"max_cost_usd": 1})
    with pytest.raises(TypeError):
        c.constraints["max_cost_usd"] = 100
    assert c.verify()
    forged = Covenant(c.covenant_id, c.agent_id, frozenset({"go", "rm"}), c.constraints,
                      c.timestamp, c.inscription_hash)
    assert not forged.verify()
    with pytest.raises(InvalidInput, match="altered"):
        CovenantRegistry().inscribe(forged)
    assert Covenant.from_dict(c.to_dict()) == c
    with pytest.raises(InvalidInput, match="altered"):
        Covenant.from_dict(c.to_dict() | {"allowed_actions": ["go", "rm"]})


json_scalars = st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
                         st.text(max_size=8), st.booleans(), st.none())
payloads = st.dictionaries(st.sampled_from(["cost_usd", "confidence", "tool", "url", "domain",
                                            "email", "tools"]),
                           st.one_of(json_scalars, st.lists(st.text(max_size=6), max_size=3)),
                           max_size=5)
constraint_sets = st.fixed_dictionaries({}, optional={
    "max_cost_usd": st.floats(0, 100, allow_nan=False),
    "min_confidence": st.floats(0, 1),
    "allowed_tools": st.lists(st.text(min_size=1, max_size=6), max_size=3),
    "allowed_domains": st.lists(st.sampled_from(["example.org", "a.b", "x.io"]), max_size=2),
    "rate_limit": st.fixed_dictionaries({"max_actions": st.integers(0, 3),
                                         "per_seconds": st.integers(1, 100)}),
    "time_window": st.fixed_dictionaries({}, optional={"start": st.integers(T0 - 50, T0 + 50),
                                                       "hours_utc": st.tuples(
                                                           st.integers(0, 24),
                                                           st.integers(0, 24)).map(list)}),
    "custom": st.booleans(),
})


@given(constraints=constraint_sets, payload=payloads, name=st.sampled_from(["go", "stop"]),
       t=st.integers(T0 - 100, T0 + 100),
       history=st.lists(st.integers(T0 - 100, T0 + 100), max_size=5))
def test_audit_is_deterministic(constraints, payload, name, t, history):
    c = cov(constraints)
    past = [act(aid=f"h{i}", t=ts) for i, ts in enumerate(history)]
    a = act(payload, name=name, t=t)
    first = c.audit(a, history=past)
    # same inputs, a rebuilt covenant (constraint keys reordered by the JSON round
    # trip) and a reversed history give the same verdict
    again = Covenant.from_dict(c.to_dict()).audit(a, history=list(reversed(past)))
    assert first == again
    assert first.compliant == (first.breach is None)
    assert first.compliant == (not first.violations)
    if name == "stop":
        assert first.severity == "critical" and first.constraint == "allowed_actions"
    elif not first.compliant:
        assert first.severity == "major" and first.constraint in constraints
    if name == "go":
        assert ("custom" in constraints) == ("custom" in first.unchecked)
