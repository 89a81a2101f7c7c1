"""Whole-page verification: the fast path of :func:`~openmoe_bft.receipts.verify.verify_rows`.

A *page* is up to ``page_size`` consecutive entries (``page_size`` a power of two)
starting at a multiple of ``page_size``. :func:`check_page` checks everything about
a page that does not depend on the entries before it — sequence numbers, payload
hashes, timestamps, entry hashes recomputed from the content, the links *inside* the
page, the entry each tree head in the page names — with one C-level pass per check
(``map`` over hashlib, one ``str.join`` for every entry's canonical bytes) instead
of a Python loop per entry, and builds the page's Merkle subtree.

It only ever *confirms*: it returns a :class:`PageSummary` when every check passes
and ``None`` as soon as anything differs from the plain case (a broken link, a
signature to check, an unusual type, ...). The caller then runs the per-entry
reference loop on that page, which finds and words the first break exactly as
before, so the fast path can change speed but never a result.

The summary is small (a few hashes per page and per tree head in it) and picklable,
so a worker process can check pages and hand the summaries back; the link to the
previous page and the tree-head roots are finished by
:func:`~openmoe_bft.receipts.verify.verify_rows`' driver, which holds the running
Merkle compact range.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .records import NUMBER, entry_bytes_json

__all__ = ["PageSummary", "check_page", "page_levels", "subtree_nodes"]

_sha256 = hashlib.sha256
_json_str = json.encoder.encode_basestring  # what verify_rows encodes trace ids with
_NUMBERS = re.compile(rf"(?:{NUMBER.pattern},)*{NUMBER.pattern}")
_NONE = type(None)



@dataclass(frozen=True)
class PageSummary:
    """What :func:`check_page` established about a page of ``count`` entries from
    ``start``; the rest is checked against the entries before it.

    ``first_prev`` / ``first_parent`` — the stored link fields of the first entry;
    ``last_hash`` — the last entry's (verified) entry hash; ``root`` — Merkle root of
    the page when it is full, else None; ``tail`` — for a partial page, the roots of
    its complete subtrees (largest first); ``heads`` — for each tree-head size ``s``
    in ``(start, start + count]``: ``(s, entry hash of s - 1, the page's complete
    subtrees over its first s - start entries)``.
    """

    start: int
    count: int
    first_prev: str
    first_parent: str | None
    last_hash: str
    root: bytes | None
    tail: tuple[bytes, ...]
    heads: tuple[tuple[int, str, tuple[bytes, ...]], ...]


def page_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of complete subtrees over ``leaves`` (level 0: the leaves)."""
    sha = _sha256
    levels = [leaves]
    level = leaves
    while len(level) > 1:
        pairs = iter(level)  # an odd last node waits for the next page
        level = [sha(b"\x01" + left + right).digest()
                 for left, right in zip(pairs, pairs, strict=False)]
        levels.append(level)
    return levels


def subtree_nodes(levels: list[list[bytes]], r: int) -> tuple[bytes, ...]:
    """Roots of the complete subtrees over the first ``r`` leaves, largest first
    (the compact range of ``r`` leaves)."""
    nodes = []
    off = 0
    for h in range(r.bit_length() - 1, -1, -1):
        if r >> h & 1:
            nodes.append(levels[h][off >> h])
            off += 1 << h
    return tuple(nodes)


def _all(col: Sequence[Any], kind: type) -> bool:
    return set(map(type, col)) == {kind}


def check_page(start: int, columns: Sequence[Sequence[Any]], page_size: int,
               head_sizes: Sequence[int], keyed: bool, *,
               sqlite_values: bool = False) -> PageSummary | None:
    """Check one page given column-wise; see the module docstring.

    ``columns`` — ``seq, trace_id, parent_receipt_id, timestamp, payload,
    payload_hash, prev_hash, entry_hash`` followed by any number of signature columns
    (all must be None when ``keyed``: signed pages take the reference path). A reader
    that established in SQL that the page holds seq ``start, start + 1, ...`` may pass
    None for ``seq``, and one that established each ``parent_receipt_id`` *is*
    ``prev_hash`` (same type and bytes) may pass None for ``parent_receipt_id``.
    ``head_sizes`` — the sizes of all tree heads (sorted, strictly increasing).
    ``sqlite_values`` — every value is a str, bytes, int, float or None (as read from
    SQLite, with ``seq`` an INTEGER PRIMARY KEY): then every comparison below is exact
    without checking types first (a non-str never equals a str, and joining or
    JSON-encoding one raises).
    """
    try:
        return _check(start, columns, page_size, head_sizes, keyed, sqlite_values)
    except Exception:  # noqa: BLE001 - anything odd is for the reference loop to word
        return None


def _check(start: int, columns: Sequence[Sequence[Any]], page_size: int,
           head_sizes: Sequence[int], keyed: bool, sqlite_values: bool) -> PageSummary | None:
    seq_col, traces, parent_col, tss, payloads, phs, prevs, ehs = columns[:8]
    traces, tss, payloads, phs, prevs, ehs = map(tuple, (traces, tss, payloads, phs, prevs,
                                                         ehs))
    m = len(ehs)
    if not 0 < m <= page_size or start % page_size:
        return None
    if keyed and any(col.count(None) != m for col in columns[8:]):
        return None
    # -- shape: exact types (so == below is plain string equality), numbering ------------
    seqs = tuple(range(start, start + m))
    if seq_col is not None and tuple(seq_col) != seqs:
        return None
    parents = prevs if parent_col is None else tuple(parent_col)
    if not all(len(col) == m for col in (traces, tss, payloads, phs, prevs, parents, seqs)):
        return None
    first_parent = parents[0]
    if not sqlite_values and not (
            _all(seq_col or (0,), int) and _all(traces, str) and _all(tss, str) and _all(phs, str)
            and _all(prevs, str) and _all(ehs, str) and type(first_parent) in (str, _NONE)
            and _all(parents[1:] or ("",), str)):
        return None
    # -- links inside the page (the first entry's link is the caller's) ----------------
    if prevs[1:] != ehs[:-1] or parents[1:] != ehs[:-1]:
        return None
    # -- timestamps: one regex over the page; the comma count rules out a comma inside
    joined = ",".join(tss)
    if joined.count(",") != m - 1 or _NUMBERS.fullmatch(joined) is None:
        return None
    # -- payload hashes -----------------------------------------------------------------
    sha = _sha256
    if [sha(p).hexdigest() for p in payloads] != list(phs):
        return None
    # -- entry hashes, from each entry's canonical bytes (records.entry_bytes_json) ------
    trace_set = set(traces)
    if len(trace_set) == 1:
        tjs: Sequence[str] = (_json_str(traces[0]),) * m
    else:
        tjs = list(map(_json_str, traces))
    leaves = [sha(f'\x00{{"parent_receipt_id":"{pa}","payload_hash":"{ph}","prev_hash":"{pv}",'
                  f'"seq":{n},"timestamp":{ts},"trace_id":{tj},"v":1}}'.encode()).digest()
              for pa, ph, pv, n, ts, tj in zip(parents, phs, prevs, seqs, tss, tjs, strict=True)]
    if first_parent is None:  # the chain's first entry: "parent_receipt_id":null
        leaves[0] = sha(b"\x00" + entry_bytes_json(seqs[0], prevs[0], None, phs[0], tss[0],
                                                    tjs[0])).digest()
    if b"".join(leaves).hex() != "".join(ehs) or set(map(len, ehs)) != {64}:
        return None
    # -- Merkle subtrees -----------------------------------------------------------------
    levels = page_levels(leaves)
    lo = bisect_right(head_sizes, start)
    hi = bisect_right(head_sizes, start + m)
    heads = tuple((s, ehs[s - 1 - start], subtree_nodes(levels, s - start))
                  for s in head_sizes[lo:hi])
    full = m == page_size
    return PageSummary(
        start=start, count=m, first_prev=prevs[0], first_parent=first_parent,
        last_hash=ehs[-1], root=levels[-1][0] if full else None,
        tail=() if full else subtree_nodes(levels, m), heads=heads)
