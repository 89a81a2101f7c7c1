"""RFC 9162 Merkle trees: parity with a direct transcription of the RFC's recursive
definitions, plus proof verification (good proofs pass, any altered proof fails)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput
from openmoe_bft.receipts.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


# -- the RFC's definitions, written as literally as possible ------------------------
def _h(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def ref_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def _leaves(n: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(n)]


def _tree(data: list[bytes]) -> MerkleTree:
    return MerkleTree(leaf_hash(x) for x in data)


def test_empty_tree_root_is_sha256_of_nothing():
    assert MerkleTree().root() == EMPTY_ROOT == root_of([])
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_known_vector_from_the_ct_test_suite():
    # certificate-transparency's reference leaves: "", 00, 10, 2021, 3031, 40414243, ...
    data = [bytes.fromhex(x) for x in ["", "00", "10", "2021", "3031", "40414243",
                                       "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
    assert _tree(data).root().hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@pytest.mark.parametrize("n", [*range(1, 34), 63, 64, 65, 100])
def test_roots_and_proofs_match_the_rfc_definitions(n):
    data = _leaves(n)
    tree = _tree(data)
    for size in range(1, n + 1):
        assert tree.root(size) == ref_mth(data[:size]) == root_of(map(leaf_hash, data[:size]))
    for size in {1, n // 2 or 1, n}:
        for m in range(size):
            assert tree.inclusion_proof(m, size) == ref_path(m, data[:size])
    for old in range(1, n + 1):
        assert tree.consistency_proof(old, n) == ref_subproof(old, data, True)


@given(st.integers(1, 300), st.data())
def test_inclusion_proofs_verify_and_any_change_fails(n, draw):
    tree = _tree(_leaves(n))
    size = draw.draw(st.integers(1, n))
    index = draw.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    leaf = tree.leaf(index)
    assert verify_inclusion(leaf, index, size, proof, root)
    assert not verify_inclusion(leaf, index, size, proof, tree.root(size - 1) if size > 1 else b"x")
    assert not verify_inclusion(leaf_hash(b"other"), index, size, proof, root)
    if size > 1:
        assert not verify_inclusion(leaf, (index + 1) % size, size, proof, root)
        bad = list(proof)
        j = draw.draw(st.integers(0, len(bad) - 1))
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        assert not verify_inclusion(leaf, index, size, bad, root)
        assert not verify_inclusion(leaf, index, size, proof[:-1], root)
        assert not verify_inclusion(leaf, index, size, [*proof, proof[0]], root)


@given(st.integers(1, 300), st.data())
def test_consistency_proofs_verify_and_any_change_fails(n, draw):
    tree = _tree(_leaves(n))
    new = draw.draw(st.integers(1, n))
    old = draw.draw(st.integers(0, new))
    proof = tree.consistency_proof(old, new)
    old_root, new_root = tree.root(old), tree.root(new)
    assert verify_consistency(old, new, old_root, new_root, proof)
    if 0 < old < new:
        assert not verify_consistency(old, new, leaf_hash(b"x"), new_root, proof)
        assert not verify_consistency(old, new, old_root, leaf_hash(b"x"), proof)
        bad = list(proof)
        j = draw.draw(st.integers(0, len(bad) - 1))
        bad[j] = bytes([bad[j][0] ^ 1]) + bad[j][1:]
        assert not verify_consistency(old, new, old_root, new_root, bad)
        assert not verify_consistency(old, new, old_root, new_root, [])


def test_a_forked_tree_is_not_consistent():
    a = _tree(_leaves(10))
    b = _tree([*_leaves(5), b"forged", *_leaves(10)[6:]])
    assert not verify_consistency(5 + 1, 10, b.root(6), a.root(10), a.consistency_proof(6, 10))


def test_bad_arguments_are_invalid_input():
    tree = _tree(_leaves(4))
    with pytest.raises(InvalidInput):
        tree.root(5)
    with pytest.raises(InvalidInput):
        tree.inclusion_proof(4, 4)
    with pytest.raises(InvalidInput):
        tree.consistency_proof(3, 2)
    with pytest.raises(InvalidInput):
        tree.append(b"short")
