import hashlib
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.canonical import (
    canonical_bytes,
    canonical_json,
    from_tagged,
    to_tagged,
    value_hash,
)
from openmoe_bft.errors import InvalidInput, InvalidType


def test_known_vectors_are_stable_across_versions():
    # Pinned: if these change, every stored vote hash changes. Do not update casually.
    assert canonical_bytes(7) == b"7"
    assert canonical_bytes("expert-1") == b'"expert-1"'
    assert canonical_bytes({"b": 1, "a": [1.5, None]}) == b'{"$dict":{"a":[{"$float":"0x1.8000000000000p+0"},null],"b":1}}'
    assert value_hash(7) == hashlib.sha256(b"7").hexdigest()


def test_seed_assignment_hash_compatible_for_ints_and_ascii():
    for key in (1, 42, "expert-3"):
        assert value_hash(key) == hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def test_dict_order_irrelevant_and_set_order_irrelevant():
    assert value_hash({"a": 1, "b": 2}) == value_hash({"b": 2, "a": 1})
    assert value_hash(frozenset({3, 1, 2})) == value_hash({2, 3, 1})


def test_types_are_kept_apart_deliberately():
    hashes = {value_hash(v) for v in (1, 1.0, True, "1", [1], frozenset({1}), b"1", None)}
    assert len(hashes) == 8


def test_tuple_and_list_match_and_numpy_scalars_match_python():
    assert value_hash((1, 2)) == value_hash([1, 2])
    assert value_hash(np.int64(5)) == value_hash(5)
    assert value_hash(np.float32(0.5)) == value_hash(0.5)


def test_big_ints_are_exact():
    assert value_hash(2**80) != value_hash(2**80 + 1)
    assert from_tagged(to_tagged(2**80)) == 2**80


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1: "x"}])
def test_unhashable_values_are_refused(bad):
    with pytest.raises(InvalidInput):
        value_hash(bad)


def test_non_str_keys_is_a_type_error():
    with pytest.raises(InvalidType):
        value_hash({1: 2})


def test_canonical_json_refuses_non_json():
    assert canonical_json({"z": 1, "a": "é"}) == '{"a":"é","z":1}'.encode()
    with pytest.raises(InvalidInput):
        canonical_json({"x": float("nan")})


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_roundtrip_and_hash_stability(value):
    tagged = to_tagged(value)
    again = from_tagged(json.loads(json.dumps(tagged)))
    assert value_hash(again) == value_hash(value)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(_json_values)
def test_canonical_json_fast_path_matches_rfc8785(value):
    import rfc8785

    try:
        expected = rfc8785.dumps(value)
    except Exception:  # noqa: BLE001 - the library refuses: so must we
        with pytest.raises(InvalidInput):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@pytest.mark.parametrize("value", [{"\U0001f600": 1, "\uffff": 2}, {"k": "\ud800"}, [2**53],
                                   {1: "int key"}, {"a": [[[[1.0]]]]}, ("t", 1)])
def test_canonical_json_edge_cases_match_rfc8785(value):
    import rfc8785

    try:
        expected = rfc8785.dumps(value)
    except Exception:  # noqa: BLE001
        with pytest.raises(InvalidInput):
            canonical_json(value)
        return
    assert canonical_json(value) == expected
