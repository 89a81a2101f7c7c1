"""R replica routers -> settle_batch (Byzantine quorum) -> SparseMoERouter dispatch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmoe_bft.bft import settle_batch
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.moe import SparseMoERouter, route_settled

R, T, E, K = 7, 256, 16, 2


def replicas(seed=0):
    """5 honest replicas (one router plus small noise that keeps each top-2 set), 2 Byzantine."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((T, E))
    order = np.argsort(-base, axis=1)
    rows = np.arange(T)[:, None]
    base[rows, order[:, :K]] += 3.0  # a clear margin between the top-2 and the rest
    honest = base + rng.uniform(-0.05, 0.05, (5, T, E))
    byzantine = rng.standard_normal((2, T, E)) * 10
    return base, np.concatenate([honest, byzantine])


def test_agreed_tokens_are_routed_to_the_honest_experts():
    base, logits = replicas()
    settlement = settle_batch(logits=logits, k=K)
    assert settlement.dispatched.all()
    out = route_settled(settlement, logits)
    honest = SparseMoERouter(E, k=K).route(base)
    assert out.tokens.tolist() == list(range(T)) and out.withheld.size == 0
    assert np.array_equal(np.sort(out.routing.expert_ids, axis=1), np.sort(honest.expert_ids, axis=1))
    # weights from the median of 7 replicas, 2 of them Byzantine: inside the honest spread
    assert np.allclose(out.routing.combine_weights(), honest.combine_weights(), atol=0.05)
    w = out.routing.weights
    assert (w[:, 0] >= w[:, 1]).all()
    json.dumps(out.to_dict())


def test_tokens_without_quorum_are_withheld_and_never_routed():
    base, logits = replicas(1)
    split = np.arange(0, T, 3)
    rng = np.random.default_rng(2)
    logits[2:5, split] = rng.standard_normal((3, split.size, E)) * 10  # now 3 honest + 4 others
    settlement = settle_batch(logits=logits, k=K)
    out = route_settled(settlement, logits, SparseMoERouter(E, k=K, capacity_factor=1.0))
    assert out.withheld.tolist() == np.flatnonzero(~settlement.dispatched).tolist()
    assert set(split.tolist()) <= set(out.withheld.tolist())
    assert out.tokens.size + out.withheld.size == T
    assert out.routing.num_tokens == out.tokens.size > 0
    for i, t in enumerate(out.tokens.tolist()):
        # the seed's reroute policy keeps a placed token's own k experts: exactly the agreed set
        routed = {e for e, _ in out.routing.assignments[i]}
        assert routed == set(settlement.expert_ids[t].tolist()) or i in out.routing.dropped
    # capacity is counted over dispatched tokens only
    assert out.routing.capacity == int(np.ceil(out.tokens.size / E))


def test_abstaining_replicas_do_not_move_the_weights():
    base, logits = replicas(3)
    logits[6, :10] = np.nan  # replica 6 abstains on the first 10 tokens
    settlement = settle_batch(logits=logits, k=K)
    out = route_settled(settlement, logits)
    assert np.isfinite(out.routing.weights).all()
    honest = SparseMoERouter(E, k=K).route(base)
    assert np.allclose(out.routing.combine_weights(), honest.combine_weights(), atol=0.05)


def test_gate_logits_can_be_given_directly_and_bad_input_is_named():
    base, logits = replicas(4)
    settlement = settle_batch(logits=logits, k=K)
    out = route_settled(settlement, base)
    assert np.array_equal(out.routing.expert_ids, SparseMoERouter(E, k=K).route(base).expert_ids)
    with pytest.raises(InvalidInput) as exc:
        route_settled(settlement, base[:, :4])
    assert exc.value.argument == "logits"
    with pytest.raises(InvalidInput) as exc:
        route_settled(settlement, base, SparseMoERouter(E + 1, k=K))
    assert exc.value.argument == "router"
    with pytest.raises(InvalidType) as exc:
        route_settled("not a settlement", base)
    assert exc.value.argument == "settlement"
