"""Tamper detection: every edit, deletion, duplication, reordering, truncation or
signature swap — in a store or in an export — is detected at the right entry.

A few exhaustive sweeps (every byte of an export, every cell of a store) plus
hypothesis-driven structural edits.
"""

from __future__ import annotations

import io
import itertools
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openmoe_bft.receipts import AuditChain, Ed25519Key, export_chain, verify_export

KEY = Ed25519Key.from_raw(bytes(range(32)))
PUB = KEY.public_key
COUNTER = Ed25519Key.from_raw(bytes(range(1, 33)))


def _clock():
    c = itertools.count(1_700_000_000)
    return lambda: next(c) + 0.25


def _build(path, sealing: str, n: int = 12):
    chain = AuditChain(path, signer=KEY, sealing=sealing, checkpoint_every=4, clock=_clock())
    for i in range(n):
        chain.append({"i": i, "note": f"entry {i}", "ok": i % 2 == 0, "x": [i, 1.5]},
                     trace_id=f"trace-{i % 3}é")
    chain.co_sign(1, COUNTER)
    chain.checkpoint()  # seal the tail so truncation is detectable
    return chain


@pytest.fixture(scope="module", params=["entry", "batch"])
def built(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    chain = _build(d / "chain.db", request.param)
    buf = io.BytesIO()
    export_chain(chain, buf, checkpoint=False)
    sizes = [cp.size for cp in chain.checkpoints]
    n = len(chain)
    chain.close()
    return _Built(db=d / "chain.db", export=buf.getvalue(), sizes=sizes, n=n,
                  sealing=request.param)


class _Built(dict):
    """The fixture's data; a short repr keeps hypothesis failure reports readable."""

    def __init__(self, **kw):
        super().__init__(**kw)

    def __repr__(self):
        return f"<{self['sealing']} chain of {self['n']} entries>"


def _cp_start(sizes, j):
    return sizes[j - 1] if j else 0


def _verify_db(path):
    with AuditChain(path, keys=[PUB, COUNTER.public_key]) as chain:
        return chain.verify(require_sealed=True)


def _copy(built, tmp_path):
    dst = tmp_path / "t.db"
    shutil.copy(built["db"], dst)
    return dst


def _sql(path, *statements):
    con = sqlite3.connect(path)
    with con:
        for st_, params in statements:
            con.execute(st_, params)
    con.close()


def test_untampered_store_and_export_verify(built):
    assert _verify_db(built["db"]).ok
    assert verify_export(io.BytesIO(built["export"]), [PUB, COUNTER.public_key]).ok


# -- exports: every single byte ------------------------------------------------------
def test_flipping_any_byte_of_an_export_is_detected_at_the_right_entry(built):
    data = built["export"]
    lines = data.split(b"\n")
    m = len(built["sizes"])
    starts = []  # byte offset -> (kind, index)
    for li, line in enumerate(lines[:-1]):
        kind = "header" if li == 0 else "cp" if li <= m else "entry"
        idx = li - 1 if kind == "cp" else li - 1 - m
        starts.extend([(kind, idx)] * (len(line) + 1))
    keys = [PUB, COUNTER.public_key]
    for pos in range(len(data)):
        for mask in (0x01, 0x20):
            tampered = bytearray(data)
            tampered[pos] ^= mask
            result = verify_export(io.BytesIO(bytes(tampered)), keys)
            kind, idx = starts[pos]
            assert not result.ok, (pos, mask, kind, idx)
            if kind == "entry":
                assert result.broken_at == idx, (pos, result)
            elif kind == "cp":
                assert result.broken_at == _cp_start(built["sizes"], idx), (pos, result)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_deleting_duplicating_or_swapping_export_lines_is_detected(built, data):
    m, n = len(built["sizes"]), built["n"]
    lines = built["export"].split(b"\n")[:-1]
    op = data.draw(st.sampled_from(["del", "dup", "swap"]))
    kind = data.draw(st.sampled_from(["entry", "cp"]))
    first, count = (1, m) if kind == "cp" else (1 + m, n)
    i = data.draw(st.integers(0, count - 1))
    if op == "del":
        del lines[first + i]
        expected = i if kind == "entry" else _cp_start(built["sizes"], i)
    elif op == "dup":
        lines.insert(first + i + 1, lines[first + i])
        expected = i + 1 if kind == "entry" else _cp_start(built["sizes"], i + 1)
    else:
        j = data.draw(st.integers(0, count - 1).filter(lambda j: j != i))
        a, b = sorted((i, j))
        lines[first + a], lines[first + b] = lines[first + b], lines[first + a]
        expected = a if kind == "entry" else _cp_start(built["sizes"], a)
    result = verify_export(io.BytesIO(b"\n".join(lines) + b"\n"), [PUB, COUNTER.public_key])
    assert not result.ok
    assert result.broken_at == expected, (op, kind, i, result)


# -- stores: every cell ---------------------------------------------------------------
_ENTRY_COLS = ["seq", "trace_id", "parent_receipt_id", "timestamp", "payload", "payload_hash",
               "prev_hash", "entry_hash", "signer", "key_id", "signature", "co_signer",
               "co_key_id", "co_signature"]
_CP_COLS = ["idx", "size", "root_hash", "head_hash", "timestamp", "signer", "key_id",
            "signature"]


def _flipped(value, n):
    if isinstance(value, int):
        return value + n + 100  # moves the row out of its place
    if isinstance(value, bytes):
        return bytes([value[0] ^ 1]) + value[1:]
    return chr(ord(value[0]) ^ 1) + value[1:]


def test_flipping_any_cell_of_a_store_is_detected_at_the_right_entry(built, tmp_path):
    con = sqlite3.connect(built["db"])
    entries = con.execute("SELECT * FROM receipt_entries ORDER BY seq").fetchall()
    cps = con.execute("SELECT * FROM receipt_checkpoints ORDER BY idx").fetchall()
    con.close()
    for table, rows, cols, key in (("receipt_entries", entries, _ENTRY_COLS, "seq"),
                                   ("receipt_checkpoints", cps, _CP_COLS, "idx")):
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                path = _copy(built, tmp_path)
                _sql(path, (f"UPDATE {table} SET {cols[c]} = ? WHERE {key} = ?",
                            (_flipped(value, len(rows)), row[0])))
                result = _verify_db(path)
                assert not result.ok, (table, r, cols[c])
                want = r if table == "receipt_entries" else _cp_start(built["sizes"], r)
                if table == "receipt_entries" and cols[c] == "seq" and r == len(rows) - 1:
                    want = r  # the last entry moved away: the chain is one short at r
                assert result.broken_at == want, (table, r, cols[c], result)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(data=st.data())
def test_deleting_duplicating_swapping_or_truncating_store_rows_is_detected(built, data,
                                                                            tmp_path):
    n, sizes = built["n"], built["sizes"]
    path = _copy(built, tmp_path)
    op = data.draw(st.sampled_from(["del", "dup", "swap", "truncate", "swap_sig",
                                    "cp_del", "cp_dup", "cp_swap"]))
    cols = ", ".join(_ENTRY_COLS[1:])
    if op == "del":
        i = data.draw(st.integers(0, n - 1))
        _sql(path, ("DELETE FROM receipt_entries WHERE seq = ?", (i,)))
        expected = i
    elif op == "dup":
        i = data.draw(st.integers(0, n - 1))
        _sql(path, (f"INSERT INTO receipt_entries (seq, {cols}) SELECT ?, {cols} "
                    "FROM receipt_entries WHERE seq = ?", (n, i)))
        expected = n
    elif op in ("swap", "swap_sig"):
        i, j = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2,
                                         unique=True)))
        swap = _ENTRY_COLS[1:] if op == "swap" else ["signature"]
        if op == "swap_sig" and built["sealing"] == "batch":
            swap = ["payload", "payload_hash"]  # batch entries carry no signature
        _sql(path, *[(f"UPDATE receipt_entries SET {c} = (SELECT {c} FROM receipt_entries "
                      f"WHERE seq = ?) WHERE seq = ?", (j if k == 0 else -1, i if k == 0 else j))
                     for k in (0, 1) for c in []])
        con = sqlite3.connect(path)
        a = con.execute(f"SELECT {', '.join(swap)} FROM receipt_entries WHERE seq=?", (i,)).fetchone()
        b = con.execute(f"SELECT {', '.join(swap)} FROM receipt_entries WHERE seq=?", (j,)).fetchone()
        sets = ", ".join(f"{c} = ?" for c in swap)
        with con:
            con.execute(f"UPDATE receipt_entries SET {sets} WHERE seq = ?", (*b, i))
            con.execute(f"UPDATE receipt_entries SET {sets} WHERE seq = ?", (*a, j))
        con.close()
        expected = i
    elif op == "truncate":
        t = data.draw(st.integers(1, n - 1))
        _sql(path, ("DELETE FROM receipt_entries WHERE seq >= ?", (t,)))
        expected = t
    elif op == "cp_del":
        j = data.draw(st.integers(0, len(sizes) - 1))
        if built["sealing"] == "entry" and j == len(sizes) - 1:
            j -= 1  # the last head of a per-entry-signed chain only restates signed entries
        _sql(path, ("DELETE FROM receipt_checkpoints WHERE idx = ?", (j,)))
        expected = _cp_start(sizes, j)
    elif op == "cp_dup":
        j = data.draw(st.integers(0, len(sizes) - 1))
        _sql(path, ("INSERT INTO receipt_checkpoints SELECT ?, size, root_hash, head_hash, "
                    "timestamp, signer, key_id, signature FROM receipt_checkpoints WHERE idx = ?",
                    (len(sizes), j)))
        expected = sizes[-1]
    else:
        j, k = sorted(data.draw(st.lists(st.integers(0, len(sizes) - 1), min_size=2,
                                         max_size=2, unique=True)))
        _sql(path, ("UPDATE receipt_checkpoints SET idx = -1 WHERE idx = ?", (j,)),
             ("UPDATE receipt_checkpoints SET idx = ? WHERE idx = ?", (j, k)),
             ("UPDATE receipt_checkpoints SET idx = ? WHERE idx = -1", (k,)))
        expected = _cp_start(sizes, j)
    result = _verify_db(path)
    assert not result.ok, op
    assert result.broken_at == expected, (op, result)


def test_memory_chain_list_edits_are_detected():
    chain = AuditChain(signer=KEY)
    for i in range(6):
        chain.append({"i": i}, trace_id="t", timestamp=i)
    for edit, expected in ((lambda rs: rs.pop(2), 2), (lambda rs: rs.insert(3, rs[3]), 4),
                           (lambda rs: rs.reverse(), 0), (lambda rs: rs.pop(), None)):
        probe = AuditChain(signer=KEY)
        probe._records = list(chain.receipts)
        edit(probe._records)
        result = probe.verify()
        if expected is None:  # a chopped tail with no tree head cannot be seen
            assert result.ok and result.checked == 5
        else:
            assert not result.ok and result.broken_at == expected
