"""With at most f attackers, robust_route keeps the honest winner whenever the honest
replicas agree with the margin the rule's theory requires.

The sufficient margins (derived in the rules' docstrings and the README's robustness section):

* median, trimmed mean: every aggregated coordinate lies in the honest range, so it is
  enough that the winner's lowest honest score beats every other expert's highest
  honest score (``coordinate gap > 0``).
* Krum / Multi-Krum (n >= 2f + 3): a selected Byzantine vector lies within
  ``rho = D * sqrt((n - f - 2) / (n - 2f - 1))`` of some honest vector (``D`` the honest
  diameter), so a per-vector winner margin ``> sqrt(2) * rho`` in every honest vector
  suffices.
* geometric median (n > 2f): within ``C * r`` of the honest mean (``r`` the honest
  radius, ``C = (1 - a) / sqrt(1 - 2a)``, ``a = f / n``; Minsker 2015, Lemma 2.1), so the
  honest mean's margin must exceed ``sqrt(2) * C * r``.
* Bulyan (n >= 4f + 3): every averaged value lies within the honest range widened by
  its own width ``W``, so ``coordinate gap > W_winner + W_other``.

Each case is checked on many random honest sets; a case counts only when its margin
holds, and the test also requires that enough cases qualified (it cannot pass vacuously).
"""

import math

import numpy as np
import pytest

from openmoe_bft import attacks
from openmoe_bft.aggregators import robust_route

# case name -> (attack in openmoe_bft.attacks.ATTACKS, its parameters)
ATTACKS = {
    "sign_flip": ("sign_flip", {}),
    "ipm": ("ipm", {}),
    "alie": ("alie", {}),
    "alie_tau_1.5": ("alie", {"tau": 1.5}),
    "mimic": ("mimic", {}),
    "large_norm": ("large_norm", {}),
    "expert_boost": ("expert_boost", {}),
    "gaussian": ("gaussian", {"sigma": 100.0}),
}


def _margins(h: np.ndarray, n: int, f: int) -> dict[str, bool]:
    w = int(np.argmax(h.mean(axis=0)))
    others = np.delete(h, w, axis=1)
    coord_gap = h[:, w].min() - others.max()
    per_vec = (h[:, w] - others.max(axis=1)).min()
    diff = h[:, None, :] - h[None, :, :]
    diam = math.sqrt(float((diff**2).sum(-1).max()))
    centre = h.mean(axis=0)
    radius = float(np.linalg.norm(h - centre, axis=1).max())
    centre_margin = centre[w] - np.delete(centre, w).max()
    width = h.max(axis=0) - h.min(axis=0)
    ok = {"median": coord_gap > 0, "trimmed_mean": coord_gap > 0}
    if n >= 2 * f + 3:
        rho = diam * math.sqrt((n - f - 2) / (n - 2 * f - 1))
        ok["krum"] = ok["multi_krum"] = per_vec > math.sqrt(2) * rho
    if n > 2 * f:
        a = f / n
        c = (1 - a) / math.sqrt(1 - 2 * a)
        ok["geometric_median"] = centre_margin > math.sqrt(2) * c * radius + 1e-6
    if n >= 4 * f + 3:
        ok["bulyan"] = coord_gap > width[w] + np.delete(width, w).max()
    return ok


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_winner_survives_up_to_f_attackers(attack):
    name, params = ATTACKS[attack]
    rng = np.random.default_rng(sorted(ATTACKS).index(attack))
    qualified: dict[str, int] = {}
    for trial in range(160):
        n = int(rng.integers(4, 16))
        f = int(rng.integers(1, (n - 1) // 2 + 1))
        d = int(rng.integers(2, 9))
        base = rng.normal(size=d)
        base[rng.integers(d)] += rng.uniform(0.5, 6.0)
        honest = base + rng.normal(scale=rng.choice([0.01, 0.05, 0.2]), size=(n - f, d))
        ok = _margins(honest, n, f)
        winner = int(np.argmax(honest.mean(axis=0)))
        byz_count = int(rng.integers(0, f + 1))  # up to f attackers, replaced by honest padding
        pad = honest[rng.integers(len(honest), size=f - byz_count)]
        full = attacks.with_attack(
            np.concatenate([honest, pad]), name, byz_count, position="random", rng=rng, **params
        )
        # padding copies honest vectors; re-check margins on the padded honest set
        ok = _margins(np.concatenate([honest, pad]), n, f) if byz_count < f else ok
        for method, holds in ok.items():
            if not holds:
                continue
            qualified[method] = qualified.get(method, 0) + 1
            got = robust_route(full, f=f, method=method)
            assert got == winner, (method, attack, trial, n, f, byz_count)
    for method in ("median", "trimmed_mean", "krum", "multi_krum", "geometric_median", "bulyan"):
        assert qualified.get(method, 0) >= 10, (method, qualified)


@pytest.mark.parametrize("method", ["median", "trimmed_mean", "krum", "multi_krum", "geometric_median", "bulyan"])
def test_batched_attack_on_many_tokens(method):
    """[replicas, tokens, experts] in one call: 2 expert_boost attackers among 11 never flip a token."""
    rng = np.random.default_rng(7)
    t, d, n, f = 512, 16, 11, 2
    base = rng.normal(size=(t, d))
    base[np.arange(t), rng.integers(d, size=t)] += 8.0
    honest = base[None] + rng.normal(scale=0.01, size=(n - f, t, d))
    full = attacks.with_attack(honest, "expert_boost", f)
    got = robust_route(full, f=f, method=method)
    np.testing.assert_array_equal(got, np.argmax(honest.mean(axis=0), axis=1))


def test_mean_breaks_with_one_attacker():
    honest = np.tile([3.0, 1.0, 0.0], (6, 1))
    full = attacks.with_attack(honest, "expert_boost", 1)
    assert robust_route(full, f=0, method="mean") != 0
    assert robust_route(full, f=1, method="median") == 0
