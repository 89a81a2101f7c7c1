"""``MemoryPyramid``: the L0 → L3 agent memory on SQLite, with dream consolidation.

::

    L3  traits     durable traits / preferences       (PersonaTrait)   ← aggregator
    L2  scenarios  clusters of related facts           (Scenario)       ← clusterer
    L1  atoms      atomic facts                        (Atom)           ← extractor
    L0  events     raw conversation, append-only       (MemoryEvent)

Each promotion step runs a plug-in callable on what has not been promoted yet, so
running a step twice adds nothing. Every item keeps links to what it came from
(atom → events, scenario → atoms, trait → scenarios) and the links survive
compaction. Of the atoms that share a ``key`` only the newest is active: older ones
stay stored with ``superseded_by`` set and a supersession record, so nothing is
deleted that has no successor.

Durability: the plug-ins run outside any transaction; each step then writes its
results in one transaction, so a process killed at any moment leaves the store at
the end of the last completed step, and the next :meth:`MemoryPyramid.dream`
continues from there. :meth:`MemoryPyramid.check` verifies the invariants.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidInput, InvalidType, StoreError
from ..store import Store
from . import introspect as _introspect
from ._codec import body, chunks, json_text, marks, tier_numbers, unjson
from .index import FTS5Index, RecallIndex
from .plugins import KeywordExtractor, TopicClusterer, TraitAggregator
from .schema import MIGRATIONS, ref, unref
from .text import TokenCounter, resolve_tokenizer
from .types import (
    Aggregator,
    Atom,
    Clusterer,
    DreamStats,
    Extractor,
    MemoryEvent,
    PersonaTrait,
    RecallHit,
    Scenario,
    event_id,
)

__all__ = ["MemoryPyramid"]


def _event_digest(ev: MemoryEvent) -> str:
    blob = "\x1f".join((repr(float(ev.timestamp)), ev.role, ev.content, json_text(dict(ev.meta))))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryPyramid:
    """Hierarchical agent memory (see the module docstring).

    ``store``: ``None`` (a private in-memory database), a path, or a
    :class:`~openmoe_bft.store.Store`. ``tokenizer``: how sizes are measured —
    ``"chars"`` (one token per character, the seed's measure; the default for a new
    store), ``"words"`` (:func:`~.text.word_tokens`) or any callable ``str -> int``
    (e.g. ``lambda s: len(tiktoken_encoding.encode(s))``). A store remembers the
    tokenizer it was measured with: ``None`` reopens it with that one, another one
    is refused. ``index``: the recall index, FTS5/BM25
    by default; a :class:`~.vector.VectorIndex` plugs in the same way.
    """

    def __init__(
        self,
        store: Store | str | os.PathLike[str] | None = None,
        *,
        tokenizer: str | TokenCounter | None = None,
        index: RecallIndex | None = None,
    ) -> None:
        if store is None:
            store = Store(":memory:")
        elif isinstance(store, (str, os.PathLike)):
            store = Store(store)
        elif not isinstance(store, Store):
            raise InvalidType(
                f"expected a Store, a path or None, got {type(store).__name__}", argument="store"
            )
        self._store = store
        try:
            store.migrate("memory", MIGRATIONS)
        except sqlite3.OperationalError as exc:
            if "fts5" not in str(exc):
                raise StoreError(f"cannot set up the memory tables in {store.path!r}: {exc}") from exc
            raise StoreError(
                f"this Python's SQLite ({sqlite3.sqlite_version}) was built without FTS5, "
                "which the memory's recall index needs: use a Python whose sqlite3 has FTS5 "
                "(python.org, conda and most Linux builds do)") from exc
        if tokenizer is None:  # whatever the store was measured with; "chars" for a new one
            rows = store.query("SELECT value FROM mem_config WHERE name = 'tokenizer'")
            if rows and not rows[0][0].startswith("custom:"):
                tokenizer = rows[0][0]
        self._tok_name, self._tok = resolve_tokenizer(tokenizer)
        if index is not None and not isinstance(index, RecallIndex):
            raise InvalidType("index must have a search(memory, query, k, tiers) method",
                              argument="index")
        self._index: RecallIndex = index if index is not None else FTS5Index()
        self._writes = 0
        with store.transaction() as cur:
            cur.execute("INSERT OR IGNORE INTO mem_config (name, value) VALUES ('tokenizer', ?)",
                        (self._tok_name,))
            stored = cur.execute("SELECT value FROM mem_config WHERE name = 'tokenizer'").fetchone()[0]
        if stored != self._tok_name:
            raise InvalidInput(
                f"this store was measured with tokenizer {stored!r}, not {self._tok_name!r}: "
                "open it with the same tokenizer, or use a new store",
                argument="tokenizer",
            )

    # -- lifecycle --------------------------------------------------------------------
    @property
    def store(self) -> Store:
        return self._store

    @property
    def index(self) -> RecallIndex:
        """The recall index (an :class:`~.index.FTS5Index` unless one was given)."""
        return self._index

    @property
    def tokenizer(self) -> str:
        """The name of the tokenizer sizes are measured with."""
        return self._tok_name

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever the stored items change (here or in another process)."""
        return self._writes, int(self._store.query("PRAGMA data_version")[0][0])

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> MemoryPyramid:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _count(self, text: str) -> int:
        n = self._tok(text)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidType(f"tokenizer {self._tok_name} returned {n!r}, not a count",
                              argument="tokenizer")
        return n

    # -- L0: observe ----------------------------------------------------------------------
    def observe(self, event: MemoryEvent) -> MemoryEvent:
        """Store a raw event. The same event again is ignored; a *different* event
        under an id already used raises :class:`~openmoe_bft.errors.InvalidInput`."""
        self.observe_many([event])
        return event

    def observe_message(
        self, timestamp: float, role: str, content: str, meta: dict[str, Any] | None = None
    ) -> MemoryEvent:
        """Build a :class:`MemoryEvent` with the content-derived :func:`event_id` and store it."""
        ev = MemoryEvent(id=event_id(timestamp, role, content), timestamp=timestamp, role=role,
                         content=content, meta=dict(meta or {}))
        return self.observe(ev)

    def observe_many(self, events: Iterable[MemoryEvent]) -> int:
        """Store several events in one transaction (all or none); returns how many were new."""
        batch = list(events)
        for ev in batch:
            if not isinstance(ev, MemoryEvent):
                raise InvalidType(f"expected MemoryEvent, got {type(ev).__name__}",
                                  argument="event")
        rows = [(ev, _event_digest(ev)) for ev in batch]
        new = 0
        with self._store.transaction() as cur:
            seen: dict[str, str] = {}
            for chunk in chunks([ev.id for ev in batch]):
                seen.update(cur.execute(
                    f"SELECT id, digest FROM mem_events WHERE id IN ({marks(len(chunk))})", chunk
                ).fetchall())
            for ev, digest in rows:
                old = seen.get(ev.id)
                if old is not None:
                    if old != digest:
                        raise InvalidInput(
                            f"event {ev.id!r} is already stored with different content; "
                            "give the new event its own id (observe_message derives one)",
                            argument="event",
                        )
                    continue
                cur.execute(
                    "INSERT INTO mem_events (id, digest, timestamp, role, content, meta, chars, "
                    "tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (ev.id, digest, float(ev.timestamp), ev.role, ev.content,
                     json_text(dict(ev.meta)), len(ev.content), self._count(ev.content)),
                )
                seq = cur.lastrowid
                cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                            (ref(seq, 0), body(ev.content)))
                seen[ev.id] = digest
                new += 1
        self._writes += 1
        return new

    # -- L0 → L1: distill -------------------------------------------------------------------
    def distill(self, extractor: Extractor | None = None) -> list[Atom]:
        """Run ``extractor`` (default :class:`~.plugins.KeywordExtractor`) on the events
        not yet distilled and store the atoms; returns the atoms that are new.

        Atoms with an id already stored add their sources to it (dedup). Keyed atoms
        are resolved: the newest per key stays active, the others get ``superseded_by``.
        """
        extractor = KeywordExtractor() if extractor is None else extractor
        pending = self._events_where("distilled = 0 AND compacted = 0")
        if not pending:
            return []
        produced = _as_list(extractor(pending), Atom, "extractor")
        merged: dict[str, Atom] = {}
        for a in produced:
            old = merged.get(a.id)
            merged[a.id] = a if old is None else Atom(
                old.id, (*old.source_event_ids, *a.source_event_ids), old.text,
                max(old.salience, a.salience), max(old.timestamp, a.timestamp), old.key)
        added: list[Atom] = []
        with self._store.transaction() as cur:
            cited = sorted({e for a in merged.values() for e in a.source_event_ids})
            known: set[str] = set()
            for chunk in chunks(cited):
                known.update(r[0] for r in cur.execute(
                    f"SELECT id FROM mem_events WHERE id IN ({marks(len(chunk))})", chunk))
            unknown = [e for e in cited if e not in known]
            if unknown:
                raise InvalidInput(
                    f"extractor cited event ids that are not stored: {unknown[:5]}",
                    argument="extractor")
            existing = self._atom_rows(cur, list(merged))
            keys: set[str] = set()
            for a in merged.values():
                old = existing.get(a.id)
                if old is None:
                    cur.execute(
                        "INSERT INTO mem_atoms (id, text, salience, timestamp, key, chars, tokens)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (a.id, a.text, float(a.salience), float(a.timestamp), a.key,
                         len(a.text), self._count(a.text)),
                    )
                    cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                                (ref(cur.lastrowid, 1), body(a.text)))
                    added.append(a)
                    key = a.key
                else:
                    seq, _, salience, ts, key = old
                    if a.salience > salience or a.timestamp > ts:
                        cur.execute("UPDATE mem_atoms SET salience = ?, timestamp = ? WHERE seq = ?",
                                    (max(salience, float(a.salience)), max(ts, float(a.timestamp)),
                                     seq))
                cur.executemany("INSERT OR IGNORE INTO mem_atom_sources (atom_id, event_id) "
                                "VALUES (?, ?)", [(a.id, e) for e in a.source_event_ids])
                if key is not None:
                    keys.add(key)
            for key in sorted(keys):
                self._resolve_key(cur, key)
            cur.executemany("UPDATE mem_events SET distilled = 1 WHERE id = ?",
                            [(e.id,) for e in pending])
        self._writes += 1
        return added

    def _atom_rows(self, cur: Any, ids: list[str]) -> dict[str, tuple[Any, ...]]:
        out: dict[str, tuple[Any, ...]] = {}
        for chunk in chunks(ids):
            for row in cur.execute(
                "SELECT id, seq, text, salience, timestamp, key FROM mem_atoms "
                f"WHERE id IN ({marks(len(chunk))})", chunk,
            ):
                out[row[0]] = row[1:]
        return out

    def _resolve_key(self, cur: Any, key: str) -> None:
        """Make the newest atom of ``key`` (by timestamp, then insertion) the only active one."""
        rows = cur.execute(
            "SELECT seq, id, text, superseded_by FROM mem_atoms WHERE key = ? "
            "ORDER BY timestamp, seq", (key,)).fetchall()
        w_seq, w_id, w_text, w_sup = rows[-1]
        for seq, aid, _, sup in rows[:-1]:
            if sup is None:
                cur.execute("UPDATE mem_atoms SET superseded_by = ? WHERE seq = ?", (w_id, seq))
                cur.execute("DELETE FROM mem_fts WHERE rowid = ?", (ref(seq, 1),))
                cur.execute("INSERT INTO mem_supersessions (key, atom_id, superseded_id) "
                            "VALUES (?, ?, ?)", (key, w_id, aid))
        if w_sup is not None:  # an older value came back with newer evidence: make it
            # active again and offer it to the clusterer again, so the tiers above follow
            cur.execute("UPDATE mem_atoms SET superseded_by = NULL, clustered = 0 WHERE seq = ?",
                        (w_seq,))
            cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                        (ref(w_seq, 1), body(w_text)))

    # -- L1 → L2: consolidate ----------------------------------------------------------------
    def consolidate(self, clusterer: Clusterer | None = None) -> list[Scenario]:
        """Run ``clusterer`` (default :class:`~.plugins.TopicClusterer`) on the active atoms
        not yet clustered; returns the scenarios that are new. A scenario with an id
        already stored is merged into it (its atoms added; the newer summary kept)."""
        clusterer = TopicClusterer() if clusterer is None else clusterer
        pending = self._atoms_where("a.clustered = 0 AND a.superseded_by IS NULL")
        if not pending:
            with self._store.transaction() as cur:  # superseded, never offered
                cur.execute("UPDATE mem_atoms SET clustered = 1 WHERE clustered = 0 "
                            "AND superseded_by IS NOT NULL")
            return []
        produced = _as_list(clusterer(pending), Scenario, "clusterer")
        added: list[Scenario] = []
        with self._store.transaction() as cur:
            cited = sorted({a for s in produced for a in s.atom_ids})
            found = self._atom_rows(cur, cited)
            unknown = [a for a in cited if a not in found]
            if unknown:
                raise InvalidInput(f"clusterer cited atom ids that are not stored: {unknown[:5]}",
                                   argument="clusterer")
            for s in produced:
                row = cur.execute("SELECT seq, salience, timestamp, summary, topic FROM "
                                  "mem_scenarios WHERE id = ?", (s.id,)).fetchone()
                if row is None:
                    cur.execute(
                        "INSERT INTO mem_scenarios (id, summary, salience, timestamp, topic, chars,"
                        " tokens) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (s.id, s.summary, float(s.salience), float(s.timestamp), s.topic,
                         len(s.summary), self._count(s.summary)),
                    )
                    cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                                (ref(cur.lastrowid, 2), body(s.summary)))
                    added.append(s)
                    changed = True
                else:
                    seq, salience, ts, summary, topic = row
                    changed = False
                    if s.timestamp >= ts and (s.timestamp, s.summary, s.topic) != (ts, summary,
                                                                                   topic):
                        cur.execute(
                            "UPDATE mem_scenarios SET summary = ?, timestamp = ?, topic = ?, "
                            "chars = ?, tokens = ? WHERE seq = ?",
                            (s.summary, float(s.timestamp), s.topic, len(s.summary),
                             self._count(s.summary), seq))
                        cur.execute("DELETE FROM mem_fts WHERE rowid = ?", (ref(seq, 2),))
                        cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                                    (ref(seq, 2), body(s.summary)))
                        changed = True
                    if s.salience > salience:
                        cur.execute("UPDATE mem_scenarios SET salience = ? WHERE seq = ?",
                                    (float(s.salience), seq))
                        changed = True
                before = cur.execute("SELECT COUNT(*) FROM mem_scenario_atoms WHERE scenario_id = ?",
                                     (s.id,)).fetchone()[0]
                cur.executemany("INSERT OR IGNORE INTO mem_scenario_atoms (scenario_id, atom_id) "
                                "VALUES (?, ?)", [(s.id, a) for a in s.atom_ids])
                after = cur.execute("SELECT COUNT(*) FROM mem_scenario_atoms WHERE scenario_id = ?",
                                    (s.id,)).fetchone()[0]
                if changed or after != before:
                    cur.execute("UPDATE mem_scenarios SET aggregated = 0, rev = rev + 1 "
                                "WHERE id = ?", (s.id,))
            # only what was offered (another writer may have added atoms meanwhile)
            cur.executemany("UPDATE mem_atoms SET clustered = 1 WHERE id = ?",
                            [(a.id,) for a in pending])
            cur.execute("UPDATE mem_atoms SET clustered = 1 WHERE clustered = 0 "
                        "AND superseded_by IS NOT NULL")
        self._writes += 1
        return added

    # -- L2 → L3: form personas ---------------------------------------------------------------
    def form_personas(self, aggregator: Aggregator | None = None) -> list[PersonaTrait]:
        """Run ``aggregator`` (default :class:`~.plugins.TraitAggregator`) on the scenarios
        new or changed since the last run; returns the traits with a new key. A trait
        whose key exists replaces it; the old value is kept in the trait's history."""
        aggregator = TraitAggregator() if aggregator is None else aggregator
        # revisions first: a scenario changed by another writer after this read keeps
        # its newer revision and so stays pending for the next run
        revs = dict(self._store.query("SELECT id, rev FROM mem_scenarios WHERE aggregated = 0"))
        pending = [s for s in self._scenarios_where("s.aggregated = 0") if s.id in revs]
        if not pending:
            return []
        produced = _as_list(aggregator(pending), PersonaTrait, "aggregator")
        latest: dict[str, PersonaTrait] = {}
        for t in produced:
            latest[t.key] = t
        added: list[PersonaTrait] = []
        with self._store.transaction() as cur:
            cited = sorted({s for t in latest.values() for s in t.evidence_scenario_ids})
            known: set[str] = set()
            for chunk in chunks(cited):
                known.update(r[0] for r in cur.execute(
                    f"SELECT id FROM mem_scenarios WHERE id IN ({marks(len(chunk))})", chunk))
            unknown = [s for s in cited if s not in known]
            if unknown:
                raise InvalidInput(
                    f"aggregator cited scenario ids that are not stored: {unknown[:5]}",
                    argument="aggregator")
            for t in latest.values():
                value = json_text(t.value)
                row = cur.execute("SELECT seq, value, confidence, chars, tokens FROM mem_traits "
                                  "WHERE key = ?", (t.key,)).fetchone()
                evidence = list(t.evidence_scenario_ids)
                if row is None:
                    cur.execute("INSERT INTO mem_traits (key, value, confidence, chars, tokens) "
                                "VALUES (?, ?, ?, ?, ?)",
                                (t.key, value, float(t.confidence), len(t.text),
                                 self._count(t.text)))
                    cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                                (ref(cur.lastrowid, 3), body(t.text)))
                    added.append(t)
                else:
                    seq, old_value, old_conf, old_chars, old_tokens = row
                    old_evidence = [r[0] for r in cur.execute(
                        "SELECT scenario_id FROM mem_trait_evidence WHERE trait_key = ? "
                        "ORDER BY scenario_id", (t.key,))]
                    if (old_value, old_conf, old_evidence) == (value, float(t.confidence),
                                                               sorted(evidence)):
                        continue
                    cur.execute(
                        "INSERT INTO mem_trait_history (key, value, confidence, evidence, chars, "
                        "tokens) VALUES (?, ?, ?, ?, ?, ?)",
                        (t.key, old_value, old_conf, json.dumps(old_evidence), old_chars,
                         old_tokens))
                    cur.execute("UPDATE mem_traits SET value = ?, confidence = ?, chars = ?, "
                                "tokens = ? WHERE seq = ?",
                                (value, float(t.confidence), len(t.text), self._count(t.text),
                                 seq))
                    cur.execute("DELETE FROM mem_fts WHERE rowid = ?", (ref(seq, 3),))
                    cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                                (ref(seq, 3), body(t.text)))
                    cur.execute("DELETE FROM mem_trait_evidence WHERE trait_key = ?", (t.key,))
                cur.executemany("INSERT OR IGNORE INTO mem_trait_evidence (trait_key, scenario_id) "
                                "VALUES (?, ?)", [(t.key, s) for s in evidence])
            cur.executemany("UPDATE mem_scenarios SET aggregated = 1 WHERE id = ? AND rev = ?",
                            [(s.id, revs[s.id]) for s in pending])
        self._writes += 1
        return added

    # -- compaction and dream ---------------------------------------------------------------------
    def compact(self) -> int:
        """Drop the raw content of every distilled event that some atom cites (the
        facts live on in the atoms; a tombstone keeps the id and sizes). Events the
        extractor found nothing in stay in L0. Returns how many were compacted."""
        with self._store.transaction() as cur:
            seqs = [r[0] for r in cur.execute(
                "UPDATE mem_events SET content = NULL, meta = NULL, compacted = 1 "
                "WHERE distilled = 1 AND compacted = 0 AND EXISTS (SELECT 1 FROM "
                "mem_atom_sources s WHERE s.event_id = mem_events.id) RETURNING seq").fetchall()]
            cur.executemany("DELETE FROM mem_fts WHERE rowid = ?", [(ref(s, 0),) for s in seqs])
        self._writes += 1
        return len(seqs)

    def dream(
        self,
        extractor: Extractor | None = None,
        clusterer: Clusterer | None = None,
        aggregator: Aggregator | None = None,
        compact: bool = True,
    ) -> DreamStats:
        """The consolidation pass: :meth:`distill`, :meth:`consolidate`,
        :meth:`form_personas`, then :meth:`compact` (unless ``compact=False``).

        Omitted plug-ins use the deterministic defaults. Idempotent: a second pass
        with no new events adds and compacts nothing. Token counts are measured
        before and after with the pyramid's tokenizer.
        """
        before = self._sizes()
        atoms = self.distill(extractor)
        superseded_before = before["superseded"]
        scenarios = self.consolidate(clusterer)
        traits = self.form_personas(aggregator)
        compacted = self.compact() if compact else 0
        after = self._sizes()
        return DreamStats(
            events_compacted=compacted, atoms_added=len(atoms), scenarios_added=len(scenarios),
            traits_added=len(traits), token_savings_ratio=_ratio(after["raw_tokens"],
                                                                 after["retained_tokens"]),
            atoms_superseded=after["superseded"] - superseded_before,
            tokens_before=before["retained_tokens"], tokens_after=after["retained_tokens"],
            raw_tokens_ever=after["raw_tokens"], tokenizer=self._tok_name,
        )

    # -- recall -----------------------------------------------------------------------------
    def recall(
        self, query: str, tiers: Iterable[str] | str | None = None, k: int = 5
    ) -> list[RecallHit]:
        """The ``k`` items most relevant to ``query`` across ``tiers`` (default all).

        Only items sharing a word with the query are returned (stop words are ignored
        when the query has other words). Ranked by score (BM25 by default), then
        salience, both descending. Superseded atoms and compacted events are
        not recalled; :meth:`provenance` reaches them. Items tied on score and
        salience come most recently stored first.
        """
        if not isinstance(query, str):
            raise InvalidType(f"expected str, got {type(query).__name__}", argument="query")
        if isinstance(k, bool) or not isinstance(k, int):
            raise InvalidType(f"expected int, got {type(k).__name__}", argument="k")
        if k < 0:
            raise InvalidInput(f"must be >= 0, got {k}", argument="k")
        tier_nos = tier_numbers(tiers)
        if k == 0 or not tier_nos:
            return []
        found = self._index.search(self, query, k, tier_nos)
        hits = [h for h in self._resolve(found) if h[1].score > 0.0]
        hits.sort(key=lambda h: (h[1].score, h[1].salience, h[0]), reverse=True)
        return [h for _, h in hits[:k]]

    def _resolve(self, found: Sequence[tuple[int, float]]) -> list[tuple[int, RecallHit]]:
        by_tier: dict[int, dict[int, float]] = {}
        for item_ref, score in found:
            seq, tier_no = unref(int(item_ref))
            by_tier.setdefault(tier_no, {})[seq] = float(score)
        hits: list[tuple[int, RecallHit]] = []
        for tier_no, scores in by_tier.items():
            where = f"seq IN ({','.join(str(s) for s in scores)})"
            if tier_no == 0:
                for seq, ev in self._events_where(where, with_seq=True):
                    hits.append((ref(seq, 0), RecallHit("L0", ev.id, ev.content, scores[seq], 0.0, ev)))
            elif tier_no == 1:
                for seq, a in self._atoms_where("a." + where, with_seq=True):
                    hits.append((ref(seq, 1), RecallHit("L1", a.id, a.text, scores[seq], a.salience,
                                                          a)))
            elif tier_no == 2:
                for seq, s in self._scenarios_where("s." + where, with_seq=True):
                    hits.append((ref(seq, 2), RecallHit("L2", s.id, s.summary, scores[seq],
                                                          s.salience, s)))
            else:
                for seq, t in self._traits_where(where, with_seq=True):
                    hits.append((ref(seq, 3), RecallHit("L3", t.key, t.text, scores[seq],
                                                          t.confidence, t)))
        return hits

    def indexable(self, tiers: Sequence[int] = (0, 1, 2, 3)) -> list[tuple[int, str]]:
        """``(item_ref, text)`` of every recallable item in ``tiers`` (for vector indexes)."""
        out: list[tuple[int, str]] = []
        q = self._store.query
        if 0 in tiers:
            out += [(ref(s, 0), t) for s, t in q(
                "SELECT seq, content FROM mem_events WHERE compacted = 0")]
        if 1 in tiers:
            out += [(ref(s, 1), t) for s, t in q(
                "SELECT seq, text FROM mem_atoms WHERE superseded_by IS NULL")]
        if 2 in tiers:
            out += [(ref(s, 2), t) for s, t in q("SELECT seq, summary FROM mem_scenarios")]
        if 3 in tiers:
            out += [(ref(s, 3), f"{k} {unjson(v)}") for s, k, v in q(
                "SELECT seq, key, value FROM mem_traits")]
        return out

    # -- reading --------------------------------------------------------------------------------
    def _events_where(self, where: str, *, with_seq: bool = False) -> list[Any]:
        rows = self._store.query(
            "SELECT seq, id, timestamp, role, content, meta FROM mem_events "
            f"WHERE {where} AND compacted = 0 ORDER BY seq")
        out = [(seq, MemoryEvent(i, ts, role, content, unjson(meta) or {}))
               for seq, i, ts, role, content, meta in rows]
        return out if with_seq else [ev for _, ev in out]

    def _atoms_where(self, where: str, *, with_seq: bool = False) -> list[Any]:
        sources: dict[int, list[str]] = {}
        for seq, e in self._store.query(
            "SELECT a.seq, s.event_id FROM mem_atoms a JOIN mem_atom_sources s "
            f"ON s.atom_id = a.id WHERE {where}"
        ):
            sources.setdefault(seq, []).append(e)
        rows = self._store.query(
            "SELECT a.seq, a.id, a.text, a.salience, a.timestamp, a.key, a.superseded_by "
            f"FROM mem_atoms a WHERE {where} ORDER BY a.seq")
        out = [(seq, Atom(i, sources.get(seq, ()), text, sal, ts, key, sup))
               for seq, i, text, sal, ts, key, sup in rows]
        return out if with_seq else [a for _, a in out]

    def _scenarios_where(self, where: str, *, with_seq: bool = False) -> list[Any]:
        links: dict[int, list[str]] = {}
        for seq, a in self._store.query(
            "SELECT s.seq, l.atom_id FROM mem_scenarios s JOIN mem_scenario_atoms l "
            f"ON l.scenario_id = s.id WHERE {where}"
        ):
            links.setdefault(seq, []).append(a)
        rows = self._store.query(
            "SELECT s.seq, s.id, s.summary, s.salience, s.timestamp, s.topic FROM mem_scenarios s "
            f"WHERE {where} ORDER BY s.seq")
        out = [(seq, Scenario(i, links.get(seq, ()), summary, sal, ts, topic))
               for seq, i, summary, sal, ts, topic in rows]
        return out if with_seq else [s for _, s in out]

    def _traits_where(self, where: str, *, with_seq: bool = False) -> list[Any]:
        evidence: dict[str, list[str]] = {}
        for key, sid in self._store.query(
            "SELECT e.trait_key, e.scenario_id FROM mem_traits JOIN mem_trait_evidence e "
            f"ON e.trait_key = mem_traits.key WHERE {where} ORDER BY e.scenario_id"
        ):
            evidence.setdefault(key, []).append(sid)
        rows = self._store.query(
            f"SELECT seq, key, value, confidence FROM mem_traits WHERE {where} ORDER BY seq")
        out = [(seq, PersonaTrait(key, unjson(v), conf, evidence.get(key, ())))
               for seq, key, v, conf in rows]
        return out if with_seq else [t for _, t in out]

    @property
    def events(self) -> list[MemoryEvent]:
        """L0: the raw events not compacted, in observation order."""
        return self._events_where("1")

    @property
    def atoms(self) -> list[Atom]:
        """L1: every stored atom (superseded ones too: see ``Atom.superseded_by``)."""
        return self._atoms_where("1")

    @property
    def active_atoms(self) -> list[Atom]:
        """L1 atoms that no newer atom supersedes."""
        return self._atoms_where("a.superseded_by IS NULL")

    @property
    def scenarios(self) -> list[Scenario]:
        return self._scenarios_where("1")

    @property
    def traits(self) -> list[PersonaTrait]:
        return self._traits_where("1")

    # seed compatibility: the seed's tests assign ``pyramid._atoms = [...]``.
    @property
    def _atoms(self) -> list[Atom]:
        return self.atoms

    @_atoms.setter
    def _atoms(self, atoms: Iterable[Atom]) -> None:
        """Replace L1 wholesale (seed-compat shim; prefer :meth:`distill`)."""
        atoms = _as_list(atoms, Atom, "atoms")
        with self._store.transaction() as cur:
            cur.execute("DELETE FROM mem_fts WHERE rowid IN (SELECT seq * 4 + 1 FROM mem_atoms)")
            for table in ("mem_atoms", "mem_atom_sources", "mem_supersessions",
                          "mem_scenario_atoms"):
                cur.execute(f"DELETE FROM {table}")
            for a in atoms:
                cur.execute(
                    "INSERT INTO mem_atoms (id, text, salience, timestamp, key, chars, tokens) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (a.id, a.text, float(a.salience), float(a.timestamp), a.key, len(a.text),
                     self._count(a.text)))
                cur.execute("INSERT INTO mem_fts (rowid, body) VALUES (?, ?)",
                            (ref(cur.lastrowid, 1), body(a.text)))
        self._writes += 1

    def provenance(self, item_id: str, tier: str | None = None) -> dict[str, Any]:
        """Where an item came from and what became of it.

        L0 event: ``atoms`` citing it, ``compacted``. L1 atom: ``events`` (with
        ``compacted`` flags), ``superseded_by``, ``supersedes`` (every atom it
        replaced). L2 scenario: ``atoms``. L3 trait (id = key): ``scenarios`` and
        ``history`` (earlier values). Raises ``InvalidInput`` if the id is unknown.
        """
        return _introspect.provenance(self, item_id, tier)

    def digest(self) -> str:
        """SHA-256 hex of the memory's content: every live event, atom (with its sources
        and ``superseded_by``), scenario (with its atoms) and trait (with its evidence).
        Equal digests mean equal memories; :func:`~.sealing.seal_dream` seals it."""
        return _introspect.digest(self)

    # -- measurement ----------------------------------------------------------------------------
    def _sizes(self) -> dict[str, int]:
        q = self._store.query
        (n_ev, raw_c, raw_t, live_ev, live_c, live_t), = q(
            "SELECT COUNT(*), TOTAL(chars), TOTAL(tokens), TOTAL(compacted = 0), "
            "TOTAL(CASE WHEN compacted = 0 THEN chars END), "
            "TOTAL(CASE WHEN compacted = 0 THEN tokens END) FROM mem_events")
        (n_at, at_c, at_t, sup), = q("SELECT COUNT(*), TOTAL(chars), TOTAL(tokens), "
                                     "TOTAL(superseded_by IS NOT NULL) FROM mem_atoms")
        (n_sc, sc_c, sc_t), = q("SELECT COUNT(*), TOTAL(chars), TOTAL(tokens) FROM mem_scenarios")
        (n_tr, tr_c, tr_t), = q("SELECT COUNT(*), TOTAL(chars), TOTAL(tokens) FROM mem_traits")
        (th_c, th_t), = q("SELECT TOTAL(chars), TOTAL(tokens) FROM mem_trait_history")
        return {
            "events_ever": n_ev, "l0": int(live_ev), "l1": n_at, "superseded": int(sup),
            "l2": n_sc, "l3": n_tr,
            "raw_chars": int(raw_c), "raw_tokens": int(raw_t),
            "retained_chars": int(live_c + at_c + sc_c + tr_c + th_c),
            "retained_tokens": int(live_t + at_t + sc_t + tr_t + th_t),
        }

    def stats(self) -> dict[str, Any]:
        """Counts per tier and measured sizes.

        ``raw_chars_ever`` / ``raw_tokens_ever``: every raw event ever observed.
        ``retained_chars`` / ``retained_tokens``: what is stored now — live raw events
        plus every atom (superseded too), scenario, trait and earlier trait value.
        ``token_savings_ratio`` = (raw − retained) / raw in the pyramid's tokenizer
        (with the default ``"chars"`` tokenizer, characters); ``char_savings_ratio``
        the same in characters. Negative when the derived tiers outgrow the raw text.
        """
        s = self._sizes()
        return {
            "l0_events": s["l0"], "l1_atoms": s["l1"], "l1_active_atoms": s["l1"] - s["superseded"],
            "l2_scenarios": s["l2"], "l3_traits": s["l3"], "events_observed": s["events_ever"],
            "events_compacted": s["events_ever"] - s["l0"],
            "raw_chars_ever": s["raw_chars"], "retained_chars": s["retained_chars"],
            "raw_tokens_ever": s["raw_tokens"], "retained_tokens": s["retained_tokens"],
            "token_savings_ratio": _ratio(s["raw_tokens"], s["retained_tokens"]),
            "char_savings_ratio": _ratio(s["raw_chars"], s["retained_chars"]),
            "tokenizer": self._tok_name,
        }

    # -- invariants -----------------------------------------------------------------------------
    def check(self) -> list[str]:
        """Check the stored invariants; returns the problems found ([] when consistent).

        The FTS index holds exactly the live items; every link points at a stored
        item; a compacted event was distilled and is cited by an atom; each key has
        at most one active atom and every ``superseded_by`` names an atom of that key.
        """
        return _introspect.check(self)

    def __repr__(self) -> str:
        return f"MemoryPyramid({self._store.path!r}, tokenizer={self._tok_name!r})"


def _ratio(raw: int, retained: int) -> float:
    return 0.0 if raw == 0 else (raw - retained) / raw


def _as_list(produced: Any, kind: type, who: str) -> list[Any]:
    try:
        items = list(produced)
    except TypeError:
        raise InvalidType(f"{who} must return a list of {kind.__name__}, got "
                          f"{type(produced).__name__}", argument=who) from None
    for item in items:
        if not isinstance(item, kind):
            raise InvalidType(f"{who} returned a {type(item).__name__}, not a {kind.__name__}",
                              argument=who)
    return items
