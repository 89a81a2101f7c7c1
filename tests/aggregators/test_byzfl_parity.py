"""Parity with ByzFL (EPFL's reference library) on random inputs, to 1e-6.

ByzFL is a [dev] comparison dependency, installed with --no-deps (it declares
unpinned torch and torchvision); skipped when absent.
"""

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("torch")
if __import__("importlib.util").util.find_spec("byzfl") is None:
    pytest.skip("byzfl not installed (make test installs it)", allow_module_level=True)

from openmoe_bft import attacks  # noqa: E402
from openmoe_bft.aggregators import (  # noqa: E402
    coordinate_wise_median,
    geometric_median,
    krum,
    mean,
    multi_krum,
    nnm,
    trimmed_mean,
)
from openmoe_bft.aggregators._byzfl import load_byzfl  # noqa: E402

AGG, PRE, ATK = load_byzfl()
CASES = [(n, f, d, seed) for seed in range(4) for (n, f, d) in [(5, 1, 8), (7, 2, 16), (16, 5, 64), (10, 3, 3)]]


def vectors(n, d, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, d))
    v[: max(1, n // 4)] *= rng.uniform(1, 50)  # some far-away rows, as attackers would be
    return v


@pytest.mark.parametrize(("n", "f", "d", "seed"), CASES)
def test_rules_equal_byzfl(n, f, d, seed):
    v = vectors(n, d, seed)
    tol = {"rtol": 1e-6, "atol": 1e-6}
    np.testing.assert_allclose(coordinate_wise_median(v), AGG.Median()(v), **tol)
    np.testing.assert_allclose(mean(v), AGG.Average()(v), **tol)
    np.testing.assert_allclose(trimmed_mean(v, f), AGG.TrMean(f=f)(v), **tol)
    # ByzFL's Krum scores over the n - f - 1 nearest neighbours (the paper: n - f - 2)
    np.testing.assert_allclose(krum(v, f, neighbors=n - f - 1), AGG.Krum(f=f)(v), **tol)
    np.testing.assert_allclose(multi_krum(v, f, neighbors=n - f - 1), AGG.MultiKrum(f=f)(v), **tol)
    np.testing.assert_allclose(
        geometric_median(v, init="zeros", nu=0.1, max_iter=3, tol=0.0), AGG.GeometricMedian(nu=0.1, T=3)(v), **tol
    )
    np.testing.assert_allclose(nnm(v, f), PRE.NNM(f=f)(v), **tol)


@pytest.mark.parametrize(("n", "f", "d", "seed"), CASES)
def test_batched_rules_equal_byzfl_per_token(n, f, d, seed):
    x = np.random.default_rng(seed + 100).normal(size=(n, 6, d))
    ours = multi_krum(x, f, neighbors=n - f - 1)
    for t in range(6):
        np.testing.assert_allclose(ours[t], AGG.MultiKrum(f=f)(x[:, t, :]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_attacks_equal_byzfl(seed):
    honest = np.random.default_rng(seed).normal(size=(9, 12))
    f = 3
    pairs = [
        (attacks.sign_flip(honest, f), ATK.SignFlipping()(honest)),
        (attacks.ipm(honest, f, tau=2.0), ATK.InnerProductManipulation(tau=2.0)(honest)),
        (attacks.alie(honest, f, tau=1.5), ATK.ALittleIsEnough(tau=1.5)(honest)),
        (attacks.mimic(honest, f, target=2), ATK.Mimic(epsilon=2)(honest)),
        (attacks.inf(honest, f), ATK.Inf()(honest)),
    ]
    for ours, theirs in pairs:
        assert ours.shape == (f, 12)
        for row in ours:
            np.testing.assert_allclose(row, theirs, rtol=1e-6, atol=1e-6)
