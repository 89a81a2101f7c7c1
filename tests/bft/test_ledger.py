import pytest

from openmoe_bft import BFTLedger
from openmoe_bft.bft import Ballot
from openmoe_bft.errors import InvalidInput
from openmoe_bft.store import Store


def test_seed_ledger_keys_rounds_by_session():
    ledger = BFTLedger()
    r = ledger.cast_vote("sess-1", "a", "H", total_nodes=4)
    assert r is ledger.status("sess-1")
    ledger.cast_vote("sess-1", "b", "H", total_nodes=4)
    ledger.cast_vote("sess-2", "a", "Z", total_nodes=4)
    assert len(ledger.status("sess-1").votes) == 2
    assert len(ledger.status("sess-2").votes) == 1
    assert ledger.status("missing") is None
    ledger.reset("sess-1")
    assert ledger.status("sess-1") is None


def test_settle_records_values_abstentions_and_equivocators():
    ledger = BFTLedger()
    ledger.record(
        "t1",
        [Ballot("a", value=3), Ballot("b", value=3), Ballot("c", value=3), Ballot("d", reason="timed out")],
        total_nodes=5, nodes=["a", "b", "c", "d", "e"],
    )
    ledger.cast("t1", "e", 4, total_nodes=5)
    ledger.cast("t1", "e", 5, total_nodes=5)
    s = ledger.settle("t1")
    assert s.agreed and s.value == 3 and s.votes_for == 3
    assert s.abstained == ("d",) and s.abstentions[0].reason == "timed out"
    assert s.equivocators == ("e",) and (s.evidence[0].first_value, s.evidence[0].second_value) == (4, 5)


def test_failed_record_changes_nothing():
    ledger = BFTLedger()
    ledger.cast("t", "a", 1, total_nodes=2)
    before = ledger.settle("t")
    with pytest.raises(InvalidInput):  # third distinct voter in a 2-node round
        ledger.record("t", [Ballot("b", value=1), Ballot("c", value=1)], total_nodes=2)
    with pytest.raises(InvalidInput):  # unhashable value
        ledger.record("t", [Ballot("b", value=float("nan"))], total_nodes=2)
    with pytest.raises(InvalidInput):  # different replica-set size for the same round
        ledger.cast("t", "b", 1, total_nodes=3)
    assert ledger.settle("t") == before


@pytest.mark.parametrize("sid", [None, "", 5])
def test_bad_session_ids(sid):
    with pytest.raises(InvalidInput):
        BFTLedger().cast(sid, "a", 1, total_nodes=1)


def test_settle_unknown_round():
    with pytest.raises(InvalidInput, match="no round"):
        BFTLedger().settle("nope")


def test_persistent_ledger_survives_reopen(tmp_path):
    path = tmp_path / "votes.db"
    ledger = BFTLedger(path)
    for n in "abc":
        ledger.cast("t1", n, {"experts": [1, 2]}, total_nodes=4)
    ledger.cast("t2", "a", "x", total_nodes=4)
    ledger.cast("t2", "a", "y", total_nodes=4)
    ledger.abstain("t2", "b", "raised ValueError", total_nodes=4)
    before = {sid: ledger.settle(sid) for sid in ledger.rounds}
    ledger.store.close()

    again = BFTLedger(Store(path))
    assert {sid: again.settle(sid) for sid in again.rounds} == before
    assert again.settle("t1").value == {"experts": [1, 2]}
    assert again.settle("t2").equivocators == ("a",)
    again.reset("t2")
    again.store.close()
    assert BFTLedger(path).rounds == ["t1"]


def test_persistent_failed_call_writes_nothing(tmp_path):
    ledger = BFTLedger(tmp_path / "v.db")
    ledger.cast("t", "a", 1, total_nodes=1)
    with pytest.raises(InvalidInput):
        ledger.record("t", [Ballot("b", value=1)], total_nodes=1)
    assert ledger.store.query("SELECT count(*) FROM bft_events") == [(1,)]


def test_votes_cast_on_a_round_object_are_persisted_too(tmp_path):
    path = tmp_path / "v.db"
    ledger = BFTLedger(path)
    rnd = ledger.cast_vote("s", "a", "H", total_nodes=4)  # the seed hands back the round ...
    rnd.vote("b", "H")  # ... and callers vote on it directly
    rnd.vote("c", "H")
    rnd.abstain("d", "offline")
    ledger.round_for("s2", 4).vote("a", value=5)
    ledger.store.close()
    again = BFTLedger(path)
    assert again.settle("s").agreed and again.settle("s").abstained == ("d",)
    assert again.settle("s2").votes[0].value == 5


def test_cast_vote_accepts_the_vote_hash_spelling():
    from openmoe_bft.bft import BFTLedger
    from openmoe_bft.errors import InvalidInput

    ledger = BFTLedger()
    for node in ("a", "b", "c"):
        ledger.cast_vote("s", node, vote_hash="h1", total_nodes=4)
    assert ledger.status("s").agreed_hash == "h1"
    with pytest.raises(InvalidInput, match="not two different"):
        ledger.cast_vote("t", "a", "h1", 4, vote_hash="h2")
    with pytest.raises(InvalidInput, match="total_nodes"):
        ledger.cast_vote("t", "a", "h1")
    with pytest.raises(InvalidInput, match="hash"):
        ledger.cast_vote("t", "a", total_nodes=4)
