"""The memory's SQLite schema (component ``"memory"`` of :class:`~openmoe_bft.store.Store`).

Each tier has a table whose ``seq INTEGER PRIMARY KEY`` orders it; provenance lives
in link tables. One FTS5 table indexes the live text of every tier: its rowid is
``seq * 4 + tier`` (tier 0–3), so a hit resolves to its record without a lookup
column and a tier filter is arithmetic on the rowid. Compacted events keep a
tombstone row (id, digest, sizes), so raw sizes stay measured and a re-observed
event is still recognised.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "ref", "unref"]

MIGRATIONS = [
    """
    CREATE TABLE mem_config (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE mem_events (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, digest TEXT NOT NULL,
        timestamp REAL NOT NULL, role TEXT NOT NULL, content TEXT, meta TEXT,
        chars INTEGER NOT NULL, tokens INTEGER NOT NULL,
        distilled INTEGER NOT NULL DEFAULT 0, compacted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX mem_events_pending ON mem_events (seq) WHERE distilled = 0;
    CREATE TABLE mem_atoms (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL,
        salience REAL NOT NULL, timestamp REAL NOT NULL, key TEXT, superseded_by TEXT,
        clustered INTEGER NOT NULL DEFAULT 0, chars INTEGER NOT NULL, tokens INTEGER NOT NULL
    );
    CREATE INDEX mem_atoms_key ON mem_atoms (key) WHERE key IS NOT NULL;
    CREATE INDEX mem_atoms_pending ON mem_atoms (seq) WHERE clustered = 0;
    CREATE TABLE mem_atom_sources (
        atom_id TEXT NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (atom_id, event_id)
    ) WITHOUT ROWID;
    CREATE INDEX mem_atom_sources_event ON mem_atom_sources (event_id);
    CREATE TABLE mem_supersessions (
        seq INTEGER PRIMARY KEY, key TEXT NOT NULL, atom_id TEXT NOT NULL,
        superseded_id TEXT NOT NULL
    );
    CREATE TABLE mem_scenarios (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, summary TEXT NOT NULL,
        salience REAL NOT NULL, timestamp REAL NOT NULL, topic TEXT,
        aggregated INTEGER NOT NULL DEFAULT 0, rev INTEGER NOT NULL DEFAULT 0,
        chars INTEGER NOT NULL, tokens INTEGER NOT NULL
    );
    CREATE INDEX mem_scenarios_pending ON mem_scenarios (seq) WHERE aggregated = 0;
    CREATE TABLE mem_scenario_atoms (
        scenario_id TEXT NOT NULL, atom_id TEXT NOT NULL, PRIMARY KEY (scenario_id, atom_id)
    ) WITHOUT ROWID;
    CREATE TABLE mem_traits (
        seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL,
        confidence REAL NOT NULL, chars INTEGER NOT NULL, tokens INTEGER NOT NULL
    );
    CREATE TABLE mem_trait_evidence (
        trait_key TEXT NOT NULL, scenario_id TEXT NOT NULL, PRIMARY KEY (trait_key, scenario_id)
    ) WITHOUT ROWID;
    CREATE TABLE mem_trait_history (
        seq INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL,
        confidence REAL NOT NULL, evidence TEXT NOT NULL,
        chars INTEGER NOT NULL, tokens INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE mem_fts USING fts5(body, tokenize = 'ascii')
    """,
]


def ref(seq: int, tier_no: int) -> int:
    """The FTS rowid ("item ref") of row ``seq`` of tier ``tier_no`` (0–3)."""
    return seq * 4 + tier_no


def unref(item_ref: int) -> tuple[int, int]:
    """``(seq, tier_no)`` of an item ref."""
    return item_ref >> 2, item_ref & 3
