"""Appending's fast paths give exactly what the general ones give: flat payloads are
encoded byte for byte as RFC 8785 (``rfc8785``) and decoded as ``json.loads`` would,
and ``MerkleTree.extend`` builds the tree ``append`` builds."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.canonical import canonical_json
from openmoe_bft.errors import InvalidInput
from openmoe_bft.receipts import AuditChain, MerkleTree
from openmoe_bft.receipts.records import _is_flat, encode_payload, payload_bytes

_keys = st.text(max_size=6) | st.sampled_from(["a", "b", "é", "\u2028", "\x7f", "\x00", "Z"])
_scalars = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
            | st.integers() | st.text() | st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(_keys, inner, max_size=3), max_leaves=6)


@given(st.dictionaries(_keys, _values, max_size=6) | _values)
def test_payload_bytes_are_rfc8785_and_decode_like_json_loads(payload):
    try:
        expected = rfc8785.dumps(payload)
    except Exception:  # noqa: BLE001 - rfc8785 refuses it: so must we
        with pytest.raises(InvalidInput):
            payload_bytes(payload)
        with pytest.raises(InvalidInput):
            encode_payload(payload)
        return
    assert payload_bytes(payload) == expected == canonical_json(payload)
    data, decoded = encode_payload(payload)
    assert data == expected
    parsed = json.loads(data)
    assert decoded == parsed and json.dumps(decoded) == json.dumps(parsed)  # order too


@given(st.dictionaries(_keys, st.none() | st.booleans() | st.text()
                       | st.integers(-(2**53) + 1, 2**53 - 1), max_size=8))
def test_flat_payloads_take_the_fast_path_and_match_rfc8785(payload):
    assert _is_flat(payload) == all(k.isascii() or max(k) <= "\uffff" for k in payload)
    if _is_flat(payload):
        data, decoded = encode_payload(payload)
        assert data == rfc8785.dumps(payload)
        assert list(decoded.items()) == list(json.loads(data).items())


def test_flat_path_refuses_what_is_not_flat():
    class Str(str):
        pass

    for payload in ({"a": 1.5}, {"a": 2**53}, {"a": [1]}, {1: "x"}, {"a": Str("x")},
                    {"\U0001f600": 1}, ["a"], "a", None, {"a": {"b": 1}}):
        assert not _is_flat(payload)
    with pytest.raises(InvalidInput):
        payload_bytes({"a": "\ud800"})  # a lone surrogate is refused, not mis-encoded


@given(st.lists(st.integers(0, 40), max_size=6), st.integers(0, 5))
def test_extend_builds_the_tree_append_builds(chunks, start):
    leaves = [bytes([i % 256]) * 32 for i in range(start + sum(chunks))]
    one_by_one = MerkleTree(leaves)
    extended = MerkleTree(leaves[:start])
    at = start
    for size in chunks:
        extended.extend(leaves[at:at + size])
        at += size
    assert extended.size == one_by_one.size
    assert extended._levels == one_by_one._levels
    for size in range(1, extended.size + 1):
        assert extended.root(size) == one_by_one.root(size)


def test_extend_refuses_a_bad_leaf_and_changes_nothing():
    tree = MerkleTree([b"\x00" * 32])
    with pytest.raises(InvalidInput, match="32 bytes"):
        tree.extend([b"\x01" * 32, b"short"])
    assert tree.size == 1 and tree.root() == MerkleTree([b"\x00" * 32]).root()


def test_appended_receipts_hold_the_parsed_payload(tmp_path):
    chain = AuditChain(tmp_path / "a.db")
    payloads = [{"b": 1, "a": "x", "é": None, "c": True}, {"n": [1, 2]}, {"f": 1.5}]
    for r, p in zip(chain.append_many(payloads, timestamps=[1, 2, 3]), payloads, strict=True):
        parsed = json.loads(canonical_json(p))
        assert r.payload == parsed and list(r.payload) == list(parsed)
        assert r.payload is not p
    assert [r.payload for r in chain.receipts] == [r.payload for r in chain.iter_receipts()]
    assert chain.verify().ok
