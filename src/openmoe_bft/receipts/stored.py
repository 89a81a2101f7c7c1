"""Verifying a chain kept in a SQLite store: lean page reads and a second process.

:func:`verify_store` gives exactly what :func:`~openmoe_bft.receipts.verify.verify_rows`
gives over every stored row, faster:

* pages are read with only the columns the page pass needs: a full page is read by
  seq range (so seq itself is implied), and the six signature columns and the
  parent-is-previous-hash test collapse into one flag column that SQLite computes;
  a page the page pass does not confirm is read again in full for the reference loop;
* a large chain in a file is split between this process and one worker process
  (on a machine with two or more cores): the worker checks pages from the end of the
  chain downwards, this process from the start upwards, each claiming the next page
  under a shared lock, so both stay busy until they meet. Pages are independent —
  :func:`~openmoe_bft.receipts.pages.check_page` needs nothing from earlier pages —
  and this process then finishes the worker's pages in order (links between pages,
  tree-head Merkle roots), so the first break is still found and worded by the same
  reference loop. A page the worker could not confirm, or any worker failure, just
  leaves the page to this process.

The worker opens the database file read-only with its own connection, so it is only
used when the store's connection has no transaction open (which could hold changes
no other connection sees). It is forked when this process runs a single thread
(cheap), else spawned.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any

from ..store import Store
from .pages import PageSummary, check_page
from .records import Checkpoint, VerifyResult
from .signing import KeyRing
from .verify import PAGE_SIZE, Page, verify_pages

__all__ = ["ENTRY_COLUMNS", "PARALLEL_MIN", "verify_store"]

ENTRY_COLUMNS = ("seq, trace_id, parent_receipt_id, timestamp, payload, payload_hash, "
                 "prev_hash, entry_hash, signer, key_id, signature, co_signer, co_key_id, "
                 "co_signature")
_CONTENT = ("seq, trace_id, parent_receipt_id, timestamp, payload, payload_hash, prev_hash, "
            "entry_hash")
_SIGNED = "coalesce(signer, key_id, signature, co_signer, co_key_id, co_signature)"
_PAGE_SQL = "SELECT {} FROM receipt_entries WHERE seq >= ? ORDER BY seq LIMIT ?"
# A full page by seq range: page_size rows with seq in [a, a + page_size) are exactly
# a, a + 1, ... (seq is the integer primary key), so seq need not be read; and one
# flag column is NULL exactly when the entry is unsigned (when keys are given) and its
# parent_receipt_id IS its prev_hash (same type and bytes), so neither parent is read.
_RANGE_SQL = ("SELECT trace_id, timestamp, payload, payload_hash, prev_hash, entry_hash, {} "
              "FROM receipt_entries WHERE seq >= ? AND seq < ? ORDER BY seq")
_PARENT_IS_PREV = "CASE WHEN parent_receipt_id IS prev_hash THEN NULL ELSE 1 END"

#: Fewest entries for which a second process is used (fork); a spawned worker pays an
#: interpreter start, so it needs four times as many.
PARALLEL_MIN = 1 << 17


def _lean_sql(keyed: bool) -> str:
    return _PAGE_SQL.format(f"{_CONTENT}, {_SIGNED}" if keyed else _CONTENT)


def _range_sql(keyed: bool) -> str:
    flag = f"{_SIGNED[:-1]}, {_PARENT_IS_PREV})" if keyed else _PARENT_IS_PREV
    return _RANGE_SQL.format(flag)


def _range_columns(rows: list[Any]) -> list[Any]:
    """check_page's columns from a range read (seq and parent_receipt_id implied)."""
    traces, tss, payloads, phs, prevs, ehs, flags = zip(*rows, strict=True)
    return [None, traces, None, tss, payloads, phs, prevs, ehs, flags]


def verify_store(
    store: Store,
    checkpoints: Sequence[Checkpoint],
    keys: KeyRing | None,
    *,
    require_sealed: bool = False,
    page_size: int = PAGE_SIZE,
    parallel_min: int | None = None,
) -> VerifyResult:
    """Verify the entries stored in ``store`` against ``checkpoints``; the result is
    the one :func:`~openmoe_bft.receipts.verify.verify_rows` gives over every row.

    ``parallel_min`` — fewest entries to use a worker process (default
    :data:`PARALLEL_MIN`; a huge value keeps to this process).
    """
    keyed = keys is not None
    heads = [cp.size for cp in checkpoints]
    worker = None
    if all(type(s) is int for s in heads) and heads == sorted(set(heads)):
        worker = _start_worker(store, page_size, keyed, heads,
                               PARALLEL_MIN if parallel_min is None else parallel_min)
    try:
        pages = _pages(store, keyed, page_size, worker)
        return verify_pages(pages, checkpoints, keys, require_sealed=require_sealed,
                            page_size=page_size)
    finally:
        if worker is not None:
            worker.stop()


def _pages(store: Store, keyed: bool, page_size: int, worker: _Worker | None
           ) -> Iterator[Page]:
    """The stored rows as pages, in order (reading from seq 0 until a short page, as
    a plain iteration over the store does)."""
    lean = _lean_sql(keyed)
    by_range = _range_sql(keyed)
    full = _PAGE_SQL.format(ENTRY_COLUMNS)
    nxt = 0
    while True:
        if worker is not None and not worker.claim(nxt // page_size):
            summary = worker.summary(nxt)
            if summary is not None:
                yield Page(rows=lambda a=nxt, m=summary.count: store.query(full, (a, m)),
                           summary=summary)
                nxt += summary.count
                continue
        rows = store.query(by_range, (nxt, nxt + page_size))
        if len(rows) == page_size:
            yield Page(rows=lambda a=nxt: store.query(full, (a, page_size)),
                       columns=lambda rows=rows: _range_columns(rows), sqlite_values=True,
                       extra_null=True)
            nxt += page_size
            continue
        # the last page, or a gap: read the next rows whatever their seq (as a plain
        # iteration over the store does)
        rows = store.query(lean, (nxt, page_size))
        if not rows:
            return
        count = len(rows)

        yield Page(rows=lambda a=nxt, m=count: store.query(full, (a, m)),
                   columns=lambda rows=rows: list(zip(*rows, strict=True)), sqlite_values=True)
        if count < page_size:
            return
        nxt += count


# -- the worker process -------------------------------------------------------------------
def _context() -> Any:
    import multiprocessing  # only when a worker is wanted
    import threading

    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Worker:
    """A worker process checking pages from the top down; see the module docstring."""

    def __init__(self, path: str, top: int, page_size: int, keyed: bool,
                 heads: list[int], ctx: Any) -> None:
        # bounds[0]: next page this process will claim; bounds[1]: one past the
        # worker's last unclaimed page (it claims downwards)
        self.bounds = ctx.Array("q", [0, top])
        self.page_size = page_size
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_work, args=(path, page_size, keyed, heads,
                                                     self.bounds, child), daemon=True)
        self._proc.start()
        child.close()
        self._summaries: dict[int, PageSummary] | None = None

    def claim(self, page: int) -> bool:
        """Take page ``page`` for this process unless the worker has it."""
        with self.bounds.get_lock():
            if page >= self.bounds[1]:
                return False
            self.bounds[0] = max(self.bounds[0], page + 1)
            return True

    def summary(self, start: int) -> PageSummary | None:
        """The worker's summary of the page at ``start`` (waits for the worker)."""
        if self._summaries is None:
            self._summaries = {}
            try:
                while not self._conn.poll(0.05):
                    if not self._proc.is_alive() and not self._conn.poll(0):
                        break
                else:
                    self._summaries = {s.start: s for s in self._conn.recv()}
            except (EOFError, OSError):
                pass
        return self._summaries.get(start)

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
            if self._proc.is_alive():
                self._proc.kill()
        self._proc.join()
        self._conn.close()


def _in_transaction(store: Store) -> bool:
    """Whether ``store``'s connection has a transaction open (then it may see rows a
    second connection cannot; unknown counts as yes)."""
    conn = getattr(store, "_conn", None)
    return not isinstance(conn, sqlite3.Connection) or conn.in_transaction


def _start_worker(store: Store, page_size: int, keyed: bool, heads: list[int],
                  parallel_min: int) -> _Worker | None:
    if store.path == ":memory:" or _cores() < 2 or _in_transaction(store):
        return None
    rows = store.query("SELECT MAX(seq) FROM receipt_entries")
    top = rows[0][0]
    if not isinstance(top, int) or top < 0:
        return None
    full_pages = (top + 1) // page_size
    ctx = _context()
    need = parallel_min if ctx.get_start_method() == "fork" else 4 * parallel_min
    if (top + 1) < need or full_pages < 2:
        return None
    try:
        return _Worker(os.path.abspath(store.path), full_pages, page_size, keyed, heads, ctx)
    except (OSError, ValueError, RuntimeError):  # no process to be had: do it all here
        return None


def _work(path: str, page_size: int, keyed: bool, heads: list[int], bounds: Any,
          conn: Any) -> None:
    """The worker: claim pages from the top down, check each, send the summaries."""
    done: list[PageSummary] = []
    try:
        uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
        con = sqlite3.connect(uri, uri=True)
        try:
            con.execute("PRAGMA mmap_size = 1073741824")  # read pages in place
            by_range = _range_sql(keyed)
            while True:
                with bounds.get_lock():
                    page = bounds[1] - 1
                    if page < bounds[0]:
                        break
                    bounds[1] = page
                start = page * page_size
                rows = con.execute(by_range, (start, start + page_size)).fetchall()
                if len(rows) != page_size:
                    break  # a gap: left to the main process
                summary = check_page(start, _range_columns(rows), page_size, heads, True,
                                     sqlite_values=True)
                if summary is None:
                    break  # left to the main process, which words the break
                done.append(summary)
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - whatever was not done is done by the main process
        pass
    conn.send(done)
    conn.close()
