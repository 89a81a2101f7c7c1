"""SparseMoERouter beyond the seed: capacity policies, noisy gating, expert choice,
losses, result arrays, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.moe import (
    RoutingResult,
    SparseMoERouter,
    _capacity,
    load_balancing_loss,
    noisy_top_k_gating,
    router_z_loss,
    softmax,
    switch_load_balancing_loss,
    top_k_gating,
)


def logits(t, e, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal((t, e)).astype(dtype)


# ---------------------------------------------------------------- plain references


def seed_route(rows, k, capacity):
    """The seed's router, written out per token: top-k, then greedy primary-slot capacity."""
    assignments, dropped = [], []
    ranked = [top_k_gating(r, k) for r in rows]
    used = {}
    for t, a in enumerate(ranked):
        if capacity is None:
            assignments.append(a)
            continue
        placed = None
        for slot, (e, _) in enumerate(a):
            if used.get(e, 0) < capacity:
                used[e] = used.get(e, 0) + 1
                placed = slot
                break
        if placed is None:
            assignments.append([])
            dropped.append(t)
        else:
            assignments.append([a[placed]] + [p for i, p in enumerate(a) if i != placed])
    return assignments, dropped


def drop_reference(ids, capacity):
    """GShard/Switch position priority, as a loop over slots then tokens."""
    t, k = len(ids), len(ids[0])
    used, keep = {}, [[False] * k for _ in range(t)]
    for s in range(k):
        for tok in range(t):
            e = ids[tok][s]
            if used.get(e, 0) < capacity:
                used[e] = used.get(e, 0) + 1
                keep[tok][s] = True
    return keep


@st.composite
def ranked_ids(draw):
    e = draw(st.integers(1, 7))
    k = draw(st.integers(1, e))
    t = draw(st.integers(1, 40))
    # few experts, many tokens: lots of overflow and cascading reroutes
    rows = [draw(st.permutations(range(e)))[:k] for _ in range(t)]
    cap = draw(st.integers(1, t))
    return np.array(rows, dtype=np.intp), cap, e


@given(ranked_ids(), st.sampled_from([1, 3, 512]))
def test_vectorized_reroute_equals_the_per_token_loop(case, window):
    ids, cap, e = case
    old = _capacity._MIN_WINDOW
    _capacity._MIN_WINDOW = window  # tiny windows exercise the windowed rounds on small cases
    try:
        got = _capacity.reroute(ids, cap, e).tolist()
    finally:
        _capacity._MIN_WINDOW = old
    assert got == _capacity.reroute_reference(ids.tolist(), cap, e)


@given(ranked_ids())
def test_vectorized_drop_equals_the_slot_by_slot_loop(case):
    ids, cap, e = case
    assert _capacity.drop(ids, cap, e).tolist() == drop_reference(ids.tolist(), cap)


@given(st.integers(1, 6), st.integers(1, 30), st.floats(0.1, 3.0), st.integers(0, 10_000))
def test_router_matches_the_seed_router_written_per_token(e, t, cf, seed):
    k = 1 + seed % e
    x = logits(t, e, seed)
    router = SparseMoERouter(num_experts=e, k=k, capacity_factor=cf)
    got = router.route(x.tolist())
    want, dropped = seed_route(x.tolist(), k, router.capacity_for(t))
    assert router.capacity_for(t) == min(t, math.ceil(cf * t / e))
    assert got.dropped == dropped
    assert [[i for i, _ in a] for a in got.assignments] == [[i for i, _ in a] for a in want]
    for a, b in zip(got.assignments, want, strict=True):
        assert [w for _, w in a] == pytest.approx([w for _, w in b], abs=1e-12)


def test_reroute_at_scale_matches_the_loop():
    x = logits(5000, 16, 3, np.float32) + np.linspace(0, 1, 16, dtype=np.float32)  # skewed
    ids = SparseMoERouter(16, k=4).route(x).expert_ids
    for cap in (20, 50, 200, 320, 400):
        assert _capacity.reroute(ids, cap, 16).tolist() == _capacity.reroute_reference(ids.tolist(), cap, 16)


# ---------------------------------------------------------------- capacity


def test_capacity_never_exceeds_the_number_of_tokens():
    # regression for DeepSpeed's gate (PRs #5353/#8155): ceil(T/E * cf * k) > T when cf*k > E
    r = SparseMoERouter(num_experts=2, k=2, capacity_factor=4.0, capacity_policy="drop")
    assert math.ceil(4.0 * 2 * 3 / 2) == 12
    assert r.capacity_for(3) == 3
    out = r.route(logits(3, 2))
    assert out.capacity == 3 and out.dropped == [] and (out.expert_ids >= 0).all()
    assert SparseMoERouter(8, k=1, capacity_factor=1.0, min_capacity=4).capacity_for(2) == 2
    assert SparseMoERouter(8, k=1, expert_capacity=100).capacity_for(5) == 5
    assert SparseMoERouter(8, k=2, mode="expert_choice", capacity_factor=20.0).capacity_for(5) == 5


def test_capacity_formula_per_policy():
    assert SparseMoERouter(4, k=2, capacity_factor=1.25).capacity_for(64) == 20        # seed: cf*T/E
    assert SparseMoERouter(4, k=2, capacity_factor=1.25, capacity_policy="drop").capacity_for(64) == 40
    assert SparseMoERouter(4, k=2, capacity_factor=0.01, min_capacity=3).capacity_for(64) == 3
    assert SparseMoERouter(4, k=2).capacity_for(64) is None


def test_drop_policy_is_switch_position_priority():
    # all four tokens want expert 0 first, capacity 2 (k=1): tokens 0 and 1 win, 2 and 3 drop
    x = [[5.0, 0.0, 0.0, 0.0]] * 4
    out = SparseMoERouter(4, k=1, expert_capacity=2, capacity_policy="drop").route(x)
    assert out.dropped == [2, 3]
    assert out.expert_ids[:, 0].tolist() == [0, 0, -1, -1]
    assert out.assignments == [[(0, 1.0)], [(0, 1.0)], [], []]
    assert out.expert_load.tolist() == [2, 0, 0, 0]


def test_drop_policy_second_slots_queue_behind_all_first_slots():
    # GShard: token 1's first choice (expert 1) outranks token 0's second choice (expert 1)
    x = [[5.0, 4.0, 0.0], [0.0, 5.0, 4.0]]
    out = SparseMoERouter(3, k=2, expert_capacity=1, capacity_policy="drop").route(x)
    assert out.expert_ids.tolist() == [[0, -1], [1, 2]]
    assert out.dropped == []
    w = out.weights
    assert w[0, 1] == 0.0 and w[0, 0] < 1.0  # not renormalised after the drop
    assert out.assignments[0] == [(0, pytest.approx(w[0, 0]))]


def test_reroute_lists_the_placed_expert_first_and_keeps_the_rest():
    out = SparseMoERouter(3, k=3, capacity_factor=1.0).route(
        [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [3.0, 2.0, 1.0], [3.0, 2.0, 1.0]])
    # capacity ceil(4/3) = 2 on the primary slot
    assert [[e for e, _ in a] for a in out.assignments] == [[0, 1, 2], [0, 1, 2], [1, 0, 2], [1, 0, 2]]
    assert out.expert_load.tolist() == [4, 4, 4]


# ---------------------------------------------------------------- gating and losses


def test_arrays_and_assignments_agree_and_assignments_are_lazy():
    x = logits(50, 8, 1)
    out = SparseMoERouter(8, k=3).route(x)
    assert out.__dict__.get("_assignments") is None
    assert out.expert_ids.shape == (50, 3) and out.weights.shape == (50, 3)
    for t, a in enumerate(out.assignments):
        assert a == top_k_gating(x[t].tolist(), 3)
    assert out.__dict__.get("_assignments") is out.assignments
    dense = out.combine_weights()
    assert np.allclose(dense.sum(axis=1), 1.0)
    assert (np.count_nonzero(dense, axis=1) == 3).all()


def test_unnormalised_weights_are_softmax_probabilities():
    x = logits(20, 6, 2)
    out = SparseMoERouter(6, k=2, normalize_weights=False).route(x)
    p = softmax(x)
    assert np.allclose(out.weights, np.take_along_axis(p, out.expert_ids, axis=1))


def test_float32_stays_float32():
    out = SparseMoERouter(8, k=2).route(logits(10, 8, 0, np.float32))
    assert out.weights.dtype == np.float32


def test_load_balancing_loss_is_one_when_balanced_and_n_when_collapsed():
    e = 4
    balanced = np.eye(e) * 50.0
    assert SparseMoERouter(e, k=1).route(balanced).load_balancing_loss == pytest.approx(1.0, abs=1e-9)
    collapsed = np.tile([50.0, 0.0, 0.0, 0.0], (8, 1))
    assert SparseMoERouter(e, k=1).route(collapsed).load_balancing_loss == pytest.approx(e, abs=1e-9)


def test_loss_definition_matches_the_formula():
    x = logits(300, 8, 4)
    for k in (1, 2, 3):
        p = softmax(x)
        ids = np.argsort(-x, axis=1, kind="stable")[:, :k]
        f = np.bincount(ids.ravel(), minlength=8) / ids.size
        want = 8 * float(np.dot(f, p.mean(axis=0)))
        assert SparseMoERouter(8, k=k).route(x).load_balancing_loss == pytest.approx(want, rel=1e-12)
        assert switch_load_balancing_loss(x, k) == pytest.approx(want, rel=1e-12)


def test_router_z_loss_is_mean_squared_logsumexp():
    x = logits(100, 8, 5) * 4
    lse = np.log(np.exp(x).sum(axis=1))
    assert router_z_loss(x) == pytest.approx(float(np.mean(lse**2)), rel=1e-12)
    assert SparseMoERouter(8, k=2).route(x).router_z_loss == pytest.approx(float(np.mean(lse**2)), rel=1e-12)


def test_seed_loss_rejects_non_finite_weights():
    with pytest.raises(InvalidInput) as exc:
        load_balancing_loss([[(0, float("nan"))]], 4)
    assert exc.value.argument == "gate_assignments"
    with pytest.raises(InvalidType):
        load_balancing_loss([[(0.5, 1.0)]], 4)


# ---------------------------------------------------------------- noisy gating


def test_noisy_gating_is_reproducible_from_an_injected_seed_or_rng():
    x = logits(200, 8, 6)
    a = SparseMoERouter(8, k=2, noisy_gating=True, seed=7).route(x)
    b = SparseMoERouter(8, k=2, noisy_gating=True, seed=7).route(x)
    c = SparseMoERouter(8, k=2, noisy_gating=True, seed=8).route(x)
    assert np.array_equal(a.expert_ids, b.expert_ids)
    assert not np.array_equal(a.expert_ids, c.expert_ids)
    r = SparseMoERouter(8, k=2, noisy_gating=True)
    d = r.route(x, rng=np.random.default_rng(7))
    assert np.array_equal(a.expert_ids, d.expert_ids)
    # the z-loss is taken on the raw logits, the noise does not move it
    assert a.router_z_loss == pytest.approx(router_z_loss(x))


def test_noise_std_comes_from_softplus_of_noise_logits():
    x = logits(100, 8, 6)
    tiny = SparseMoERouter(8, k=2, noisy_gating=True, seed=1).route(x, noise_logits=np.full_like(x, -60.0))
    assert np.array_equal(tiny.expert_ids, SparseMoERouter(8, k=2).route(x).expert_ids)
    draw = np.random.default_rng(1).standard_normal(x.shape)
    want = SparseMoERouter(8, k=2).route(x + draw * np.log1p(np.exp(0.3)))
    got = SparseMoERouter(8, k=2, noisy_gating=True, seed=1).route(x, noise_logits=np.full_like(x, 0.3))
    assert np.array_equal(got.expert_ids, want.expert_ids)


def test_explicit_noise_matches_the_per_token_function():
    x = logits(30, 5, 7)
    n = logits(30, 5, 8)
    out = SparseMoERouter(5, k=2).route(x, noise=n)
    for t in range(30):
        want = noisy_top_k_gating(x[t].tolist(), 2, n[t].tolist())
        assert [e for e, _ in out.assignments[t]] == [e for e, _ in want]
        assert [w for _, w in out.assignments[t]] == pytest.approx([w for _, w in want], abs=1e-12)


# ---------------------------------------------------------------- expert choice


def test_expert_choice_gives_every_expert_exactly_c_tokens():
    x = logits(64, 8, 9)
    out = SparseMoERouter(8, k=2, mode="expert_choice").route(x)
    c = math.ceil(2 * 64 / 8)
    assert out.capacity == c and out.expert_load.tolist() == [c] * 8
    p = softmax(x)
    for e in range(8):
        want = set(np.argsort(-p[:, e], kind="stable")[:c].tolist())
        assert {t for t in range(64) if e in out.expert_ids[t]} == want
    picked = (out.expert_ids >= 0).sum(axis=1)
    assert out.dropped == np.flatnonzero(picked == 0).tolist()
    assert out.load_balancing_loss == pytest.approx(1.0)
    ok = picked > 0
    assert np.allclose(out.weights[ok].sum(axis=1), 1.0)
    for a in out.assignments:
        assert [w for _, w in a] == sorted((w for _, w in a), reverse=True)


def test_expert_choice_ties_go_to_the_lower_token_index():
    out = SparseMoERouter(2, k=1, mode="expert_choice", expert_capacity=1).route([[0.0, 0.0]] * 3)
    assert out.dropped == [1, 2]
    assert [e for e, _ in out.assignments[0]] == [0, 1]


# ---------------------------------------------------------------- results


def test_to_dict_round_trips_through_json():
    out = SparseMoERouter(4, k=2, capacity_factor=0.5, capacity_policy="drop").route(logits(16, 4, 1))
    back = RoutingResult.from_dict(json.loads(json.dumps(out.to_dict())))
    assert back.to_dict() == out.to_dict()
    assert back.assignments == out.assignments


def test_empty_batches():
    for x in ([], np.zeros((0, 4)), np.zeros((0, 4), dtype=np.float32)):
        out = SparseMoERouter(4, k=2, capacity_factor=1.0).route(x)
        assert out.assignments == [] and out.dropped == [] and out.load_balancing_loss == 0.0
        assert out.expert_ids.shape == (0, 2)


@pytest.mark.torch
def test_torch_tensors_are_read_without_the_core_importing_torch():
    torch = pytest.importorskip("torch")
    x = logits(40, 8, 3, np.float32)
    a = SparseMoERouter(8, k=2).route(torch.from_numpy(x).to(torch.bfloat16))
    b = SparseMoERouter(8, k=2).route(torch.from_numpy(x).to(torch.bfloat16).float().numpy())
    assert np.array_equal(a.expert_ids, b.expert_ids)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_scores_are_invalid_input_naming_logits(bad):
    x = logits(5, 4)
    x[3, 2] = bad
    with pytest.raises(InvalidInput) as exc:
        SparseMoERouter(4, k=2).route(x)
    assert exc.value.argument == "logits" and "[3, 2]" in str(exc.value)
    with pytest.raises(InvalidInput):
        softmax([1.0, bad])
    with pytest.raises(InvalidInput) as exc:
        noisy_top_k_gating([1.0, 2.0], 1, [0.0, bad])
    assert exc.value.argument == "noise"


@pytest.mark.parametrize("x", [[1.0, 2.0, 3.0, 4.0], np.zeros((2, 3, 4)), np.zeros((2, 5))])
def test_wrong_ranks_and_widths_are_invalid_input(x):
    with pytest.raises(InvalidInput) as exc:
        SparseMoERouter(4, k=2).route(x)
    assert exc.value.argument == "logits"


def test_wrong_types_are_invalid_type():
    r = SparseMoERouter(4, k=2)
    for bad in ("abcd", [["a", "b", "c", "d"]], None, {"x": 1}):
        with pytest.raises(InvalidType):
            r.route(bad)
    for kwargs, arg in ((dict(num_experts="4"), "num_experts"), (dict(num_experts=4, k=1.5), "k"),
                        (dict(num_experts=4, capacity_factor="2"), "capacity_factor"),
                        (dict(num_experts=4, rng=42), "rng"), (dict(num_experts=True), "num_experts")):
        with pytest.raises(InvalidType) as exc:
            SparseMoERouter(**kwargs)
        assert exc.value.argument == arg
    with pytest.raises(TypeError):
        top_k_gating([1.0, 2.0], "1")


def test_bad_configuration_names_the_argument():
    for kwargs, arg in ((dict(capacity_factor=float("nan")), "capacity_factor"),
                        (dict(capacity_policy="fifo"), "capacity_policy"),
                        (dict(mode="random"), "mode"), (dict(expert_capacity=0), "expert_capacity"),
                        (dict(noise_std=-1.0), "noise_std"), (dict(min_capacity=-1), "min_capacity")):
        with pytest.raises(InvalidInput) as exc:
            SparseMoERouter(4, k=2, **kwargs)
        assert exc.value.argument == arg


def test_bad_noise_and_selection():
    r = SparseMoERouter(4, k=2)
    x = logits(3, 4)
    with pytest.raises(InvalidInput) as exc:
        r.route(x, noise=np.zeros((3, 3)))
    assert exc.value.argument == "noise"
    with pytest.raises(InvalidInput) as exc:
        r.route(x, noise_logits=np.zeros((3, 4)))
    assert exc.value.argument == "noise_logits"
    for sel in ([[0, 0], [1, 2], [2, 3]], [[0, 4], [1, 2], [2, 3]], [[0, 1]]):
        with pytest.raises(InvalidInput) as exc:
            r.route(x, selected=sel)
        assert exc.value.argument == "selected"


@given(st.integers(1, 6), st.integers(1, 25), st.integers(1, 3), st.integers(0, 10_000))
def test_expert_choice_equals_a_per_expert_loop_even_with_ties(e, t, cf, seed):
    x = np.random.default_rng(seed).integers(-2, 3, (t, e)).astype(np.float64)  # many ties
    out = SparseMoERouter(e, k=1, mode="expert_choice", capacity_factor=float(cf),
                          normalize_weights=False).route(x)
    p = softmax(x)
    c = min(t, math.ceil(cf * t / e))
    chosen = {tok: [] for tok in range(t)}
    for ex in range(e):
        for tok in sorted(range(t), key=lambda i: (-p[i, ex], i))[:c]:
            chosen[tok].append((ex, p[tok, ex]))
    for tok in range(t):
        want = sorted(chosen[tok], key=lambda pair: (-pair[1], pair[0]))
        assert [ex for ex, _ in out.assignments[tok]] == [ex for ex, _ in want]
        assert [w for _, w in out.assignments[tok]] == pytest.approx([w for _, w in want])
    assert out.dropped == [tok for tok in range(t) if not chosen[tok]]


def test_importing_the_module_does_no_torch_import():
    import subprocess
    import sys

    code = ("import sys, openmoe_bft.moe as m; m.SparseMoERouter(4, k=2).route([[1.0, 2.0, 3.0, 4.0]]); "
            "assert 'torch' not in sys.modules and 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
