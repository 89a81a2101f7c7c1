"""Every rule: batched == per-token, equal to a plain-loop reference, bad input refused."""

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.aggregators import (
    aggregate,
    bulyan,
    coordinate_wise_median,
    geometric_median,
    krum,
    krum_scores,
    mean,
    multi_krum,
    nnm,
    robust_route,
    top_k,
    trimmed_mean,
)
from openmoe_bft.errors import InvalidInput, InvalidType

# ── plain references, written from the papers with Python loops ─────────────


def ref_krum_scores(v, f, k=None):
    n = len(v)
    k = n - f - 2 if k is None else k
    out = []
    for i in range(n):
        d = sorted(float(np.sum((v[i] - v[j]) ** 2)) for j in range(n) if j != i)
        out.append(sum(d[:k]))
    return np.array(out)


def ref_multi_krum(v, f, m):
    s = ref_krum_scores(v, f)
    order = sorted(range(len(v)), key=lambda i: (s[i], i))[:m]
    return v[order].mean(axis=0)


def ref_bulyan(v, f):
    n = len(v)
    pool = list(range(n))
    chosen = []
    for _ in range(n - 2 * f):
        if len(pool) == 1:
            chosen.append(pool.pop())
            break
        k = min(max(len(pool) - f - 2, 1), len(pool) - 1)
        sub = v[pool]
        s = ref_krum_scores(sub, f, k)
        best = min(range(len(pool)), key=lambda i: (s[i], i))
        chosen.append(pool.pop(best))
    sel = v[chosen]
    beta = len(chosen) - 2 * f
    out = []
    for c in range(v.shape[1]):
        col = sel[:, c]
        med = np.median(col)
        closest = sorted(range(len(col)), key=lambda i: (abs(col[i] - med), i))[:beta]
        out.append(col[closest].mean())
    return np.array(out)


def ref_nnm(v, f):
    n = len(v)
    out = []
    for i in range(n):
        d = [float(np.sum((v[i] - v[j]) ** 2)) if j != i else -1.0 for j in range(n)]
        near = sorted(range(n), key=lambda j: (d[j], j))[: n - f]
        out.append(v[near].mean(axis=0))
    return np.array(out)


def rand(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


# ── correctness ───────────────────────────────────────────────────────────


@pytest.mark.parametrize("seed", range(5))
def test_rules_match_references(seed):
    v = rand((11, 6), seed)
    f = 2
    np.testing.assert_allclose(krum_scores(v, f), ref_krum_scores(v, f), rtol=1e-9, atol=1e-9)
    s = ref_krum_scores(v, f)
    np.testing.assert_array_equal(krum(v, f), v[int(np.argmin(s))])
    for m in (1, 3, 9):
        np.testing.assert_allclose(multi_krum(v, f, m), ref_multi_krum(v, f, m), atol=1e-12)
    np.testing.assert_allclose(bulyan(v, f), ref_bulyan(v, f), atol=1e-12)
    np.testing.assert_allclose(nnm(v, f), ref_nnm(v, f), atol=1e-12)
    np.testing.assert_allclose(coordinate_wise_median(v), np.median(v, axis=0))
    srt = np.sort(v, axis=0)
    np.testing.assert_allclose(trimmed_mean(v, f), srt[f:-f].mean(axis=0))


def test_geometric_median_minimises_sum_of_distances():
    v = rand((9, 4), 3)
    z = geometric_median(v)

    def cost(p):
        return np.linalg.norm(v - p, axis=1).sum()

    rng = np.random.default_rng(1)
    for _ in range(200):
        assert cost(z) <= cost(z + rng.normal(scale=1e-3, size=4)) + 1e-12
    # one point far away barely moves it
    w = v.copy()
    w[0] = 1e9
    assert np.linalg.norm(geometric_median(w) - geometric_median(v)) < 1.0


@pytest.mark.parametrize(
    "rule",
    [
        lambda v: coordinate_wise_median(v),
        lambda v: trimmed_mean(v, 2),
        lambda v: krum(v, 2),
        lambda v: multi_krum(v, 2),
        lambda v: multi_krum(v, 2, 3),
        lambda v: geometric_median(v),
        lambda v: bulyan(v, 2),
        lambda v: mean(v),
        lambda v: nnm(v, 2),
    ],
)
def test_batched_equals_per_token(rule):
    x = rand((11, 7, 5), 4)  # [replicas, tokens, experts]
    batched = np.asarray(rule(x))
    per = np.stack([np.asarray(rule(x[:, t, :])) for t in range(7)], axis=-2 if batched.ndim == 3 else 0)
    np.testing.assert_allclose(batched, per, atol=1e-9)


def test_list_in_list_out_array_in_array_out():
    v = [[1.0, 2.0], [2.0, 3.0], [3.0, 1.0]]
    assert isinstance(coordinate_wise_median(v), list)
    assert isinstance(coordinate_wise_median(np.array(v)), np.ndarray)
    assert isinstance(nnm(v, 1), list) and len(nnm(v, 1)) == 3
    batch = [[[1.0, 0.0]] * 2] * 5  # 5 replicas, 2 tokens
    assert robust_route(batch, f=1) == [0, 0]
    assert robust_route(np.array(batch), f=1).tolist() == [0, 0]
    assert robust_route([[1.0, 3.0, 2.0], [1.0, 3.0, 2.5], [0.0, 3.5, 2.0]], f=0, k=2) == [1, 2]


def test_identical_honest_copies_exact():
    row = rand((1, 8), 5)
    v = np.concatenate([np.repeat(row, 5, 0), np.full((2, 8), 1e6)])
    for method in ("median", "trimmed_mean", "krum", "multi_krum", "geometric_median"):
        # smoothed Weiszfeld is biased by about nu = 1e-8 towards the outliers
        np.testing.assert_allclose(aggregate(v, f=2, method=method), row[0], rtol=0, atol=1e-7)


def test_top_k_ties_lowest_index_and_order():
    assert top_k([3.0, 5.0, 5.0, 1.0], 2).tolist() == [1, 2]
    assert top_k([[1.0, 1.0, 1.0]], 1).tolist() == [[0]]
    assert robust_route([[0.0, 2.0, 2.0, 1.0]], f=0, k=3) == [1, 2, 3]
    with pytest.raises(InvalidInput, match="k"):
        top_k([1.0, 2.0], 3)


def test_custom_callable_method_and_nnm_pre():
    x = rand((7, 3, 4), 6)
    out = robust_route(x, f=2, method=lambda v, f: np.max(v, axis=0))
    np.testing.assert_array_equal(out, np.argmax(x.max(axis=0), axis=1))
    with pytest.raises(InvalidInput, match="method"):
        robust_route(x, f=2, method=lambda v, f: v)
    mixed = aggregate(x, f=2, method="median", pre="nnm")
    np.testing.assert_allclose(mixed, np.median(np.swapaxes(np.asarray(nnm(x, 2)), 0, 0), axis=0))


# ── preconditions and bad input ───────────────────────────────────────────


@pytest.mark.parametrize(
    ("call", "need"),
    [
        (lambda: trimmed_mean(rand((4, 3)), 2), "n > 2f"),
        (lambda: krum(rand((6, 3)), 2), "n >= 2f + 3"),
        (lambda: multi_krum(rand((6, 3)), 2), "n >= 2f + 3"),
        (lambda: bulyan(rand((10, 3)), 2), "n >= 4f + 3"),
        (lambda: nnm(rand((4, 3)), 2), "n > 2f"),
        (lambda: robust_route(rand((4, 3)), f=2), "n > 2f"),
        (lambda: robust_route(rand((4, 3)), f=1, method="mean"), "not robust"),
        (lambda: robust_route(rand((10, 3)), f=2, method="bulyan"), "n >= 4f + 3"),
    ],
)
def test_preconditions_name_f(call, need):
    with pytest.raises(InvalidInput, match=re.escape(need)) as exc:
        call()
    assert exc.value.argument == "f"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_scores_refused_with_position(bad):
    v = rand((5, 3, 4))
    v[3, 1, 2] = bad
    with pytest.raises(InvalidInput, match="replica 3, token 1, expert 2") as exc:
        robust_route(v, f=1)
    assert exc.value.argument == "scores"


def test_nonfinite_outlier_mode_tolerates_f_garbage_replicas():
    honest = np.tile([[[4.0, 1.0, 0.0]]], (5, 3, 1))
    v = np.concatenate([honest, np.full((2, 3, 3), np.nan)])
    v[5, :, 0] = -np.inf
    for method in ("median", "trimmed_mean", "krum", "multi_krum", "geometric_median"):
        assert robust_route(v, f=2, method=method, nonfinite="outlier").tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("scores", "exc", "text"),
    [
        ("abc", InvalidType, "str"),
        ([["a", "b"]], InvalidType, "numbers"),
        (np.zeros((2, 3, 4, 5)), InvalidInput, "rank"),
        (np.zeros(3), InvalidInput, "rank"),
        (np.zeros((0, 3)), InvalidInput, "at least one"),
        ([[1.0, 2.0], [1.0]], InvalidInput, "same number"),
    ],
)
def test_bad_scores(scores, exc, text):
    with pytest.raises(exc, match=text):
        robust_route(scores, f=0)


@pytest.mark.parametrize("f", [-1, 1.5, True, "2", None.__class__])
def test_bad_f(f):
    with pytest.raises(InvalidInput) as exc:
        trimmed_mean(rand((5, 3)), f)
    assert exc.value.argument == "f"


def test_bad_options():
    v = rand((7, 3))
    with pytest.raises(InvalidInput, match="m"):
        robust_route(v, f=1, method="median", m=3)
    with pytest.raises(InvalidInput, match="pre"):
        robust_route(v, f=1, pre="bucketing")
    with pytest.raises(InvalidInput, match="neighbors"):
        krum(v, 1, neighbors=7)
    with pytest.raises(InvalidInput, match="nu"):
        geometric_median(v, nu=0.0)
    with pytest.raises(InvalidInput, match="init"):
        geometric_median(v, init="random")
    with pytest.raises(InvalidInput, match="nonfinite"):
        robust_route(np.array([[np.nan, 1.0]]), f=0, nonfinite="ignore")
    with pytest.raises(InvalidType, match="k"):
        robust_route(v, f=1, k=1.0)


def test_torch_tensor_accepted_without_importing_torch_here():
    torch = pytest.importorskip("torch")
    x = torch.tensor(rand((7, 4)), dtype=torch.float32)
    assert robust_route(x, f=2) == robust_route(x.numpy(), f=2)


@given(
    st.integers(3, 12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.integers(0, (n - 1) // 2),
            st.lists(st.floats(-1e3, 1e3), min_size=n * 3, max_size=n * 3),
        )
    )
)
def test_median_and_trimmed_mean_stay_in_range(args):
    n, f, flat = args
    v = np.array(flat).reshape(n, 3)
    for agg in (coordinate_wise_median(v), trimmed_mean(v, f)):
        assert np.all(agg >= v.min(axis=0) - 1e-9) and np.all(agg <= v.max(axis=0) + 1e-9)
    assert math.isfinite(float(np.sum(trimmed_mean(v, f))))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 13, 16, 17, 31])
def test_sorting_network_path_equals_numpy(n):
    """Batches of >= 2,048 values per replica go through the sorting network."""
    x = rand((n, 40, 64), n)
    x[:, :3] = 1.0  # ties
    np.testing.assert_array_equal(coordinate_wise_median(x), np.median(x, axis=0))
    for f in range(0, (n - 1) // 2 + 1):
        np.testing.assert_allclose(trimmed_mean(x, f), np.sort(x, axis=0)[f : n - f].mean(axis=0), atol=1e-12)


def test_distance_rules_across_token_chunks():
    """Krum scores are computed TOKEN_CHUNK (128) tokens at a time; chunk edges change nothing."""
    x = rand((9, 1100, 6), 9)
    got = krum_scores(x, 2)
    for t in (0, 511, 512, 1023, 1024, 1099):
        np.testing.assert_allclose(got[t], ref_krum_scores(x[:, t, :], 2), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(multi_krum(x, 2, 3)[1050], multi_krum(x[:, 1050, :], 2, 3))
