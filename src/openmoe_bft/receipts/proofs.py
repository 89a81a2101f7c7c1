"""Inclusion and consistency proofs that verify with hashes and a public key only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rfc8785

from ..errors import InvalidInput
from .merkle import verify_consistency, verify_inclusion
from .records import HEX64, Checkpoint, Receipt
from .signing import KeyRing
from .verify import check_checkpoint_signature

__all__ = ["ConsistencyProof", "InclusionProof", "ProofResult"]


@dataclass(frozen=True)
class ProofResult:
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def _hex32(values: Any, what: str) -> list[bytes]:
    out = []
    for v in values:
        if not isinstance(v, str) or HEX64.fullmatch(v) is None:
            raise InvalidInput(f"{what} must be 64 lowercase hex digits, got {v!r}", argument=what)
        out.append(bytes.fromhex(v))
    return out


def _signed_root(cp: Checkpoint | None, size: int, root: str, keys: Any, what: str
                 ) -> str | None:
    """None if ``root`` at ``size`` is vouched for by ``cp`` under ``keys``;
    ``what`` names the tree head in messages ("tree head", "old tree head")."""
    if keys is None:
        return None
    if cp is None:
        return f"no signed {what} comes with the proof"
    ring = keys if isinstance(keys, KeyRing) else KeyRing(keys if isinstance(keys, (list, tuple))
                                                          else [keys])
    why = check_checkpoint_signature(cp, ring)
    if why:
        return f"{what}: {why}"
    if cp.size != size or cp.root_hash != root:
        return f"the {what} is for a different tree"
    return None


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 audit path for entry ``seq`` in the tree of ``tree_size`` entries."""

    seq: int
    entry_hash: str
    tree_size: int
    root_hash: str
    path: tuple[str, ...]
    checkpoint: Checkpoint | None = None

    def verify(self, keys: Any = None, receipt: Receipt | None = None) -> ProofResult:
        """Check the path against the root; with ``keys`` (a public key, a list of
        keys or a KeyRing) also that a signed tree head vouches for that root; with
        ``receipt`` also that the receipt's content hashes to ``entry_hash``."""
        try:
            leaf, root = _hex32([self.entry_hash, self.root_hash], "hash")
            path = _hex32(self.path, "path")
        except InvalidInput as exc:
            return ProofResult(False, str(exc))
        if receipt is not None:
            try:
                recomputed = receipt.recomputed_entry_hash()
            except Exception as exc:  # noqa: BLE001
                return ProofResult(False, f"receipt content is not canonical JSON: {exc}")
            if recomputed != self.entry_hash or receipt.seq != self.seq:
                return ProofResult(False, "the receipt is not the entry this proof is for")
        if not verify_inclusion(leaf, self.seq, self.tree_size, path, root):
            return ProofResult(False, "audit path does not lead to the root")
        why = _signed_root(self.checkpoint, self.tree_size, self.root_hash, keys, "tree head")
        if why:
            return ProofResult(False, why)
        return ProofResult(True, "entry is included" + (" under a signed tree head"
                                                        if keys is not None else ""))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "inclusion_proof", "seq": self.seq, "entry_hash": self.entry_hash,
                "tree_size": self.tree_size, "root_hash": self.root_hash,
                "path": list(self.path),
                "checkpoint": None if self.checkpoint is None else self.checkpoint.to_dict()}

    def to_json(self) -> str:
        return rfc8785.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InclusionProof:
        try:
            cp = data.get("checkpoint")
            return cls(seq=int(data["seq"]), entry_hash=data["entry_hash"],
                       tree_size=int(data["tree_size"]), root_hash=data["root_hash"],
                       path=tuple(data["path"]),
                       checkpoint=None if cp is None else Checkpoint.from_dict(cp))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInput(f"not an inclusion proof: {exc!r}", argument="proof") from exc


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 proof that the ``old_size`` tree is a prefix of the ``new_size`` tree."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    path: tuple[str, ...]
    old_checkpoint: Checkpoint | None = None
    new_checkpoint: Checkpoint | None = None

    def verify(self, keys: Any = None) -> ProofResult:
        """Check the proof; with ``keys`` also that both roots are signed tree heads."""
        try:
            old, new = _hex32([self.old_root, self.new_root], "root")
            path = _hex32(self.path, "path")
        except InvalidInput as exc:
            return ProofResult(False, str(exc))
        if not verify_consistency(self.old_size, self.new_size, old, new, path):
            return ProofResult(False, "the old tree is not a prefix of the new tree")
        for cp, size, root, what in (
                (self.old_checkpoint, self.old_size, self.old_root, "old tree head"),
                (self.new_checkpoint, self.new_size, self.new_root, "new tree head")):
            why = _signed_root(cp, size, root, keys, what)
            if why:
                return ProofResult(False, why)
        return ProofResult(True, "the new tree extends the old one")

    def to_dict(self) -> dict[str, Any]:
        return {"type": "consistency_proof", "old_size": self.old_size,
                "new_size": self.new_size, "old_root": self.old_root, "new_root": self.new_root,
                "path": list(self.path),
                "old_checkpoint": None if self.old_checkpoint is None
                else self.old_checkpoint.to_dict(),
                "new_checkpoint": None if self.new_checkpoint is None
                else self.new_checkpoint.to_dict()}
