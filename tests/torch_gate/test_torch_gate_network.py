"""The comparator networks behind the gate's median."""

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from openmoe_bft.torch._network import batcher_pairs, median_program, run_median  # noqa: E402
from openmoe_bft.torch.gate import _aggregate, _sanitize  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("n", range(1, 13))
def test_batcher_network_sorts_every_zero_one_input(n):
    pairs = batcher_pairs(n)
    assert all(0 <= i < j < n for i, j in pairs)
    for bits in itertools.product((0, 1), repeat=n):  # 0-1 principle: sorts these => sorts all
        v = list(bits)
        for i, j in pairs:
            v[i], v[j] = min(v[i], v[j]), max(v[i], v[j])
        assert v == sorted(bits)


@pytest.mark.parametrize("n", range(1, 17))
def test_pruned_median_equals_numpy_median(n):
    rng = np.random.default_rng(n)
    data = rng.standard_normal((n, 500))
    data[:, :50] = np.round(data[:, :50])  # plenty of ties
    got = run_median(list(torch.from_numpy(data)))
    assert np.array_equal(got.numpy(), np.median(data, axis=0))
    ops, outputs = median_program(n)
    assert len(outputs) == (1 if n % 2 else 2) and len(ops) <= len(batcher_pairs(n))


@pytest.mark.parametrize("n", [4, 7, 20])
def test_aggregate_treats_nan_as_an_extreme(n):
    f = (n - 1) // 3
    honest = torch.randn(1, 30)
    stack = honest.repeat(n, 1)
    stack[:f] = float("nan")
    for method in ("median", "trimmed_mean"):
        got = _aggregate(_sanitize(stack), 0, method, f)
        assert torch.allclose(got, honest[0]) and torch.isfinite(got).all()
    assert torch.equal(_aggregate(_sanitize(stack), 0, "median", f), honest[0])
