"""Replicas as Ray actors: crashes, kills mid-batch, slow, equivocating and forging actors.

One local Ray session serves the whole module (start-up takes seconds); every backend
kills its actors when its test ends.
"""

import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from typer.testing import CliRunner  # noqa: E402

from openmoe_bft.distributed import (  # noqa: E402
    DistributedRouter,
    InProcessBackend,
    RayBackend,
    TopK,
    topk_ids,
)
from openmoe_bft.distributed.cli import app  # noqa: E402
from openmoe_bft.distributed.faults import Equivocating, Forge, Slow  # noqa: E402
from openmoe_bft.receipts import AuditChain, Ed25519Key  # noqa: E402

E, K = 16, 2
KEYS = [Ed25519Key.from_raw(bytes([i]) * 32) for i in range(7)]


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield
    if started:
        ray.shutdown()


def logits(t=2048, seed=0):
    return np.random.default_rng(seed).standard_normal((t, E)).astype(np.float32)


def wrong(rnd, x):
    truth = np.sort(topk_ids(x, K), axis=1)
    return int(np.count_nonzero((np.sort(rnd.expert_ids, axis=1) != truth).any(axis=1)
                                & rnd.dispatched))


def backend(routers, **kw):
    be = RayBackend(routers, KEYS[: len(routers)], **kw)
    be.wait_ready()
    return be


def _pool(n):
    be = backend([TopK(K)] * n)
    yield be
    be.close()


@pytest.fixture(scope="module")
def _pool4():
    yield from _pool(4)


@pytest.fixture(scope="module")
def _pool7():
    yield from _pool(7)


def _configure(be):
    """Actors are shared by the tests (each start costs a process): revive the dead ones,
    then give every replica the routers / tamper hooks this test wants."""

    def make(routers=None, tampers=None):
        for rid, ok in be.alive(timeout=10).items():
            if not ok:
                be.revive(rid)
        for i, rid in enumerate(be.replica_ids):
            be.set_router(rid, routers[i] if routers else TopK(K), (tampers or {}).get(rid))
        return be

    return make


@pytest.fixture
def ray4(_pool4):
    return _configure(_pool4)


@pytest.fixture
def ray7(_pool7):
    return _configure(_pool7)


def test_actors_sign_and_decide_exactly_like_in_process_replicas(ray4):
    x = logits()
    ray_rnd = DistributedRouter(ray4(), num_experts=E, k=K).settle(x, batch_id="b")
    local = DistributedRouter(InProcessBackend([TopK(K)] * 4, KEYS[:4]), num_experts=E, k=K)
    loc_rnd = local.settle(x, batch_id="b")
    assert ray_rnd.num_dispatched == 2048 and wrong(ray_rnd, x) == 0
    assert ray_rnd.decisions_sha256 == loc_rnd.decisions_sha256
    assert ray_rnd.proposal_digests == loc_rnd.proposal_digests  # same keys, same bytes


def test_killing_f_actors_mid_batch_never_misroutes_or_hangs(ray7):
    x = logits()
    be = ray7([Slow(TopK(K), 0.4)] * 7)
    r = DistributedRouter(be, num_experts=E, k=K, deadline=5)
    killer = threading.Timer(0.15, lambda: [be.kill(f"replica-{i}") for i in (5, 6)])
    killer.start()
    t0 = time.perf_counter()
    rnd = r.settle(x)
    took = time.perf_counter() - t0
    killer.join()
    assert took < 3
    assert rnd.num_dispatched == 2048 and wrong(rnd, x) == 0
    assert set(rnd.abstained) == {"replica-5", "replica-6"}
    assert all("actor unavailable" in why for why in rnd.abstained.values())
    nxt = r.settle(logits(seed=1))
    assert nxt.num_dispatched == 2048 and set(nxt.abstained) == {"replica-5", "replica-6"}


def test_killing_more_than_f_stops_dispatch_and_resumes_when_they_return(ray4):
    x = logits()
    chain = AuditChain()
    be = ray4()  # f = 1, threshold 3
    r = DistributedRouter(be, num_experts=E, k=K, deadline=5, chain=chain)
    for i in (2, 3):
        be.kill(f"replica-{i}")
    t0 = time.perf_counter()
    stopped = r.settle(x, batch_id="b-0")
    assert time.perf_counter() - t0 < 3
    assert stopped.num_dispatched == 0 and r.pending() == ["b-0"]
    assert set(stopped.abstained) == {"replica-2", "replica-3"}
    for i in (2, 3):
        be.revive(f"replica-{i}")
    resumed = r.settle(x, batch_id="b-0")  # the withheld batch, asked again
    assert resumed.num_dispatched == 2048 and wrong(resumed, x) == 0
    assert not resumed.abstained and resumed.attempt == 2
    assert r.settle(logits(seed=1)).num_dispatched == 2048
    assert [rc.payload["withheld"] for rc in chain.receipts] == [2048, 0, 0]
    assert chain.verify().ok


def test_a_restarted_actor_rejoins_with_its_key():
    with backend([TopK(K)] * 4, max_restarts=1) as be:
        r = DistributedRouter(be, num_experts=E, k=K, deadline=2)
        be.kill("replica-3", restart=True)
        seen_abstain, deadline = False, time.monotonic() + 30
        while time.monotonic() < deadline:
            rnd = r.settle(logits(256))
            assert rnd.num_dispatched == 256  # 3 of 4 still meet the threshold
            if "replica-3" in rnd.abstained:
                seen_abstain = True
            elif seen_abstain:
                break
            time.sleep(0.1)
        assert seen_abstain and "replica-3" in rnd.voters


def test_slow_actor_misses_the_deadline_and_the_round_goes_on(ray4):
    be = ray4([TopK(K)] * 3 + [Slow(TopK(K), 2.0)])
    r = DistributedRouter(be, num_experts=E, k=K, deadline=0.3)
    t0 = time.perf_counter()
    rnd = r.settle(logits())
    assert time.perf_counter() - t0 < 1.5  # the slow one would take 2 s
    assert rnd.num_dispatched == 2048
    assert "deadline" in rnd.abstained["replica-3"]
    again = r.settle(logits(seed=1))
    assert "still busy" in again.abstained["replica-3"]


def test_a_forging_actor_changes_nothing(ray4):
    x = logits()
    be = ray4(tampers={"replica-3": Forge("impersonate", target="replica-0")})
    rnd = DistributedRouter(be, num_experts=E, k=K).settle(x)
    assert rnd.num_dispatched == 2048 and wrong(rnd, x) == 0
    assert "forged identity" in rnd.rejected["replica-3"]
    assert rnd.proposal_digests["replica-3"] is None


def test_equivocating_actor_is_caught_when_a_withheld_batch_is_asked_again(ray4):
    x = logits()
    be = ray4([TopK(K)] * 3 + [Equivocating(TopK(K), K)])  # threshold 3
    r = DistributedRouter(be, num_experts=E, k=K, deadline=5)
    for i in (1, 2):
        be.kill(f"replica-{i}")
    first = r.settle(x, batch_id="b")  # 1 honest + the equivocator: 2 < 3
    assert first.num_dispatched == 0 and first.voters == ("replica-0", "replica-3")
    for i in (1, 2):
        be.revive(f"replica-{i}")
    second = r.settle(x, batch_id="b")  # asked again it signs the colluding set
    assert second.num_dispatched == 2048 and wrong(second, x) == 0
    assert second.equivocators == ("replica-3",) and "equivocated" in second.rejected["replica-3"]
    assert second.equivocations[0].verify(KEYS[3].public_key)


def test_cli_demo_on_ray_kills_actors_and_misroutes_nothing():
    # the full demo (7 actors, 2 killed) is `openmoe-bft demo --backend ray`; 4 keep CI quick
    res = CliRunner().invoke(app, ["demo", "--backend", "ray", "--replicas", "4", "--kill", "1",
                                   "--tokens", "16384", "--batch", "4096", "--experts", "16",
                                   "--json"])
    assert res.exit_code == 0, res.output
    import json

    data = json.loads(res.output)
    assert data["killed"] == ["replica-3"] and data["wrong_dispatches"] == 0
    assert data["after"]["live_replicas"] == 3 and data["after"]["dispatched"] == 8192
    assert data["chain_ok"] and data["receipts"] == 2 + 4


def test_bft_router_drives_ray_actors_per_token(ray4):
    from openmoe_bft.bft import BFTRouter
    from openmoe_bft.distributed import bft_replicas

    be = ray4([TopK(1)] * 4)
    be.kill("replica-3")
    router = BFTRouter(list(range(E)), replicas=bft_replicas(be, timeout=5), timeout=10)
    row = logits(1, seed=5)[0]
    d = router.route(row)
    assert d.consensus and d.expert_key == int(row.argmax())
    assert [a.node_id for a in d.abstentions] == ["replica-3"]


@pytest.mark.slow
def test_soak_random_kills_and_revivals_never_misroute(ray7):
    rng = np.random.default_rng(7)
    be = ray7([Slow(TopK(K), 0.05)] * 7)
    r = DistributedRouter(be, num_experts=E, k=K, deadline=3)
    dead: set[str] = set()
    for rnd_no in range(40):
        live = [rid for rid in be.replica_ids if rid not in dead]
        budget = 2 - len(dead)
        victims = list(rng.choice(live, size=int(rng.integers(0, budget + 1)), replace=False))
        killer = threading.Timer(0.02, lambda v=victims: [be.kill(x) for x in v])
        killer.start()
        x = logits(1024, seed=rnd_no)
        t0 = time.perf_counter()
        rnd = r.settle(x)
        killer.join()
        dead.update(victims)
        assert time.perf_counter() - t0 < 4
        assert wrong(rnd, x) == 0 and rnd.num_dispatched == 1024
        if dead and rng.random() < 0.5:
            be.revive(dead.pop())
