"""Property tests of dream(): no fact without a successor is lost, no content word is lost,
newest value wins per key, idempotence."""

from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.memory import STOPWORDS, MemoryEvent, MemoryPyramid, words

_CITIES = ["lyon", "oslo", "quito", "perth"]
_word = st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=3, max_size=6)
_free = st.lists(_word, min_size=1, max_size=6).map(" ".join)
_slot = st.sampled_from(_CITIES).map(lambda c: f"I live in {c}")
_sentence = st.one_of(_free, _free, _slot, st.just("ok thanks"))
_message = st.lists(_sentence, min_size=1, max_size=3).map(". ".join)
# (timestamp, message) in arrival order; timestamps may go backwards (late imports)
_events = st.lists(st.tuples(st.integers(0, 50), _message), min_size=1, max_size=14)


def _lineage_events(p, hit):
    atoms = {a.id: a for a in p.atoms}
    scenarios = {s.id: s for s in p.scenarios}
    if hit.tier == "L0":
        return {hit.id}
    if hit.tier == "L1":
        return set(hit.item.source_event_ids)
    sids = [hit.id] if hit.tier == "L2" else list(hit.item.evidence_scenario_ids)
    return {e for s in sids for a in scenarios[s].atom_ids for e in atoms[a].source_event_ids}


@settings(max_examples=30)
@given(events=_events, cuts=st.lists(st.integers(0, 14), max_size=3))
def test_dream_never_loses_a_fact_without_a_successor(events, cuts):
    p = MemoryPyramid()
    seen_atoms: dict[str, str] = {}
    observed: list[MemoryEvent] = []
    cut_points = sorted(set(c for c in cuts if c < len(events))) + [len(events)]
    start = 0
    for cut in cut_points:
        for ts, msg in events[start:cut]:
            observed.append(p.observe_message(float(ts), "user", msg))
        start = cut
        p.dream()
        assert p.check() == []
        atoms = {a.id: a for a in p.atoms}
        # every fact ever distilled is still stored, active or linked to its successor
        for aid in seen_atoms:
            assert aid in atoms
        seen_atoms.update({a.id: a.text for a in atoms.values()})
        for a in atoms.values():
            hops = 0
            while a.superseded_by is not None:
                a = atoms[a.superseded_by]
                hops += 1
                assert hops <= len(atoms)
            assert a.active
        # every observed event is either still raw or cited by a stored atom
        cited = {e for a in atoms.values() for e in a.source_event_ids}
        live = {e.id for e in p.events}
        for ev in observed:
            assert ev.id in live or ev.id in cited
        # per key, the active atom is the newest
        keyed = [a for a in atoms.values() if a.key == "user.location"]
        if keyed:
            (active,) = [a for a in keyed if a.active]
            assert active.timestamp == max(a.timestamp for a in keyed)
            # and the tiers above follow the active value
            assert {t.key: t.value for t in p.traits}["user.location"] == active.text.split()[-1]
    again = p.dream()
    assert (again.atoms_added, again.scenarios_added, again.traits_added,
            again.events_compacted) == (0, 0, 0, 0)


@settings(max_examples=30)
@given(events=_events)
def test_after_dream_every_distinctive_word_still_leads_back_to_its_event(events):
    p = MemoryPyramid()
    observed = [p.observe_message(float(ts), "user", msg) for ts, msg in events]
    p.dream()
    owners: dict[str, set[str]] = {}
    for ev in observed:
        for w in set(words(ev.content)) - STOPWORDS:
            owners.setdefault(w, set()).add(ev.id)
    atoms = p.atoms
    for w, who in owners.items():
        if len(who) != 1 or w in ("live", *_CITIES):
            continue  # not distinctive, or a slot word that a newer value may supersede
        (eid,) = who
        hits = p.recall(w, k=10)
        assert any(eid in _lineage_events(p, h) for h in hits), (w, events)
    # superseded city facts are not recalled, but their provenance is kept
    for a in atoms:
        if not a.active:
            assert a.id not in {h.id for h in p.recall(a.text, k=50)}
            assert p.provenance(a.id)["superseded_by"] == a.superseded_by
