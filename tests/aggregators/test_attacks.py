"""openmoe_bft.attacks: shapes, formulas, placement, bad input."""

import numpy as np
import pytest

from openmoe_bft import attacks
from openmoe_bft.errors import InvalidInput, InvalidType


def test_shapes_single_and_batched():
    h = np.random.default_rng(0).normal(size=(6, 5))
    hb = np.random.default_rng(0).normal(size=(6, 3, 5))
    for name, fn in attacks.ATTACKS.items():
        assert fn(h, 2).shape == (2, 5), name
        assert fn(hb, 2).shape == (2, 3, 5), name
        assert fn(h, 0).shape == (0, 5), name


def test_formulas():
    h = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(attacks.sign_flip(h, 1)[0], [-2.0, -4.0])
    np.testing.assert_allclose(attacks.ipm(h, 1, tau=0.5)[0], [-1.0, -2.0])
    np.testing.assert_allclose(attacks.alie(h, 1, tau=1.0)[0], [2.0 + np.sqrt(2), 4.0 + np.sqrt(8)])
    np.testing.assert_allclose(attacks.mimic(h, 1, target=1)[0], [3.0, 6.0])
    assert np.linalg.norm(attacks.large_norm(h, 1, scale=10.0)[0]) == pytest.approx(10.0)
    boost = attacks.expert_boost([[3.0, 1.0, 0.0]], 1, scale=100.0)[0]
    assert int(np.argmax(boost)) == 1 and boost[0] == -97.0
    assert np.isinf(attacks.inf(h, 1)).all()


def test_alie_default_tau_is_the_papers_z_max():
    # n = 10, f = 2: s = 10 // 2 + 1 - 2 = 4, z = Phi^-1(6 / 10) ~= 0.2533
    h = np.array([[0.0], [2.0]] * 4)
    std = h.std(axis=0, ddof=1)[0]
    assert attacks.alie(h, 2)[0, 0] == pytest.approx(1.0 + 0.25335 * std, rel=1e-3)


def test_with_attack_positions_and_rng():
    h = np.zeros((4, 3))
    end = attacks.with_attack(h, "large_norm", 2)
    assert np.all(end[:4] == 0) and np.all(end[4:] != 0)
    start = attacks.with_attack(h, "large_norm", 2, position="start")
    assert np.all(start[2:] == 0)
    r1 = attacks.with_attack(h, "gaussian", 2, position="random", rng=3)
    r2 = attacks.with_attack(h, "gaussian", 2, position="random", rng=3)
    np.testing.assert_array_equal(r1, r2)
    custom = attacks.with_attack(h, lambda honest, f: np.ones((f, 3)), 1)
    assert custom.shape == (5, 3)


@pytest.mark.parametrize(
    ("call", "exc", "arg"),
    [
        (lambda: attacks.with_attack(np.zeros((3, 2)), "nope", 1), InvalidInput, "attack"),
        (lambda: attacks.with_attack(np.zeros((3, 2)), "ipm", 1, position="middle"), InvalidInput, "position"),
        (lambda: attacks.sign_flip(np.zeros(3), 1), InvalidInput, "honest"),
        (lambda: attacks.sign_flip([["a"]], 1), InvalidType, "honest"),
        (lambda: attacks.sign_flip(np.zeros((3, 2)), -1), InvalidInput, "f"),
        (lambda: attacks.mimic(np.zeros((3, 2)), 1, target=5), InvalidInput, "target"),
    ],
)
def test_bad_input(call, exc, arg):
    with pytest.raises(exc) as info:
        call()
    assert info.value.argument == arg
