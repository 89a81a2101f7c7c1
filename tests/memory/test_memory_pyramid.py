"""MemoryPyramid behaviour: dedup, contradictions, provenance, compaction, sizes, errors."""

import pytest

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.memory import Atom, MemoryEvent, MemoryPyramid, PersonaTrait, Scenario
from openmoe_bft.store import Store


def talk(p, *messages, start=100.0):
    return [p.observe_message(start + i, "user", m) for i, m in enumerate(messages)]


def active_location(p):
    return [a for a in p.active_atoms if a.key == "user.location"]


def test_newer_fact_supersedes_older_and_both_are_kept():
    p = MemoryPyramid()
    talk(p, "I live in Lyon.", "Cheese is great with wine.", "I moved to Paris!")
    s = p.dream()
    assert s.atoms_superseded == 1
    (paris,) = active_location(p)
    assert paris.text == "user location paris"
    lyon = next(a for a in p.atoms if a.text == "user location lyon")
    assert lyon.superseded_by == paris.id and not lyon.active
    assert p.provenance(paris.id)["supersedes"] == [lyon.id]
    assert {t.key: t.value for t in p.traits}["user.location"] == "paris"
    assert p.recall("lyon") == []  # superseded fact and compacted raw event are not recalled
    assert [h.id for h in p.recall("paris", tiers=["L1"])] == [paris.id]
    assert p.check() == []


def test_older_fact_arriving_late_is_born_superseded():
    p = MemoryPyramid()
    p.observe_message(200.0, "user", "I live in Oslo")
    p.dream()
    p.observe_message(100.0, "user", "I live in Rome")  # an old message, imported late
    p.dream()
    (oslo,) = active_location(p)
    assert oslo.text.endswith("oslo")
    rome = next(a for a in p.atoms if a.text.endswith("rome"))
    assert rome.superseded_by == oslo.id


def test_a_value_can_come_back():
    p = MemoryPyramid()
    talk(p, "I live in Lyon", "I live in Paris")
    p.dream()
    p.observe_message(500.0, "user", "I live in Lyon")
    p.dream()
    (active,) = active_location(p)
    assert active.text.endswith("lyon")
    paris = next(a for a in p.atoms if a.text.endswith("paris"))
    assert paris.superseded_by == active.id
    assert len(p.provenance(active.id)["events"]) == 2
    assert {t.key: t.value for t in p.traits}["user.location"] == "lyon"  # tiers follow
    assert p.dream().atoms_added == 0
    assert p.check() == []


def test_repeated_fact_is_one_atom_with_all_sources():
    p = MemoryPyramid()
    evs = talk(p, "Remember the quarterly audit report.", "ok",
               "Remember the quarterly audit report!", "REMEMBER the quarterly audit report")
    p.dream()
    audit = [a for a in p.atoms if "audit" in a.text]
    assert len(audit) == 1
    assert set(audit[0].source_event_ids) == {evs[0].id, evs[2].id, evs[3].id}
    # "ok" yields no fact: it stays in L0 instead of being compacted away
    assert [e.content for e in p.events] == ["ok"]
    assert p.provenance(evs[1].id) == {"tier": "L0", "id": evs[1].id, "compacted": False,
                                       "atoms": []}
    assert p.provenance(evs[0].id)["compacted"] is True


def test_compacted_event_observed_again_is_still_deduplicated():
    p = MemoryPyramid()
    (ev,) = talk(p, "The staging server runs on port 8443")
    p.dream()
    before = p.stats()
    assert p.observe_message(ev.timestamp, ev.role, ev.content) == ev
    after = p.stats()
    assert after == before and p.events == []


def test_conflicting_event_under_a_used_id_is_refused_atomically():
    p = MemoryPyramid()
    p.observe(MemoryEvent("e1", 1.0, "user", "first"))
    with pytest.raises(InvalidInput, match="different content"):
        p.observe_many([MemoryEvent("e2", 2.0, "user", "fine"),
                        MemoryEvent("e1", 1.0, "user", "changed")])
    assert [e.id for e in p.events] == ["e1"]


def test_stats_are_measured_from_what_is_stored():
    p = MemoryPyramid()
    msgs = ["My name is Ada. I write compilers in OCaml.", "I moved to Zurich last year",
            "Compilers and OCaml again: the OCaml compilers course.", "thanks"]
    talk(p, *msgs)
    p.dream()
    s = p.stats()
    assert s["raw_chars_ever"] == sum(map(len, msgs))
    stored = (sum(len(e.content) for e in p.events) + sum(len(a.text) for a in p.atoms)
              + sum(len(x.summary) for x in p.scenarios) + sum(len(t.text) for t in p.traits))
    assert s["retained_chars"] == stored  # no trait history yet
    assert s["token_savings_ratio"] == (s["raw_chars_ever"] - stored) / s["raw_chars_ever"]
    assert s["tokenizer"] == "chars" and s["raw_tokens_ever"] == s["raw_chars_ever"]
    assert s["l0_events"] == 1 and s["events_compacted"] == 3


def test_dream_stats_tokens_before_after_and_idempotent():
    p = MemoryPyramid(tokenizer="words")
    talk(p, "I live in Lyon", "Lyon has good bakeries, bakeries everywhere",
         "The bakeries in Lyon open early")
    before = p.stats()["retained_tokens"]
    s = p.dream()
    assert s.tokens_before == before == s.raw_tokens_ever
    assert s.tokens_after == p.stats()["retained_tokens"]
    assert s.token_savings_ratio == p.stats()["token_savings_ratio"]
    assert s.tokenizer == "words"
    snapshot = (p.atoms, p.scenarios, p.traits, p.events, p.stats())
    again = p.dream()
    assert again.to_dict() | {"tokens_before": 0} == {
        **again.to_dict(), "atoms_added": 0, "scenarios_added": 0, "traits_added": 0,
        "events_compacted": 0, "atoms_superseded": 0, "tokens_before": 0}
    assert again.tokens_before == again.tokens_after == s.tokens_after
    assert (p.atoms, p.scenarios, p.traits, p.events, p.stats()) == snapshot


def test_custom_tokenizer_and_store_remembers_it(tmp_path):
    path = tmp_path / "m.db"
    with MemoryPyramid(path, tokenizer="words") as p:
        talk(p, "alpha beta gamma")
    with MemoryPyramid(path) as p:  # None: reopens with the store's tokenizer
        assert p.tokenizer == "words" and p.stats()["raw_tokens_ever"] == 3
    with pytest.raises(InvalidInput, match="measured with tokenizer 'words'"):
        MemoryPyramid(path, tokenizer="chars")
    with MemoryPyramid(tmp_path / "n.db", tokenizer=lambda s: 2 * len(s.split())) as p:
        talk(p, "one two three")
        assert p.stats()["raw_tokens_ever"] == 6
    with pytest.raises(InvalidType):
        MemoryPyramid(tokenizer=lambda s: "many").observe_message(1.0, "user", "x")
    with pytest.raises(InvalidInput, match="unknown tokenizer"):
        MemoryPyramid(tokenizer="bpe")


def test_persistent_store_survives_reopen(tmp_path):
    path = tmp_path / "mem.db"
    with MemoryPyramid(path) as p:
        talk(p, "I work at Initech", "ok")
        p.dream()
        expected = (p.atoms, p.scenarios, p.traits, p.events, p.stats())
    with MemoryPyramid(Store(path)) as p:
        assert (p.atoms, p.scenarios, p.traits, p.events, p.stats()) == expected
        assert p.recall("initech", tiers="L1")[0].text == "user employer initech"
        assert p.dream().atoms_added == 0


def test_trait_history_keeps_replaced_values():
    p = MemoryPyramid()
    sc = Scenario("sc-1", [], "coffee", 0.5, 1.0)

    def cluster(atoms):
        return [sc]

    p._atoms = [Atom("a", [], "coffee talk", 0.5, 1.0)]
    p.consolidate(cluster)
    p.form_personas(lambda s: [PersonaTrait("drink", "coffee", 0.6, ["sc-1"])])
    p.store.query("UPDATE mem_scenarios SET aggregated = 0")
    assert p.form_personas(lambda s: [PersonaTrait("drink", "tea", 0.7, ["sc-1"])]) == []
    assert [t.value for t in p.traits] == ["tea"]
    prov = p.provenance("drink")
    assert prov["history"] == [{"value": "coffee", "confidence": 0.6, "scenarios": ["sc-1"]}]
    assert p.stats()["retained_chars"] == (len("coffee talk") + len("coffee")
                                           + len("drink tea") + len("drink coffee"))


def test_plugin_output_is_validated_before_anything_is_written():
    p = MemoryPyramid()
    talk(p, "hello world")
    with pytest.raises(InvalidType, match="extractor returned a str"):
        p.distill(lambda evs: ["not an atom"])
    with pytest.raises(InvalidInput, match="not stored"):
        p.distill(lambda evs: [Atom("a", ["ev-missing"], "x", 0.5, 1.0)])
    with pytest.raises(InvalidType):
        p.distill(lambda evs: 42)
    assert p.atoms == [] and len(p.events) == 1
    assert len(p.distill()) == 1  # still pending, so the default extractor gets it
    with pytest.raises(InvalidInput, match="atom ids that are not stored"):
        p.consolidate(lambda atoms: [Scenario("s", ["nope"], "x", 0.1, 1.0)])
    assert p.scenarios == []


def test_record_validation():
    with pytest.raises(InvalidInput):
        Atom("a", [], "x", 1.5, 1.0)
    with pytest.raises(InvalidType):
        MemoryEvent("e", "yesterday", "user", "x")
    with pytest.raises(InvalidInput):
        MemoryEvent("e", float("nan"), "user", "x")
    with pytest.raises(InvalidType):
        Atom("a", "ev-1", "x", 0.5, 1.0)  # a bare string is not a list of ids
    assert Atom("a", ["e", "e"], "x", 0.5, 1.0).source_event_ids == ("e",)
    with pytest.raises(InvalidType):
        MemoryPyramid().observe({"id": "x"})
    with pytest.raises(InvalidType):
        MemoryPyramid(store=3)


def test_provenance_unknown_and_tier_filter():
    p = MemoryPyramid()
    talk(p, "Deploy the blue build tonight")
    p.dream(compact=False)
    atom = p.atoms[0]
    assert p.provenance(atom.id, tier="L1")["events"] == [
        {"id": p.events[0].id, "compacted": False}]
    with pytest.raises(InvalidInput, match="no item"):
        p.provenance(atom.id, tier="L2")
    assert p.compact() == 1 and p.events == []


def test_two_handles_observe_and_dream_concurrently(tmp_path):
    import threading

    path = tmp_path / "shared.db"
    writer, dreamer = MemoryPyramid(Store(path, durability="normal")), MemoryPyramid(
        Store(path, durability="normal"))
    done = threading.Event()
    sent = []

    def write():
        for i in range(150):
            sent.append(writer.observe_message(float(i), "user", f"note {i}: topic{i % 7} item{i}"))
        done.set()

    t = threading.Thread(target=write)
    t.start()
    while not done.is_set():
        dreamer.dream()
    t.join()
    dreamer.dream()
    assert dreamer.check() == []
    cited = {e for a in dreamer.atoms for e in a.source_event_ids}
    assert {e.id for e in sent} <= cited  # every event distilled, none lost or doubled
    assert dreamer.stats()["events_observed"] == 150 == dreamer.stats()["events_compacted"]
    assert writer.recall("item149", tiers="L1")[0].text.endswith("item149")
    writer.close()
    dreamer.close()
