"""The page pass and the worker process never change a verification result.

Every fast way of verifying — whole pages at a time, lean store reads, a second
process — is compared with the per-entry reference loop alone, on intact chains and
on chains tampered in every way hypothesis can think of (any cell set to any SQLite
type, rows deleted, duplicated, swapped, tree heads edited).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import sqlite3
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from openmoe_bft.receipts import AuditChain, Ed25519Key, KeyRing, MerkleTree, stored, verify
from openmoe_bft.receipts.pages import check_page
from openmoe_bft.receipts.records import entry_bytes_json
from openmoe_bft.receipts.verify import Page, row_pages, verify_pages, verify_rows
from openmoe_bft.store import Store

KEY = Ed25519Key.from_raw(bytes(range(32)))
COUNTER = Ed25519Key.from_raw(bytes(range(1, 33)))
N = 21
_ENTRY_COLS = ["seq", "trace_id", "parent_receipt_id", "timestamp", "payload", "payload_hash",
               "prev_hash", "entry_hash", "signer", "key_id", "signature", "co_signer",
               "co_key_id", "co_signature"]


def _clock():
    c = itertools.count(1_700_000_000)
    return lambda: next(c) + 0.5


def _build(path, sealing):
    chain = AuditChain(path, signer=KEY, sealing=sealing, checkpoint_every=4, clock=_clock())
    for i in range(N):
        chain.append({"i": i, "x": [i, 2.5], "s": "é\n\"q\""},
                     trace_id=["a", "b\u2028", 'c"\\'][i % 3] if i % 5 else "a")
    chain.co_sign(2, COUNTER)
    chain.checkpoint()
    chain.close()


@pytest.fixture(scope="module", params=["batch", "entry"])
def db(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "chain.db"
    _build(path, request.param)
    return path


def _reference(rows, cps, keys, require_sealed):
    """The per-entry reference loop alone (one page, no columns: no page pass)."""
    rows = list(rows)
    return verify_pages([Page(rows=lambda: rows)], cps, keys, require_sealed=require_sealed)


def _all_ways(path, keys, require_sealed, page_size):
    """(reference, [results of every fast way]) for the chain stored at ``path``."""
    ring = KeyRing(keys) if keys else None
    with AuditChain(Store(path)) as chain:
        cps = chain.checkpoints
        rows = list(chain.rows())
        ref = _reference(rows, cps, ring, require_sealed)
        fast = [
            verify_rows(rows, cps, ring, require_sealed=require_sealed),
            verify_pages(row_pages(rows, page_size), cps, ring, require_sealed=require_sealed,
                         page_size=page_size),
            stored.verify_store(chain.store, cps, ring, require_sealed=require_sealed,
                                page_size=page_size, parallel_min=1 << 40),
            stored.verify_store(chain.store, cps, ring, require_sealed=require_sealed,
                                page_size=page_size, parallel_min=0),
        ]
    return ref, fast


def _sql(path, *statements):
    con = sqlite3.connect(path)
    try:
        with con:
            for sql, params in statements:
                con.execute(sql, params)
    except sqlite3.IntegrityError:  # NOT NULL, a duplicate seq, ...: not storable
        assume(False)
    finally:
        con.close()


_values = (st.none() | st.integers(-3, 2 * N) | st.floats(allow_nan=False) | st.binary(max_size=8)
           | st.text(max_size=8) | st.sampled_from(["", "0", "1.5", "1,2", "-0", "a", "null"]))


@pytest.mark.parametrize("page_size", [1, 4, 8])
@pytest.mark.parametrize("keys", [None, [KEY.public_key, COUNTER.public_key]])
def test_intact_chain_every_way_agrees(db, keys, page_size):
    ref, fast = _all_ways(db, keys, True, page_size)
    assert ref.checked == N and (ref.ok or keys is None)
    for result in fast:
        assert result == ref


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_tampered_store_every_way_agrees_with_the_reference_loop(db, tmp_path, data):
    path = tmp_path / "t.db"
    shutil.copy(db, path)
    op = data.draw(st.sampled_from(["cell", "cell", "cell", "copy", "del", "swap", "cp"]))
    i = data.draw(st.integers(0, N - 1))
    if op == "cell":
        col = data.draw(st.sampled_from(_ENTRY_COLS))
        _sql(path, (f"UPDATE receipt_entries SET {col} = ? WHERE seq = ?",
                    (data.draw(_values), i)))
    elif op == "copy":  # one row's value in another row (a well-formed forgery)
        col = data.draw(st.sampled_from(_ENTRY_COLS[1:]))
        j = data.draw(st.integers(0, N - 1))
        _sql(path, (f"UPDATE receipt_entries SET {col} = (SELECT {col} FROM receipt_entries "
                    "WHERE seq = ?) WHERE seq = ?", (j, i)))
    elif op == "del":
        _sql(path, ("DELETE FROM receipt_entries WHERE seq = ?", (i,)))
    elif op == "swap":
        j = data.draw(st.integers(0, N - 1))
        _sql(path, ("UPDATE receipt_entries SET seq = -1 WHERE seq = ?", (i,)),
             ("UPDATE receipt_entries SET seq = ? WHERE seq = ?", (i, j)),
             ("UPDATE receipt_entries SET seq = ? WHERE seq = -1", (j,)))
    else:
        col = data.draw(st.sampled_from(["size", "root_hash", "head_hash"]))
        _sql(path, (f"UPDATE receipt_checkpoints SET {col} = (SELECT {col} FROM "
                    "receipt_checkpoints WHERE idx = ?) WHERE idx = ?",
                    (data.draw(st.integers(0, 5)), data.draw(st.integers(0, 5)))))
    keys = data.draw(st.sampled_from([None, [KEY.public_key, COUNTER.public_key]]))
    page_size = data.draw(st.sampled_from([1, 2, 4, 8]))
    ref, fast = _all_ways(path, keys, data.draw(st.booleans()), page_size)
    for result in fast:
        assert result == ref, (op, result, ref)


@pytest.mark.parametrize("row", [0, 1, 4, 7, 12, N - 1])
def test_each_cell_set_to_another_rows_value_every_way_agrees(db, tmp_path, row):
    """A sweep: each column of a few rows (first, page interiors, page ends, last)
    takes another row's value, and every way agrees with the reference loop."""
    keys = [KEY.public_key, COUNTER.public_key]
    for col in _ENTRY_COLS[1:]:
        path = tmp_path / f"{col}.db"
        shutil.copy(db, path)
        _sql(path, (f"UPDATE receipt_entries SET {col} = (SELECT {col} FROM receipt_entries "
                    "WHERE seq = ?) WHERE seq = ?", ((row + 3) % N, row)))
        con = sqlite3.connect(db)
        old, new = (con.execute(f"SELECT {col} FROM receipt_entries WHERE seq = ?",
                                (k,)).fetchone()[0] for k in (row, (row + 3) % N))
        con.close()
        for ks in (None, keys):
            ref, fast = _all_ways(path, ks, False, 4)
            if old != new and col in _ENTRY_COLS[:8]:
                assert not ref.ok and ref.broken_at == row, (col, ref)
            for result in fast:
                assert result == ref, (col, ks is None, result, ref)


def _reforge(path, i, col, value):
    """Set row ``i``'s ``col`` and recompute every hash after it — links, entry
    hashes, tree-head roots — so only the checks beyond hashes can catch it."""
    con = sqlite3.connect(path)
    rows = [list(r) for r in con.execute(f"SELECT {', '.join(_ENTRY_COLS)} FROM "
                                         "receipt_entries ORDER BY seq")]
    rows[i][_ENTRY_COLS.index(col)] = value
    prev = rows[i - 1][7] if i else ""
    for k in range(i, len(rows)):
        seq, trace, parent, ts, payload, ph, stored_prev, _eh = rows[k][:8]
        if k > i or col not in ("prev_hash", "parent_receipt_id"):
            stored_prev, parent = prev, prev or None
        if isinstance(payload, bytes) and (k > i or col != "payload_hash"):
            ph = hashlib.sha256(payload).hexdigest()
        trace_json = json.dumps(trace, ensure_ascii=False) if not isinstance(trace, bytes) \
            else repr(trace)
        prev = hashlib.sha256(b"\x00" + entry_bytes_json(seq, stored_prev, parent, str(ph),
                                                         str(ts), trace_json)).hexdigest()
        rows[k][2], rows[k][5], rows[k][6], rows[k][7] = parent, ph, stored_prev, prev
    tree = MerkleTree(bytes.fromhex(r[7]) for r in rows)
    with con:
        con.execute("DELETE FROM receipt_entries")
        con.executemany(f"INSERT INTO receipt_entries ({', '.join(_ENTRY_COLS)}) VALUES "
                        f"({', '.join('?' * len(_ENTRY_COLS))})", rows)
        for idx, size in con.execute("SELECT idx, size FROM receipt_checkpoints").fetchall():
            con.execute("UPDATE receipt_checkpoints SET root_hash = ?, head_hash = ? "
                        "WHERE idx = ?", (tree.root(size).hex(), rows[size - 1][7], idx))
    con.close()


_forgeries = st.sampled_from([
    ("timestamp", v) for v in ("1,2", "1.5", "01", "1e5", "-0", " 1", "1e+5", 7, 1.5)
] + [
    ("trace_id", v) for v in (5, b"x", "new", "a,b", 'q"', "\x00")
] + [
    ("payload", v) for v in (b"{}", "text", b"\x00\xff")
] + [
    ("payload_hash", "0" * 64), ("prev_hash", "1" * 64), ("prev_hash", ""),
    ("parent_receipt_id", None), ("parent_receipt_id", "2" * 64),
])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_rehashed_forgeries_every_way_agrees_with_the_reference_loop(db, tmp_path, data):
    path = tmp_path / "f.db"
    shutil.copy(db, path)
    col, value = data.draw(_forgeries)
    _reforge(path, data.draw(st.integers(0, N - 1)), col, value)
    page_size = data.draw(st.sampled_from([1, 2, 4, 8]))
    ref, fast = _all_ways(path, None, False, page_size)
    for result in fast:
        assert result == ref, (col, value, result, ref)


def test_rehashed_forgery_is_reported_where_the_reference_reports_it(db, tmp_path):
    path = tmp_path / "f.db"
    shutil.copy(db, path)
    _reforge(path, 9, "timestamp", "1,2")  # hashes all consistent: only the format is off
    ref, fast = _all_ways(path, None, False, 4)
    assert not ref.ok and ref.broken_at == 9 and "malformed" in ref.reason
    assert all(result == ref for result in fast)
    shutil.copy(db, path)
    _reforge(path, 8, "prev_hash", "1" * 64)  # a page boundary (page size 4, 8)
    ref, fast = _all_ways(path, None, False, 4)
    assert not ref.ok and ref.broken_at == 8 and "link" in ref.reason
    assert all(result == ref for result in fast)


def test_worker_failure_leaves_the_work_to_this_process(db, monkeypatch):
    def broken(*args):  # a worker that claims every page and dies
        bounds = args[4]
        with bounds.get_lock():
            bounds[1] = bounds[0]
        raise SystemExit(3)

    monkeypatch.setattr(stored, "_work", broken)
    ref, fast = _all_ways(db, [KEY.public_key, COUNTER.public_key], False, 2)
    assert all(result == ref for result in fast)
    assert ref.checked == N


def test_a_large_file_chain_uses_the_worker(tmp_path, monkeypatch):
    path = tmp_path / "big.db"
    chain = AuditChain(path, signer=KEY, sealing="batch", checkpoint_every=64)
    chain.append_many([{"i": i} for i in range(600)], trace_id="t", timestamps=range(600))
    chain.checkpoint()
    started = []
    real = stored._Worker

    class Spy(real):
        def __init__(self, *args, **kw):
            started.append(args)
            super().__init__(*args, **kw)

    monkeypatch.setattr(stored, "_Worker", Spy)
    monkeypatch.setattr(stored, "PARALLEL_MIN", 256)
    monkeypatch.setattr(stored, "_cores", lambda: 2)
    result = stored.verify_store(chain.store, chain.checkpoints, chain.keys,
                                 require_sealed=True, page_size=64)
    assert result.ok and result.checked == 600 and result.checkpoints == 10
    assert started  # 600 entries >= 256: a worker was started
    assert result == _reference(chain.rows(), chain.checkpoints, chain.keys, True)
    assert chain.verify(require_sealed=True) == result
    chain.close()


def test_a_spawned_worker_gives_the_same_result(tmp_path, monkeypatch):
    import multiprocessing

    chain = AuditChain(tmp_path / "s.db", signer=KEY, sealing="batch", checkpoint_every=32)
    chain.append_many([{"i": i} for i in range(300)], trace_id="t", timestamps=range(300))
    chain.checkpoint()
    monkeypatch.setattr(stored, "_context", lambda: multiprocessing.get_context("spawn"))
    monkeypatch.setattr(stored, "_cores", lambda: 2)
    claimed = []
    real = stored._Worker.summary

    def spy(self, start):
        summary = real(self, start)
        claimed.append(summary is not None)
        return summary

    monkeypatch.setattr(stored._Worker, "summary", spy)
    slow_check = verify.check_page

    def slow(*args, **kw):  # this process crawls: the worker gets pages to do
        time.sleep(0.05)
        return slow_check(*args, **kw)

    monkeypatch.setattr(verify, "check_page", slow)
    result = stored.verify_store(chain.store, chain.checkpoints, chain.keys, page_size=16,
                                 parallel_min=0)
    assert result == _reference(chain.rows(), chain.checkpoints, chain.keys, False)
    assert result.ok and result.checked == 300
    assert any(claimed)  # the spawned worker checked pages this process then used
    chain.close()


def test_uncommitted_changes_are_verified_as_this_connection_sees_them(tmp_path, monkeypatch):
    chain = AuditChain(tmp_path / "t.db", signer=KEY, sealing="batch", checkpoint_every=64)
    chain.append_many([{"i": i} for i in range(600)], trace_id="t", timestamps=range(600))
    chain.checkpoint()
    monkeypatch.setattr(stored, "PARALLEL_MIN", 0)
    monkeypatch.setattr(stored, "_cores", lambda: 2)
    with chain.store.transaction() as cur:  # not committed: a second connection sees none
        cur.execute("UPDATE receipt_entries SET payload = ? WHERE seq = 500", (b"{}",))
        inside = stored.verify_store(chain.store, chain.checkpoints, chain.keys, page_size=64)
        assert not inside.ok and inside.broken_at == 500
        cur.execute("ROLLBACK")
        cur.execute("BEGIN")
    assert stored.verify_store(chain.store, chain.checkpoints, chain.keys, page_size=64).ok
    chain.close()


def test_in_memory_store_never_starts_a_worker(monkeypatch):
    monkeypatch.setattr(stored, "_Worker", None)  # would fail if used
    chain = AuditChain(Store(":memory:"), signer=KEY, sealing="batch", checkpoint_every=8)
    chain.append_many([{"i": i} for i in range(40)], trace_id="t", timestamps=range(40))
    assert stored.verify_store(chain.store, chain.checkpoints, chain.keys,
                               page_size=4, parallel_min=0).ok


# -- the page pass itself --------------------------------------------------------------
def _rows(n, sealing="batch"):
    chain = AuditChain(signer=KEY, sealing=sealing, checkpoint_every=3)
    chain.append_many([{"i": i} for i in range(n)], trace_id="t", timestamps=range(n))
    return chain, list(chain.rows())


@given(st.integers(1, 40), st.sampled_from([1, 2, 4, 8, 16, 64]))
def test_page_summaries_match_the_merkle_tree(n, page_size):
    chain, rows = _rows(n)
    tree = MerkleTree(bytes.fromhex(r[7]) for r in rows)
    heads = [cp.size for cp in chain.checkpoints]
    for start in range(0, n, page_size):
        page = rows[start:start + page_size]
        s = check_page(start, list(zip(*page, strict=True)), page_size, heads, keyed=True)
        assert s is not None and s.start == start and s.count == len(page)
        assert s.last_hash == page[-1][7] and s.first_prev == page[0][6]
        if len(page) == page_size:
            assert s.root == tree.root(start + page_size) if start == 0 else s.root is not None
        for size, head, _nodes in s.heads:
            assert start < size <= start + len(page) and head == rows[size - 1][7]
    # the driver composes them into the same tree heads
    assert verify_pages(row_pages(rows, page_size), chain.checkpoints, chain.keys,
                        page_size=page_size).checkpoints == len(heads)


def test_page_pass_declines_pages_it_cannot_confirm():
    chain, rows = _rows(8)
    cols = list(zip(*rows, strict=True))
    assert check_page(0, cols, 8, [], keyed=True) is not None
    assert check_page(4, cols, 8, [], keyed=True) is None  # wrong start
    assert check_page(0, cols, 4, [], keyed=True) is None  # more rows than a page
    signed = list(cols)
    signed[10] = ("sig",) + cols[10][1:]
    assert check_page(0, signed, 8, [], keyed=True) is None  # a signature to check
    assert check_page(0, signed, 8, [], keyed=False) is not None  # ... unless no keys
    comma = list(cols)
    comma[3] = ("1,2",) + cols[3][1:]
    assert check_page(0, comma, 8, [], keyed=False) is None
    subclass = list(cols)

    class Str(str):
        pass

    subclass[7] = (Str(cols[7][0]),) + cols[7][1:]
    assert check_page(0, subclass, 8, [], keyed=False) is None  # not an exact str
    assert check_page(0, cols[:7], 8, [], keyed=False) is None  # malformed input
    # a forgery whose stored entry hashes are the recomputed ones cut at other places:
    # the same characters overall and consistent links, but entry 6 is one short
    shifted = [list(c) for c in cols]
    e6 = shifted[7][6][:-1]
    shifted[6][7] = shifted[2][7] = e6
    seq, trace, parent, ts, _payload, ph, prev = (shifted[k][7] for k in range(7))
    c7 = hashlib.sha256(b"\x00" + entry_bytes_json(seq, prev, parent, ph, ts,
                                                   json.dumps(trace))).hexdigest()
    shifted[7][6:8] = [e6, cols[7][6][-1] + c7]
    assert "".join(shifted[7]) == "".join(cols[7][:7]) + c7
    for sqlite_values in (False, True):
        assert check_page(0, shifted, 8, [], keyed=False, sqlite_values=sqlite_values) is None


def test_an_iterator_error_is_raised_only_after_the_rows_before_it_verify():
    chain, rows = _rows(10)

    def rows_then_error(bad_at=None):
        for n, row in enumerate(rows[:6]):
            if n == bad_at:
                row = (row[0], "other trace") + row[2:]
            yield row
        raise RuntimeError("reader broke")

    with pytest.raises(RuntimeError, match="reader broke"):
        verify_rows(rows_then_error(), chain.checkpoints[:1], chain.keys)
    result = verify_rows(rows_then_error(bad_at=2), chain.checkpoints[:1], chain.keys)
    assert not result.ok and result.broken_at == 2
