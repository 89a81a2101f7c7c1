"""The receipt, tree-head and verification-result records, and the entry encoding.

An entry is hashed from its RFC 8785 canonical JSON form::

    {"parent_receipt_id":<id|null>,"payload_hash":"<hex>","prev_hash":"<hex|''>",
     "seq":<n>,"timestamp":<number>,"trace_id":"<str>","v":1}

``payload_hash`` is SHA-256 of the payload's RFC 8785 bytes, and the entry hash is
the RFC 9162 *leaf hash* of the entry, ``SHA-256(0x00 ‖ entry)`` — so one hash per
entry serves both the hash chain (``prev_hash``) and the Merkle tree. A receipt's
``receipt_id`` is its entry hash. Signatures sign the ASCII hex entry hash (as in the
seed); they are not part of the entry, so a counterparty can co-sign later.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import rfc8785

from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType

__all__ = ["Checkpoint", "Receipt", "VerifyResult"]

ENTRY_VERSION = 1
CHECKPOINT_KIND = "openmoe-bft/checkpoint/v1"
_SAFE_INT = 2**53
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-][0-9]+)?")
HEX64 = re.compile(r"[0-9a-f]{64}")
_sha256 = hashlib.sha256


def format_timestamp(value: Any) -> str:
    """RFC 8785 text of a timestamp (a finite int or float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidType(
            f"timestamp must be an int or float, got {type(value).__name__}", argument="timestamp"
        )
    if isinstance(value, int):
        if not -_SAFE_INT < value < _SAFE_INT:
            raise InvalidInput("timestamp must be within ±2**53", argument="timestamp")
        return str(value)
    if not math.isfinite(value):
        raise InvalidInput(f"timestamp must be finite, got {value!r}", argument="timestamp")
    if value == 0:
        return "0"
    text = repr(value)
    if "e" in text:  # exponent forms differ between Python and ECMAScript
        return rfc8785.dumps(value).decode()
    return text[:-2] if text.endswith(".0") else text


def parse_timestamp(text: str) -> int | float:
    if not isinstance(text, str) or NUMBER.fullmatch(text) is None:
        raise InvalidInput(f"not a canonical timestamp: {text!r}", argument="timestamp")
    return json.loads(text)  # type: ignore[no-any-return]


def check_trace_id(trace_id: Any) -> str:
    if not isinstance(trace_id, str):
        raise InvalidType(f"trace_id must be a str, got {type(trace_id).__name__}", argument="trace_id")
    try:
        trace_id.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("trace_id is not valid Unicode (lone surrogate)", argument="trace_id") from exc
    return trace_id


def entry_bytes(
    seq: int, prev_hash: str, parent_receipt_id: str | None, payload_hash: str,
    timestamp_text: str, trace_id: str,
) -> bytes:
    """The canonical entry (see the module docstring). Inputs must be well formed."""
    return entry_bytes_json(seq, prev_hash, parent_receipt_id, payload_hash, timestamp_text,
                            json.dumps(trace_id, ensure_ascii=False))


def entry_bytes_json(
    seq: int, prev_hash: str, parent: str | None, payload_hash: str, ts_text: str,
    trace_json: str,
) -> bytes:
    """:func:`entry_bytes` with the trace id already JSON-encoded (verification's hot loop)."""
    p = "null" if parent is None else f'"{parent}"'
    return (f'{{"parent_receipt_id":{p},"payload_hash":"{payload_hash}","prev_hash":"{prev_hash}",'
            f'"seq":{seq},"timestamp":{ts_text},"trace_id":{trace_json},"v":1}}').encode()


def entry_hash_of(*fields: Any) -> str:
    """Leaf hash (hex) of :func:`entry_bytes` ``(*fields)``."""
    return _sha256(b"\x00" + entry_bytes(*fields)).hexdigest()


def payload_bytes(payload: Any) -> bytes:
    """RFC 8785 bytes of a JSON payload; non-JSON → InvalidInput."""
    data = _flat_bytes(payload)
    return canonical_json(payload) if data is None else data


# One encoder for every flat payload (json.dumps(**options) builds one per call).
_FLAT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _is_flat(payload: Any) -> bool:
    """A dict of str keys (no astral characters: UTF-16 and code-point key order agree)
    to str, bool, None or ints within ±2**53 — a one-level case of
    :func:`openmoe_bft.canonical.canonical_json`'s plain payloads, for which the
    standard library's encoder writes exactly the RFC 8785 bytes."""
    if type(payload) is not dict:
        return False
    for k, v in payload.items():
        if type(k) is not str or (not k.isascii() and max(k, default="") > "\uffff"):
            return False
        t = type(v)
        if not (t is str or t is bool or v is None or (t is int and -_SAFE_INT < v < _SAFE_INT)):
            return False
    return True


def _flat_bytes(payload: Any) -> bytes | None:
    """RFC 8785 bytes of a flat payload (see :func:`_is_flat`), else None."""
    if not _is_flat(payload):
        return None
    try:
        return _FLAT.encode(payload).encode()
    except UnicodeEncodeError:  # a lone surrogate: canonical_json words the refusal
        return None


def encode_payload(payload: Any) -> tuple[bytes, Any]:
    """``(payload_bytes(payload), json.loads of those bytes)`` — the stored bytes and
    the receipt's own copy of the payload — without parsing the bytes again when the
    payload is flat (its sorted copy is what parsing would give)."""
    data = _flat_bytes(payload)
    if data is None:
        data = canonical_json(payload)
        return data, json.loads(data)
    return data, dict(sorted(payload.items()))


@dataclass(frozen=True)
class Receipt:
    """One hash-chained audit receipt.

    The first fields keep the seed's order; ``seq``, ``payload_hash``, ``key_id`` and
    ``co_key_id`` are ours. ``signer`` / ``co_signer`` name the scheme (``"hmac"`` or
    ``"ed25519"``); ``key_id`` / ``co_key_id`` name the key.
    """

    receipt_id: str
    trace_id: str
    parent_receipt_id: str | None
    timestamp: int | float
    payload: Any
    prev_hash: str
    entry_hash: str
    signature: str | None = None
    signer: str | None = None
    co_signature: str | None = None
    co_signer: str | None = None
    seq: int = 0
    payload_hash: str = ""
    key_id: str | None = None
    co_key_id: str | None = None

    @classmethod
    def create(
        cls, *, trace_id: str, payload: Any, timestamp: int | float, prev_hash: str = "",
        parent_receipt_id: str | None = None, seq: int = 0,
    ) -> Receipt:
        """Build an unsigned receipt; ``receipt_id`` is deterministic (key order irrelevant)."""
        data = payload_bytes(payload)
        ts = format_timestamp(timestamp)
        check_trace_id(trace_id)
        ph = _sha256(data).hexdigest()
        eh = entry_hash_of(seq, prev_hash, parent_receipt_id, ph, ts, trace_id)
        return cls(
            receipt_id=eh, trace_id=trace_id, parent_receipt_id=parent_receipt_id,
            timestamp=timestamp, payload=json.loads(data), prev_hash=prev_hash, entry_hash=eh,
            seq=seq, payload_hash=ph,
        )

    def recomputed_entry_hash(self) -> str:
        """The entry hash recomputed from this receipt's own content."""
        ph = _sha256(payload_bytes(self.payload)).hexdigest()
        return entry_hash_of(
            self.seq, self.prev_hash, self.parent_receipt_id, ph,
            format_timestamp(self.timestamp), self.trace_id,
        )

    @property
    def signed_message(self) -> bytes:
        """What signers sign: the ASCII hex entry hash."""
        return self.entry_hash.encode("ascii")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return rfc8785.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidInput(f"not a receipt: {exc}", argument="data") from exc


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the chain's first ``size`` entries have Merkle root
    ``root_hash`` and end with entry ``head_hash``. ``index`` numbers a chain's tree
    heads 0, 1, 2, ... and is signed, so deleting, duplicating or reordering one shows."""

    index: int
    size: int
    root_hash: str
    head_hash: str
    timestamp: int | float
    signer: str
    key_id: str
    signature: str

    @staticmethod
    def message(index: int, size: int, root_hash: str, head_hash: str,
                timestamp: int | float, signer: str, key_id: str) -> bytes:
        """The bytes a tree head signature covers (RFC 8785 JSON)."""
        return rfc8785.dumps({
            "head_hash": head_hash, "index": index, "key_id": key_id, "kind": CHECKPOINT_KIND,
            "root_hash": root_hash, "signer": signer, "size": size, "timestamp": timestamp,
        })

    @property
    def signed_message(self) -> bytes:
        return self.message(self.index, self.size, self.root_hash, self.head_hash,
                            self.timestamp, self.signer, self.key_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidInput(f"not a checkpoint: {exc}", argument="data") from exc


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification.

    ``ok`` is True only when everything checked verifies. On failure ``broken_at``
    is the sequence number of the first entry that cannot be trusted and ``reason``
    says why; ``checkpoint`` is the index of the tree head at fault, if one is.
    ``checked`` entries were read, ``signatures`` entry signatures and
    ``checkpoints`` signed tree heads verified; ``unsealed`` entries carry no
    signature and are not under a verified tree head (only counted when keys were
    available).
    """

    ok: bool
    broken_at: int | None = None
    reason: str = "chain verified"
    checked: int = 0
    signatures: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    checkpoint: int | None = field(default=None)

    def __bool__(self) -> bool:
        return self.ok

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
