"""run_debate beyond the seed: abstentions, timeouts, async, modes, hashing, sealing."""

import asyncio
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.bft import BFTLedger
from openmoe_bft.canonical import value_hash
from openmoe_bft.debate import arun_debate, position_hash, run_debate
from openmoe_bft.errors import InvalidInput, InvalidType, NoConsensusError
from openmoe_bft.receipts import AuditChain


def say(pos):
    return lambda t: (pos, f"I say {pos!r}")


def test_failing_hanging_and_garbage_proposers_abstain():
    release = threading.Event()

    def hangs(t):
        release.wait(5)
        return "A", "late"

    async def slow_async(t):
        await asyncio.sleep(5)
        return "A", "never"

    proposers = {"ok1": say("A"), "ok2": say("A"), "ok3": say("A"), "hang": hangs,
                 "aslow": slow_async, "boom": lambda t: 1 / 0, "junk": lambda t: "A",
                 "nomsg": lambda t: ("A", 3), "none": lambda t: (None, "I abstain")}
    t0 = time.perf_counter()
    try:
        res = run_debate("d", proposers, rounds=2, timeout=0.2)
    finally:
        release.set()
    assert time.perf_counter() - t0 < 3
    # n = 9, threshold 5: three votes are not enough
    assert not res.consensus and res.settlement.votes_for == 3
    why = res.abstentions
    assert set(why) == {"hang", "aslow", "boom", "junk", "nomsg", "none"}
    assert why["hang"] == "still running an earlier call that timed out"
    assert why["aslow"].startswith("timed out")
    assert "ZeroDivisionError" in why["boom"]
    assert "not a (position, message) pair" in why["junk"]
    assert "not a str" in why["nomsg"]
    assert why["none"] == "stated no position"
    assert [t.reason for t in res.turns if t.proposer == "hang"][0].startswith("timed out")
    assert set(res.settlement.abstained) == set(why)
    assert ("none", "I abstain") in res.transcript  # spoke, without a position


def test_honest_quorum_survives_f_faulty_proposers():
    res = run_debate("d", {"a": say("yes"), "b": say("yes"), "c": say("yes"),
                           "x": lambda t: 1 / 0}, timeout=1)
    assert res.consensus and res.agreed_value == "yes" and res.agreed


def test_only_the_final_round_votes():
    def flaky(t):
        if len(t) >= 4:
            raise RuntimeError("gone")
        return "A", "A for now"

    res = run_debate("d", {"a": say("A"), "b": say("A"), "f": flaky, "d": say("A")}, rounds=2)
    assert res.debate.positions["f"] == "A"  # its last stated position
    assert "RuntimeError" in res.abstentions["f"]  # but it abstained in the vote
    assert res.consensus and res.settlement.votes_for == 3


def test_structured_positions_are_hashed_canonically():
    pos = {"expert": 3, "weight": 0.5}
    res = run_debate("d", {k: (lambda t: ({"weight": 0.5, "expert": 3}, "ok")) for k in "abc"})
    assert res.consensus and res.agreed_value == pos
    assert res.agreed_hash == value_hash(pos) == position_hash(pos)
    assert position_hash("A") == "A"
    with pytest.raises(InvalidInput):
        position_hash("")


def test_parallel_mode_shows_each_round_the_previous_rounds_only():
    seen = {}

    def watcher(name):
        def fn(t):
            seen.setdefault(name, []).append(len(t))
            return "A", name
        return fn

    res = run_debate("d", {n: watcher(n) for n in "abcd"}, rounds=3, mode="parallel")
    assert all(v == [0, 4, 8] for v in seen.values())
    assert [p for p, _ in res.transcript[:4]] == list("abcd")


def test_parallel_mode_runs_async_proposers_concurrently():
    async def slow(t):
        await asyncio.sleep(0.2)
        return "A", "slow"

    t0 = time.perf_counter()
    res = run_debate("d", {str(i): slow for i in range(6)}, rounds=1, mode="parallel")
    assert time.perf_counter() - t0 < 0.9 and res.consensus


def test_no_timeout_runs_sync_and_async_in_this_thread():
    me = threading.get_ident()

    async def aprop(t):
        return "A", "async"

    res = run_debate("d", {"s": lambda t: ("A", str(threading.get_ident() == me)),
                           "a": aprop, "c": say("A")}, timeout=None)
    assert res.consensus and ("s", "True") in res.transcript


def test_async_api_and_running_loop_fallback():
    async def main():
        r1 = await arun_debate("d1", {"a": say(1), "b": say(1), "c": say(1)})
        r2 = run_debate("d2", {"a": say(1), "b": say(1), "c": say(1)})  # helper thread
        return r1, r2

    r1, r2 = asyncio.run(main())
    assert r1.consensus and r2.consensus and r1.agreed_value == r2.agreed_value == 1


def test_strict_raises_with_the_settlement():
    with pytest.raises(NoConsensusError) as info:
        run_debate("d", {"a": say("A"), "b": say("B")}, strict=True)
    assert info.value.settlement.agreed is False


def test_outcome_is_sealed_and_stored(tmp_path):
    chain = AuditChain()
    ledger = BFTLedger(tmp_path / "votes.db")
    res = run_debate("d", {"a": say("A"), "b": say("A"), "c": say("A")}, ledger=ledger,
                     audit=chain)
    assert res.receipt is chain.receipts[0] and chain.verify().ok
    assert res.receipt.payload["settlement"]["value_hash"] == "A"
    assert res.receipt.trace_id == "d"
    ledger.store.close()
    again = BFTLedger(tmp_path / "votes.db")
    assert again.settle("d").agreed and again.settle("d").value == "A"
    again.store.close()
    assert res.to_dict()["agreed_value"] == "A"


def test_rerunning_with_other_positions_is_equivocation():
    ledger = BFTLedger()
    run_debate("d", {"a": say("A"), "b": say("A"), "c": say("A")}, ledger=ledger)
    res = run_debate("d", {"a": say("B"), "b": say("A"), "c": say("A")}, ledger=ledger)
    assert res.consensus and res.agreed_hash == "A"  # decisions never change
    assert res.settlement.equivocators == ("a",)
    with pytest.raises(InvalidInput, match="new debate_id"):
        run_debate("d", {"a": say("A")}, ledger=ledger)


@pytest.mark.parametrize("kwargs,err", [
    (dict(debate_id=""), InvalidType),
    (dict(proposers=[say("A")]), InvalidType),
    (dict(proposers={"a": "not callable"}), InvalidType),
    (dict(proposers={1: say("A"), "1": say("A")}), InvalidInput),
    (dict(rounds=True), InvalidInput),
    (dict(ledger={}), InvalidType),
    (dict(timeout=0), InvalidInput),
    (dict(mode="chaos"), InvalidInput),
    (dict(audit=[]), InvalidType),
])
def test_bad_arguments(kwargs, err):
    args = dict(debate_id="d", proposers={"a": say("A")}) | kwargs
    with pytest.raises(err):
        run_debate(**args)


@settings(max_examples=25)
@given(votes=st.lists(st.sampled_from(["A", "B", None, "raise"]), min_size=1, max_size=7))
def test_consensus_iff_a_position_reaches_the_threshold(votes):
    def make(v):
        def fn(t):
            if v == "raise":
                raise RuntimeError("x")
            return v, "m"
        return fn

    res = run_debate("p", {str(i): make(v) for i, v in enumerate(votes)}, rounds=1,
                     timeout=None)
    n = len(votes)
    threshold = max(2 * ((n - 1) // 3) + 1, n // 2 + 1)
    best = max(votes.count("A"), votes.count("B"))
    assert res.consensus == (best >= threshold)
    assert len(res.abstentions) == votes.count(None) + votes.count("raise")
    if res.consensus:
        assert votes.count(res.agreed_value) == best


def test_a_proposer_raising_timeout_error_is_a_failure_not_a_timeout():
    def sync_raises(t):
        raise TimeoutError("upstream")

    async def async_raises(t):
        raise TimeoutError("upstream")

    for timeout in (5, None):
        res = run_debate("d", {"s": sync_raises, "a": async_raises, "ok": say("A")},
                         timeout=timeout)
        assert res.abstentions["s"] == "raised TimeoutError: upstream"
        assert res.abstentions["a"] == "raised TimeoutError: upstream"
