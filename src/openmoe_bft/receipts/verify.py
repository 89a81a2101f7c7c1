"""One verification routine for every place a chain lives (memory, store, export).

A *row* is the stored form of an entry::

    (seq, trace_id, parent_receipt_id, timestamp_text, payload_bytes, payload_hash,
     prev_hash, entry_hash, signer, key_id, signature, co_signer, co_key_id, co_signature)

:func:`verify_rows` recomputes every hash from the row's content and the *recomputed*
previous entry (never from stored link fields alone), so an edit, deletion,
insertion, reordering, duplication or truncation is reported at the first entry it
breaks. Tree heads are checked against a Merkle root recomputed in the same pass.

Rows are taken a page at a time (:data:`PAGE_SIZE` entries). Each page is first
checked whole by :func:`~openmoe_bft.receipts.pages.check_page` (C-level passes over
the page); a page it does not confirm — any break, any signature to check — goes
through the per-entry reference loop, which reports the first break. Both give the
same result; the page pass is only faster. :func:`verify_pages` is the driver, for
readers that fetch pages themselves (a store, a worker process).
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .merkle import stack_root
from .pages import PageSummary, check_page
from .records import HEX64, NUMBER, Checkpoint, VerifyResult, entry_bytes_json
from .signing import KeyRing

# json.dumps(s, ensure_ascii=False) for a str, without building an encoder per call
_json_str = json.encoder.encode_basestring

__all__ = ["PAGE_SIZE", "Page", "Row", "check_checkpoint_signature", "row_pages", "verify_pages",
           "verify_rows"]

Row = tuple[Any, ...]
_sha256 = hashlib.sha256
PAGE_SIZE = 512  # entries per page (a power of two; small pages stay in the CPU cache)
_WIDTH = 14  # fields in a row


def check_checkpoint_signature(cp: Checkpoint, keys: KeyRing) -> str | None:
    """None when ``cp`` is well formed and its signature verifies, else why not."""
    if (not isinstance(cp.size, int) or isinstance(cp.size, bool) or cp.size < 1
            or not isinstance(cp.root_hash, str) or HEX64.fullmatch(cp.root_hash) is None
            or not isinstance(cp.head_hash, str) or HEX64.fullmatch(cp.head_hash) is None):
        return "tree head is malformed"
    verifier = keys.get(cp.key_id) if isinstance(cp.key_id, str) else None
    if verifier is None:
        return f"tree head signed under unknown key id {cp.key_id!r}: pass that public key"
    if verifier.algorithm != cp.signer:
        return f"tree head names scheme {cp.signer!r} but key {cp.key_id!r} is {verifier.algorithm}"
    try:
        message = cp.signed_message
    except Exception:  # noqa: BLE001 - any unencodable field is tampering
        return "tree head is malformed"
    if not verifier.verify(message, cp.signature):
        return "tree head signature does not verify"
    return None


def _check_sig(keys: KeyRing, scheme: Any, key_id: Any, signature: Any, message: bytes,
               what: str) -> str | None:
    verifier = keys.get(key_id) if isinstance(key_id, str) else None
    if verifier is None:
        return f"{what} under unknown key id {key_id!r}: pass that key to verify"
    if verifier.algorithm != scheme:
        return f"{what} names scheme {scheme!r} but key {key_id!r} is {verifier.algorithm}"
    if not verifier.verify(message, signature):
        return f"{what} does not verify (tampered or swapped)"
    return None


@dataclass
class Page:
    """A page of consecutive rows for :func:`verify_pages`.

    ``rows`` — returns the page's full rows (the reference loop's input);
    ``columns`` — returns them column-wise for the page pass (the 8 content columns,
    then signature columns that are all None when the page is unsigned), or None to
    skip the page pass; ``summary`` — the page pass already done elsewhere (a
    worker); ``error`` — raised once the rows before it verify (a reader that failed
    part-way through the page, as a plain iteration would have); ``sqlite_values`` —
    the values are as SQLite returns them (see :func:`~.pages.check_page`);
    ``extra_null`` — the columns after the eight content columns must be None even
    without keys (they carry checks the reader made in SQL).
    """

    rows: Callable[[], Sequence[Row]]
    columns: Callable[[], Sequence[Sequence[Any]] | None] | None = None
    summary: PageSummary | None = None
    error: BaseException | None = None
    sqlite_values: bool = False
    extra_null: bool = False


def row_pages(rows: Iterable[Row], page_size: int = PAGE_SIZE) -> Iterator[Page]:
    """Cut an iterable of rows into :class:`Page` s."""
    it = iter(rows)
    while True:
        page: list[Row] = []
        error = None
        try:
            page.extend(islice(it, page_size))  # keeps the rows read before an error
        except Exception as exc:  # noqa: BLE001 - re-raised after the rows before it
            error = exc
        if page or error is not None:
            yield Page(rows=lambda page=page: page,  # type: ignore[misc]
                       columns=lambda page=page: _columns(page), error=error)
        if error is not None or len(page) < page_size:
            return


def _columns(page: list[Row]) -> list[tuple[Any, ...]] | None:
    try:
        if set(map(len, page)) != {_WIDTH}:
            return None
    except TypeError:
        return None
    return list(zip(*page, strict=True))


def verify_rows(
    rows: Iterable[Row],
    checkpoints: Sequence[Checkpoint] = (),
    keys: KeyRing | None = None,
    *,
    require_sealed: bool = False,
) -> VerifyResult:
    """Verify a chain given as rows (see the module docstring) plus its tree heads.

    ``keys`` — the verification keys trusted; None checks hashes and links only.
    ``require_sealed`` — fail on an entry that is neither signed nor under a signed
    tree head (default: count it in ``unsealed``).
    """
    return verify_pages(row_pages(rows), checkpoints, keys, require_sealed=require_sealed)


def verify_pages(
    pages: Iterable[Page],
    checkpoints: Sequence[Checkpoint] = (),
    keys: KeyRing | None = None,
    *,
    require_sealed: bool = False,
    page_size: int = PAGE_SIZE,
) -> VerifyResult:
    """:func:`verify_rows` over pages of ``page_size`` rows (the last may be short)."""
    run = _Run(keys)
    bad = run.check_heads(checkpoints)
    if bad is not None:
        return bad
    for page in pages:
        summary = page.summary
        if summary is None and page.columns is not None:
            columns = page.columns()
            if columns is not None:
                summary = check_page(run.n, columns, page_size, run.sizes,
                                     keys is not None or page.extra_null,
                                     sqlite_values=page.sqlite_values)
        if summary is None or not run.compose(summary, page_size):
            bad = run.reference(page.rows())
            if bad is not None:
                return bad
        if page.error is not None:
            raise page.error
    return run.finish(require_sealed)


class _Run:
    """The state of one verification: what has been checked so far."""

    def __init__(self, keys: KeyRing | None) -> None:
        self.keys = keys
        self.signatures = 0
        self.checkpoints = 0
        self.sizes: list[int] = []
        self.by_size: dict[int, tuple[int, Checkpoint]] = {}
        self.n = 0  # entries verified
        self.prev_hash = ""
        self.prev_id: str | None = None
        self.stack: list[bytes] = []  # a compact range: roots of complete subtrees
        self.sealed_upto = 0
        self.first_unsealed: int | None = None
        self.unsealed = 0
        self.last_trace: Any = None
        self.last_trace_json = ""

    def fail(self, at: int, reason: str, checked: int, cp: int | None = None) -> VerifyResult:
        return VerifyResult(False, at, reason, checked, self.signatures, self.checkpoints, 0,
                            cp)

    # -- tree heads: shape, order and signatures first --------------------------------
    def check_heads(self, checkpoints: Sequence[Checkpoint]) -> VerifyResult | None:
        keys, sizes = self.keys, self.sizes
        for i, cp in enumerate(checkpoints):
            start = sizes[-1] if sizes else 0
            if keys is not None:
                why = check_checkpoint_signature(cp, keys)
            elif not (isinstance(cp.size, int) and isinstance(cp.root_hash, str)
                      and isinstance(cp.head_hash, str)):
                why = "tree head is malformed"
            else:
                why = None
            if why is None and (cp.index != i or type(cp.index) is not int):
                why = f"expected tree head number {i}, found {cp.index!r} (one was deleted, " \
                      "duplicated or reordered)"
            if why is None and cp.size <= start:
                why = f"tree head {i} (size {cp.size}) does not extend tree head {i - 1} " \
                      f"(size {start})"
            if why is not None:
                return self.fail(start, f"tree head {i}: {why}", 0, i)
            sizes.append(cp.size)
        self.by_size = {cp.size: (i, cp) for i, cp in enumerate(checkpoints)}
        return None

    # -- a page the page pass confirmed ----------------------------------------------
    def compose(self, s: PageSummary, page_size: int) -> bool:
        """Finish a page summary against the entries before it; False (nothing
        changed) when anything differs — the reference loop then words it."""
        if (s.start != self.n or s.first_prev != self.prev_hash
                or s.first_parent != self.prev_id):
            return False
        end = s.start + s.count
        sizes = self.sizes
        if [h[0] for h in s.heads] != sizes[bisect_right(sizes, s.start):bisect_right(sizes, end)]:
            return False  # not made with these tree heads
        stack = self.stack
        for size, head, nodes in s.heads:
            hit = self.by_size.get(size)
            if hit is None:
                return False
            cp = hit[1]
            if cp.head_hash != head or cp.root_hash != stack_root([*stack, *nodes]).hex():
                return False
        if self.keys is not None:  # no entry of the page is signed
            if s.heads:
                last = s.heads[-1][0]
                self.checkpoints += len(s.heads)
                self.sealed_upto = last
                self.unsealed = end - last
                self.first_unsealed = last if end > last else None
            else:
                if self.first_unsealed is None:
                    self.first_unsealed = s.start
                self.unsealed += s.count
        if s.root is not None:
            node, m = s.root, s.start // page_size
            while m & 1:  # the page closes one subtree per trailing 1 bit of its index
                node = _sha256(b"\x01" + stack.pop() + node).digest()
                m >>= 1
            stack.append(node)
        else:
            stack.extend(s.tail)
        self.n = end
        self.prev_hash = self.prev_id = s.last_hash
        return True

    # -- the reference loop: one entry at a time ---------------------------------------
    def reference(self, rows: Iterable[Row]) -> VerifyResult | None:
        """Verify ``rows`` (the next entries) one by one; the first break, or None."""
        keys, by_size, sizes, fail = self.keys, self.by_size, self.sizes, self.fail
        prev_hash, prev_id, stack = self.prev_hash, self.prev_id, self.stack
        sealed_upto, first_unsealed, unsealed = (self.sealed_upto, self.first_unsealed,
                                                 self.unsealed)
        last_trace, last_trace_json = self.last_trace, self.last_trace_json
        n = self.n - 1
        for n, row in enumerate(rows, self.n):  # noqa: B007 - n is used after the loop
            try:
                (seq, trace_id, parent, ts_text, payload, payload_hash, stored_prev, stored_hash,
                 signer, key_id, signature, co_signer, co_key_id, co_signature) = row
                if seq != n or type(seq) is not int:
                    return fail(n, f"entry {n}: expected sequence number {n}, found {seq!r} "
                                   "(an entry was deleted, inserted, duplicated or reordered)", n)
                if stored_prev != prev_hash or parent != prev_id:
                    return fail(n, f"entry {n}: link to the previous entry is broken "
                                   "(prev_hash/parent_receipt_id do not match it)", n)
                if _sha256(payload).hexdigest() != payload_hash:
                    return fail(n, f"entry {n}: payload tampered (its hash does not match)", n)
                if trace_id is not last_trace:
                    if type(trace_id) is not str:
                        raise TypeError("trace_id")
                    last_trace_json = _json_str(trace_id)
                    last_trace = trace_id
                if NUMBER.fullmatch(ts_text) is None:
                    raise ValueError(f"timestamp {ts_text!r} is not a canonical number")
                leaf = _sha256(b"\x00" + entry_bytes_json(
                    seq, prev_hash, prev_id, payload_hash, ts_text, last_trace_json)).digest()
            except Exception as exc:  # noqa: BLE001 - a malformed row is tampering
                return fail(n, f"entry {n}: malformed ({type(exc).__name__}: {exc})", n)
            entry_hash = leaf.hex()
            if stored_hash != entry_hash:
                return fail(n, f"entry {n}: entry tampered (stored entry_hash does not match "
                               "its content)", n)
            if keys is not None and (signature is not None or co_signature is not None
                                     or signer is not None or key_id is not None
                                     or co_signer is not None or co_key_id is not None):
                signed = False
                for what, fields in (("signature", (signer, key_id, signature)),
                                     ("co-signature", (co_signer, co_key_id, co_signature))):
                    if fields == (None, None, None):
                        continue
                    why = _check_sig(keys, *fields, entry_hash.encode(), what)
                    if why:
                        return fail(n, f"entry {n}: {why}", n)
                    if what == "signature":
                        self.signatures += 1
                        signed = True
                if not signed and n >= sealed_upto:
                    # covered later by a tree head? decided when we reach it
                    if first_unsealed is None:
                        first_unsealed = n
                    unsealed += 1
            elif keys is not None and n >= sealed_upto:
                if first_unsealed is None:
                    first_unsealed = n
                unsealed += 1
            node, m = leaf, n
            while m & 1:  # leaf n closes one complete subtree per trailing 1 bit of n
                node = _sha256(b"\x01" + stack.pop() + node).digest()
                m >>= 1
            stack.append(node)
            prev_hash, prev_id = entry_hash, entry_hash
            hit = by_size.get(n + 1)
            if hit is not None:
                i, cp = hit
                root = stack_root(stack)
                start = sizes[i - 1] if i else 0
                if cp.head_hash != entry_hash:
                    return fail(start, f"tree head {i}: its head is not entry {n} "
                                       "(the chain was rewritten after it was signed)", n + 1, i)
                if cp.root_hash != root.hex():
                    return fail(start, f"tree head {i}: Merkle root does not match entries "
                                       f"0..{n} (the chain was rewritten after it was signed)",
                                n + 1, i)
                if keys is not None:
                    self.checkpoints += 1
                    sealed_upto = n + 1
                    first_unsealed, unsealed = None, 0
        self.n = n + 1
        self.prev_hash, self.prev_id = prev_hash, prev_id
        self.sealed_upto, self.first_unsealed, self.unsealed = (sealed_upto, first_unsealed,
                                                                unsealed)
        self.last_trace, self.last_trace_json = last_trace, last_trace_json
        return None

    def finish(self, require_sealed: bool) -> VerifyResult:
        total, sizes, keys = self.n, self.sizes, self.keys
        first_unsealed, unsealed = self.first_unsealed, self.unsealed
        fail = self.fail
        if sizes and sizes[-1] > total:
            i = len(sizes) - 1
            while i > 0 and sizes[i - 1] > total:
                i -= 1
            return fail(total, f"truncated: tree head {i} covers {sizes[i]} entries but only "
                               f"{total} are present", total, i)
        if keys is not None and require_sealed and first_unsealed is not None:
            return fail(first_unsealed, f"entry {first_unsealed}: neither signed nor covered by a "
                                        "signed tree head", total)
        if keys is None:
            reason = "chain verified (hashes and links only: no keys to check signatures)"
        else:
            reason = "chain verified"
            if unsealed:
                reason += f" ({unsealed} entries not yet sealed by a signature or tree head)"
        return VerifyResult(True, None, reason, total, self.signatures, self.checkpoints,
                            unsealed, None)
