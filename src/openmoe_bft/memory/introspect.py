"""Looking into a memory: provenance of an item, a content digest, invariant checks."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ._codec import json_text, tier_numbers, unjson

if TYPE_CHECKING:
    from .pyramid import MemoryPyramid

__all__ = ["check", "digest", "provenance"]


def provenance(memory: MemoryPyramid, item_id: str, tier: str | None = None) -> dict[str, Any]:
    """Where an item came from and what became of it.

    L0 event: ``atoms`` citing it, ``compacted``. L1 atom: ``events`` (with
    ``compacted`` flags), ``superseded_by``, ``supersedes`` (every atom it
    replaced). L2 scenario: ``atoms``. L3 trait (id = key): ``scenarios`` and
    ``history`` (earlier values). Raises ``InvalidInput`` if the id is unknown.
    """
    q = memory.store.query
    tiers = tier_numbers(tier)
    if 0 in tiers:
        row = q("SELECT compacted FROM mem_events WHERE id = ?", (item_id,))
        if row:
            return {"tier": "L0", "id": item_id, "compacted": bool(row[0][0]),
                    "atoms": [r[0] for r in q("SELECT atom_id FROM mem_atom_sources "
                                              "WHERE event_id = ? ORDER BY atom_id", (item_id,))]}
    if 1 in tiers:
        row = q("SELECT superseded_by, key FROM mem_atoms WHERE id = ?", (item_id,))
        if row:
            events = q("SELECT s.event_id, e.compacted FROM mem_atom_sources s JOIN mem_events e "
                       "ON e.id = s.event_id WHERE s.atom_id = ? ORDER BY e.seq", (item_id,))
            return {"tier": "L1", "id": item_id, "key": row[0][1],
                    "superseded_by": row[0][0],
                    "supersedes": [r[0] for r in q(
                        "SELECT superseded_id FROM mem_supersessions WHERE atom_id = ? "
                        "ORDER BY seq", (item_id,))],
                    "events": [{"id": e, "compacted": bool(c)} for e, c in events]}
    if 2 in tiers and q("SELECT 1 FROM mem_scenarios WHERE id = ?", (item_id,)):
        return {"tier": "L2", "id": item_id, "atoms": [r[0] for r in q(
            "SELECT atom_id FROM mem_scenario_atoms WHERE scenario_id = ? "
            "ORDER BY atom_id", (item_id,))]}
    if 3 in tiers and q("SELECT 1 FROM mem_traits WHERE key = ?", (item_id,)):
        return {"tier": "L3", "id": item_id,
                "scenarios": [r[0] for r in q(
                    "SELECT scenario_id FROM mem_trait_evidence WHERE trait_key = ? "
                    "ORDER BY scenario_id", (item_id,))],
                "history": [{"value": unjson(v), "confidence": c,
                             "scenarios": json.loads(ev)} for v, c, ev in q(
                    "SELECT value, confidence, evidence FROM mem_trait_history "
                    "WHERE key = ? ORDER BY seq", (item_id,))]}
    raise InvalidInput(f"no item {item_id!r} in this memory", argument="item_id")


def digest(memory: MemoryPyramid) -> str:
    """SHA-256 hex of the memory's content: every live event, atom (with its sources
    and ``superseded_by``), scenario (with its atoms) and trait (with its evidence).
    Equal digests mean equal memories; :func:`~.sealing.seal_dream` seals it."""
    h = hashlib.sha256()
    for part in (
        [(e.id, e.content) for e in memory.events],
        [(a.id, a.text, sorted(a.source_event_ids), a.superseded_by) for a in memory.atoms],
        [(s.id, s.summary, sorted(s.atom_ids)) for s in memory.scenarios],
        [(t.key, t.text, sorted(t.evidence_scenario_ids)) for t in memory.traits],
    ):
        for item in sorted(part, key=repr):
            h.update(json_text(list(item)).encode("utf-8", "surrogatepass"))
            h.update(b"\n")
        h.update(b"\x1e")
    return h.hexdigest()


def check(memory: MemoryPyramid) -> list[str]:
    """Check the stored invariants; returns the problems found ([] when consistent).

    The FTS index holds exactly the live items; every link points at a stored
    item; a compacted event was distilled and is cited by an atom; each key has
    at most one active atom and every ``superseded_by`` names an atom of that key.
    """
    q = memory.store.query
    problems: list[str] = []
    try:
        with memory.store.transaction() as cur:
            cur.execute("INSERT INTO mem_fts (mem_fts, rank) VALUES ('integrity-check', 1)")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        problems.append(f"FTS index integrity check failed: {exc}")
    expected = {r for r, _ in memory.indexable()}
    actual = {r[0] for r in q("SELECT rowid FROM mem_fts")}
    if expected != actual:
        problems.append(f"FTS index out of step: {len(expected - actual)} live items missing, "
                        f"{len(actual - expected)} stale entries")
    checks = {
        "atom sources naming no stored event":
            "SELECT COUNT(*) FROM mem_atom_sources s LEFT JOIN mem_events e "
            "ON e.id = s.event_id WHERE e.id IS NULL",
        "atom sources naming no stored atom":
            "SELECT COUNT(*) FROM mem_atom_sources s LEFT JOIN mem_atoms a "
            "ON a.id = s.atom_id WHERE a.id IS NULL",
        "scenario links naming no stored atom":
            "SELECT COUNT(*) FROM mem_scenario_atoms l LEFT JOIN mem_atoms a "
            "ON a.id = l.atom_id WHERE a.id IS NULL",
        "trait evidence naming no stored scenario":
            "SELECT COUNT(*) FROM mem_trait_evidence t LEFT JOIN mem_scenarios s "
            "ON s.id = t.scenario_id WHERE s.id IS NULL",
        "compacted events not distilled or not cited by any atom":
            "SELECT COUNT(*) FROM mem_events e WHERE e.compacted = 1 AND (e.distilled = 0 OR "
            "NOT EXISTS (SELECT 1 FROM mem_atom_sources s WHERE s.event_id = e.id))",
        "compacted events still holding content":
            "SELECT COUNT(*) FROM mem_events WHERE compacted = 1 AND content IS NOT NULL",
        "live events without content":
            "SELECT COUNT(*) FROM mem_events WHERE compacted = 0 AND content IS NULL",
        "keys with more than one active atom":
            "SELECT COUNT(*) FROM (SELECT key FROM mem_atoms WHERE key IS NOT NULL AND "
            "superseded_by IS NULL GROUP BY key HAVING COUNT(*) > 1)",
        "superseded_by naming no atom of the same key":
            "SELECT COUNT(*) FROM mem_atoms a LEFT JOIN mem_atoms b ON b.id = a.superseded_by "
            "WHERE a.superseded_by IS NOT NULL AND (b.id IS NULL OR b.key IS NOT a.key)",
        "superseded atoms without a supersession record":
            "SELECT COUNT(*) FROM mem_atoms a WHERE a.superseded_by IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM mem_supersessions s WHERE s.superseded_id = a.id)",
    }
    for what, sql in checks.items():
        n = q(sql)[0][0]
        if n:
            problems.append(f"{n} {what}")
    return problems
