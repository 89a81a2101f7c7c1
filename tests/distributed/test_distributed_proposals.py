"""Signed batch proposals: a relay cannot forge or alter a vote without detection."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.distributed.faults import Forge
from openmoe_bft.distributed.proposals import (
    EquivocationProof,
    SignedProposal,
    parse_message,
    proposal_message,
    sign_proposal,
    verify_proposal,
)
from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import Ed25519Key

KEY = Ed25519Key.from_raw(bytes(range(32)))
OTHER = Ed25519Key.from_raw(bytes(range(1, 33)))
IDS = np.array([[0, 3], [1, 2], [5, 4]], dtype=np.int8)


def _ok(p, key=KEY, **kw):
    args = {"replica_id": "r0", "batch_id": "b1", "tokens": 3, "k": 2, **kw}
    return verify_proposal(p, key.public_key, **args)


def test_valid_proposal_verifies_and_names_itself():
    p = sign_proposal(KEY, "r0", "b1", IDS)
    assert _ok(p) is None
    d = p.to_dict()
    assert d["shape"] == [3, 2] and d["dtype"] == "|i1" and d["key_id"] == KEY.key_id
    header = parse_message(p.message)
    assert header["replica"] == "r0" and header["batch"] == "b1" and header["shape"] == [3, 2]


def test_signature_covers_dtype_and_shape():
    wide = sign_proposal(KEY, "r0", "b1", IDS.astype(np.int64))
    narrow = sign_proposal(KEY, "r0", "b1", IDS)
    assert wide.message != narrow.message
    # the same values in another dtype under the old signature: refused
    forged = SignedProposal("r0", "b1", IDS.astype(np.int64), KEY.key_id, narrow.signature)
    assert "bad signature" in _ok(forged)
    flat = SignedProposal("r0", "b1", IDS.reshape(2, 3), KEY.key_id, narrow.signature)
    assert _ok(flat, tokens=None, k=None) is not None


@given(st.integers(0, 5), st.integers(1, 5))
def test_any_altered_id_is_refused(pos, delta):
    p = sign_proposal(KEY, "r0", "b1", IDS)
    ids = p.ids.copy()
    ids.flat[pos] = (int(ids.flat[pos]) + delta) % 64
    altered = SignedProposal(p.replica_id, p.batch_id, ids, p.key_id, p.signature)
    assert "bad signature" in _ok(altered)


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"replica_id": "r1"}, "forged identity"),
        ({"batch_id": "b0"}, "replayed or stale"),
        ({"tokens": 4}, "the batch has 4"),
        ({"k": 3}, "k is 3"),
    ],
)
def test_wrong_replica_batch_or_shape_is_refused(change, expect):
    p = sign_proposal(KEY, "r0", "b1", IDS)
    assert expect in _ok(p, **change)


def test_wrong_key_and_non_proposals_are_refused():
    p = sign_proposal(OTHER, "r0", "b1", IDS)
    assert "registered key" in _ok(p)
    assert "not a signed proposal" in _ok({"ids": IDS})
    bad = SignedProposal("r0", "b1", IDS.astype(np.float32), KEY.key_id, "00")
    assert "integer array" in _ok(bad)


@pytest.mark.parametrize("kind", ["impersonate", "alter", "bad_signature"])
def test_forge_hooks_never_pass_verification(kind):
    forge = Forge(kind, target="r0")
    p = forge(sign_proposal(OTHER, "r1", "b1", IDS), OTHER)
    # checked as the replica it came from (r1) and, for impersonation, as the victim (r0)
    assert verify_proposal(p, OTHER.public_key, replica_id="r1", batch_id="b1") is not None
    assert verify_proposal(p, KEY.public_key, replica_id="r0", batch_id="b1") is not None


def test_replay_forge_sends_the_previous_batch():
    forge = Forge("replay")
    first = forge(sign_proposal(KEY, "r0", "b1", IDS), KEY)
    assert _ok(first) is None  # nothing to replay yet
    second = forge(sign_proposal(KEY, "r0", "b2", IDS), KEY)
    assert second.batch_id == "b1"
    assert "stale" in verify_proposal(second, KEY.public_key, replica_id="r0", batch_id="b2")


def test_bad_arguments_are_typed_errors():
    with pytest.raises(InvalidType):
        sign_proposal(KEY, "r0", "b1", IDS.astype(float))
    with pytest.raises(InvalidInput):
        sign_proposal(KEY, "r0", "b1", np.zeros((2, 2, 2), dtype=int))
    with pytest.raises(InvalidType):
        sign_proposal(KEY, "", "b1", IDS)
    with pytest.raises(InvalidInput):
        Forge("nonsense")
    with pytest.raises(InvalidInput):
        Forge("impersonate")


def test_one_dimensional_ids_mean_k_equals_one_and_big_endian_is_normalised():
    p = sign_proposal(KEY, "r0", "b1", np.array([1, 2, 3], dtype=">i4"))
    assert p.ids.shape == (3, 1) and p.ids.dtype == np.dtype("<i4")
    assert verify_proposal(p, KEY, replica_id="r0", batch_id="b1", tokens=3, k=1) is None
    assert proposal_message("r0", "b1", p.ids) == p.message


def test_equivocation_proof_verifies_offline_and_only_for_real_conflicts():
    a = sign_proposal(KEY, "r0", "b1", IDS)
    b = sign_proposal(KEY, "r0", "b1", IDS[::-1].copy())
    proof = EquivocationProof("r0", "b1", a.message, a.signature, b.message, b.signature)
    assert proof.verify(KEY.public_key)
    assert not proof.verify(OTHER.public_key)
    same = EquivocationProof("r0", "b1", a.message, a.signature, a.message, a.signature)
    assert not same.verify(KEY.public_key)
    other_batch = sign_proposal(KEY, "r0", "b2", IDS)
    mixed = EquivocationProof("r0", "b1", a.message, a.signature, other_batch.message,
                              other_batch.signature)
    assert not mixed.verify(KEY.public_key)
    assert proof.to_dict()["first"]["message"].startswith("openmoe-bft/proposal/v1")
