"""The one SQLite layer every persistent module uses.

* One file per store, opened in WAL mode (readers never block the writer, and a
  process killed mid-write leaves the last committed state intact).
* ``durability="full"`` (default) fsyncs on every commit; ``"normal"`` trades the
  last few commits on *power loss* (never on a process crash) for speed.
* Each component (``"bft_ledger"``, ``"receipts"``, ...) owns a list of migration
  scripts; :meth:`Store.migrate` applies the ones not yet applied, inside one
  transaction, and records the component's schema version. A store written by a
  newer version raises :class:`~openmoe_bft.errors.SchemaVersionError` instead of
  being silently misread.
* ``Store(":memory:")`` (the default) is a private in-memory database for tests.

Example::

    store = Store("openmoe.db")
    store.migrate("notes", ["CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)"])
    with store.transaction() as cur:
        cur.execute("INSERT INTO note (text) VALUES (?)", ("hello",))
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InvalidInput, SchemaVersionError, StoreError

__all__ = ["Store", "open_store"]

_DURABILITY = {"full": "FULL", "normal": "NORMAL"}


class Store:
    """A thread-safe handle on one SQLite database (see the module docstring)."""

    def __init__(
        self, path: str | os.PathLike[str] = ":memory:", *, durability: str = "full",
        busy_timeout_s: float = 30.0,
    ) -> None:
        if durability not in _DURABILITY:
            raise InvalidInput(
                f"expected one of {sorted(_DURABILITY)}, got {durability!r}", argument="durability"
            )
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            if self.path != ":memory:":
                mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"could not switch {self.path} to WAL mode (got {mode})")
            self._conn.execute(f"PRAGMA synchronous={_DURABILITY[durability]}")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store at {self.path!r}: {exc}") from exc

    # -- transactions ---------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction (``BEGIN IMMEDIATE``); nested use joins the outer one.

        On any exception everything done inside is rolled back and the error re-raised,
        so a failed call never leaves partial data behind.
        """
        with self._lock:
            outer = self._depth == 0
            cur = self._conn.cursor()
            try:
                if outer:
                    cur.execute("BEGIN IMMEDIATE")
                self._depth += 1
                try:
                    yield cur
                finally:
                    self._depth -= 1
                if outer:
                    cur.execute("COMMIT")
            except BaseException:
                if outer and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query and return all rows."""
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"query failed on {self.path!r}: {exc}") from exc

    # -- schema ---------------------------------------------------------------------
    def schema_version(self, component: str) -> int:
        rows = self.query("SELECT version FROM schema_version WHERE component = ?", (component,))
        return int(rows[0][0]) if rows else 0

    def migrate(self, component: str, migrations: Sequence[str]) -> int:
        """Apply the migrations of ``component`` not yet applied; return its version.

        ``migrations[i]`` is the SQL script taking the schema from version ``i`` to
        ``i + 1``. Scripts are applied in one transaction each, never re-applied.
        """
        with self._lock:
            current = self.schema_version(component)
            if current > len(migrations):
                raise SchemaVersionError(
                    f"store {self.path!r} has {component} schema v{current}, but this version "
                    f"of openmoe-bft knows only up to v{len(migrations)}: upgrade openmoe-bft"
                )
            for version in range(current, len(migrations)):
                with self.transaction() as cur:
                    for statement in _split_sql(migrations[version]):
                        cur.execute(statement)
                    cur.execute(
                        "INSERT INTO schema_version (component, version) VALUES (?, ?) "
                        "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                        (component, version + 1),
                    )
            return len(migrations)

    # -- lifecycle ------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def open_store(store: Store | str | os.PathLike[str] | None) -> Store | None:
    """Normalise a ``store=`` argument: ``None`` stays ``None``, a path opens a store."""
    if store is None or isinstance(store, Store):
        return store
    if isinstance(store, (str, Path, os.PathLike)):
        return Store(store)
    raise InvalidInput(
        f"expected a Store, a path or None, got {type(store).__name__}", argument="store"
    )
