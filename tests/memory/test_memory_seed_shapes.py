"""The seed's call shapes for ``openmoe_bft.memory`` (SPEC "Seed call shapes")."""

import openmoe_bft.memory as mem
from openmoe_bft.memory import (
    L0,
    L1,
    L3,
    Atom,
    DreamStats,
    MemoryEvent,
    MemoryPyramid,
    PersonaTrait,
    Scenario,
    event_id,
    overlap_score,
)

_TOPICS = [("tea", "user drinks tea", 0.6), ("rust", "user writes rust", 0.8),
           ("exam", "an exam is coming", 0.9)]


def extract(events):
    out = []
    for e in events:
        for word, text, sal in _TOPICS:
            if word in e.content.lower():
                out.append(Atom(id=f"atom-{word}", source_event_ids=[e.id], text=text,
                                salience=sal, timestamp=e.timestamp))
    return out


def cluster(atoms):
    groups = {"scn-habits": [a for a in atoms if a.text.startswith("user")],
              "scn-school": [a for a in atoms if "exam" in a.text]}
    return [Scenario(id=sid, atom_ids=[a.id for a in grp],
                     summary="; ".join(a.text for a in grp),
                     salience=max(a.salience for a in grp),
                     timestamp=max(a.timestamp for a in grp))
            for sid, grp in groups.items() if grp]


def aggregate(scenarios):
    names = {"scn-habits": ("drink", "tea"), "scn-school": ("studying", "exam")}
    return [PersonaTrait(key=names[s.id][0], value=names[s.id][1], confidence=s.salience,
                         evidence_scenario_ids=[s.id]) for s in scenarios]


def conversation(p):
    p.observe_message(10.0, "user", "Morning! Green tea again, tea all day long.")
    p.observe_message(11.0, "assistant", "Tea noted. Your Rust project builds?")
    p.observe_message(12.0, "user", "Rust compiles fine; the exam is next week, the exam!")
    p.observe_message(13.0, "user", "More tea before the exam, then rust practice.")


def test_helpers():
    assert overlap_score("tea rust", "I like tea") == 0.5
    assert overlap_score("", "x") == 0.0
    assert event_id(1.0, "user", "a") == event_id(1.0, "user", "a") != event_id(1.0, "user", "b")
    assert (L0, L1, L3) == ("L0", "L1", "L3")


def test_observe_and_dedup():
    p = MemoryPyramid()
    ev = p.observe_message(5.0, "user", "hello there")
    assert isinstance(ev, MemoryEvent) and ev.id == event_id(5.0, "user", "hello there")
    p.observe_message(5.0, "user", "hello there")
    p.observe(MemoryEvent(id="x1", timestamp=6.0, role="user", content="hi", meta={}))
    assert [e.content for e in p.events] == ["hello there", "hi"]


def test_steps_return_what_they_added_and_nothing_again():
    p = MemoryPyramid()
    conversation(p)
    atoms = p.distill(extract)
    assert {a.id for a in atoms} == {"atom-tea", "atom-rust", "atom-exam"}
    assert p.distill(extract) == []
    scenarios = p.consolidate(cluster)
    assert {s.id for s in scenarios} == {"scn-habits", "scn-school"}
    assert p.consolidate(cluster) == []
    traits = p.form_personas(aggregate)
    assert {t.key for t in traits} == {"drink", "studying"}
    assert p.form_personas(aggregate) == []
    tea = next(a for a in p.atoms if a.id == "atom-tea")
    assert len(tea.source_event_ids) == 3  # the three tea events, merged


def test_dream_positional_and_keyword_and_idempotent():
    p = MemoryPyramid()
    conversation(p)
    n = len(p.events)
    s = p.dream(extract, cluster, aggregate)
    assert isinstance(s, DreamStats)
    assert (s.atoms_added, s.scenarios_added, s.traits_added, s.events_compacted) == (3, 2, 2, n)
    assert p.events == [] and p.atoms and p.scenarios and p.traits
    again = p.dream(extractor=extract, clusterer=cluster, aggregator=aggregate)
    assert (again.atoms_added, again.scenarios_added, again.traits_added,
            again.events_compacted) == (0, 0, 0, 0)
    p.observe_message(20.0, "user", "Switching to rust full time... and tea.")
    later = p.dream(extract, cluster, aggregate)
    assert later.atoms_added == 0 and later.events_compacted == 1


def test_recall_shapes():
    p = MemoryPyramid()
    conversation(p)
    p.dream(extract, cluster, aggregate)
    hits = p.recall("tea", k=3)
    assert 0 < len(hits) <= 3
    assert all("tea" in h.text.lower() and h.score > 0 for h in hits)
    assert {h.tier for h in p.recall("tea", tiers=[L3], k=10)} == {"L3"}
    assert p.recall("zzz-nothing-here") == []
    for h in hits:
        assert isinstance(h.id, str) and h.tier in mem.ALL_TIERS


def test_recall_ties_broken_by_salience():
    p = MemoryPyramid()
    p._atoms = [Atom("a-low", [], "fact one", 0.2, 1.0), Atom("a-high", [], "fact two", 0.9, 1.0)]
    assert [h.id for h in p.recall("fact", tiers=[L1], k=2)] == ["a-high", "a-low"]


def test_stats_shapes_and_measured_ratio():
    p = MemoryPyramid()
    conversation(p)
    assert p.stats()["token_savings_ratio"] == 0.0
    p.dream(extract, cluster, aggregate)
    s = p.stats()
    assert s["l0_events"] == 0 and s["l1_atoms"] == 3
    raw, kept = s["raw_chars_ever"], s["retained_chars"]
    assert raw == sum(len(c) for c in [
        "Morning! Green tea again, tea all day long.", "Tea noted. Your Rust project builds?",
        "Rust compiles fine; the exam is next week, the exam!",
        "More tea before the exam, then rust practice."])
    assert s["token_savings_ratio"] == (raw - kept) / raw > 0


def test_module_reads_no_clock_or_randomness():
    with open(mem.__file__) as fh:
        src = fh.read()
    for forbidden in ("import random", "import time", "import datetime", "from datetime"):
        assert forbidden not in src
