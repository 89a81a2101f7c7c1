"""The seed's run_debate shape (SPEC.md, "Seed call shapes") keeps working."""

import pytest

from openmoe_bft.bft import BFTLedger
from openmoe_bft.debate import DebateRound, run_debate


def fixed(claim):
    return lambda transcript: (claim, f"says-{claim}-r{len(transcript)}")


def test_three_of_four_agree():
    res = run_debate("deb-1", {"p1": fixed("A"), "p2": fixed("A"), "p3": fixed("A"),
                               "p4": fixed("B")}, rounds=2, ledger=BFTLedger())
    assert res.consensus and res.agreed_hash == "A"
    assert (res.quorum, res.f, res.total_participants) == (3, 1, 4)


def test_split_has_no_consensus():
    res = run_debate("deb-2", {"p1": fixed("A"), "p2": fixed("A"), "p3": fixed("B"),
                               "p4": fixed("B")}, rounds=3, ledger=BFTLedger())
    assert not res.consensus and res.agreed_hash is None


def test_follower_converges_after_reading_the_transcript():
    def stubborn(transcript):
        return "WIN", "I hold WIN"

    def follower(transcript):
        return ("WIN", "I now agree") if transcript else ("LOSE", "initially LOSE")

    res = run_debate("deb-3", {"c": follower, "a": stubborn, "b": stubborn}, 2, BFTLedger())
    assert res.consensus and res.agreed_hash == "WIN"
    assert res.debate.positions == {"a": "WIN", "b": "WIN", "c": "WIN"}
    assert res.turns[0].position == "LOSE"  # c spoke first, to an empty transcript


def test_transcript_accumulates_and_each_proposer_sees_it_grow():
    seen = []

    def recorder(transcript):
        seen.append(len(transcript))
        return "X", "msg"

    res = run_debate("deb-4", {"p1": fixed("A"), "p2": recorder, "p3": fixed("A")}, 3,
                     BFTLedger())
    assert len(res.debate.transcript) == 9 == len(res.transcript)
    assert res.debate.participants == ["p1", "p2", "p3"]
    assert all(isinstance(e, tuple) and len(e) == 2 for e in res.debate.transcript)
    assert seen == [1, 4, 7]


def test_votes_land_in_the_given_ledger():
    ledger = BFTLedger()
    res = run_debate("deb-6", {"p1": fixed("A"), "p2": fixed("A"), "p3": fixed("A")}, 1, ledger)
    rnd = ledger.status("deb-6")
    assert rnd is res.round and rnd.consensus_reached and rnd.agreed_hash == "A"
    assert set(rnd.votes) == {"p1", "p2", "p3"}


def test_seed_validation_errors_are_value_errors():
    with pytest.raises(ValueError):
        run_debate("x", {}, rounds=1, ledger=BFTLedger())
    with pytest.raises(ValueError):
        run_debate("x", {"p1": fixed("A")}, rounds=0, ledger=BFTLedger())


def test_debate_round_record_helper():
    dr = DebateRound()
    dr.record("a", "H1", "hello")
    dr.record("b", "H2", "world")
    dr.record("a", "H3", "revised")
    assert dr.participants == ["a", "b"]
    assert dr.positions == {"a": "H3", "b": "H2"}
    assert dr.transcript == [("a", "hello"), ("b", "world"), ("a", "revised")]
