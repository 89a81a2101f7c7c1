"""The speed paths: set-pruned networks, closeness keys, chunking, tie handling, finiteness check."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft import attacks
from openmoe_bft._sortnet import KNOWN_BEST, batcher_pairs, pairwise_pairs, set_program
from openmoe_bft.aggregators import krum, krum_scores, multi_krum, nnm, rules, trimmed_mean
from openmoe_bft.aggregators._network import NETWORK_MIN_SIZE, middle_sum
from openmoe_bft.errors import InvalidInput


def zero_one(n):
    """Every 0-1 input on n wires: [n, 2**n] uint8."""
    return np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.uint8).T.copy()


def run_pairs(pairs, w):
    w = w.copy()
    for i, j in pairs:
        w[i], w[j] = np.minimum(w[i], w[j]), np.maximum(w[i], w[j])
    return w


def run_ops(ops, w):
    w = w.copy()
    for i, j, want_min, want_max in ops:
        lo, hi = np.minimum(w[i], w[j]), np.maximum(w[i], w[j])
        if want_min:
            w[i] = lo
        if want_max:
            w[j] = hi
    return w


@pytest.mark.parametrize("n", range(1, 13))
def test_pairwise_and_batcher_networks_sort_every_zero_one_input(n):
    w = zero_one(n)
    for pairs in (pairwise_pairs(n), batcher_pairs(n)):
        assert all(i < j for i, j in pairs)
        assert (np.diff(run_pairs(pairs, w).astype(int), axis=0) >= 0).all()


@pytest.mark.parametrize("n", sorted(KNOWN_BEST))
def test_known_best_networks_sort_every_zero_one_input(n):
    assert (np.diff(run_pairs(KNOWN_BEST[n], zero_one(n)).astype(int), axis=0) >= 0).all()
    assert len(KNOWN_BEST[n]) < len(batcher_pairs(n))


def check_set_program(n, lo, hi, w):
    """0-1 principle for a set output: for every threshold, as many ones on lo..hi-1 as sorted."""
    srt = np.sort(w, axis=0)
    for extremes in (False, True):
        out = run_ops(set_program(n, lo, hi, extremes=extremes), w)
        np.testing.assert_array_equal(out[lo:hi].sum(axis=0, dtype=int), srt[lo:hi].sum(axis=0, dtype=int))
        if extremes:  # and the minimum / maximum on the first / last wire
            np.testing.assert_array_equal(out[0], srt[0])
            np.testing.assert_array_equal(out[n - 1], srt[n - 1])


@pytest.mark.parametrize("n", range(1, 11))
def test_set_program_leaves_the_middle_multiset_for_every_range(n):
    w = zero_one(n)
    for lo in range(n):
        for hi in range(lo + 1, n + 1):
            check_set_program(n, lo, hi, w)


@pytest.mark.parametrize("f", range(0, 8))
def test_set_program_sixteen_wires(f):
    check_set_program(16, f, 16 - f, zero_one(16))
    ops = set_program(16, f, 16 - f)
    # cheaper than sorting those ranks with the ordered program
    from openmoe_bft._sortnet import program

    if f:
        assert sum(a + b for _, _, a, b in ops) < sum(a + b for _, _, a, b in program(16, tuple(range(f, 16 - f))))


def test_set_program_refuses_bad_ranges():
    for lo, hi in [(3, 3), (-1, 2), (0, 9)]:
        with pytest.raises(ValueError):
            set_program(8, lo, hi)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 20),
    seed=st.integers(0, 2**31),
    scale=st.sampled_from([1.0, 1e6, 1e15, 1e300]),
)
def test_middle_sum_equals_sorted_middle_even_with_huge_outliers(n, seed, scale):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 40, 64))
    x[:, :2] = 0.5  # ties
    f = int(rng.integers(0, (n - 1) // 2 + 1))
    bad = rng.choice(n, size=f, replace=False)
    x[bad] *= scale  # f far-away replicas: must not cost the middle any precision
    assert x[0].size >= NETWORK_MIN_SIZE
    want = np.sort(x, axis=0)[f : n - f]
    got = middle_sum(x, f, n - f)
    np.testing.assert_allclose(got, want.sum(axis=0), rtol=1e-12, atol=1e-12 * np.abs(want).max(axis=0).max())


@pytest.mark.parametrize("attack", ["sign_flip", "ipm", "alie", "large_norm", "mimic"])
def test_trimmed_mean_batched_under_attacks_equals_sort_reference(attack):
    rng = np.random.default_rng(1)
    n, f = 16, 5
    honest = rng.normal(size=(1, 200, 32)) + rng.normal(scale=0.1, size=(n - f, 200, 32))
    x = attacks.with_attack(honest, attack, f, position="random", rng=rng)
    ref = np.sort(x, axis=0)[f : n - f].mean(axis=0)
    np.testing.assert_allclose(trimmed_mean(x, f), ref, rtol=1e-12, atol=1e-12)


def ref_scores(v, k):
    n = len(v)
    d = ((v[:, None, :] - v[None, :, :]) ** 2).sum(axis=2)
    return np.array([np.sort(np.delete(d[i], i))[:k].sum() for i in range(n)])


def test_krum_scores_across_chunks_and_neighbourhoods():
    rng = np.random.default_rng(3)
    t = 2 * rules.TOKEN_CHUNK + 37
    x = rng.normal(size=(16, t, 12)) * rng.uniform(1, 30, size=(16, 1, 1))
    for k in (1, 9, 10, 15):
        got = krum_scores(x, 5, neighbors=k)
        for tok in (0, rules.TOKEN_CHUNK - 1, rules.TOKEN_CHUNK, t - 1):
            np.testing.assert_allclose(got[tok], ref_scores(x[:, tok, :], k), rtol=1e-9, atol=1e-9)
    picked = krum(x, 5)
    scores = krum_scores(x, 5)
    np.testing.assert_array_equal(picked, x[np.argmin(scores, axis=1), np.arange(t)])
    np.testing.assert_array_equal(multi_krum(x, 5, 4)[t - 1], multi_krum(x[:, t - 1, :], 5, 4))


def test_krum_scores_of_identical_replicas_are_zero_not_negative():
    v = np.tile(np.random.default_rng(0).normal(size=(1, 50, 8)) * 1e8, (9, 1, 1))
    s = krum_scores(v, 2)
    assert (s >= 0).all() and np.allclose(s, 0.0, atol=1e-6 * 1e16)
    np.testing.assert_array_equal(krum(v, 2), v[0])


def valid_nnm_means(v, keep):
    """Every mean NNM may give for each replica: any keep-set that is nearest (ties either way)."""
    n = len(v)
    d = ((v[:, None, :] - v[None, :, :]) ** 2).sum(axis=2)
    out = []
    for i in range(n):
        di = d[i].copy()
        di[i] = -1.0
        kth = np.sort(di)[keep - 1]
        must = [j for j in range(n) if di[j] < kth]
        maybe = [j for j in range(n) if di[j] == kth]
        out.append(
            [v[must + list(c)].mean(axis=0) for c in itertools.combinations(maybe, keep - len(must))]
        )
    return out


def test_nnm_with_tied_distances_keeps_exactly_n_minus_f():
    # replica 0 at the origin, four at distance 1 from it: its neighbourhood boundary is tied
    base = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]], dtype=float)
    t = rules.TOKEN_CHUNK + 5
    x = np.repeat(base[:, None, :], t, axis=1) * np.arange(1, t + 1)[None, :, None]
    got = nnm(x, 2)
    for tok in (0, rules.TOKEN_CHUNK, t - 1):
        options = valid_nnm_means(x[:, tok, :], 3)
        for i in range(5):
            assert any(np.allclose(got[i, tok], o, atol=1e-12) for o in options[i]), (tok, i)


def test_nnm_batched_matches_reference_with_duplicate_attackers():
    rng = np.random.default_rng(5)
    n, f = 16, 5
    honest = rng.normal(size=(1, 300, 16)) + rng.normal(scale=0.1, size=(n - f, 300, 16))
    x = attacks.with_attack(honest, "alie", f, position="random", rng=rng)  # f identical vectors
    got = nnm(x, f)
    for tok in (0, 127, 128, 299):
        for i in range(n):
            assert any(np.allclose(got[i, tok], o, atol=1e-12) for o in valid_nnm_means(x[:, tok, :], n - f)[i])


def test_finite_values_whose_sum_overflows_are_accepted_and_nonfinite_still_refused():
    x = np.zeros((5, 3, 4))
    x[0] = x[1] = 1e308  # the total overflows, the trimmed middle {1e308, 0, 0} does not
    x[4] = -1.0
    with np.errstate(all="raise"):  # and the check itself warns about nothing
        np.testing.assert_allclose(trimmed_mean(x, 1), np.full((3, 4), 1e308 / 3))
    y = np.zeros((5, 3, 4))
    y[3, 2, 1] = np.nan
    with pytest.raises(InvalidInput, match="replica 3, token 2, expert 1"):
        trimmed_mean(y, 1)
    y[3, 2, 1] = -np.inf
    with pytest.raises(InvalidInput, match="non-finite"):
        krum(y, 1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize(
    "rule",
    [
        lambda x: krum(x, 2),
        lambda x: krum_scores(x, 2),
        lambda x: multi_krum(x, 2, 3),
        lambda x: nnm(x, 2),
        lambda x: nnm(x, 0),
        lambda x: trimmed_mean(x, 2),
        lambda x: trimmed_mean(x, 0),
    ],
)
def test_rules_find_nonfinite_values_in_any_chunk(rule, bad):
    """They skip the up-front pass and see NaN/inf through ‖x‖² or the network's min/max."""
    x = np.random.default_rng(2).normal(size=(7, rules.TOKEN_CHUNK + 9, 5))
    x[4, rules.TOKEN_CHUNK + 3, 2] = bad
    with pytest.raises(InvalidInput, match=f"replica 4, token {rules.TOKEN_CHUNK + 3}, expert 2"):
        rule(x)
    y = x[:, rules.TOKEN_CHUNK + 3, :].tolist()  # one [replicas, experts] matrix, as lists
    with pytest.raises(InvalidInput, match="replica 4, expert 2"):
        rule(y)


def test_distance_rules_outlier_mode_still_maps_nonfinite_values():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9, 40, 6))
    x[8, :, 1] = np.nan  # one garbage replica, f = 2
    assert np.isfinite(krum(x, 2, nonfinite="outlier")).all()
    assert np.isfinite(nnm(x, 2, nonfinite="outlier")).all()
    assert not (krum(x, 2, nonfinite="outlier") == x[8]).all(axis=1).any()


@pytest.mark.parametrize("scale", [1e160, 1e200, 1e300])
def test_attackers_whose_squares_overflow_are_neither_refused_nor_chosen(scale):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(9, 300, 4))
    x[[0, 5]] *= scale  # finite, but squared norms overflow to inf (and inf - inf = NaN)
    honest = np.delete(x, [0, 5], axis=0)
    assert krum_scores(x, 2).shape == (300, 9)
    picked = krum(x, 2)
    assert (picked[None] == honest).all(axis=2).any(axis=0).all()  # an honest vector each token
    mk = multi_krum(x, 2, 3)
    assert np.isfinite(mk).all() and np.abs(mk).max() < 10
    mixed = nnm(x, 2)
    assert np.isfinite(mixed[[1, 2, 3, 4, 6, 7, 8]]).all()
    assert np.abs(mixed[[1, 2, 3, 4, 6, 7, 8]]).max() < 10  # honest rows mix honest vectors only


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", [(0, 0, 0), (6, 100, 63), (3, 2 * 16384 // 64 + 5, 17)])
def test_trimmed_mean_network_path_sees_nonfinite_anywhere(bad, where):
    x = np.random.default_rng(7).normal(size=(7, 600, 64))  # 38,400 values a replica: 3 chunks
    x[where] = bad
    with pytest.raises(InvalidInput, match="replica {}, token {}, expert {}".format(*where)):
        trimmed_mean(x, 2)
    x[where] = 1e300  # a finite outlier is just trimmed away
    assert np.isfinite(trimmed_mean(x, 2)).all()
