"""The seed's aggregator call shapes and results (its test-suite's assertions, unchanged)."""

import pytest

from openmoe_bft import coordinate_wise_median, krum, multi_krum, robust_route, trimmed_mean


def test_median_hand_computed_and_even_count():
    assert coordinate_wise_median([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]) == [2.0, 20.0]
    assert coordinate_wise_median([[1.0], [2.0], [3.0], [100.0]]) == [2.5]


def test_median_byzantine_resistant():
    out = coordinate_wise_median([[5.0], [5.1], [4.9], [5.0], [5.05], [1e6], [-1e6]])
    assert abs(out[0] - 5.0) < 0.2


def test_trimmed_mean_seed():
    assert trimmed_mean([[1.0], [2.0], [3.0], [4.0], [100.0]], f=1) == [3.0]
    assert trimmed_mean([[2.0, 4.0], [4.0, 8.0]], f=0) == [3.0, 6.0]
    out = trimmed_mean([[10.0], [10.0], [9.0], [11.0], [10.0], [1e9], [-1e9]], f=2)
    assert abs(out[0] - 10.0) < 1.0
    with pytest.raises(ValueError):
        trimmed_mean([[1.0], [2.0]], f=1)
    with pytest.raises(ValueError):
        trimmed_mean([[1.0], [2.0], [3.0]], f=-1)


def test_krum_seed():
    vecs = [[0.0, 0.0], [0.1, 0.1], [0.0, 0.1], [0.1, 0.0], [100.0, 100.0]]
    out = krum(vecs, f=1)
    assert out != [100.0, 100.0]
    assert out in [list(v) for v in vecs[:4]]
    vecs = [[1.0, 1.0], [1.1, 0.9], [0.9, 1.1], [1.0, 1.05], [1.05, 1.0], [500.0, -500.0], [-500.0, 500.0]]
    out = krum(vecs, f=2)
    assert abs(out[0] - 1.0) < 0.5 and abs(out[1] - 1.0) < 0.5
    with pytest.raises(ValueError):
        krum([[1.0], [2.0], [3.0], [4.0]], f=1)
    with pytest.raises(ValueError):
        krum([[1.0], [2.0], [3.0], [4.0], [5.0]], f=-1)


def test_multi_krum_seed():
    vecs = [[0.0, 0.0], [0.1, 0.1], [0.0, 0.1], [0.1, 0.0], [50.0, 50.0]]
    assert multi_krum(vecs, f=1, m=1) == krum(vecs, f=1)
    vecs = [[0.0, 0.0], [2.0, 2.0], [1.0, 1.0], [1.0, 1.0], [100.0, 100.0]]
    assert multi_krum(vecs, f=1, m=4) == [1.0, 1.0]
    vecs = [[float(i)] for i in range(5)]
    with pytest.raises(ValueError):
        multi_krum(vecs, f=1, m=0)
    with pytest.raises(ValueError):
        multi_krum(vecs, f=1, m=6)
    with pytest.raises(ValueError):
        multi_krum([[1.0]] * 4, f=1, m=2)
    assert len(multi_krum(vecs, f=1, m=3)) == 1


def test_empty_and_ragged_inputs_raise():
    for bad in ([], [[]], [[1.0, 2.0], [3.0]]):
        with pytest.raises(ValueError):
            coordinate_wise_median(bad)
    with pytest.raises(ValueError):
        trimmed_mean([[1.0, 2.0], [3.0]], f=0)


def test_robust_route_seed():
    assert robust_route([[0.1, 0.2, 0.9], [0.0, 0.3, 0.8], [0.2, 0.1, 0.95]], f=0, method="median") == 2
    vecs = [[10.0, 0.0, 0.0]] * 5 + [[-1e6, 0.0, 1e6], [-1e6, 0.0, 1e6]]
    for method in ("median", "krum", "trimmed_mean"):
        assert robust_route(vecs, f=2, method=method) == 0
    assert robust_route([[1.0, 0.0]] * 5 + [[0.0, 1e6], [0.0, 1e6]], f=2, method="multi_krum") == 0
    with pytest.raises(ValueError):
        robust_route([[1.0]], f=0, method="bogus")
    assert robust_route([[5.0, 5.0, 1.0]], f=0, method="median") == 0


def test_spec_example_seven_replicas():
    # SPEC: seven replicas where five honest score expert 0 and two Byzantine send ±1e6 -> 0
    honest = [[3.0, 1.0, 0.5, 0.2]] * 5
    byz = [[-1e6, 1e6, 1e6, -1e6], [-1e6, -1e6, 1e6, 1e6]]
    for method in ("median", "trimmed_mean", "krum", "multi_krum", "geometric_median"):
        assert robust_route(honest + byz, f=2, method=method) == 0
    assert robust_route(honest + byz) == 0  # defaults: median, f = (7 - 1) // 3
    assert isinstance(robust_route(honest + byz, f=2, method="krum"), int)
