import sqlite3

import pytest

from openmoe_bft.errors import InvalidInput, SchemaVersionError, StoreError
from openmoe_bft.store import Store, open_store

MIGRATIONS = ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "ALTER TABLE t ADD COLUMN w INTEGER"]


def test_file_store_uses_wal_and_migrates_once(tmp_path):
    path = tmp_path / "x.db"
    with Store(path) as s:
        assert s.query("PRAGMA journal_mode")[0][0] == "wal"
        assert s.migrate("demo", MIGRATIONS) == 2
        assert s.migrate("demo", MIGRATIONS) == 2  # idempotent
        with s.transaction() as cur:
            cur.execute("INSERT INTO t (v, w) VALUES ('a', 1)")
    with Store(path) as s:
        assert s.schema_version("demo") == 2
        assert s.query("SELECT v, w FROM t") == [("a", 1)]


def test_newer_schema_is_refused_not_misread(tmp_path):
    path = tmp_path / "x.db"
    with Store(path) as s:
        s.migrate("demo", MIGRATIONS)
    with Store(path) as s, pytest.raises(SchemaVersionError, match="upgrade openmoe-bft"):
        s.migrate("demo", MIGRATIONS[:1])


def test_failed_transaction_rolls_back_everything():
    s = Store()
    s.migrate("demo", MIGRATIONS)
    with pytest.raises(sqlite3.IntegrityError), s.transaction() as cur:
        cur.execute("INSERT INTO t (id, v) VALUES (1, 'a')")
        with s.transaction() as inner:  # nested joins the outer transaction
            inner.execute("INSERT INTO t (id, v) VALUES (2, 'b')")
        cur.execute("INSERT INTO t (id, v) VALUES (1, 'dup')")
    assert s.query("SELECT count(*) FROM t") == [(0,)]


def test_bad_arguments():
    with pytest.raises(InvalidInput):
        Store(durability="sometimes")
    with pytest.raises(InvalidInput):
        open_store(42)
    assert open_store(None) is None


def test_unopenable_path_is_a_store_error(tmp_path):
    with pytest.raises(StoreError):
        Store(tmp_path / "missing-dir" / "x.db")
