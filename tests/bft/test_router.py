import asyncio
import time

import pytest

from openmoe_bft import BFTLedger, BFTRouter, NoConsensusError, assignment_hash
from openmoe_bft.errors import ExpertError, InvalidInput


def const(key):
    return lambda token: key


EXPERTS = {
    1: lambda x: f"expert-1 handled {x}",
    2: lambda x: f"expert-2 handled {x}",
    3: lambda x: f"expert-3 handled {x}",
}


# -- the seed's call shapes ----------------------------------------------------------
def test_dispatches_on_consensus_3_of_4():
    router = BFTRouter(EXPERTS, replicas=[const(1), const(1), const(1), const(2)])
    d = router.route("tok", session_id="s1")
    assert d.consensus and d.dispatched and d.expert_key == 1
    assert d.result == "expert-1 handled tok"


def test_split_vote_dispatches_nothing():
    router = BFTRouter(EXPERTS, replicas=[const(1), const(1), const(2), const(2)])
    d = router.route("tok", session_id="s2")
    assert not d.consensus and not d.dispatched and d.expert_key is None and d.result is None


def test_strict_raises_with_settlement():
    router = BFTRouter(EXPERTS, replicas=[const(1), const(2), const(3), const(1)])
    with pytest.raises(NoConsensusError) as ei:
        router.route("tok", session_id="s3", strict=True)
    assert ei.value.decision.consensus is False
    assert ei.value.settlement.votes_for == 2 and ei.value.settlement.threshold == 3


def test_router_default_strict_and_override():
    router = BFTRouter(EXPERTS, replicas=[const(1), const(2)], strict=True)
    with pytest.raises(NoConsensusError):
        router.route("tok")
    assert router.route("tok", strict=False).consensus is False


def test_byzantine_replicas_outvoted():
    router = BFTRouter(EXPERTS, replicas=[const(2)] * 5 + [const(1), const(3)])
    d = router.route("tok", session_id="s4")
    assert d.expert_key == 2 and d.result == "expert-2 handled tok"


def test_decide_does_not_dispatch():
    calls = []
    router = BFTRouter({1: lambda x: calls.append(x)}, replicas=[const(1)] * 3)
    d = router.decide("tok", session_id="s5")
    assert d.consensus and d.expert_key == 1 and not d.dispatched and calls == []


def test_decision_only_mode_with_a_sequence_of_keys():
    router = BFTRouter([1, 2, 3], replicas=[const(3)] * 3)
    d = router.route("tok", session_id="s6")
    assert d.consensus and d.expert_key == 3 and not d.dispatched


def test_requires_replicas_and_experts():
    with pytest.raises(ValueError):
        BFTRouter(EXPERTS, replicas=[])
    with pytest.raises(ValueError):
        BFTRouter({}, replicas=[const(1)])


def test_assignment_hash_stable_and_distinct():
    assert assignment_hash(1) == assignment_hash(1)
    assert assignment_hash(1) != assignment_hash(2) and assignment_hash("a") != assignment_hash("b")


def test_ledger_records_round():
    router = BFTRouter(EXPERTS, replicas=[const(1)] * 3)
    router.route("tok", session_id="sess-X")
    assert router.ledger.status("sess-X").consensus_reached


# -- faults become abstentions --------------------------------------------------------
def boom(token):
    raise RuntimeError("replica crashed")


def test_raising_garbage_and_unknown_keys_abstain():
    router = BFTRouter(
        EXPERTS,
        replicas={"a": const(1), "b": const(1), "c": const(1), "h": const(1), "i": const(1),
                  "d": boom, "e": const(99), "f": const([1]), "g": const(True)},
    )
    d = router.route("tok")
    assert d.dispatched and d.expert_key == 1
    reasons = {a.node_id: a.reason for a in d.abstentions}
    assert set(reasons) == {"d", "e", "f", "g"}
    assert "RuntimeError" in reasons["d"] and "not a registered expert" in reasons["e"]
    assert "unhashable" in reasons["f"]


def test_consensus_on_an_unregistered_key_is_impossible():
    router = BFTRouter(EXPERTS, replicas=[const(99)] * 3)
    d = router.route("tok")
    assert not d.consensus and len(d.abstentions) == 3


def test_float_key_normalises_to_registered_int_key():
    router = BFTRouter(EXPERTS, replicas=[const(1), const(1.0), const(1)])
    d = router.route("tok")
    assert d.dispatched and d.expert_key == 1 and isinstance(d.expert_key, int)


def test_slow_replica_times_out_and_is_not_piled_up():
    calls = []

    def slow(token):
        calls.append(token)
        time.sleep(0.5)
        return 1

    router = BFTRouter(EXPERTS, replicas=[const(2), const(2), const(2), slow], timeout=0.05)
    t0 = time.perf_counter()
    d1 = router.route("t1")
    d2 = router.route("t2")
    assert time.perf_counter() - t0 < 0.4
    assert d1.dispatched and d1.expert_key == 2
    assert any("timed out" in a.reason for a in d1.abstentions)
    assert any("still running" in a.reason for a in d2.abstentions)
    assert calls == ["t1"]  # the stuck replica was not called again
    router.close()


def test_expert_error_is_wrapped_and_votes_are_kept():
    def bad_expert(x):
        raise ZeroDivisionError("oops")

    router = BFTRouter({1: bad_expert}, replicas=[const(1)] * 4)
    with pytest.raises(ExpertError) as ei:
        router.route("tok", session_id="e1")
    assert isinstance(ei.value.__cause__, ZeroDivisionError)
    assert router.ledger.status("e1").consensus_reached


def test_duplicate_ids_and_non_callables_are_refused():
    with pytest.raises(InvalidInput, match="duplicate"):
        BFTRouter(EXPERTS, replicas=[("a", const(1)), ("a", const(1))])
    with pytest.raises(InvalidInput, match="not a callable"):
        BFTRouter(EXPERTS, replicas=[const(1), 5])
    with pytest.raises(InvalidInput, match="timeout"):
        BFTRouter(EXPERTS, replicas=[const(1)], timeout=0)
    with pytest.raises(InvalidInput, match="not hashable"):
        BFTRouter([[1, 2]], replicas=[const(1)])


def test_add_expert():
    router = BFTRouter(EXPERTS, replicas=[const(7)] * 3)
    assert not router.route("tok").consensus
    router.add_expert(7, lambda x: "seven")
    assert router.route("tok").result == "seven"


def test_equivocation_across_two_front_ends_sharing_a_ledger():
    ledger = BFTLedger()
    state = {"n": 0}

    def two_faced(token):
        state["n"] += 1
        return 1 if state["n"] == 1 else 2

    replicas = {"a": const(1), "b": const(1), "c": const(1), "liar": two_faced}
    front1 = BFTRouter(EXPERTS, replicas=replicas, ledger=ledger, timeout=None)
    front2 = BFTRouter(EXPERTS, replicas=replicas, ledger=ledger, timeout=None)
    d1 = front1.route("tok", session_id="shared")
    d2 = front2.route("tok", session_id="shared")
    assert d1.expert_key == d2.expert_key == 1
    assert d2.equivocators == ("liar",)
    assert ledger.settle("shared").evidence[0].second_value == 2


# -- async and many -------------------------------------------------------------------
def test_async_replicas_and_aroute():
    async def areplica(token):
        await asyncio.sleep(0)
        return 3

    async def hang(token):
        await asyncio.sleep(10)

    router = BFTRouter(EXPERTS, replicas=[areplica, areplica, const(3), hang], timeout=0.1)
    d = asyncio.run(router.aroute("tok"))
    assert d.dispatched and d.result == "expert-3 handled tok"
    assert [a.node_id for a in d.abstentions] == ["replica-3"]
    # the sync path runs async replicas too
    assert router.route("tok").expert_key == 3


def test_async_replica_raising_timeouterror_is_reported_as_raised():
    async def own_timeout(token):
        raise TimeoutError("upstream model timed out")

    async def hang(token):
        await asyncio.sleep(10)

    router = BFTRouter(EXPERTS, replicas=[const(3), const(3), const(3), own_timeout, hang],
                       timeout=0.1)
    d = asyncio.run(router.aroute("tok"))
    reasons = {a.node_id: a.reason for a in d.abstentions}
    assert reasons["replica-3"].startswith("raised TimeoutError: upstream model")
    assert reasons["replica-4"] == "timed out after 0.1s"


def test_route_many_keeps_order_and_concurrency():
    def replica(token):
        time.sleep(0.02)
        return 1 + token % 3

    router = BFTRouter(EXPERTS, replicas=[replica] * 4, timeout=2)
    t0 = time.perf_counter()
    decisions = router.route_many(range(30), session_prefix="batch")
    elapsed = time.perf_counter() - t0
    assert [d.expert_key for d in decisions] == [1 + t % 3 for t in range(30)]
    assert [d.session_id for d in decisions][:2] == ["batch-0", "batch-1"]
    assert elapsed < 30 * 0.02  # replicas ran concurrently, not one after another


def test_route_many_inside_a_loop_says_what_to_do():
    router = BFTRouter(EXPERTS, replicas=[const(1)])

    async def main():
        router.route_many([1])

    with pytest.raises(InvalidInput, match="aroute_many"):
        asyncio.run(main())


def test_decision_to_dict_is_json_ready():
    import json

    d = BFTRouter(EXPERTS, replicas=[const(1), boom, const(1), const(1)]).route("tok", session_id="j")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["expert_key"] == 1 and data["abstentions"][0]["node_id"] == "replica-1"


def test_async_path_also_does_not_pile_up_hung_sync_replicas():
    calls = []

    def slow(token):
        calls.append(token)
        time.sleep(0.5)
        return 1

    router = BFTRouter(EXPERTS, replicas=[const(2)] * 3 + [slow], timeout=0.05)

    async def main():
        return await router.aroute("a"), await router.aroute("b")

    d1, d2 = asyncio.run(main())
    assert d1.expert_key == d2.expert_key == 2
    assert "timed out" in d1.abstentions[0].reason and "still running" in d2.abstentions[0].reason
    assert calls == ["a"]
    router.close()
