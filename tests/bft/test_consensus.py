import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft import BFTConsensus
from openmoe_bft.errors import InvalidInput


# -- the seed's behaviour -------------------------------------------------------------
def test_consensus_reached_unanimous():
    c = BFTConsensus(total_nodes=4)
    assert not c.consensus_reached
    c.vote("a", "H")
    c.vote("b", "H")
    assert not c.consensus_reached
    assert c.vote("c", "H")
    assert c.agreed_hash == "H" and c.majority_count == 3


def test_split_vote_has_no_consensus():
    c = BFTConsensus(total_nodes=7)
    for i, h in enumerate("AABBCCD"):
        c.vote(f"n{i}", h)
    assert not c.consensus_reached and c.agreed_hash is None and c.majority_count == 2


def test_byzantine_minority_outvoted():
    c = BFTConsensus(total_nodes=7)
    for nid in ("h1", "h2", "h3", "h4", "h5"):
        c.vote(nid, "GOOD")
    c.vote("byz1", "EVIL")
    c.vote("byz2", "OTHER")
    assert c.agreed_hash == "GOOD" and c.majority_count == 5


def test_single_node_decides_alone():
    c = BFTConsensus(total_nodes=1)
    assert c.vote("only", "X") and c.agreed_hash == "X"


def test_empty_round():
    c = BFTConsensus(total_nodes=3)
    assert (c.majority_hash, c.majority_count, c.agreed_hash) == (None, 0, None)


def test_serialization():
    c = BFTConsensus(total_nodes=4)
    for n in "abc":
        c.vote(n, "H")
    d = c.to_dict()
    assert d["quorum"] == 3 and d["f"] == 1 and d["consensus_reached"] is True
    assert json.loads(c.to_json())["agreed_hash"] == "H"


def test_invalid_node_count():
    with pytest.raises(ValueError):
        BFTConsensus(total_nodes=0)


# -- deliberate differences -----------------------------------------------------------
def test_equivocation_discards_both_votes_and_keeps_evidence():
    c = BFTConsensus(total_nodes=4, round_id="r1")
    c.vote("a", "X")
    c.vote("a", "Y")
    assert "a" not in c.votes and c.majority_count == 0
    ev = c.equivocators["a"]
    assert (ev.round_id, ev.first_hash, ev.second_hash) == ("r1", "X", "Y")
    c.vote("a", "X")  # later votes of an equivocator are ignored
    assert "a" not in c.votes
    s = c.settle()
    assert s.equivocators == ("a",) and s.evidence[0].node_id == "a"


def test_same_vote_twice_is_idempotent():
    c = BFTConsensus(total_nodes=4)
    c.vote("a", "X")
    c.vote("a", "X")
    assert c.votes == {"a": "X"} and not c.equivocators


def test_reached_decision_never_changes():
    c = BFTConsensus(total_nodes=4)
    for n in "abc":
        c.vote(n, "H")
    c.vote("a", "OTHER")  # a voter of H is caught equivocating afterwards
    assert c.consensus_reached and c.agreed_hash == "H"
    assert c.settle().votes_for == 3


def test_n3_needs_a_majority_not_one_vote():
    c = BFTConsensus(total_nodes=3)
    assert c.quorum == 1  # the seed's formula is kept ...
    assert not c.vote("a", "X")  # ... but one vote of three does not decide
    assert c.vote("b", "X")


def test_n6_cannot_decide_two_values():
    c = BFTConsensus(total_nodes=6)
    for n in "abc":
        c.vote(n, "X")
    for n in "def":
        c.vote(n, "Y")
    assert not c.consensus_reached  # seed would have said "quorum" for both


def test_round_refuses_more_than_n_voters_and_unknown_members():
    c = BFTConsensus(total_nodes=2)
    c.vote("a", "X")
    c.vote("b", "X")
    with pytest.raises(InvalidInput, match="refusing more"):
        c.vote("c", "X")
    m = BFTConsensus(total_nodes=2, nodes=["a", "b"])
    with pytest.raises(InvalidInput, match="not members"):
        m.vote("z", "X")
    with pytest.raises(InvalidInput):
        BFTConsensus(total_nodes=2, nodes=["a", "a"])


def test_vote_by_value_and_settlement_fields():
    c = BFTConsensus(total_nodes=4, nodes=["a", "b", "c", "d"])
    for n in "abc":
        c.vote(n, value={"expert": 3})
    s = c.settle()
    assert s.agreed and s.value == {"expert": 3} and s.votes_for == 3 and s.abstained == ("d",)
    assert s.threshold == 3 and s.n == 4 and s.f == 1
    assert json.loads(s.to_json())["value"] == {"expert": 3}


def test_bad_votes_are_refused_and_change_nothing():
    c = BFTConsensus(total_nodes=4)
    c.vote("a", "X")
    for args in [(None, "X"), ("", "X"), ("b", ""), ("b", 5)]:
        with pytest.raises(InvalidInput):
            c.vote(*args)
    with pytest.raises(InvalidInput):
        c.vote("b")  # neither hash nor value
    assert c.votes == {"a": "X"}


@given(
    n=st.integers(1, 31),
    votes=st.lists(st.tuples(st.integers(0, 30), st.sampled_from("XYZ")), max_size=80),
)
def test_decision_needs_threshold_distinct_non_equivocating_voters(n, votes):
    c = BFTConsensus(total_nodes=n, nodes=[f"n{i}" for i in range(n)])
    history = {}
    decided_at_some_point = None
    for node, value in votes:
        if node >= n:
            continue
        c.vote(f"n{node}", value)
        history.setdefault(node, []).append(value)
        if c.agreed_hash is not None and decided_at_some_point is None:
            decided_at_some_point = c.agreed_hash
    assert c.agreed_hash == decided_at_some_point  # never changes once set
    equivocators = {f"n{k}" for k, vs in history.items() if len(set(vs)) > 1}
    assert set(c.equivocators) == equivocators
    if c.agreed_hash is not None:
        first_votes = [vs[0] for vs in history.values()]
        assert first_votes.count(c.agreed_hash) >= c.threshold
