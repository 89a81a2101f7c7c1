"""Self-contained export files and their offline verification.

An export is JSON Lines, every line RFC 8785 canonical JSON (so any changed byte
either breaks parsing, breaks canonical form, or changes content a hash or a
signature covers)::

    {"checkpoints":M,"entries":N,"format":"openmoe-bft/receipts","version":1}
    {"type":"checkpoint", index, size, root_hash, head_hash, timestamp, signer, key_id, signature}  × M
    {"type":"entry", seq, trace_id, parent_receipt_id, timestamp, payload, payload_hash,
     prev_hash, entry_hash, signer, key_id, signature, co_signer, co_key_id, co_signature}   × N

Verification needs the file and the public key(s) — nothing else.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .. import _json as safe_json
from ..canonical import canonical_json
from ..errors import InvalidInput
from .merkle import MerkleTree
from .records import Checkpoint, VerifyResult, format_timestamp, parse_timestamp, payload_bytes
from .signing import KeyRing
from .verify import Row, verify_rows

__all__ = ["ExportResult", "export_chain", "verify_export"]

FORMAT = "openmoe-bft/receipts"
VERSION = 1
_ENTRY_KEYS = frozenset({
    "type", "seq", "trace_id", "parent_receipt_id", "timestamp", "payload", "payload_hash",
    "prev_hash", "entry_hash", "signer", "key_id", "signature", "co_signer", "co_key_id",
    "co_signature"})
_CP_KEYS = frozenset({"type", "index", "size", "root_hash", "head_hash", "timestamp", "signer",
                      "key_id", "signature"})
_HEADER_KEYS = frozenset({"format", "version", "entries", "checkpoints"})


@dataclass(frozen=True)
class ExportResult:
    path: str
    entries: int
    checkpoints: int


class _BadFile(Exception):
    def __init__(self, at: int | None, reason: str, checkpoint: int | None = None) -> None:
        super().__init__(reason)
        self.at, self.reason, self.checkpoint = at, reason, checkpoint


def _line(obj: dict[str, Any]) -> bytes:
    return canonical_json(obj) + b"\n"


def export_chain(chain: Any, dest: str | os.PathLike[str] | IO[bytes], *,
                 checkpoint: bool = True) -> ExportResult:
    """Write ``chain`` (an :class:`~openmoe_bft.receipts.AuditChain`) to ``dest``.

    With ``checkpoint=True`` and a chain that has a signer, a fresh signed tree head
    covering every entry is made first, so the file is fully sealed.
    """
    if checkpoint and chain.signer is not None and len(chain):
        chain.checkpoint()
    cps = chain.checkpoints
    n = len(chain)
    if isinstance(dest, (str, os.PathLike)):
        path = Path(dest)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            _write(fh, chain, cps, n)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return ExportResult(str(path), n, len(cps))
    _write(dest, chain, cps, n)
    return ExportResult(getattr(dest, "name", "<stream>"), n, len(cps))


def _write(fh: IO[bytes], chain: Any, cps: list[Checkpoint], n: int) -> None:
    fh.write(_line({"format": FORMAT, "version": VERSION, "entries": n, "checkpoints": len(cps)}))
    for cp in cps:
        fh.write(_line({"type": "checkpoint", **cp.to_dict()}))
    for count, row in enumerate(chain.rows()):
        if count == n:
            break  # appended concurrently after we counted: not in this export
        (seq, trace_id, parent, ts, payload, ph, prev, eh, signer, key_id, sig,
         co_signer, co_key_id, co_sig) = row
        fh.write(_line({
            "type": "entry", "seq": seq, "trace_id": trace_id, "parent_receipt_id": parent,
            "timestamp": parse_timestamp(ts), "payload": json.loads(payload),
            "payload_hash": ph, "prev_hash": prev, "entry_hash": eh, "signer": signer,
            "key_id": key_id, "signature": sig, "co_signer": co_signer,
            "co_key_id": co_key_id, "co_signature": co_sig}))


def _parse(raw: bytes, what: str, keys: frozenset[str], at: int | None,
           cp: int | None = None) -> dict[str, Any]:
    try:
        obj = safe_json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadFile(at, f"{what} is not JSON ({exc})", cp) from None
    if not isinstance(obj, dict) or set(obj) != keys:
        raise _BadFile(at, f"{what} does not have the expected fields", cp)
    try:
        canonical = canonical_json(obj)
    except Exception:  # noqa: BLE001
        canonical = b""
    if canonical != raw:
        raise _BadFile(at, f"{what} is not in canonical form (it was edited)", cp)
    return obj


@contextmanager
def _open_lines(source: str | os.PathLike[str] | Iterable[bytes]) -> Iterator[Iterator[bytes]]:
    """The export's lines; a path is opened here and closed on leaving, a stream the
    caller passed in is left open."""
    if not isinstance(source, (str, os.PathLike)):
        yield iter(source)
        return
    try:
        fh = open(source, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InvalidInput(f"cannot read {os.fspath(source)!r}: {exc.strerror}",
                           argument="file") from exc
    with fh:
        yield iter(fh)


def _read_export(lines: Iterator[bytes]
                 ) -> tuple[dict[str, Any], list[Checkpoint], Iterator[Row]]:
    """Parse an export: ``(header, tree heads, rows)``; rows are read lazily.

    A damaged header or tree head raises :class:`_BadFile` here; a damaged entry
    raises it while the rows are iterated.
    """
    first = next(lines, b"")
    if not first.endswith(b"\n"):
        raise _BadFile(None, "the header line is missing or damaged")
    header = _parse(first[:-1], "the header", _HEADER_KEYS, None)
    if header["format"] != FORMAT or header["version"] != VERSION:
        raise _BadFile(None, f"not a {FORMAT} v{VERSION} export")
    if not all(type(header[k]) is int and header[k] >= 0 for k in ("entries", "checkpoints")):
        raise _BadFile(None, "the header counts are malformed")
    cps = []
    for i in range(header["checkpoints"]):
        raw = next(lines, b"")
        start = cps[-1].size if cps and type(cps[-1].size) is int else 0
        if not raw.endswith(b"\n"):
            raise _BadFile(start, f"tree head {i} is missing (the file was truncated)", i)
        obj = _parse(raw[:-1], f"tree head {i}", _CP_KEYS, start, i)
        if obj.pop("type") != "checkpoint" or obj["index"] != i:
            raise _BadFile(start, f"line {i + 2} should be tree head {i} (a tree head was "
                                  "deleted, duplicated or moved)", i)
        cps.append(Checkpoint(**obj))

    last_size = cps[-1].size if cps else 0

    def rows() -> Iterator[Row]:
        for seq, raw in enumerate(lines):
            if raw.startswith(b'{"head_hash":'):  # checkpoint lines start so (sorted keys)
                raise _BadFile(last_size, f"a tree head sits where entry {seq} should be "
                                          "(duplicated or moved)", len(cps))
            if not raw.endswith(b"\n"):
                raise _BadFile(seq, f"entry {seq}: the line is damaged (no newline)")
            obj = _parse(raw[:-1], f"entry {seq}", _ENTRY_KEYS, seq)
            if obj["type"] != "entry":
                raise _BadFile(seq, f"entry {seq}: line is not an entry")
            try:
                payload = payload_bytes(obj["payload"])
                ts = format_timestamp(obj["timestamp"])
            except Exception as exc:  # noqa: BLE001
                raise _BadFile(seq, f"entry {seq}: malformed ({exc})") from None
            yield (obj["seq"], obj["trace_id"], obj["parent_receipt_id"], ts, payload,
                   obj["payload_hash"], obj["prev_hash"], obj["entry_hash"], obj["signer"],
                   obj["key_id"], obj["signature"], obj["co_signer"], obj["co_key_id"],
                   obj["co_signature"])

    return header, cps, rows()


def verify_export(source: str | os.PathLike[str] | Iterable[bytes], keys: Iterable[Any] = (),
                  *, require_sealed: bool = True) -> VerifyResult:
    """Verify an export file offline with the given public key(s).

    Every entry must be signed or under a signed tree head unless
    ``require_sealed=False``; with no keys only hashes and links are checked.
    """
    ring = KeyRing(keys)
    try:
        with _open_lines(source) as lines:
            header, cps, rows = _read_export(lines)
            result = verify_rows(rows, cps, ring if len(ring) else None,
                                 require_sealed=require_sealed)
    except _BadFile as bad:
        return VerifyResult(False, bad.at, bad.reason, checkpoint=bad.checkpoint)
    if not result.ok:
        return result
    if result.checked != header["entries"]:
        at = min(result.checked, header["entries"])
        return VerifyResult(False, at, f"the header promises {header['entries']} entries but "
                                       f"the file holds {result.checked} (truncated or padded)",
                            result.checked)
    return result


def tree_of(source: str | os.PathLike[str]) -> tuple[list[Checkpoint], MerkleTree]:
    """The tree heads and the Merkle tree of an export (for proofs from a file)."""
    try:
        with _open_lines(source) as lines:
            _header, cps, rows = _read_export(lines)
            tree = MerkleTree(bytes.fromhex(r[7]) for r in rows)
    except _BadFile as bad:
        raise InvalidInput(f"damaged export: {bad.reason}; run `receipts verify` first",
                           argument="file") from None
    except ValueError as exc:
        raise InvalidInput(f"damaged export: {exc}", argument="file") from None
    return cps, tree
