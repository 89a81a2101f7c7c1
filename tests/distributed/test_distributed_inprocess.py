"""DistributedRouter over the in-process backend: faults, deadlines, retries, sealing."""

import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.bft import decision_threshold, tolerated_faults
from openmoe_bft.distributed import (
    DistributedRouter,
    InProcessBackend,
    ReplicaBackend,
    TopK,
    decisions_digest,
    topk_ids,
)
from openmoe_bft.distributed.faults import Colluding, Crashing, Equivocating, Forge, Slow
from openmoe_bft.distributed.router import BATCH_KIND
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import AuditChain, Ed25519Key

E, K = 8, 2


def logits(t=256, seed=0, e=E):
    return np.random.default_rng(seed).standard_normal((t, e)).astype(np.float32)


def wrong(rnd, x, k=K):
    truth = np.sort(topk_ids(x, k), axis=1)
    return int(np.count_nonzero((np.sort(rnd.expert_ids, axis=1) != truth).any(axis=1)
                                & rnd.dispatched))


def router(routers, deadline=None, **kw):
    return DistributedRouter(InProcessBackend(routers, tampers=kw.pop("tampers", None)),
                             num_experts=kw.pop("e", E), k=kw.pop("k", K), deadline=deadline, **kw)


def test_topk_ids_matches_argpartition_and_abstains_on_non_finite_rows():
    x = logits(500, e=64)
    for k in (1, 2, 3, 5):
        ref = np.sort(np.argpartition(x, 64 - k, axis=1)[:, 64 - k:], axis=1)
        got = topk_ids(x, k)
        assert got.dtype == np.int8 and (np.sort(got, axis=1) == ref).all()
    x[3, 5] = np.nan
    x[7, 0] = np.inf
    got = topk_ids(x, 2)
    assert (got[[3, 7]] == -1).all() and (got[[0, 1, 2]] >= 0).all()
    with pytest.raises(InvalidInput):
        topk_ids(x, 65)


@settings(max_examples=25)
@given(st.sampled_from([1, 7, 4095, 4096, 4097, 9000]), st.sampled_from([3, 8, 64, 130]),
       st.integers(1, 5), st.integers(0, 2**16))
def test_topk_ids_equals_argpartition_across_chunk_boundaries(t, e, k, seed):
    k = min(k, e)
    x = np.random.default_rng(seed).standard_normal((t, e)).astype(np.float32)
    ref = np.sort(np.argpartition(x, e - k, axis=1)[:, e - k:], axis=1)
    assert (np.sort(topk_ids(x, k), axis=1) == ref).all()


def test_honest_replicas_dispatch_every_token_to_the_clean_choice():
    x = logits()
    rnd = router([TopK(K)] * 4).settle(x)
    assert rnd.num_dispatched == 256 and wrong(rnd, x) == 0
    assert rnd.voters == ("replica-0", "replica-1", "replica-2", "replica-3")
    assert not rnd.abstained and not rnd.rejected and not rnd.flagged
    assert rnd.decisions_sha256 == decisions_digest(rnd.expert_ids, rnd.dispatched)
    assert isinstance(InProcessBackend([TopK(K)]), ReplicaBackend)


FAULTS = {  # fault kind -> (router, tamper) for replica i of n
    "crash": lambda i, n: (Crashing(TopK(K)), None),
    "collude": lambda i, n: (Colluding(K), None),
    "impersonate": lambda i, n: (TopK(K), Forge("impersonate", target=f"replica-{(i + 1) % n}")),
    "alter": lambda i, n: (TopK(K), Forge("alter")),
    "bad_signature": lambda i, n: (TopK(K), Forge("bad_signature")),
    "garbage": lambda i, n: (lambda x: np.full((len(x), K), 99), None),
    "not_a_proposal": lambda i, n: (TopK(K), lambda p, key: {"ids": p.ids}),
}


@settings(max_examples=40)
@given(st.integers(4, 10), st.data())
def test_up_to_f_faulty_replicas_never_change_the_outcome(n, data):
    f = tolerated_faults(n)
    bad = data.draw(st.sets(st.integers(0, n - 1), max_size=f))
    kinds = {i: data.draw(st.sampled_from(sorted(FAULTS))) for i in bad}
    routers, tampers = [], {}
    for i in range(n):
        fn, tamper = FAULTS[kinds[i]](i, n) if i in bad else (TopK(K), None)
        routers.append(fn)
        if tamper is not None:
            tampers[f"replica-{i}"] = tamper
    x = logits(64, seed=n)
    rnd = router(routers, tampers=tampers).settle(x)
    assert rnd.num_dispatched == 64 and wrong(rnd, x) == 0
    for i in bad:
        rid = f"replica-{i}"
        if kinds[i] == "collude":
            assert rid in rnd.flagged
        elif kinds[i] == "garbage":  # signed, but every id invalid: abstains per token
            assert rnd.settlement.abstentions[i] == 64 and rid not in rnd.flagged
        else:
            assert rid in rnd.abstained or rid in rnd.rejected, kinds[i]


@pytest.mark.parametrize("n", [4, 7])
def test_more_than_f_silent_replicas_withhold_and_never_misroute(n):
    f = tolerated_faults(n)
    x = logits()
    silent = n - decision_threshold(n) + 1  # one more than can be missed
    assert silent > f
    rnd = router([TopK(K)] * (n - silent) + [Crashing(TopK(K))] * silent).settle(x)
    assert rnd.num_dispatched == 0 and rnd.num_withheld == 256
    assert (rnd.expert_ids == -1).all()


def test_colluders_below_the_threshold_are_withheld_not_dispatched():
    x = logits()
    rnd = router([TopK(K)] * 4 + [Colluding(K)] * 3).settle(x)  # 3 > f = 2, 3 < 5
    assert rnd.num_dispatched == 0 and wrong(rnd, x) == 0


def test_rejected_forgeries_are_reported_with_reasons():
    tampers = {"replica-1": Forge("impersonate", target="replica-0"),
               "replica-2": Forge("alter"), "replica-3": Forge("bad_signature")}
    rnd = router([TopK(K)] * 7, tampers=tampers).settle(logits())
    assert "forged identity" in rnd.rejected["replica-1"]
    assert "bad signature" in rnd.rejected["replica-2"]
    assert "bad signature" in rnd.rejected["replica-3"]
    assert rnd.num_dispatched == 0  # 4 valid votes of 7 < threshold 5
    assert rnd.proposal_digests["replica-1"] is None
    assert rnd.proposal_digests["replica-0"] is not None


def test_late_replicas_abstain_and_the_round_keeps_its_deadline():
    r = router([TopK(K)] * 5 + [Slow(TopK(K), 1.0)] * 2, deadline=0.2)
    t0 = time.perf_counter()
    rnd = r.settle(logits())
    took = time.perf_counter() - t0
    assert took < 0.8  # the slow ones would take 1 s
    assert rnd.num_dispatched == 256
    assert set(rnd.abstained) == {"replica-5", "replica-6"}
    assert all("deadline" in why for why in rnd.abstained.values())
    # still stuck in the first call: not asked again, so its queue cannot grow
    rnd2 = r.settle(logits(seed=1))
    assert all("still busy" in why for why in rnd2.abstained.values())
    time.sleep(1.1)  # they finish; then they answer in time only if fast enough
    r.backend.set_router("replica-5", TopK(K))
    rnd3 = r.settle(logits(seed=2))
    assert "replica-5" not in rnd3.abstained and "replica-5" in rnd3.voters
    r.backend.close()


def test_withheld_batch_can_be_asked_again_and_an_equivocator_is_caught():
    x = logits()
    routers = [TopK(K)] * 3 + [Equivocating(TopK(K), K)] + [Crashing(TopK(K))] * 3
    chain = AuditChain()
    r = router(routers, chain=chain)
    first = r.settle(x, batch_id="b-1")
    assert first.num_dispatched == 0 and r.pending() == ["b-1"]
    for i in (4, 5, 6):  # the crashed replicas come back
        r.backend.host(f"replica-{i}").router = TopK(K)
    second = r.settle(x, batch_id="b-1")
    assert second.attempt == 2
    assert second.num_dispatched == 256 and wrong(second, x) == 0
    assert second.equivocators == ("replica-3",)
    proof = second.equivocations[0]
    assert proof.verify(r.keys["replica-3"])
    assert "equivocated" in second.rejected["replica-3"]
    assert r.pending() == []
    payloads = [rc.payload for rc in chain.receipts]
    assert [p["attempt"] for p in payloads] == [1, 2]
    assert payloads[1]["equivocators"] == ["replica-3"]
    with pytest.raises(InvalidInput, match="already settled"):
        r.settle(x, batch_id="b-1")
    r.settle(x, batch_id="b-2")
    for i in (4, 5, 6):
        r.backend.set_router(f"replica-{i}", Crashing(TopK(K)))
    assert r.settle(x, batch_id="b-3").num_withheld == 256
    with pytest.raises(InvalidInput, match="same inputs"):
        r.settle(x[:10], batch_id="b-3")


def test_retry_keeps_earlier_decisions_and_reports_only_new_ones():
    x = logits()
    bad_rows = np.zeros(256, dtype=bool)
    bad_rows[:100] = True

    class HalfBlind:  # abstains (non-finite logits) on the first 100 tokens
        def __init__(self):
            self.blind = True

        def __call__(self, inp):
            y = inp.copy()
            if self.blind:
                y[bad_rows] = np.nan
            return topk_ids(y, K)

    blind = [HalfBlind() for _ in range(2)]
    r = router([TopK(K)] * 2 + blind)  # n=4, threshold 3: 2 votes on the first 100
    first = r.settle(x, batch_id="b")
    assert first.num_dispatched == 156 and not first.dispatched[:100].any()
    assert first.flagged == ()  # abstaining on some tokens is not drift
    for b in blind:
        b.blind = False
    second = r.settle(x, batch_id="b")
    assert second.num_dispatched == 256 and wrong(second, x) == 0
    assert np.count_nonzero(second.newly_dispatched) == 100
    assert second.newly_dispatched[:100].all() and second.conflicts == 0
    assert second.equivocators == () and not second.rejected  # filling in is not equivocating


def test_every_round_is_sealed_and_the_chain_verifies_with_the_signer():
    key = Ed25519Key.from_raw(bytes(32))
    chain = AuditChain(signer=key)
    r = router([TopK(K)] * 4 + [Crashing(TopK(K))], chain=chain, clock=lambda: 1_700_000_000)
    rounds = list(r.run([logits(seed=i) for i in range(3)], prefix="run"))
    assert [x.batch_id for x in rounds] == ["run-0", "run-1", "run-2"]
    assert len(chain) == 3 and chain.verify(keys=[key.public_key]).ok
    p = chain.receipts[1].payload
    assert p["kind"] == BATCH_KIND and p["batch_id"] == "run-1" and p["tokens"] == 256
    assert p["decisions_sha256"] == rounds[1].decisions_sha256
    assert p["abstained"]["replica-4"].startswith("raised RuntimeError")
    assert p["proposals"]["replica-4"] is None and len(p["proposals"]["replica-0"]) == 64
    assert rounds[1].receipt is chain.receipts[1]
    assert rounds[1].to_dict()["receipt_id"] == chain.receipts[1].receipt_id


def test_wide_out_of_range_ids_cannot_wrap_into_valid_votes():
    # 300 % 256 == 44, 264 % 256 == 8: must stay invalid, not become experts 44 / 8
    routers = [TopK(K)] * 2 + [lambda x: np.tile(np.array([[264, 300]]), (len(x), 1))] * 3
    rnd = router(routers, e=64).settle(logits(e=64))
    assert rnd.num_dispatched == 0
    assert rnd.settlement.abstentions.tolist()[2:] == [256, 256, 256]


def test_bad_arguments_are_typed_errors():
    be = InProcessBackend([TopK(K)] * 4)
    with pytest.raises(InvalidType):
        DistributedRouter(object(), num_experts=E, k=K)
    with pytest.raises(InvalidInput):
        DistributedRouter(be, num_experts=E, k=E + 1)
    with pytest.raises(InvalidInput):
        DistributedRouter(be, num_experts=E, k=K, deadline=0)
    with pytest.raises(InvalidInput, match="no public key"):
        DistributedRouter(be, num_experts=E, k=K, keys={})
    r = DistributedRouter(be, num_experts=E, k=K)
    with pytest.raises(InvalidInput, match="tokens="):
        r.settle(object())
    with pytest.raises(InvalidInput):
        InProcessBackend([])
    with pytest.raises(InvalidInput, match="share a key"):
        InProcessBackend([TopK(K)] * 2, keys=[bytes(32), bytes(32)])
    with pytest.raises(InvalidInput, match="unknown replicas"):
        InProcessBackend([TopK(K)], tampers={"nope": Forge("alter")})
    with pytest.raises(InvalidType):
        InProcessBackend([1, 2])


def test_importing_the_package_does_not_import_ray():
    code = "import sys, openmoe_bft.distributed; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bft_router_runs_over_a_backend_and_refuses_forged_votes():
    from openmoe_bft.bft import BFTRouter
    from openmoe_bft.distributed import ForgedProposal, bft_replicas

    be = InProcessBackend([TopK(1)] * 3 + [TopK(1)],
                          tampers={"replica-3": Forge("impersonate", target="replica-0")})
    experts = {e: (lambda tok, e=e: f"expert {e}") for e in range(E)}
    router_ = BFTRouter(experts, replicas=bft_replicas(be), timeout=None)
    row = logits(1, seed=3)[0]
    d = router_.route(row)
    assert d.dispatched and d.expert_key == int(row.argmax()) and d.result == f"expert {d.expert_key}"
    (abst,) = d.abstentions
    assert abst.node_id == "replica-3" and ForgedProposal.__name__ in abst.reason
    pairs = bft_replicas(InProcessBackend([TopK(2)] * 4))
    assert pairs["replica-0"](row) == tuple(sorted(int(i) for i in np.argsort(row)[-2:]))
    with pytest.raises(InvalidInput, match="no public key"):
        bft_replicas(be, keys={})
