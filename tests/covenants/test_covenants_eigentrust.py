"""EigenTrust: a probability distribution, parity with networkx's personalised PageRank."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.covenants import eigentrust
from openmoe_bft.errors import InvalidInput, InvalidType


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 12))
    m = draw(st.integers(0, 40))
    src = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    w = draw(st.lists(st.floats(0, 10, allow_nan=False), min_size=m, max_size=m))
    p = draw(st.one_of(st.none(), st.lists(st.floats(0, 1), min_size=n, max_size=n)
                       .filter(lambda v: sum(v) > 0)))
    alpha = draw(st.floats(0.05, 1.0))
    q = draw(st.one_of(st.none(), st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    return n, src, dst, w, p, alpha, q


@given(graphs())
def test_trust_is_a_distribution_and_scores_in_unit_interval(g):
    n, src, dst, w, p, alpha, q = g
    r = eigentrust(n, src, dst, w, pretrusted=p, alpha=alpha, discount=q)
    assert r.converged
    assert r.trust.shape == (n,)
    assert r.trust.min() >= 0.0
    assert r.trust.sum() == pytest.approx(1.0, abs=1e-9)
    assert (r.scores >= 0).all() and (r.scores <= 1.0 + 1e-12).all()
    assert r.scores.max() == pytest.approx(1.0)
    # the fixed point: t = (1 - a) C^T t + a p, dense; C's rows are normalised, then
    # discounted per column, and what a row lacks of 1 (all of a dangling row) goes to p
    pv = np.full(n, 1 / n) if p is None else np.asarray(p) / sum(p)
    C = np.zeros((n, n))
    for s, d, x in zip(src, dst, w, strict=True):
        if s != d:
            C[s, d] += x
    rows = C.sum(axis=1)
    C[rows > 0] /= rows[rows > 0, None]
    if q is not None:
        C *= np.asarray(q)[None, :]
    C += np.outer(1 - C.sum(axis=1), pv)
    assert np.allclose((1 - alpha) * C.T @ r.trust + alpha * pv, r.trust, atol=1e-8)


def test_parity_with_networkx_pagerank():
    nx = pytest.importorskip("networkx")
    pytest.importorskip("scipy")
    rng = np.random.default_rng(7)
    n, m = 300, 2000
    src, dst, w = rng.integers(0, n, m), rng.integers(0, n, m), rng.random(m)
    src[:40] = np.arange(40)  # a few dangling agents: none of 250..299 vouch
    src = np.where(src >= 250, src - 250, src)
    p = np.zeros(n)
    p[:5] = 1.0
    ours = eigentrust(n, src, dst, w, pretrusted=p, alpha=0.15, tol=1e-13).trust
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for s, d, x in zip(src.tolist(), dst.tolist(), w.tolist(), strict=True):
        if s != d:
            G.add_edge(s, d, weight=G.get_edge_data(s, d, {"weight": 0})["weight"] + x)
    pers = {i: float(p[i]) for i in range(n)}
    ref = nx.pagerank(G, alpha=0.85, personalization=pers, dangling=pers, tol=1e-14,
                      max_iter=1000)
    assert np.allclose(ours, [ref[i] for i in range(n)], atol=1e-10)


def test_uniform_cycle_and_pretrusted_sink():
    r = eigentrust(3, [0, 1, 2], [1, 2, 0])
    assert np.allclose(r.trust, 1 / 3)
    r = eigentrust(3, [0, 1], [1, 2], pretrusted=[1, 0, 0], alpha=0.5)
    assert r.trust[0] > 0 and r.trust[2] > 0 and r.trust.sum() == pytest.approx(1)
    assert eigentrust(0, [], []).trust.size == 0


def test_discount_withholds_trust_even_from_a_sole_trustee():
    full = eigentrust(3, [0, 1], [1, 2], pretrusted=[1, 0, 0])
    half = eigentrust(3, [0, 1], [1, 2], pretrusted=[1, 0, 0], discount=[1, 0.5, 1])
    none = eigentrust(3, [0, 1], [1, 2], pretrusted=[1, 0, 0], discount=[1, 0, 1])
    assert none.trust[1] == none.trust[2] == 0.0
    assert full.trust[1] > half.trust[1] > 0 and full.trust[2] > half.trust[2] > 0
    with pytest.raises(InvalidInput):
        eigentrust(3, [0], [1], discount=[1, 2, 1])


def test_max_iter_reports_non_convergence():
    r = eigentrust(4, [0, 1, 2, 3], [1, 2, 3, 0], pretrusted=[1, 0, 0, 0], alpha=0.01,
                   max_iter=3)
    assert not r.converged and r.iterations == 3 and r.trust.sum() == pytest.approx(1)


@pytest.mark.parametrize("kwargs,err", [
    (dict(n=-1, src=[], dst=[]), InvalidInput),
    (dict(n=2, src=[0, 5], dst=[1, 1]), InvalidInput),
    (dict(n=2, src=[0.5], dst=[1]), InvalidType),
    (dict(n=2, src=[0], dst=[1, 0]), InvalidInput),
    (dict(n=2, src=[0], dst=[1], weight=[-1]), InvalidInput),
    (dict(n=2, src=[0], dst=[1], weight=[np.inf]), InvalidInput),
    (dict(n=2, src=[0], dst=[1], alpha=0), InvalidInput),
    (dict(n=2, src=[0], dst=[1], pretrusted=[0, 0]), InvalidInput),
    (dict(n=2, src=[0], dst=[1], pretrusted=[1]), InvalidInput),
    (dict(n=2, src=[0], dst=[1], tol=0), InvalidInput),
])
def test_bad_input(kwargs, err):
    with pytest.raises(err):
        eigentrust(**kwargs)
