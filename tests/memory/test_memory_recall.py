"""Recall: FTS5/BM25 semantics, ties, tiers, the vector index, and their properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.memory import (
    STOPWORDS,
    Atom,
    HashingEmbedder,
    MemoryEvent,
    MemoryPyramid,
    VectorIndex,
    fts_match_expression,
    overlap_score,
    words,
)


def test_match_expression_drops_stopwords_unless_nothing_else():
    assert fts_match_expression("What is the Deadline?") == '"deadline"'
    assert fts_match_expression("what is the") == '"what" OR "is" OR "the"'
    assert fts_match_expression("  ?! ") is None
    # FTS5 syntax in a query is just words
    assert fts_match_expression('say "quoted" NEAR(x) AND') == '"quoted" OR "near" OR "x"'


def test_stopwords_do_not_flood_results():
    p = MemoryPyramid()
    for i in range(30):
        p.observe_message(float(i), "user", f"the weather is the same as it was on day {i}")
    p.observe_message(99.0, "user", "the deadline is on friday")
    hits = p.recall("what is the deadline", k=10)
    assert [h.text for h in hits] == ["the deadline is on friday"]


def test_bm25_prefers_rarer_and_denser_matches():
    p = MemoryPyramid()
    p.observe_message(1.0, "user", "kiwi banana mango papaya guava lychee")
    p.observe_message(2.0, "user", "kiwi kiwi")
    for i in range(5):
        p.observe_message(10.0 + i, "user", f"banana number {i}")
    hits = p.recall("kiwi banana", k=10)
    assert hits[0].text == "kiwi kiwi"
    assert all(h.score > 0 for h in hits) and len(hits) == 7
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_ties_beyond_the_fetch_window_are_broken_by_salience():
    p = MemoryPyramid()
    # 40 atoms with the same BM25 score for "zeta"; the most salient were stored first,
    # so a window ordered by recency alone would miss them.
    atoms = [Atom(f"a{i:02d}", [], f"zeta w{i:02d}", round(1 - i / 40, 3), 1.0)
             for i in range(40)]
    p._atoms = atoms
    for i in range(20):  # and tied raw events, salience 0
        p.observe(MemoryEvent(f"e{i}", 2.0, "user", f"zeta v{i:02d}"))
    hits = p.recall("zeta", k=5)
    assert [h.id for h in hits] == ["a00", "a01", "a02", "a03", "a04"]
    assert len({h.score for h in hits}) == 1
    ev_hits = p.recall("zeta", tiers=["L0"], k=3)
    assert [h.id for h in ev_hits] == ["e19", "e18", "e17"]  # most recent first


def test_tiers_k_and_input_errors():
    p = MemoryPyramid()
    p.observe_message(1.0, "user", "I live in Quito and I love mountains, mountains!")
    p.dream(compact=False)
    assert {h.tier for h in p.recall("quito", k=10)} == {"L0", "L1", "L2", "L3"}
    assert {h.tier for h in p.recall("quito", tiers="L3", k=10)} == {"L3"}
    assert {h.tier for h in p.recall("quito", tiers=["L0", "L2"], k=10)} == {"L0", "L2"}
    assert len(p.recall("quito", k=2)) == 2
    assert p.recall("quito", k=0) == [] and p.recall("quito", tiers=[]) == []
    with pytest.raises(InvalidInput, match="unknown tier"):
        p.recall("quito", tiers=["L9"])
    with pytest.raises(InvalidInput):
        p.recall("quito", k=-1)
    with pytest.raises(InvalidType):
        p.recall("quito", k=True)
    with pytest.raises(InvalidType):
        p.recall(b"quito")


def test_hit_to_dict_is_json_ready():
    import json

    p = MemoryPyramid()
    p.observe_message(1.0, "user", "orchid care notes", meta={"channel": "sms"})
    (hit,) = p.recall("orchid")
    d = json.loads(json.dumps(hit.to_dict()))
    assert d["tier"] == "L0" and d["item"]["meta"] == {"channel": "sms"}


# -- the vector index --------------------------------------------------------------------------

def test_hashing_embedder_is_deterministic_and_normalised():
    e = HashingEmbedder(dim=64)
    a, b = e(["solar panel install", "solar panel install"]), e(["solar panel install"])
    assert np.array_equal(a[0], b[0]) and np.isclose(np.linalg.norm(a[0]), 1.0)
    assert e([""])[0].tolist() == [0.0] * 64
    with pytest.raises(InvalidInput):
        HashingEmbedder(dim=2)


def test_vector_index_plugs_in_and_follows_changes():
    p = MemoryPyramid(index=VectorIndex(HashingEmbedder(dim=512)))
    p.observe_message(1.0, "user", "book a table at the sushi restaurant")
    p.observe_message(2.0, "user", "renew the car insurance")
    hits = p.recall("sushi restaurant booking", k=2)
    assert hits[0].text == "book a table at the sushi restaurant"
    p.observe_message(3.0, "user", "sushi again tonight")  # the index must see new items
    assert "sushi again tonight" in [h.text for h in p.recall("sushi", k=5)]
    p.dream()  # compaction removes raw events from the index too
    assert {h.tier for h in p.recall("sushi", k=10)} <= {"L1", "L2", "L3"}
    assert p.recall("sushi", tiers=["L0"]) == []


def test_vector_index_custom_embed_and_min_score():
    def embed(texts):
        return np.array([[1.0, 0.0] if "cat" in t else [0.0, 1.0] for t in texts])

    p = MemoryPyramid(index=VectorIndex(embed, min_score=0.5))
    p.observe_message(1.0, "user", "a cat sat")
    p.observe_message(2.0, "user", "a dog ran")
    assert [h.text for h in p.recall("cat", k=5)] == ["a cat sat"]
    bad = MemoryPyramid(index=VectorIndex(lambda texts: np.zeros(3)))
    bad.observe_message(1.0, "user", "x")
    with pytest.raises(InvalidInput, match="shape"):
        bad.recall("x")
    with pytest.raises(InvalidType):
        MemoryPyramid(index=object())


# -- properties ----------------------------------------------------------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéßøæ", min_size=2, max_size=7)
_text = st.lists(_word, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=40)
@given(texts=st.lists(_text, min_size=1, max_size=12))
def test_recall_finds_an_inserted_item_by_any_of_its_distinctive_words(texts):
    p = MemoryPyramid()
    for i, t in enumerate(texts):
        p.observe(MemoryEvent(f"e{i}", float(i), "user", t))
    owners: dict[str, set[int]] = {}
    for i, t in enumerate(texts):
        for w in words(t):
            owners.setdefault(w, set()).add(i)
    for w, who in owners.items():
        if len(who) == 1:
            (i,) = who
            hits = p.recall(w, k=3)
            assert [h.id for h in hits] == [f"e{i}"], (w, texts)


@settings(max_examples=40)
@given(texts=st.lists(_text, min_size=1, max_size=10), query=_text)
def test_fts_hits_are_exactly_the_items_sharing_a_query_word(texts, query):
    p = MemoryPyramid()
    for i, t in enumerate(texts):
        p.observe(MemoryEvent(f"e{i}", float(i), "user", t))
    q_words = set(words(query))
    content = q_words - STOPWORDS
    expect = {f"e{i}" for i, t in enumerate(texts)
              if (set(words(t)) & (content or q_words))}
    got = {h.id for h in p.recall(query, k=len(texts) + 1)}
    assert got == expect
    if not content:
        assert got == {f"e{i}" for i, t in enumerate(texts) if overlap_score(query, t) > 0}


_skewed = st.lists(
    st.lists(st.sampled_from(["aa", "aa", "aa", "bb", "bb", "cc", "dd", "ee", "ff", "gg"]),
             min_size=1, max_size=6).map(" ".join), min_size=1, max_size=40)


@settings(max_examples=60)
@given(texts=_skewed, query=st.lists(st.sampled_from(["aa", "bb", "cc", "dd", "ee", "zz"]),
                                     min_size=1, max_size=4).map(" ".join),
       k=st.integers(1, 6), tiers=st.sampled_from([None, ["L0"], ["L1"], ["L0", "L1"]]))
def test_pruned_bm25_top_k_equals_the_full_query(texts, query, k, tiers):
    from openmoe_bft.memory import FTS5Index

    pruning = FTS5Index(prune_df=2, prune_ratio=1.5)
    p = MemoryPyramid(index=pruning)
    for i, t in enumerate(texts):
        p.observe(MemoryEvent(f"e{i}", float(i), "user", t))
    p._atoms = [Atom(f"a{i}", [], t, (i % 5) / 5, 1.0) for i, t in enumerate(texts[::2])]
    got = p.recall(query, tiers=tiers, k=k)
    p._index = FTS5Index(prune_df=None)
    want = p.recall(query, tiers=tiers, k=k)
    # same scores position by position; the items may differ only where scores tie to
    # within float summation order (FTS5 adds the words' terms in query order)
    assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-12)
    everything = {(h.tier, h.id): h.score for h in p.recall(query, tiers=tiers, k=10_000)}
    for g, w in zip(got, want, strict=True):
        assert g.score == pytest.approx(everything[(g.tier, g.id)], rel=1e-12)
        if (g.tier, g.id) != (w.tier, w.id):
            assert g.score == pytest.approx(w.score, rel=1e-12)


def test_pruning_is_used_when_it_can_be():
    from openmoe_bft.memory import FTS5Index

    index = FTS5Index(prune_df=10)
    p = MemoryPyramid(index=index)
    for i in range(60):
        p.observe(MemoryEvent(f"c{i}", float(i), "user", f"common filler text number{i}"))
    for i in range(5):
        p.observe(MemoryEvent(f"r{i}", 100.0 + i, "user", f"common rare{i % 2} words"))
    hits = p.recall("common rare0 rare1", k=3)
    assert index.searches == {"pruned": 1, "full": 0}
    assert {h.id for h in hits} <= {f"r{i}" for i in range(5)} and len(hits) == 3
    p.recall("common", k=3)  # one word: nothing to prune
    assert index.searches == {"pruned": 1, "full": 1}


def test_incremental_vector_sync_matches_a_fresh_index():
    p = MemoryPyramid(index=VectorIndex(HashingEmbedder(dim=128)))
    queries = ["lyon", "paris bakery", "climbing trip", "oslo"]

    def same_as_fresh():
        live = [[(h.tier, h.id, round(h.score, 5)) for h in p.recall(q, k=20)] for q in queries]
        kept = p.index
        p._index = VectorIndex(HashingEmbedder(dim=128))
        fresh = [[(h.tier, h.id, round(h.score, 5)) for h in p.recall(q, k=20)] for q in queries]
        p._index = kept
        assert live == fresh

    p.observe_message(1.0, "user", "I live in Lyon, near a bakery")
    p.observe_message(2.0, "user", "Climbing trip with the club")
    same_as_fresh()
    p.dream()  # events compacted away, atoms/scenarios/traits added
    same_as_fresh()
    for i, city in enumerate(["Paris", "Oslo", "Paris"]):
        p.observe_message(10.0 + i, "user", f"I moved to {city}. Another bakery trip")
        p.dream()  # superseded atoms leave, trait and scenario texts change in place
        same_as_fresh()
