"""One verification routine for every place a chain lives (memory, store, export).

A *row* is the stored form of an entry::

    (seq, trace_id, parent_receipt_id, timestamp_text, payload_bytes, payload_hash,
     prev_hash, entry_hash, signer, key_id, signature, co_signer, co_key_id, co_signature)

:func:`verify_rows` recomputes every hash from the row's content and the *recomputed*
previous entry (never from stored link fields alone), so an edit, deletion,
insertion, reordering, duplication or truncation is reported at the first entry it
breaks. Tree heads are checked against a Merkle root recomputed in the same pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .merkle import stack_root
from .records import HEX64, NUMBER, Checkpoint, VerifyResult, entry_bytes_json
from .signing import KeyRing

# json.dumps(s, ensure_ascii=False) for a str, without building an encoder per call
_json_str = json.encoder.encode_basestring

__all__ = ["Row", "verify_rows", "check_checkpoint_signature"]

Row = tuple[Any, ...]
_sha256 = hashlib.sha256


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
    counts = {"signatures": 0, "checkpoints": 0}

    def fail(at: int, reason: str, checked: int, cp: int | None = None) -> VerifyResult:
        return VerifyResult(False, at, reason, checked, counts["signatures"],
                            counts["checkpoints"], 0, cp)

    # -- tree heads: shape, order and signatures first --------------------------------
    sizes: list[int] = []
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
            why = f"tree head {i} (size {cp.size}) does not extend tree head {i - 1} (size {start})"
        if why is not None:
            return fail(start, f"tree head {i}: {why}", 0, i)
        sizes.append(cp.size)
    by_size = {cp.size: (i, cp) for i, cp in enumerate(checkpoints)}

    # -- entries -----------------------------------------------------------------------
    prev_hash, prev_id = "", None
    stack: list[bytes] = []  # a compact range, inlined: roots of complete subtrees
    sealed_upto = 0
    first_unsealed: int | None = None
    unsealed = 0
    last_trace: Any = None
    last_trace_json = ""
    n = 0
    for n, row in enumerate(rows):  # noqa: B007 - n is used after the loop
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
                    counts["signatures"] += 1
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
                counts["checkpoints"] += 1
                sealed_upto = n + 1
                first_unsealed, unsealed = None, 0
    total = n + 1 if prev_hash else 0
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
    return VerifyResult(True, None, reason, total, counts["signatures"], counts["checkpoints"],
                        unsealed, None)
