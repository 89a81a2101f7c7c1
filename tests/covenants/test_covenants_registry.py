"""CovenantRegistry: SQLite persistence, sealing receipts, vouches and global trust."""

import pytest

from openmoe_bft.covenants import Action, Covenant, CovenantRegistry, GlobalTrust
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import AuditChain
from openmoe_bft.store import Store


def act(agent, name, payload=None, aid="a", t=1000):
    return Action(aid, agent, name, payload or {}, t)


def fill(reg):
    reg.inscribe(Covenant.inscribe(agent_id="bot", allowed_actions={"spend"},
                                   constraints={"max_cost_usd": 1.0}, timestamp=1000))
    reg.record(act("bot", "spend", {"cost_usd": 0.5}, "ok"))
    reg.record(act("bot", "spend", {"cost_usd": 5}, "over", 1001))
    reg.record(act("ghost", "read", aid="g", t=1002))
    reg.vouch("alice", "bot", 2.0, timestamp=1003)
    reg.vouch("bot", "alice", timestamp=1004)


def test_state_survives_reopening(tmp_path):
    path = tmp_path / "trust.db"
    with CovenantRegistry(path) as reg:
        fill(reg)
        before = (reg.trust_score("bot"), reg.trust_score("ghost"), reg.vouches(),
                  reg.covenant_for("bot"), reg.global_trust().trust)
    with CovenantRegistry(path) as again:
        after = (again.trust_score("bot"), again.trust_score("ghost"), again.vouches(),
                 again.covenant_for("bot"), again.global_trust().trust)
        assert after == before
        assert [b.constraint for b in again.breaches_for("bot")] == ["max_cost_usd"]
        assert again.breaches_for("ghost")[0].reason == "no covenant inscribed"
        assert [a.action_id for a in again.actions_for("bot")] == ["ok", "over"]
        assert again.agents == ["alice", "bot", "ghost"]


def test_rejected_input_writes_nothing(tmp_path):
    path = tmp_path / "t.db"
    with CovenantRegistry(path) as reg:
        reg.inscribe(Covenant.inscribe(agent_id="bot", allowed_actions={"x"}, timestamp=1))
        with pytest.raises(InvalidInput):
            reg.record(Action("a", "bot", "x", {"bad": float("nan")}, 2))
        with pytest.raises(InvalidInput):
            reg.vouch("bot", "bot")
        with pytest.raises(InvalidInput):
            reg.vouch("a", "b", -1)
        assert reg.actions_for("bot") == [] and reg.vouches() == {}
    with CovenantRegistry(path) as reg:
        assert reg.actions_for("bot") == [] and reg.vouches() == {}


def test_inscriptions_and_breaches_are_sealed_in_a_shared_store(tmp_path):
    store = Store(tmp_path / "s.db")
    chain = AuditChain(store, signer="secret")
    reg = CovenantRegistry(store, audit=chain)
    fill(reg)
    kinds = [r.payload["type"] for r in chain.receipts]
    assert kinds == ["covenant.inscribed", "covenant.breach", "covenant.breach"]
    first = chain.receipts[0]
    assert first.payload["covenant"]["covenant_id"] == reg.covenant_for("bot").covenant_id
    assert first.trace_id == reg.covenant_for("bot").covenant_id
    assert chain.receipts[1].payload["breach"]["constraint"] == "max_cost_usd"
    assert chain.verify().ok
    store.close()


def test_standalone_seal_in_memory_chain_detects_tamper():
    chain = AuditChain()
    cov = Covenant.inscribe(agent_id="a", allowed_actions={"x"}, timestamp=5)
    receipt = cov.seal(chain)
    assert receipt.payload["covenant"]["allowed_actions"] == ["x"] and chain.verify().ok
    receipt.payload["covenant"]["allowed_actions"].append("rm")
    assert not chain.verify().ok


def test_bad_arguments():
    with pytest.raises(InvalidType):
        CovenantRegistry(audit=object())
    with pytest.raises(InvalidType):
        CovenantRegistry(evaluators={"x": 1})
    reg = CovenantRegistry()
    with pytest.raises(InvalidType):
        reg.inscribe({"agent_id": "a"})
    with pytest.raises(InvalidType):
        reg.web_of_trust({"a": "bc"})
    with pytest.raises(InvalidInput):
        reg.web_of_trust({"a": []}, alpha=2)
    reg.vouch("a", "b")
    with pytest.raises(InvalidInput, match="unknown"):
        reg.global_trust(["zed"])
    with pytest.raises(InvalidInput):
        reg.global_trust([])


def chain_registry():
    """seed -> a -> b -> c; everyone has a clean record."""
    reg = CovenantRegistry()
    for agent in ("seed", "a", "b", "c"):
        reg.inscribe(Covenant.inscribe(agent_id=agent, allowed_actions={"work"}, timestamp=1))
        reg.record(act(agent, "work", aid=f"{agent}-1"))
    reg.vouch("seed", "a")
    reg.vouch("a", "b")
    reg.vouch("b", "c")
    return reg


def test_global_trust_is_a_distribution_and_follows_vouches():
    reg = chain_registry()
    gt = reg.global_trust(["seed"])
    assert isinstance(gt, GlobalTrust) and gt.converged
    assert sum(gt.trust.values()) == pytest.approx(1.0)
    assert max(gt.scores.values()) == pytest.approx(1.0)
    assert all(0.0 <= s <= 1.0 for s in gt.scores.values())
    assert gt.trust["a"] > 0 and gt.trust["c"] > 0
    assert gt.pretrusted == ("seed",)
    assert gt.to_dict()["trust"] == gt.trust


def test_a_breach_lowers_the_agent_and_propagates_downstream():
    clean = chain_registry().global_trust(["seed"])
    reg = chain_registry()
    reg.record(act("b", "exfiltrate", aid="b-bad"))  # critical: own trust 0.5
    hit = reg.global_trust(["seed"])
    assert hit.trust["b"] < clean.trust["b"]
    assert hit.trust["c"] < clean.trust["c"]  # c's only voucher is b
    reg.record(act("b", "exfiltrate", aid="b-bad-2"))  # own trust 0: vouches for b count 0
    zero = reg.global_trust(["seed"])
    assert zero.trust["b"] == pytest.approx(0.0, abs=1e-12)
    assert zero.trust["c"] == pytest.approx(0.0, abs=1e-12)


def test_unvouched_agent_gets_only_pretrust():
    reg = chain_registry()
    reg.inscribe(Covenant.inscribe(agent_id="loner", allowed_actions={"x"}, timestamp=1))
    gt = reg.global_trust(["seed"])
    assert gt.trust["loner"] == 0.0
    everyone = reg.global_trust()
    assert everyone.trust["loner"] > 0.0


def test_withdrawn_vouch_and_empty_registry():
    reg = chain_registry()
    reg.vouch("b", "c", 0)
    assert ("b", "c") not in reg.vouches()
    assert reg.global_trust(["seed"]).trust["c"] == 0.0
    assert CovenantRegistry().global_trust().trust == {}


def test_concurrent_records_respect_the_rate_limit_exactly(tmp_path):
    import threading

    reg = CovenantRegistry(tmp_path / "r.db")
    reg.inscribe(Covenant.inscribe(agent_id="bot", allowed_actions={"go"}, timestamp=0,
                                   constraints={"rate_limit": {"max_actions": 100,
                                                               "per_seconds": 1e9}}))
    breaches = []

    def worker(k):
        for i in range(40):
            breaches.append(reg.record(act("bot", "go", aid=f"{k}-{i}", t=1)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(breaches) == 200 and sum(b is None for b in breaches) == 100
    assert len(reg.breaches_for("bot")) == 100
    reg.close()
