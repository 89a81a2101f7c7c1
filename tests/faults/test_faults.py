"""Safety and liveness under every fault behaviour, for n = 1..31, on both paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft import BFTLedger, BFTRouter, decision_threshold, settle_batch, tolerated_faults

from .harness import (
    FAULTS,
    HONEST,
    batch_logits,
    batch_proposals,
    expert_keys,
    replica_callable,
    truth_and_logits,
)

EXPERTS, K, TOKENS = 8, 2, 40


@st.composite
def scenario(draw, over_f=False):
    n = draw(st.integers(1, 31))
    f = tolerated_faults(n)
    faulty = draw(st.integers(f + 1, n)) if over_f else draw(st.integers(0, f))
    behaviours = [HONEST] * (n - faulty) + [draw(st.sampled_from(FAULTS)) for _ in range(faulty)]
    order = draw(st.permutations(range(n)))
    seed = draw(st.integers(0, 2**32 - 1))
    return n, [behaviours[i] for i in order], seed


def _proposals(behaviours, seed):
    rng = np.random.default_rng(seed)
    truth, logits = truth_and_logits(rng, TOKENS, EXPERTS, K)
    props = np.stack([batch_proposals(b, truth, EXPERTS, rng) for b in behaviours])
    return truth, logits, props, rng


@given(scenario())
def test_up_to_f_faulty_never_misroute_and_never_stall(case):
    n, behaviours, seed = case
    truth, logits, props, rng = _proposals(behaviours, seed)
    s = settle_batch(props, num_experts=EXPERTS)
    assert s.dispatched.all(), "the honest replicas agree, so every token must be dispatched"
    assert (s.expert_ids == truth).all()
    honest = [i for i, b in enumerate(behaviours) if b == HONEST]
    assert s.disagreements[honest].sum() == 0


@given(scenario())
def test_logits_path_up_to_f_faulty(case):
    n, behaviours, seed = case
    rng = np.random.default_rng(seed)
    truth, logits = truth_and_logits(rng, TOKENS, EXPERTS, K)
    stacked = np.stack([batch_logits(b, logits, truth, EXPERTS, rng) for b in behaviours])
    s = settle_batch(logits=stacked, k=K)
    assert s.dispatched.all() and (s.expert_ids == truth).all()


def _supporters(props, t, chosen):
    return sum(
        1 for r in range(props.shape[0])
        if sorted(props[r, t].tolist()) == chosen.tolist()
    )


@given(scenario(over_f=True))
def test_over_f_faulty_nothing_dispatched_without_a_quorum_of_proposers(case):
    n, behaviours, seed = case
    truth, logits, props, rng = _proposals(behaviours, seed)
    s = settle_batch(props, num_experts=EXPERTS)
    f = tolerated_faults(n)
    for t in np.nonzero(s.dispatched)[0]:
        support = _supporters(props, t, s.expert_ids[t])
        assert support >= 2 * f + 1 and support >= decision_threshold(n)
        assert support == s.votes[t]


@given(scenario(), st.booleans())
def test_batched_path_and_router_agree_on_every_token(case, over):
    n, behaviours, seed = case
    if over:  # make it a > f mix by turning honest replicas faulty
        behaviours = ["colluding" if b == HONEST and i % 2 else b for i, b in enumerate(behaviours)]
    truth, logits, props, rng = _proposals(behaviours, seed)
    s = settle_batch(props, num_experts=EXPERTS)
    experts = {key: None for key in expert_keys(EXPERTS, K)}
    replicas = [lambda t, r=r: frozenset(props[r, t].tolist()) for r in range(n)]
    router = BFTRouter(experts, replicas=replicas, timeout=None)
    for t in range(TOKENS):
        d = router.decide(t)
        assert d.consensus == bool(s.dispatched[t])
        if d.consensus:
            assert sorted(d.expert_key) == s.expert_ids[t].tolist()


@pytest.mark.parametrize("n", [4, 7, 10])
def test_router_with_real_faulty_callables(n):
    """Every behaviour as a real callable: raising, hanging, NaN, lying, equivocating."""
    f = tolerated_faults(n)
    rng = np.random.default_rng(n)
    truth, _ = truth_and_logits(rng, 6, EXPERTS, K)
    timeout = 0.05
    faults = [FAULTS[i % len(FAULTS)] for i in range(n)][:f]
    behaviours = [HONEST] * (n - f) + faults
    replicas = {f"{b}-{i}": replica_callable(b, truth, EXPERTS, i, timeout) for i, b in enumerate(behaviours)}
    ledger = BFTLedger()
    router = BFTRouter({key: (lambda t, key=key: sorted(key)) for key in expert_keys(EXPERTS, K)},
                       replicas=replicas,
                       timeout=timeout, ledger=ledger)
    for t in range(truth.shape[0]):
        d = router.route(t, session_id=f"tok-{t}")
        assert d.dispatched and sorted(d.expert_key) == truth[t].tolist()
        assert d.result == truth[t].tolist()
    router.close()


def test_equivocating_callable_is_caught_when_asked_twice():
    rng = np.random.default_rng(0)
    truth, _ = truth_and_logits(rng, 1, EXPERTS, K)
    replicas = {f"h{i}": replica_callable(HONEST, truth, EXPERTS, i, 1) for i in range(3)}
    replicas["eq"] = replica_callable("equivocating", truth, EXPERTS, 9, 1)
    ledger = BFTLedger()
    keys = {key: None for key in expert_keys(EXPERTS, K)}
    first = BFTRouter(keys, replicas=replicas, ledger=ledger, timeout=None).decide(0, "s")
    second = BFTRouter(keys, replicas=replicas, ledger=ledger, timeout=None).decide(0, "s")
    assert first.consensus and second.expert_key == first.expert_key
    assert second.equivocators == ("eq",)


@pytest.mark.slow
@pytest.mark.parametrize("n", range(1, 32))
def test_soak_every_n_every_fault_mix(n):
    """Long run: for each n, many random mixes of <= f faults on 2,000-token batches."""
    f = tolerated_faults(n)
    rng = np.random.default_rng(1000 + n)
    for _ in range(50):
        faulty = int(rng.integers(0, f + 1))
        behaviours = [HONEST] * (n - faulty) + list(rng.choice(FAULTS, faulty))
        truth, _ = truth_and_logits(rng, 2000, 64, 2)
        props = np.stack([batch_proposals(b, truth, 64, rng) for b in behaviours])
        s = settle_batch(props, num_experts=64)
        assert s.dispatched.all() and (s.expert_ids == truth).all()
