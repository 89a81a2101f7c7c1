"""The signing payload's fast RFC 8785 path gives the same bytes as ``rfc8785``."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.a2a.signatures import jcs

_scalars = (st.none() | st.booleans() | st.integers(-(2**60), 2**60)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.sampled_from([1e-7, 1e-5, 0.0001, 1e15, 1e16, 1e21, 1.5e300, -0.0, 0.1, 2.5])
            | st.text())
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@given(_json)
def test_jcs_matches_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except Exception:  # rfc8785 refuses it (huge ints, lone surrogates): so do we
        try:
            jcs(value)
        except Exception:
            return
        raise AssertionError("jcs accepted what rfc8785 refuses") from None
    assert jcs(value) == expected


def test_known_vectors():
    assert jcs({"b": 1.0, "a": [0.5, 1e-7, 1e21, "é\u001f"]}) == \
        '{"a":[0.5,1e-7,1e+21,"é\\u001f"],"b":1}'.encode()
    assert jcs({"\U0001f600": 1, "\ue000": 2}) == rfc8785.dumps({"\U0001f600": 1, "\ue000": 2})
