"""Merkle trees the way RFC 9162 (Certificate Transparency v2, section 2.1) defines them.

* leaf hash ``SHA-256(0x00 ‖ leaf)``, interior node ``SHA-256(0x01 ‖ left ‖ right)``;
* the tree over ``n`` leaves splits at the largest power of two smaller than ``n``;
* inclusion proofs (``PATH``) and consistency proofs (``PROOF``) are generated and
  verified with the algorithms of sections 2.1.3 and 2.1.4.

:class:`MerkleTree` keeps every complete subtree it has built (one ``bytearray`` per
level, 32 bytes per node), so appending is amortised O(1) hashes and the root, an
inclusion proof or a consistency proof for *any* earlier size costs O(log n) hashes.
The verify functions need only hashes — no tree — so a light client can check a
proof with the signed tree head alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from ..errors import InvalidInput

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()  # MTH({}) = SHA-256 of the empty string


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only RFC 9162 Merkle tree over leaf *hashes* (32 bytes each)."""

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for h in leaf_hashes:
            self.append(h)

    def __len__(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        """Add one leaf hash; return its index."""
        if len(leaf) != 32:
            raise InvalidInput(f"a leaf hash is 32 bytes, got {len(leaf)}", argument="leaf")
        index = self._size
        levels = self._levels
        levels[0] += leaf
        self._size += 1
        # Close every complete subtree this leaf finishes: at level h, node i is
        # complete when i is odd (its left sibling i-1 is already there).
        i, h = index, 0
        while i & 1:
            level = levels[h]
            parent = _sha256(b"\x01" + level[-64:]).digest()
            h += 1
            if h == len(levels):
                levels.append(bytearray())
            levels[h] += parent
            i >>= 1
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Add several leaf hashes (the same tree as :meth:`append` one by one, built a
        level at a time)."""
        new = list(leaves)
        if any(len(h) != 32 for h in new):
            bad = next(len(h) for h in new if len(h) != 32)
            raise InvalidInput(f"a leaf hash is 32 bytes, got {bad}", argument="leaf")
        levels = self._levels
        old, size = self._size, self._size + len(new)
        levels[0] += b"".join(new)
        self._size = size
        sha = _sha256
        h = 0
        while True:  # parents j in [old >> h+1, size >> h+1) of level h+1 are new
            lo, hi = old >> (h + 1), size >> (h + 1)
            if lo == hi:
                return
            level = levels[h]
            if h + 1 == len(levels):
                levels.append(bytearray())
            levels[h + 1] += b"".join([sha(b"\x01" + level[64 * j:64 * j + 64]).digest()
                                       for j in range(lo, hi)])
            h += 1

    def leaf(self, index: int) -> bytes:
        self._check_index(index, self._size)
        return bytes(self._levels[0][32 * index : 32 * index + 32])

    # -- subtree hashes -------------------------------------------------------------
    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]); ``lo`` is always aligned to the subtree it starts."""
        n = hi - lo
        if n & (n - 1) == 0:  # a complete subtree we have stored
            h = n.bit_length() - 1
            j = lo >> h
            return bytes(self._levels[h][32 * j : 32 * j + 32])
        k = _split(n)
        return _sha256(b"\x01" + self._mth(lo, lo + k) + self._mth(lo + k, hi)).digest()

    def root(self, size: int | None = None) -> bytes:
        """The tree head hash over the first ``size`` leaves (default: all)."""
        size = self._size if size is None else self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._mth(0, size)

    # -- proofs -----------------------------------------------------------------------
    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 ``PATH(index, D[0:size])``, leaf-side first."""
        size = self._size if size is None else self._check_size(size)
        self._check_index(index, size)
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:
            k = _split(hi - lo)
            if index - lo < k:
                path.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._mth(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 9162 ``PROOF(old_size, D[0:new_size])``."""
        new_size = self._size if new_size is None else self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise InvalidInput(
                f"old_size must be in [0, {new_size}], got {old_size}", argument="old_size"
            )
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, new_size, old_size, True
        while True:
            n = hi - lo
            if m == n:
                if not complete:
                    proof.append(self._mth(lo, hi))
                break
            k = _split(n)
            if m <= k:
                proof.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._mth(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        proof.reverse()
        return proof

    # -- helpers -----------------------------------------------------------------------
    def _check_size(self, size: int) -> int:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= self._size:
            raise InvalidInput(
                f"tree size must be an int in [0, {self._size}], got {size!r}", argument="size"
            )
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise InvalidInput(
                f"leaf index must be an int in [0, {size}), got {index!r}", argument="index"
            )


class CompactRange:
    """Streaming tree head: the roots of the complete subtrees over the leaves pushed
    so far (O(log n) memory); :meth:`root` is the tree head at the current size."""

    __slots__ = ("_stack", "size")

    def __init__(self) -> None:
        self._stack: list[bytes] = []  # largest subtree first
        self.size = 0

    def push(self, leaf: bytes) -> None:
        stack, n = self._stack, self.size
        while n & 1:  # leaf n closes one complete subtree per trailing 1 bit of n
            leaf = _sha256(b"\x01" + stack.pop() + leaf).digest()
            n >>= 1
        stack.append(leaf)
        self.size += 1

    def root(self) -> bytes:
        return stack_root(self._stack)


def stack_root(stack: Sequence[bytes]) -> bytes:
    """Tree head from a compact range's stack of complete-subtree roots (largest first)."""
    if not stack:
        return EMPTY_ROOT
    root = stack[-1]
    for node in reversed(stack[:-1]):
        root = _sha256(b"\x01" + node + root).digest()
    return root


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """Tree head over ``leaf_hashes`` in one streaming pass (O(log n) memory)."""
    acc = CompactRange()
    for h in leaf_hashes:
        acc.push(h)
    return acc.root()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2: does ``proof`` put leaf hash ``leaf`` at ``index`` of
    the tree of ``size`` leaves whose head is ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2: is the tree of ``old_size`` (head ``old_root``) a
    prefix of the tree of ``new_size`` (head ``new_root``)?"""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if not path:
        return False
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
