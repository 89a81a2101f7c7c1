"""Invariants: trust stays in [0, 1], global trust sums to 1, ids ignore order."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.covenants import SEVERITY_PENALTY, Action, Covenant, CovenantRegistry

AGENTS = ["a", "b", "c", "d", "e"]

events = st.lists(st.one_of(
    st.tuples(st.just("act"), st.sampled_from(AGENTS), st.sampled_from(["ok", "spend", "bad"]),
              st.integers(0, 5)),
    st.tuples(st.just("vouch"), st.sampled_from(AGENTS), st.sampled_from(AGENTS),
              st.floats(0, 3)),
), max_size=40)


@settings(max_examples=40)
@given(events=events, seeds=st.lists(st.sampled_from(AGENTS), min_size=1, max_size=3,
                                      unique=True),
       alpha=st.floats(0.05, 1.0), blend=st.floats(0, 1))
def test_trust_stays_in_unit_interval_and_global_trust_is_a_distribution(events, seeds, alpha,
                                                                          blend):
    reg = CovenantRegistry()
    for agent in AGENTS[:4]:  # "e" never inscribes: all its actions are critical
        reg.inscribe(Covenant.inscribe(agent_id=agent, allowed_actions={"ok", "spend"},
                                       constraints={"max_cost_usd": 2}, timestamp=0))
    for i, ev in enumerate(events):
        if ev[0] == "act":
            _, agent, name, cost = ev
            reg.record(Action(f"x{i}", agent, name, {"cost_usd": cost}, i))
        elif ev[1] != ev[2]:
            reg.vouch(ev[1], ev[2], ev[3], timestamp=i)
    for agent in AGENTS:
        own = reg.trust_score(agent)
        assert 0.0 <= own <= 1.0
        acted = reg.actions_for(agent)
        expected = 0.5 if not acted else max(0.0, 1.0 - sum(
            SEVERITY_PENALTY[b.severity] for b in reg.breaches_for(agent)))
        assert own == pytest.approx(expected)
    vouchers = {a: [b for (b, c) in reg.vouches() if c == a] for a in AGENTS}
    wot = reg.web_of_trust(vouchers, alpha=blend)
    for agent, score in wot.items():
        assert 0.0 <= score <= 1.0
        vs = vouchers[agent]
        if vs and all(reg.trust_score(v) <= reg.trust_score(agent) for v in vs):
            assert score <= reg.trust_score(agent) + 1e-12  # low vouchers never raise
    known = [s for s in seeds if s in reg.agents]
    if not known:
        return
    gt = reg.global_trust(known, alpha=alpha)
    assert gt.converged
    assert sum(gt.trust.values()) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= v <= 1.0 for v in gt.trust.values())
    assert all(0.0 <= v <= 1.0 + 1e-12 for v in gt.scores.values())
    assert max(gt.scores.values()) == pytest.approx(1.0)
    # an agent nobody vouches for (with positive weight) and that is no seed has no trust
    for agent in reg.agents:
        if agent not in known and not any(c == agent for (_, c) in reg.vouches()):
            assert gt.trust[agent] == 0.0


names = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=5, unique=True)
limits = st.dictionaries(st.sampled_from(["max_a", "max_b", "min_c", "note"]),
                         st.integers(-5, 5), max_size=4)


@given(actions=names, constraints=limits, perm=st.randoms(use_true_random=False))
def test_covenant_id_ignores_the_order_of_actions_and_constraints(actions, constraints, perm):
    shuffled_actions = list(actions)
    perm.shuffle(shuffled_actions)
    items = list(constraints.items())
    perm.shuffle(items)
    a = Covenant.inscribe(agent_id="x", allowed_actions=actions, constraints=constraints,
                          timestamp=1)
    b = Covenant.inscribe(agent_id="x", allowed_actions=shuffled_actions,
                          constraints=dict(items), timestamp=1)
    assert a.covenant_id == b.covenant_id and a.verify() and b.verify()
    c = Covenant.inscribe(agent_id="x", allowed_actions=[*actions, "\x00extra"],
                          constraints=constraints, timestamp=1)
    assert c.covenant_id != a.covenant_id
