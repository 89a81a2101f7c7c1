import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft import decision_threshold, quorum_size, tolerated_faults
from openmoe_bft.errors import InvalidInput


@pytest.mark.parametrize(
    "n, f, q, thr",
    [(1, 0, 1, 1), (2, 0, 1, 2), (3, 0, 1, 2), (4, 1, 3, 3), (6, 1, 3, 4), (7, 2, 5, 5), (10, 3, 7, 7)],
)
def test_quorum_table(n, f, q, thr):
    assert (tolerated_faults(n), quorum_size(n), decision_threshold(n)) == (f, q, thr)


@pytest.mark.parametrize("bad", [0, -3, True, False, 2.0, "4", None, np.bool_(True)])
def test_bad_node_counts_are_invalid_input(bad):
    for fn in (tolerated_faults, quorum_size, decision_threshold):
        with pytest.raises(InvalidInput, match="n:"):
            fn(bad)


def test_numpy_ints_are_accepted():
    assert quorum_size(np.int64(7)) == 5


@given(st.integers(min_value=1, max_value=10_000))
def test_threshold_is_safe_and_live(n):
    f, thr = tolerated_faults(n), decision_threshold(n)
    assert thr >= 2 * f + 1  # Byzantine quorum
    assert 2 * thr > n  # strict majority: two values can never both be decided
    assert n - f >= thr  # liveness: the honest replicas alone can decide
    if n % 3 == 1:
        assert thr == quorum_size(n)  # n = 3f+1: the seed's rule, unchanged
