"""``AuditChain``: an append-only, hash-chained, signed log of receipts.

Two homes, one behaviour:

* ``AuditChain()`` — the seed's in-memory chain. ``chain.receipts`` is the chain's
  own list: mutating a receipt's ``payload`` afterwards is tampering, and
  :meth:`AuditChain.verify` reports it (``broken_at`` = that receipt).
* ``AuditChain("audit.db")`` (or a :class:`~openmoe_bft.store.Store`) — persistent.
  Every ``append`` / ``append_many`` is one transaction: when it returns, the
  receipts are on disk (WAL, fsync with ``durability="full"``). Appends read the
  chain's tail *inside* the write transaction, so several processes can append to
  one store without forking the chain.

Two ways to seal:

* ``sealing="entry"`` (default) — each entry is signed (when there is a signer).
* ``sealing="batch"`` — entries are not signed one by one; a signed tree head
  (:class:`~openmoe_bft.receipts.records.Checkpoint`, RFC 9162 Merkle root) is made
  every ``checkpoint_every`` entries and on :meth:`AuditChain.checkpoint`. This is
  how transparency logs scale: one signature vouches for every entry under it, and
  any single entry is still provable with an inclusion proof.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..errors import InvalidInput, InvalidType, StoreError
from ..store import Store, open_store
from .merkle import MerkleTree
from .proofs import ConsistencyProof, InclusionProof
from .records import (
    Checkpoint,
    Receipt,
    VerifyResult,
    check_trace_id,
    encode_payload,
    entry_bytes_json,
    format_timestamp,
    parse_timestamp,
    payload_bytes,
)
from .signing import KeyRing, Signer, as_signer, as_verifier
from .stored import ENTRY_COLUMNS, verify_store
from .verify import Row, verify_rows

__all__ = ["AuditChain"]

_MIGRATIONS = [
    """
    CREATE TABLE receipt_entries (
        seq INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, parent_receipt_id TEXT,
        timestamp TEXT NOT NULL, payload BLOB NOT NULL, payload_hash TEXT NOT NULL,
        prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL,
        signer TEXT, key_id TEXT, signature TEXT,
        co_signer TEXT, co_key_id TEXT, co_signature TEXT);
    CREATE TABLE receipt_checkpoints (
        idx INTEGER PRIMARY KEY, size INTEGER NOT NULL, root_hash TEXT NOT NULL,
        head_hash TEXT NOT NULL, timestamp TEXT NOT NULL, signer TEXT NOT NULL,
        key_id TEXT NOT NULL, signature TEXT NOT NULL)
    """,
]
_COLUMNS = ENTRY_COLUMNS
_INSERT = f"INSERT INTO receipt_entries ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
_SEALING = ("entry", "batch")
_PAGE = 20_000
_sha256 = hashlib.sha256
_UNKNOWN = object()


def _row_to_receipt(row: Row, timestamp: Any = None, decoded: Any = _UNKNOWN) -> Receipt:
    """A receipt from its row; ``timestamp`` (when known) keeps the caller's value, and
    ``decoded`` (when known) is ``json.loads`` of the row's payload bytes."""
    (seq, trace_id, parent, ts, payload, ph, prev, eh, signer, key_id, sig,
     co_signer, co_key_id, co_sig) = row
    return Receipt(
        receipt_id=eh, trace_id=trace_id, parent_receipt_id=parent,
        timestamp=parse_timestamp(ts) if timestamp is None else timestamp,
        payload=json.loads(payload) if decoded is _UNKNOWN else decoded, prev_hash=prev,
        entry_hash=eh, signature=sig, signer=signer,
        co_signature=co_sig, co_signer=co_signer, seq=seq, payload_hash=ph, key_id=key_id,
        co_key_id=co_key_id,
    )


def _receipt_to_row(r: Receipt) -> Row:
    """The row a receipt object stands for; unencodable content becomes a row that
    fails verification (it was tampered with) instead of an exception."""
    try:
        ts = format_timestamp(r.timestamp)
    except Exception:  # noqa: BLE001
        ts = "?"
    try:
        data = payload_bytes(r.payload)
    except Exception:  # noqa: BLE001
        data = b"\xff<payload no longer canonical JSON>"
    return (r.seq, r.trace_id, r.parent_receipt_id, ts, data, r.payload_hash, r.prev_hash,
            r.entry_hash, r.signer, r.key_id, r.signature, r.co_signer, r.co_key_id,
            r.co_signature)


def _cp_from_row(row: tuple[Any, ...]) -> Checkpoint:
    idx, size, root, head, ts, signer, key_id, sig = row
    try:
        timestamp: Any = parse_timestamp(ts)
    except InvalidInput:
        timestamp = ts  # fails verification with "malformed"
    return Checkpoint(idx, size, root, head, timestamp, signer, key_id, sig)


class AuditChain:
    """A tamper-evident receipt log (see the module docstring).

    ``store`` — None (in memory), a path, or a :class:`Store`.
    ``signer`` — a signing key: an :class:`~openmoe_bft.receipts.Ed25519Key`, an
    :class:`~openmoe_bft.receipts.HmacKey`, a ``cryptography`` Ed25519 private key,
    or a str/bytes HMAC secret.
    ``co_signer`` — a counterparty key that co-signs every entry (bilateral receipts).
    ``sealing`` — ``"entry"`` or ``"batch"``; ``checkpoint_every`` — make a signed tree
    head every N entries (default 1024 in batch mode, never in entry mode).
    ``keys`` — extra verification keys trusted by :meth:`verify` (rotated-out keys,
    counterparties). ``clock`` — returns the time for entries without a timestamp and
    for tree heads.
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        signer: Any = None,
        *,
        sealing: str = "entry",
        checkpoint_every: int | None = None,
        co_signer: Any = None,
        keys: Iterable[Any] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        if sealing not in _SEALING:
            raise InvalidInput(f"sealing must be one of {_SEALING}, got {sealing!r}",
                               argument="sealing")
        if checkpoint_every is None and sealing == "batch":
            checkpoint_every = 1024
        if checkpoint_every is not None and (
            isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int)
            or checkpoint_every < 1
        ):
            raise InvalidInput(f"checkpoint_every must be an int >= 1, got {checkpoint_every!r}",
                               argument="checkpoint_every")
        if sealing == "batch" and signer is None:
            raise InvalidInput("batch sealing signs tree heads: pass signer=", argument="signer")
        self.sealing = sealing
        self.checkpoint_every = checkpoint_every
        self._clock = clock
        self.keys = KeyRing(keys)
        self._signer: Signer | None = None
        self._co_signer: Signer | None = None
        if signer is not None:
            self._signer = as_signer(signer)
            self.keys.add(self._signer)
        if co_signer is not None:
            self._co_signer = as_signer(co_signer)
            self.keys.add(self._co_signer)
        self._store = open_store(store)
        self._tree: MerkleTree | None = MerkleTree() if self._store is None else None
        self._records: list[Receipt] = []
        self._cps: list[Checkpoint] = []
        if self._store is not None:
            self._store.migrate("receipts", _MIGRATIONS)

    # -- properties ---------------------------------------------------------------------
    @property
    def signer(self) -> Signer | None:
        return self._signer

    @property
    def store(self) -> Store | None:
        return self._store

    @property
    def receipts(self) -> list[Receipt]:
        """All receipts in order. In memory this is the chain's own list (the seed's
        semantics); for a store it is a fresh list read from disk."""
        if self._store is None:
            return self._records
        return list(self.iter_receipts())

    def iter_receipts(self, start: int = 0) -> Iterator[Receipt]:
        if self._store is None:
            yield from self._records[start:]
            return
        for row in self._iter_rows(start):
            yield _row_to_receipt(row)

    def __len__(self) -> int:
        if self._store is None:
            return len(self._records)
        rows = self._store.query("SELECT MAX(seq) FROM receipt_entries")
        return 0 if rows[0][0] is None else int(rows[0][0]) + 1

    def get(self, seq: int) -> Receipt:
        """The receipt with sequence number ``seq``."""
        _check_seq(seq)
        if self._store is None:
            if seq >= len(self._records):
                raise InvalidInput(f"no receipt {seq}: the chain has {len(self._records)}",
                                   argument="seq")
            return self._records[seq]
        rows = self._store.query(f"SELECT {_COLUMNS} FROM receipt_entries WHERE seq = ?", (seq,))
        if not rows:
            raise InvalidInput(f"no receipt {seq}: the chain has {len(self)}", argument="seq")
        return _row_to_receipt(rows[0])

    @property
    def checkpoints(self) -> list[Checkpoint]:
        if self._store is None:
            return list(self._cps)
        rows = self._store.query(
            "SELECT idx, size, root_hash, head_hash, timestamp, signer, key_id, signature "
            "FROM receipt_checkpoints ORDER BY idx")
        return [_cp_from_row(r) for r in rows]

    # -- appending ----------------------------------------------------------------------
    def append(
        self,
        payload: Any,
        trace_id: str = "",
        timestamp: int | float | None = None,
        signer_key: Any = None,
        co_sign_key: Any = None,
    ) -> Receipt:
        """Seal ``payload`` (any JSON value) as the next receipt and return it.

        ``signer_key`` / ``co_sign_key`` override the chain's signer / co-signer for
        this entry (a str key means HMAC-SHA256, as in the seed).
        """
        return self._append([(payload, trace_id, timestamp)], signer_key, co_sign_key)[0]

    def append_many(
        self,
        payloads: Iterable[Any],
        trace_id: str = "",
        timestamps: Iterable[int | float] | None = None,
    ) -> list[Receipt]:
        """Append several payloads in one transaction (all or none are stored)."""
        payloads = list(payloads)
        if timestamps is None:
            ts_list: list[Any] = [None] * len(payloads)
        else:
            ts_list = list(timestamps)
            if len(ts_list) != len(payloads):
                raise InvalidInput(f"{len(payloads)} payloads but {len(ts_list)} timestamps",
                                   argument="timestamps")
        return self._append([(p, trace_id, t) for p, t in zip(payloads, ts_list, strict=True)],
                            None, None)

    def _append(self, items: Sequence[tuple[Any, str, Any]], signer_key: Any,
                co_sign_key: Any) -> list[Receipt]:
        signer = self._signer if signer_key is None else as_signer(signer_key)
        co_signer = self._co_signer if co_sign_key is None else as_signer(co_sign_key)
        if self.sealing == "batch" and signer_key is None:
            signer = None
        # Encode everything before touching the chain: bad input changes nothing.
        encoded = []
        traces: dict[str, str] = {}  # trace id -> its JSON form, encoded once per call
        for payload, trace_id, timestamp in items:
            trace_json = traces.get(trace_id) if type(trace_id) is str else None
            if trace_json is None:
                trace_json = traces[check_trace_id(trace_id)] = json.dumps(
                    trace_id, ensure_ascii=False)
            data, decoded = encode_payload(payload)
            if timestamp is None:
                timestamp = self._clock()
            encoded.append((trace_json, data, trace_id, timestamp, format_timestamp(timestamp),
                            decoded))
        for key in (signer, co_signer):
            if key is not None:
                self.keys.add(key)  # refuses a different key under a known key id
        if self._store is None:
            return self._append_memory(encoded, signer, co_signer)
        return self._append_store(encoded, signer, co_signer)

    def _build(self, seq: int, prev: str, parent: str | None, item: tuple[Any, ...],
               signer: Signer | None, co_signer: Signer | None) -> tuple[Row, bytes]:
        """The stored row of a new entry, and its leaf hash (bytes)."""
        trace_json, data, trace_id, _ts, ts_text, _decoded = item
        ph = _sha256(data).hexdigest()
        leaf = _sha256(b"\x00" + entry_bytes_json(seq, prev, parent, ph, ts_text,
                                                  trace_json)).digest()
        eh = leaf.hex()
        msg = eh.encode("ascii")
        sig = signer.sign(msg) if signer is not None else None
        co_sig = co_signer.sign(msg) if co_signer is not None else None
        return (seq, trace_id, parent, ts_text, data, ph, prev, eh,
                signer.algorithm if signer else None, signer.key_id if signer else None, sig,
                co_signer.algorithm if co_signer else None,
                co_signer.key_id if co_signer else None, co_sig), leaf

    def _append_memory(self, encoded: list[tuple[Any, ...]], signer: Signer | None,
                       co_signer: Signer | None) -> list[Receipt]:
        out = []
        tree = self._ensure_tree()
        for item in encoded:
            seq = len(self._records)
            last = self._records[-1] if self._records else None
            prev, parent = (last.entry_hash, last.receipt_id) if last else ("", None)
            row, leaf = self._build(seq, prev, parent, item, signer, co_signer)
            receipt = _row_to_receipt(row, item[3], item[5])
            self._records.append(receipt)
            tree.append(leaf)
            out.append(receipt)
            self._maybe_checkpoint_memory(seq + 1)
        return out

    def _append_store(self, encoded: list[tuple[Any, ...]], signer: Signer | None,
                      co_signer: Signer | None) -> list[Receipt]:
        assert self._store is not None
        try:
            with self._store.transaction() as cur:
                seq, prev = self._tail(cur)
                # The Merkle tree is only needed for tree heads and proofs: keep it up to
                # date once it exists, but do not read every stored hash just to append.
                every = self.checkpoint_every if self._signer is not None else None
                tree = self._ensure_tree(cur) if self._tree is not None or every else None
                rows = []
                leaves = []
                cps = []
                for item in encoded:
                    row, leaf = self._build(seq, prev, prev or None, item, signer, co_signer)
                    rows.append(row)
                    leaves.append(leaf)
                    prev = row[7]
                    seq += 1
                    if every and seq % every == 0:
                        cps.append(seq)
                if tree is not None:
                    tree.extend(leaves)
                cur.executemany(_INSERT, rows)
                for size in cps:
                    self._write_checkpoint(cur, size)
        except BaseException:
            self._tree = None  # rebuilt from the store on next use
            raise
        return [_row_to_receipt(row, item[3], item[5])
                for row, item in zip(rows, encoded, strict=True)]

    # -- tail / tree --------------------------------------------------------------------
    def _tail(self, cur: Any) -> tuple[int, str]:
        row = cur.execute(
            "SELECT seq, entry_hash FROM receipt_entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (0, "") if row is None else (int(row[0]) + 1, row[1])

    def _ensure_tree(self, cur: Any = None) -> MerkleTree:
        """The Merkle tree over every stored entry, caught up with other writers."""
        if self._store is None:
            if self._tree is None:
                self._tree = MerkleTree(bytes.fromhex(r.entry_hash) for r in self._records)
            return self._tree
        tree = self._tree if self._tree is not None else MerkleTree()
        sql = "SELECT entry_hash FROM receipt_entries WHERE seq >= ? ORDER BY seq"
        rows = (cur.execute(sql, (tree.size,)) if cur is not None
                else self._store.query(sql, (tree.size,)))
        try:
            for (eh,) in rows:
                tree.append(bytes.fromhex(eh))
        except (ValueError, TypeError) as exc:
            self._tree = None
            raise StoreError(f"stored entry hashes are corrupt ({exc}); run verify()") from exc
        self._tree = tree
        return tree

    # -- tree heads ---------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """Sign a tree head over every entry now in the chain and store it.

        Returns the latest tree head unchanged when it already covers every entry.
        Needs a signer.
        """
        if self._signer is None:
            raise InvalidInput("a tree head is signed: create the chain with signer=",
                               argument="signer")
        if self._store is None:
            size = len(self._records)
            if size == 0:
                raise InvalidInput("the chain is empty: nothing to checkpoint", argument="chain")
            if self._cps and self._cps[-1].size == size:
                return self._cps[-1]
            return self._checkpoint_memory(size)
        with self._store.transaction() as cur:
            size, _ = self._tail(cur)
            if size == 0:
                raise InvalidInput("the chain is empty: nothing to checkpoint", argument="chain")
            last = cur.execute("SELECT idx, size, root_hash, head_hash, timestamp, signer, "
                               "key_id, signature FROM receipt_checkpoints "
                               "ORDER BY idx DESC LIMIT 1").fetchone()
            if last is not None and last[1] == size:
                return _cp_from_row(last)
            self._ensure_tree(cur)
            return self._write_checkpoint(cur, size)

    def _make_checkpoint(self, index: int, size: int) -> Checkpoint:
        assert self._signer is not None and self._tree is not None
        signer = self._signer
        root = self._tree.root(size).hex()
        head = self._tree.leaf(size - 1).hex()
        ts = self._clock()
        format_timestamp(ts)
        sig = signer.sign(Checkpoint.message(index, size, root, head, ts, signer.algorithm,
                                             signer.key_id))
        return Checkpoint(index, size, root, head, ts, signer.algorithm, signer.key_id, sig)

    def _checkpoint_memory(self, size: int) -> Checkpoint:
        self._ensure_tree()
        cp = self._make_checkpoint(len(self._cps), size)
        self._cps.append(cp)
        return cp

    def _maybe_checkpoint_memory(self, size: int) -> None:
        if self.checkpoint_every and self._signer and size % self.checkpoint_every == 0:
            self._checkpoint_memory(size)

    def _write_checkpoint(self, cur: Any, size: int) -> Checkpoint:
        (count,) = cur.execute("SELECT COUNT(*) FROM receipt_checkpoints").fetchone()
        cp = self._make_checkpoint(int(count), size)
        cur.execute(
            "INSERT INTO receipt_checkpoints (idx, size, root_hash, head_hash, timestamp, "
            "signer, key_id, signature) VALUES (?,?,?,?,?,?,?,?)",
            (cp.index, cp.size, cp.root_hash, cp.head_hash, format_timestamp(cp.timestamp),
             cp.signer, cp.key_id, cp.signature))
        return cp

    def rotate(self, new_signer: Any) -> Checkpoint | None:
        """Switch to a new signing key. Entries not yet under a tree head are first
        sealed with the old key (batch mode); old receipts keep verifying under the
        key id they name, because the old verifier stays in :attr:`keys`."""
        new = as_signer(new_signer)
        cp = None
        if self._signer is not None and self.sealing == "batch" and len(self):
            cp = self.checkpoint()
        self._signer = new
        self.keys.add(new)
        return cp

    # -- co-signing ---------------------------------------------------------------------
    def co_sign(self, seq: int, key: Any) -> Receipt:
        """A counterparty signs receipt ``seq``'s entry hash (bilateral receipt)."""
        co = as_signer(key)
        receipt = self.get(seq)
        if receipt.co_signature is not None:
            raise InvalidInput(f"receipt {seq} is already co-signed by {receipt.co_key_id}",
                               argument="seq")
        sig = co.sign(receipt.entry_hash.encode("ascii"))
        self.keys.add(co)
        updated = dataclasses.replace(receipt, co_signature=sig, co_signer=co.algorithm,
                                      co_key_id=co.key_id)
        if self._store is None:
            self._records[seq] = updated
        else:
            with self._store.transaction() as cur:
                cur.execute("UPDATE receipt_entries SET co_signer=?, co_key_id=?, co_signature=? "
                            "WHERE seq=? AND co_signature IS NULL",
                            (co.algorithm, co.key_id, sig, seq))
        return updated

    # -- proofs -------------------------------------------------------------------------
    def root(self, size: int | None = None) -> str:
        """Merkle root (hex) over the first ``size`` entries (default: all)."""
        return self._ensure_tree().root(size).hex()

    def inclusion_proof(self, seq: int, checkpoint: Checkpoint | None = None) -> InclusionProof:
        """Proof that receipt ``seq`` is in the tree of ``checkpoint`` (default: the
        earliest stored tree head that covers it; with none, an unsigned proof
        against the current root)."""
        _check_seq(seq)
        tree = self._ensure_tree()
        if seq >= tree.size:
            raise InvalidInput(f"no receipt {seq}: the chain has {tree.size}", argument="seq")
        if checkpoint is None:
            checkpoint = next((cp for cp in self.checkpoints if cp.size > seq), None)
        size = tree.size if checkpoint is None else checkpoint.size
        if seq >= size:
            raise InvalidInput(f"tree head of size {size} does not cover receipt {seq}",
                               argument="checkpoint")
        return InclusionProof(
            seq=seq, entry_hash=tree.leaf(seq).hex(), tree_size=size,
            root_hash=tree.root(size).hex(),
            path=tuple(h.hex() for h in tree.inclusion_proof(seq, size)), checkpoint=checkpoint)

    def consistency_proof(self, old: Checkpoint | int, new: Checkpoint | int | None = None
                          ) -> ConsistencyProof:
        """Proof that the tree of ``old`` is a prefix of the tree of ``new``
        (tree heads or sizes; ``new`` defaults to the whole chain)."""
        tree = self._ensure_tree()
        old_cp = old if isinstance(old, Checkpoint) else None
        new_cp = new if isinstance(new, Checkpoint) else None
        old_size = old.size if isinstance(old, Checkpoint) else old
        new_size = (tree.size if new is None else new.size if isinstance(new, Checkpoint) else new)
        path = tree.consistency_proof(old_size, new_size)
        return ConsistencyProof(
            old_size=old_size, new_size=new_size, old_root=tree.root(old_size).hex(),
            new_root=tree.root(new_size).hex(), path=tuple(h.hex() for h in path),
            old_checkpoint=old_cp, new_checkpoint=new_cp)

    # -- verification -------------------------------------------------------------------
    def _iter_rows(self, start: int = 0) -> Iterator[Row]:
        assert self._store is not None
        nxt = start
        while True:
            rows = self._store.query(
                f"SELECT {_COLUMNS} FROM receipt_entries WHERE seq >= ? ORDER BY seq LIMIT ?",
                (nxt, _PAGE))
            yield from rows
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]
            if not isinstance(last, int):
                return
            nxt = last + 1

    def rows(self) -> Iterator[Row]:
        """The stored form of every entry, in order (what verification reads)."""
        if self._store is None:
            return (_receipt_to_row(r) for r in self._records)
        return self._iter_rows()

    def verify(self, keys: Iterable[Any] | None = None, *, require_sealed: bool = False
               ) -> VerifyResult:
        """Check every entry, link, signature and tree head; report the first break.

        ``keys`` — verification keys to trust (default: the keys this chain object
        knows: its signer, co-signer, rotated-out keys and ``keys=``). With no keys at
        all only hashes and links are checked. ``require_sealed`` — also fail on an
        entry that is neither signed nor under a signed tree head.

        A large chain in a file is checked by this process and a worker process
        together on a multi-core machine (:mod:`openmoe_bft.receipts.stored`); the
        result is the same.
        """
        ring = self.keys if keys is None else KeyRing(keys)
        if self._store is not None:
            return verify_store(self._store, self.checkpoints, ring if len(ring) else None,
                                require_sealed=require_sealed)
        return verify_rows(self.rows(), self.checkpoints, ring if len(ring) else None,
                           require_sealed=require_sealed)

    def verify_signatures(self, keys: dict[int, Any]) -> VerifyResult:
        """The seed's check: receipt ``seq`` must carry a signature that verifies under
        ``keys[seq]`` (a str key is HMAC). A co-signature is checked too when the
        value is a ``(key, co_key)`` pair."""
        checked = 0
        for seq, key in keys.items():
            co_key = None
            if isinstance(key, tuple):
                key, co_key = key
            try:
                receipt = self.get(seq)
            except InvalidInput:
                return VerifyResult(False, seq, f"no receipt at index {seq}", checked)
            if receipt.signature is None:
                return VerifyResult(False, seq, f"receipt {seq} is unsigned", checked)
            verifier = as_verifier(key)
            if not verifier.verify(receipt.signed_message, receipt.signature):
                return VerifyResult(False, seq, f"signature verification failed at index {seq}",
                                    checked)
            if co_key is not None and (receipt.co_signature is None or not as_verifier(
                    co_key).verify(receipt.signed_message, receipt.co_signature)):
                return VerifyResult(False, seq, f"co-signature verification failed at index {seq}",
                                    checked)
            checked += 1
        return VerifyResult(True, None, "signatures verified", checked, checked)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> AuditChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "memory" if self._store is None else self._store.path
        return f"AuditChain({where!r}, sealing={self.sealing!r}, entries={len(self)})"


def _check_seq(seq: Any) -> None:
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise InvalidType(f"seq must be an int, got {type(seq).__name__}", argument="seq")
    if seq < 0:
        raise InvalidInput(f"seq must be >= 0, got {seq}", argument="seq")
