"""Canonical encoding of values for hashing votes and payloads.

A vote is hashed from a canonical encoding so the same value gives the same hash
in every process, on every platform and Python version. The encoding is RFC 8785
(JSON Canonicalization Scheme, via the ``rfc8785`` package) applied to a *tagged*
JSON form of the value, which keeps apart values that plain JSON would merge:

========================  =====================================================
Python value              tagged JSON form
========================  =====================================================
``None``/``bool``/``str``  itself
``int`` (|v| < 2**53)     itself                    (``1`` and ``True`` differ)
``int`` (larger)          ``{"$int": "<decimal>"}``
``float`` (finite)        ``{"$float": "<float.hex()>"}``  (``1.0`` ≠ ``1``)
``list`` / ``tuple``      JSON array (a tuple and a list with equal items match)
``set`` / ``frozenset``   ``{"$set": [...]}`` items sorted by their encoding
``dict`` (str keys)       ``{"$dict": {...}}``
``bytes``                 ``{"$bytes": "<base64>"}``
numpy scalars             as the matching Python scalar
========================  =====================================================

Every tagged object has exactly one ``$``-key and every real ``dict`` is wrapped,
so no two different values share an encoding. NaN and infinities are refused
(NaN is not even equal to itself, so it cannot be voted on).

:func:`value_hash` is the SHA-256 hex digest of that encoding; for ints and
ASCII strings it equals the seed's ``assignment_hash``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

import rfc8785

from .errors import InvalidInput, InvalidType

__all__ = ["to_tagged", "from_tagged", "canonical_bytes", "value_hash", "canonical_json"]

_SAFE_INT = 2**53


def to_tagged(value: Any, *, _depth: int = 0) -> Any:
    """Return the tagged JSON form of ``value`` (see the module docstring)."""
    if _depth > 64:
        raise InvalidInput("value is nested more than 64 levels deep", argument="value")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -_SAFE_INT < value < _SAFE_INT else {"$int": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"non-finite float {value!r} cannot be hashed", argument="value")
        return {"$float": value.hex()}
    if isinstance(value, (list, tuple)):
        return [to_tagged(v, _depth=_depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_tagged(v, _depth=_depth + 1) for v in value]
        items.sort(key=rfc8785.dumps)
        return {"$set": items}
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise InvalidType(
                    f"dict keys must be str to be hashed, got {type(k).__name__}", argument="value"
                )
            out[k] = to_tagged(v, _depth=_depth + 1)
        return {"$dict": out}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return to_tagged(item(), _depth=_depth)
    raise InvalidType(
        f"cannot canonicalise a value of type {type(value).__name__}; use None, bool, int, "
        "float, str, bytes, or lists / tuples / sets / str-keyed dicts of those",
        argument="value",
    )


def from_tagged(data: Any) -> Any:
    """Inverse of :func:`to_tagged` (arrays come back as lists, sets as frozensets)."""
    if isinstance(data, list):
        return [from_tagged(v) for v in data]
    if isinstance(data, dict):
        if len(data) != 1:
            raise InvalidInput("tagged object must have exactly one key", argument="data")
        (tag, body), = data.items()
        if tag == "$int":
            return int(body)
        if tag == "$float":
            return float.fromhex(body)
        if tag == "$set":
            return frozenset(_hashable(from_tagged(v)) for v in body)
        if tag == "$dict":
            return {k: from_tagged(v) for k, v in body.items()}
        if tag == "$bytes":
            return base64.b64decode(body)
        raise InvalidInput(f"unknown tag {tag!r}", argument="data")
    return data


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of the tagged form of ``value``."""
    return rfc8785.dumps(to_tagged(value))


def value_hash(value: Any) -> str:
    """SHA-256 hex digest of :func:`canonical_bytes` — the hash a vote is counted by."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def _plain(value: Any, depth: int) -> bool:
    """True when ``json.dumps`` gives RFC 8785 bytes for ``value``: no floats (number
    formatting differs), ints within ±2**53, str keys without astral characters (UTF-16
    vs code point key order), depth ≤ 64. Everything else goes through ``rfc8785``."""
    t = type(value)
    if t is str or t is bool or value is None:
        return True
    if t is int:
        return -_SAFE_INT < value < _SAFE_INT
    if depth > 64:
        return False
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or (not k.isascii() and max(k) > "\uffff"):
                return False
            if not _plain(v, depth + 1):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain(v, depth + 1) for v in value)
    return False


def canonical_json(payload: Any) -> bytes:
    """RFC 8785 canonical bytes of a plain JSON payload (no tagging).

    Raises :class:`~openmoe_bft.errors.InvalidInput` when ``payload`` is not JSON
    (sets, bytes, NaN, integers beyond 2**53, non-str keys, ...). Payloads without
    floats take a fast path through the standard library's C encoder, which gives
    the same bytes for them (a property test checks parity with ``rfc8785``).
    """
    if _plain(payload, 0):
        try:
            return json.dumps(payload, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 refuse it with its own message
    try:
        return rfc8785.dumps(payload)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InvalidInput(f"payload is not canonical JSON: {exc}", argument="payload") from exc
