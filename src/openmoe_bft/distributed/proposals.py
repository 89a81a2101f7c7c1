"""Signed batch proposals: what a replica sends, and how the driver checks it.

A replica answers a round with its top-k expert ids for every token of the batch,
``ids [tokens, k]`` (``-1`` rows: it abstains for that token). It signs, with its own
Ed25519 key, one short message naming *who* proposes, *for which batch*, and the
SHA-256 of the exact id bytes (dtype and shape included)::

    openmoe-bft/proposal/v1\\n{"batch":"b-7","dtype":"<i1","replica":"replica-3",
                              "sha256":"…","shape":[65536,2]}

(canonical JSON), so signing costs one hash of the array and one signature per batch,
not one per token. The driver verifies before counting (:func:`verify_proposal`): the
signature must check against the key registered for the replica the proposal *came
from*, the batch id must be the round's, the shape must match — a relay that alters a
single id, replays an old batch or passes off one replica's vote as another's is caught
and the proposal is dropped (an abstention that is reported, never a crash).

Two validly signed proposals from one replica for one batch with different contents
are an :class:`EquivocationProof`: anyone with the replica's public key can check it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _json as safe_json
from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType
from ..receipts.signing import Signer, Verifier, as_verifier

__all__ = [
    "DOMAIN",
    "EquivocationProof",
    "SignedProposal",
    "check_ids",
    "parse_message",
    "proposal_message",
    "sign_proposal",
    "verify_proposal",
]

DOMAIN = b"openmoe-bft/proposal/v1\n"
_INT_KINDS = "iu"


def check_ids(ids: Any, argument: str = "ids") -> np.ndarray:
    """``ids`` as a C-contiguous little-endian integer array of shape ``[tokens, k]``
    (a ``[tokens]`` vector means ``k = 1``)."""
    arr = np.asarray(ids)
    if arr.dtype.kind not in _INT_KINDS:
        raise InvalidType(f"expert ids must be integers, got dtype {arr.dtype}", argument=argument)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise InvalidInput(f"expected ids of shape [tokens, k], got {arr.shape}", argument=argument)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return np.ascontiguousarray(arr)


def _dtype_str(arr: np.ndarray) -> str:
    return arr.dtype.newbyteorder("<").str if arr.dtype.itemsize > 1 else arr.dtype.str


def proposal_message(replica_id: str, batch_id: str, ids: np.ndarray) -> bytes:
    """The exact bytes a replica signs for ``ids`` (see the module docstring)."""
    header = {
        "batch": batch_id,
        "dtype": _dtype_str(ids),
        "replica": replica_id,
        "sha256": hashlib.sha256(memoryview(ids).cast("B")).hexdigest(),
        "shape": [int(s) for s in ids.shape],
    }
    return DOMAIN + canonical_json(header)


@dataclass(frozen=True)
class SignedProposal:
    """One replica's signed top-k proposal for one batch."""

    replica_id: str
    batch_id: str
    ids: np.ndarray = field(repr=False)
    key_id: str
    signature: str

    @property
    def message(self) -> bytes:
        return proposal_message(self.replica_id, self.batch_id, self.ids)

    @property
    def digest(self) -> str:
        """SHA-256 hex of the signed message: names this exact proposal."""
        return hashlib.sha256(self.message).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "replica_id": self.replica_id,
            "batch_id": self.batch_id,
            "shape": list(self.ids.shape),
            "dtype": _dtype_str(self.ids),
            "digest": self.digest,
            "key_id": self.key_id,
            "signature": self.signature,
        }


def _check_id(value: Any, argument: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidType(f"expected a non-empty str, got {value!r}", argument=argument)
    return value


def sign_proposal(key: Signer, replica_id: str, batch_id: str, ids: Any) -> SignedProposal:
    """Sign ``ids`` as ``replica_id``'s proposal for ``batch_id`` with ``key``."""
    arr = check_ids(ids)
    rid = _check_id(replica_id, "replica_id")
    bid = _check_id(batch_id, "batch_id")
    return SignedProposal(rid, bid, arr, key.key_id, key.sign(proposal_message(rid, bid, arr)))


def verify_proposal(
    proposal: Any,
    key: Any,
    *,
    replica_id: str,
    batch_id: str,
    tokens: int | None = None,
    k: int | None = None,
) -> str | None:
    """``None`` when ``proposal`` is ``replica_id``'s validly signed proposal for
    ``batch_id`` (with ``tokens`` rows of ``k`` ids when given); else the reason it is
    refused. ``key`` is the replica's registered verification key."""
    if not isinstance(proposal, SignedProposal):
        return f"sent a {type(proposal).__name__}, not a signed proposal"
    if proposal.replica_id != replica_id:
        return f"claims to be {proposal.replica_id!r}: forged identity"
    if proposal.batch_id != batch_id:
        return f"signed batch {proposal.batch_id!r}, not {batch_id!r}: replayed or stale"
    ids = proposal.ids
    if not isinstance(ids, np.ndarray) or ids.dtype.kind not in _INT_KINDS or ids.ndim != 2:
        return "ids are not a [tokens, k] integer array"
    if tokens is not None and ids.shape[0] != tokens:
        return f"proposed {ids.shape[0]} tokens, the batch has {tokens}"
    if k is not None and ids.shape[1] != k:
        return f"proposed {ids.shape[1]} experts per token, k is {k}"
    verifier: Verifier = as_verifier(key)
    if proposal.key_id != verifier.key_id:
        return f"signed with key {proposal.key_id!r}, registered key is {verifier.key_id!r}"
    ids = np.ascontiguousarray(ids)
    if not verifier.verify(proposal_message(replica_id, batch_id, ids), proposal.signature):
        return "bad signature: the proposal was altered or not signed by this replica"
    return None


def parse_message(message: bytes) -> dict[str, Any] | None:
    """The header of a proposal message, or None if it is not one."""
    if not isinstance(message, (bytes, bytearray)) or not message.startswith(DOMAIN):
        return None
    try:
        header = safe_json.loads(bytes(message[len(DOMAIN):]))
    except ValueError:
        return None
    return header if isinstance(header, dict) else None


@dataclass(frozen=True)
class EquivocationProof:
    """Two different proposal messages, both validly signed by ``replica_id`` for
    ``batch_id``. It holds the signed messages (each names the SHA-256 of its ids), not
    the ids, so it stays small and verifies offline with only the replica's public key.
    """

    replica_id: str
    batch_id: str
    first_message: bytes = field(repr=False)
    first_signature: str = field(repr=False)
    second_message: bytes = field(repr=False)
    second_signature: str = field(repr=False)

    def verify(self, key: Any) -> bool:
        """True when both messages are ``replica_id``'s for ``batch_id``, both
        signatures check against ``key`` and the messages differ."""
        verifier = as_verifier(key)
        for msg, sig in ((self.first_message, self.first_signature),
                         (self.second_message, self.second_signature)):
            header = parse_message(msg)
            if (header is None or header.get("replica") != self.replica_id
                    or header.get("batch") != self.batch_id or not verifier.verify(msg, sig)):
                return False
        return self.first_message != self.second_message

    def to_dict(self) -> dict[str, Any]:
        return {
            "replica_id": self.replica_id,
            "batch_id": self.batch_id,
            "first": {"message": self.first_message.decode(), "signature": self.first_signature},
            "second": {"message": self.second_message.decode(),
                       "signature": self.second_signature},
        }
