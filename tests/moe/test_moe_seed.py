"""Seed compatibility: every behaviour the original package's tests/test_moe.py asserted.

The assertions are the seed's contract (same inputs, same expected values); only the
wording is ours.
"""

import pytest

from openmoe_bft.moe import (
    RoutingResult,
    SparseMoERouter,
    load_balancing_loss,
    noisy_top_k_gating,
    softmax,
    top_k_gating,
)


# softmax
def test_softmax_is_a_distribution_ordered_like_its_logits():
    p = softmax([1.0, 2.0, 3.0])
    assert abs(sum(p) - 1.0) < 1e-12
    assert p[0] < p[1] < p[2]


def test_softmax_does_not_overflow_on_large_logits():
    p = softmax([1000.0, 1001.0, 1002.0])
    assert abs(sum(p) - 1.0) < 1e-12
    assert all(0.0 <= x <= 1.0 for x in p)


def test_softmax_of_equal_logits_is_uniform():
    assert all(abs(x - 0.25) < 1e-12 for x in softmax([5.0, 5.0, 5.0, 5.0]))


def test_softmax_of_nothing_is_a_value_error():
    with pytest.raises(ValueError):
        softmax([])


# top_k_gating
def test_top_k_orders_chosen_experts_by_weight():
    assert [i for i, _ in top_k_gating([3.0, 0.0, 5.0, 1.0], k=2)] == [2, 0]


def test_top_k_weights_sum_to_one():
    assert abs(sum(w for _, w in top_k_gating([3.0, 0.0, 5.0, 1.0], k=2)) - 1.0) < 1e-12


def test_top_1_has_weight_one():
    a = top_k_gating([1.0, 2.0, 0.5], k=1)
    assert a[0][0] == 1
    assert abs(a[0][1] - 1.0) < 1e-12


def test_top_k_over_all_experts_is_the_softmax():
    logits = [1.0, 2.0, 3.0]
    by_index = dict(top_k_gating(logits, k=3))
    for i, p in enumerate(softmax(logits)):
        assert abs(by_index[i] - p) < 1e-12


def test_top_k_ties_go_to_the_lower_index():
    assert top_k_gating([2.0, 2.0, 1.0], k=1)[0][0] == 0


def test_top_k_rejects_bad_k_and_empty_logits():
    with pytest.raises(ValueError):
        top_k_gating([1.0, 2.0], k=0)
    with pytest.raises(ValueError):
        top_k_gating([1.0, 2.0], k=3)
    with pytest.raises(ValueError):
        top_k_gating([], k=1)


# noisy_top_k_gating
def test_zero_noise_is_plain_top_k():
    logits = [3.0, 0.0, 5.0, 1.0]
    assert noisy_top_k_gating(logits, k=2, noise=[0.0, 0.0, 0.0, 0.0]) == top_k_gating(logits, k=2)


def test_noise_can_change_the_winner():
    logits = [5.0, 4.0, 0.0]
    assert top_k_gating(logits, k=1)[0][0] == 0
    assert noisy_top_k_gating(logits, k=1, noise=[0.0, 2.0, 0.0])[0][0] == 1


def test_noise_of_the_wrong_length_is_a_value_error():
    with pytest.raises(ValueError):
        noisy_top_k_gating([1.0, 2.0, 3.0], k=1, noise=[0.0, 0.0])


# load_balancing_loss
def test_balanced_load_gives_loss_one():
    assert abs(load_balancing_loss([[(i, 1.0)] for i in range(4)], 4) - 1.0) < 1e-12


def test_skew_raises_the_loss():
    balanced = [[(i, 1.0)] for i in range(4)]
    skewed = [[(0, 1.0)] for _ in range(4)]
    assert load_balancing_loss(skewed, 4) > load_balancing_loss(balanced, 4)


def test_everything_on_one_expert_gives_loss_n():
    assert abs(load_balancing_loss([[(0, 1.0)] for _ in range(8)], 4) - 4) < 1e-12


def test_no_assignments_give_loss_zero():
    assert load_balancing_loss([], 4) == 0.0


def test_out_of_range_expert_is_a_value_error():
    with pytest.raises(ValueError):
        load_balancing_loss([[(9, 1.0)]], num_experts=4)


# SparseMoERouter
def test_router_sends_each_token_to_its_best_expert():
    result = SparseMoERouter(num_experts=3, k=1).route([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    assert isinstance(result, RoutingResult)
    assert result.assignments[0][0][0] == 0
    assert result.assignments[1][0][0] == 2
    assert result.dropped == []


def test_router_on_no_tokens():
    result = SparseMoERouter(num_experts=3, k=1).route([])
    assert result.assignments == []
    assert result.load_balancing_loss == 0.0


def test_overflow_is_rerouted_to_the_next_best_expert():
    # capacity = ceil(1.0 * 2 / 2) = 1: both tokens prefer expert 0, the second moves to 1
    result = SparseMoERouter(num_experts=2, k=2, capacity_factor=1.0).route([[5.0, 4.0], [6.0, 3.0]])
    assert [a[0][0] for a in result.assignments] == [0, 1]
    assert result.dropped == []


def test_overflow_with_nowhere_to_go_is_dropped():
    # k = 1, capacity = ceil(0.5 * 2 / 2) = 1
    result = SparseMoERouter(num_experts=2, k=1, capacity_factor=0.5).route([[5.0, 0.0], [6.0, 0.0]])
    assert result.assignments[0] == [(0, 1.0)]
    assert result.assignments[1] == []
    assert result.dropped == [1]


def test_ragged_logits_are_a_value_error():
    with pytest.raises(ValueError):
        SparseMoERouter(num_experts=3, k=1).route([[1.0, 2.0, 3.0], [1.0, 2.0]])


def test_router_rejects_bad_configuration():
    with pytest.raises(ValueError):
        SparseMoERouter(num_experts=0, k=1)
    with pytest.raises(ValueError):
        SparseMoERouter(num_experts=3, k=5)
    with pytest.raises(ValueError):
        SparseMoERouter(num_experts=3, k=1, capacity_factor=0.0)


def test_rerouted_assignments_still_sum_to_one():
    result = SparseMoERouter(num_experts=2, k=2, capacity_factor=1.0).route([[5.0, 4.0], [6.0, 3.0]])
    for a in result.assignments:
        if a:
            assert abs(sum(w for _, w in a) - 1.0) < 1e-12


def test_seed_style_routing_result_construction():
    r = RoutingResult(assignments=[[(1, 1.0)], []], load_balancing_loss=0.5, dropped=[1])
    assert r.assignments == [[(1, 1.0)], []]
    assert r.load_balancing_loss == 0.5 and r.dropped == [1]
    assert r.expert_ids.tolist() == [[1], [-1]]
