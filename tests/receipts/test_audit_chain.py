"""AuditChain behaviours: signing schemes, rotation, co-signing, batch sealing,
tree heads and proofs, persistence, bad input."""

from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import (
    AuditChain,
    Ed25519Key,
    Ed25519PublicKey,
    HmacKey,
    KeyRing,
    Receipt,
    load_verifier,
)
from openmoe_bft.receipts.records import entry_bytes, format_timestamp
from openmoe_bft.store import Store


def _clock():
    counter = itertools.count(1_700_000_000)
    return lambda: next(counter)


@pytest.fixture
def key():
    return Ed25519Key.from_raw(bytes(range(32)))


# -- encoding -------------------------------------------------------------------------
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53) + 1, 2**53 - 1))
def test_timestamp_text_is_rfc8785(value):
    import rfc8785

    assert format_timestamp(value) == rfc8785.dumps(value).decode()


@given(st.text(), st.integers(0, 10**9), st.floats(0, 1e12, allow_nan=False))
def test_entry_encoding_is_rfc8785_of_the_entry(trace_id, seq, ts):
    import rfc8785

    try:
        trace_id.encode("utf-8")
    except UnicodeEncodeError:
        return
    h = "ab" * 32
    fields = {"parent_receipt_id": None, "payload_hash": h, "prev_hash": "", "seq": seq,
              "timestamp": ts, "trace_id": trace_id, "v": 1}
    assert entry_bytes(seq, "", None, h, format_timestamp(ts), trace_id) == rfc8785.dumps(fields)


@pytest.mark.parametrize("payload", [{1: "a"}, {"x": {1, 2}}, {"x": float("nan")}, b"raw",
                                     {"big": 2**60}, object()])
def test_non_json_payload_is_refused_and_changes_nothing(payload):
    chain = AuditChain()
    chain.append({"ok": True}, trace_id="t", timestamp=1)
    with pytest.raises(InvalidInput):
        chain.append(payload, trace_id="t", timestamp=2)
    assert len(chain) == 1 and chain.verify().ok


def test_bad_trace_id_and_timestamp_are_refused():
    chain = AuditChain()
    with pytest.raises(InvalidType):
        chain.append({}, trace_id=5, timestamp=1)
    with pytest.raises(InvalidInput):
        chain.append({}, trace_id="t", timestamp=float("inf"))
    with pytest.raises(InvalidType):
        chain.append({}, trace_id="t", timestamp="yesterday")
    assert len(chain) == 0


def test_append_many_is_all_or_nothing(tmp_path):
    chain = AuditChain(tmp_path / "a.db")
    chain.append({"i": 0}, timestamp=1)
    with pytest.raises(InvalidInput):
        chain.append_many([{"i": 1}, {"i": {2, 3}}], timestamps=[2, 3])
    with pytest.raises(InvalidInput):
        chain.append_many([{"i": 1}], timestamps=[2, 3])
    assert len(chain) == 1 and chain.verify().ok


def test_clock_is_injected():
    chain = AuditChain(clock=lambda: 42)
    assert chain.append({"a": 1}).timestamp == 42


# -- signers --------------------------------------------------------------------------
def test_ed25519_is_the_default_for_a_private_key(key):
    chain = AuditChain(signer=key)
    r = chain.append({"a": 1}, trace_id="t", timestamp=1)
    assert r.signer == "ed25519" and r.key_id == key.key_id
    assert key.public_key.verify(r.signed_message, r.signature)
    chain2 = AuditChain(signer=Ed25519PrivateKey.generate())  # a cryptography key works too
    assert chain2.append({"a": 1}, timestamp=1).signer == "ed25519"


def test_key_loading_round_trips(key, tmp_path):
    assert Ed25519Key.from_pem(key.to_pem()).key_id == key.key_id
    assert Ed25519Key.from_pem(key.to_pem(b"pw"), password=b"pw").raw == key.raw
    assert Ed25519PublicKey.from_pem(key.public_key.to_pem()).key_id == key.key_id
    assert load_verifier(key.public_key.to_pem()).key_id == key.key_id
    assert load_verifier(key.public_key.raw.hex().encode()).key_id == key.key_id
    assert load_verifier(key.to_pem()).key_id == key.key_id  # a private key file works too
    with pytest.raises(InvalidInput):
        load_verifier(b"not a key")
    with pytest.raises(InvalidInput):
        Ed25519Key.from_pem(key.to_pem(b"pw"), password=b"wrong")
    with pytest.raises(InvalidInput):
        Ed25519Key.from_raw(b"short")
    assert "secret" not in repr(HmacKey("secret")) and "key_id" in repr(key)


def test_hmac_key_ids_are_stable_and_do_not_print_the_secret():
    assert HmacKey("s").key_id == HmacKey(b"s").key_id != HmacKey("t").key_id
    assert HmacKey("s", key_id="ops-2026").key_id == "ops-2026"
    with pytest.raises(InvalidInput):
        HmacKey("")


def test_a_signature_under_an_unknown_key_fails(key):
    chain = AuditChain(signer=key)
    chain.append({"a": 1}, timestamp=1)
    other = Ed25519Key.generate()
    result = chain.verify(keys=[other.public_key])
    assert not result.ok and result.broken_at == 0 and "unknown key id" in result.reason
    assert chain.verify(keys=[key.public_key]).ok


def test_keyring_refuses_two_keys_with_one_id():
    with pytest.raises(InvalidInput):
        KeyRing([HmacKey("a", key_id="k"), HmacKey("b", key_id="k")])


def test_rotation_keeps_old_receipts_verifiable(key):
    chain = AuditChain(signer=key)
    chain.append({"n": 0}, timestamp=1)
    new = Ed25519Key.generate()
    chain.rotate(new)
    r = chain.append({"n": 1}, timestamp=2)
    assert r.key_id == new.key_id and chain.get(0).key_id == key.key_id
    assert chain.verify().ok
    assert chain.verify(keys=[key.public_key, new.public_key]).ok
    assert not chain.verify(keys=[new.public_key]).ok  # the old key is needed for entry 0


def test_rotation_in_batch_mode_seals_with_the_old_key_first(key):
    chain = AuditChain(signer=key, sealing="batch", checkpoint_every=100, clock=_clock())
    chain.append_many([{"i": i} for i in range(5)])
    cp = chain.rotate(Ed25519Key.generate())
    assert cp is not None and cp.size == 5 and cp.key_id == key.key_id


def test_bilateral_co_signing(key, tmp_path):
    counterparty = Ed25519Key.generate()
    chain = AuditChain(tmp_path / "c.db", signer=key)
    chain.append({"deal": 1}, trace_id="t", timestamp=1)
    r = chain.co_sign(0, counterparty)
    assert r.co_key_id == counterparty.key_id and r.co_signer == "ed25519"
    assert chain.get(0).co_signature == r.co_signature
    assert chain.verify(keys=[key.public_key, counterparty.public_key]).ok
    bad = chain.verify(keys=[key.public_key])
    assert not bad.ok and "co-signature" in bad.reason
    with pytest.raises(InvalidInput):
        chain.co_sign(0, counterparty)
    chain2 = AuditChain(signer=key, co_signer=counterparty)
    assert chain2.append({"x": 1}, timestamp=1).co_signature is not None


# -- batch sealing, tree heads, proofs -------------------------------------------------
def test_batch_sealing_signs_tree_heads_not_entries(key):
    chain = AuditChain(signer=key, sealing="batch", checkpoint_every=4, clock=_clock())
    rs = chain.append_many([{"i": i} for i in range(10)])
    assert all(r.signature is None for r in rs)
    assert [cp.size for cp in chain.checkpoints] == [4, 8]
    result = chain.verify()
    assert result.ok and result.checkpoints == 2 and result.unsealed == 2
    assert not chain.verify(require_sealed=True).ok
    cp = chain.checkpoint()
    assert cp.size == 10 and chain.checkpoint() == cp  # idempotent
    assert chain.verify(require_sealed=True).ok


def test_batch_mode_needs_a_signer():
    with pytest.raises(InvalidInput):
        AuditChain(sealing="batch")
    with pytest.raises(InvalidInput):
        AuditChain(sealing="nope")
    with pytest.raises(InvalidInput):
        AuditChain().checkpoint()


@pytest.mark.parametrize("store", [None, "file"])
def test_inclusion_and_consistency_proofs_verify_with_the_public_key_only(key, store, tmp_path):
    chain = AuditChain(None if store is None else tmp_path / "p.db", signer=key,
                       sealing="batch", checkpoint_every=7, clock=_clock())
    chain.append_many([{"i": i} for i in range(30)])
    pub = key.public_key
    for seq in (0, 6, 7, 20, 27):
        proof = chain.inclusion_proof(seq)
        assert proof.checkpoint is not None and proof.checkpoint.size > seq
        assert proof.verify(pub) and proof.verify(pub, receipt=chain.get(seq))
        assert not proof.verify(pub, receipt=chain.get((seq + 1) % 28))
        assert not proof.verify(Ed25519Key.generate().public_key)
    cps = chain.checkpoints
    proof = chain.consistency_proof(cps[0], cps[-1])
    assert proof.verify(pub)
    assert not chain.consistency_proof(cps[1], cps[2]).verify(Ed25519Key.generate().public_key)
    assert chain.root(7) == cps[0].root_hash


def test_unsigned_proof_has_no_tree_head():
    chain = AuditChain()
    chain.append_many([{"i": i} for i in range(5)], timestamps=range(5))
    proof = chain.inclusion_proof(3)
    assert proof.checkpoint is None and proof.verify()
    assert not proof.verify(Ed25519Key.generate().public_key)  # no signed head to vouch


# -- persistence ----------------------------------------------------------------------
def test_a_store_chain_survives_reopen_and_continues(key, tmp_path):
    path = tmp_path / "audit.db"
    with AuditChain(path, signer=key) as chain:
        first = chain.append({"n": 0}, trace_id="t", timestamp=1.5)
    with AuditChain(path, signer=key) as chain:
        second = chain.append({"n": 1}, trace_id="t", timestamp=2)
        assert second.prev_hash == first.entry_hash and second.seq == 1
        assert chain.receipts == [first, second] and chain.verify().ok


def test_store_chains_share_a_store_with_other_components(key):
    store = Store()
    from openmoe_bft.bft import BFTLedger

    BFTLedger(store=store)
    chain = AuditChain(store, signer=key)
    chain.append({"x": 1}, timestamp=1)
    assert chain.verify().ok


def test_receipt_round_trips_through_dict(key):
    r = AuditChain(signer=key).append({"a": [1, 2.5, None]}, trace_id="t", timestamp=1)
    assert Receipt.from_dict(r.to_dict()) == r
    with pytest.raises(InvalidInput):
        Receipt.from_dict({"nope": 1})


def test_get_and_seq_errors():
    chain = AuditChain()
    with pytest.raises(InvalidInput):
        chain.get(0)
    with pytest.raises(InvalidType):
        chain.get("0")
    with pytest.raises(InvalidInput):
        chain.inclusion_proof(0)


def test_a_non_ascii_or_non_str_signature_is_just_a_bad_signature():
    from openmoe_bft.receipts import verify_hmac

    chain = AuditChain(signer=HmacKey("k"))
    chain.append({"a": 1}, timestamp=1)
    chain._records[0] = __import__("dataclasses").replace(chain._records[0], signature="é" * 64)
    result = chain.verify()
    assert not result.ok and result.broken_at == 0
    assert not verify_hmac("ab", "k", "é") and not verify_hmac("ab", "k", None)
    assert not Ed25519Key.generate().public_key.verify(b"m", "zz")


def test_appending_to_a_reopened_chain_does_not_read_every_hash(key, tmp_path):
    path = tmp_path / "lazy.db"
    with AuditChain(path, signer=key) as chain:
        chain.append_many([{"i": i} for i in range(20)], timestamps=range(20))
        root = chain.root()
    with AuditChain(path, signer=key) as chain:
        chain.append({"i": 20}, timestamp=20)
        assert chain._tree is None  # entry mode, no tree heads due: no tree built
        cp = chain.checkpoint()  # built on demand, from the store
        assert cp.size == 21 and chain.root(20) == root
        assert chain.inclusion_proof(20).verify(key.public_key, receipt=chain.get(20))
        assert chain.verify(require_sealed=True).ok


def test_verify_export_leaves_a_callers_stream_open(key):
    import io

    from openmoe_bft.receipts import export_chain, verify_export

    chain = AuditChain(signer=key)
    chain.append({"a": 1}, timestamp=1)
    buf = io.BytesIO()
    export_chain(chain, buf)
    stream = io.BytesIO(buf.getvalue())
    assert verify_export(stream, [key.public_key]).ok and not stream.closed


def test_a_per_call_key_cannot_reuse_a_known_key_id():
    chain = AuditChain(signer=HmacKey("right", key_id="ops"))
    chain.append({"a": 1}, timestamp=1)
    with pytest.raises(InvalidInput):
        chain.append({"a": 2}, timestamp=2, signer_key=HmacKey("other", key_id="ops"))
    assert len(chain) == 1 and chain.verify().ok
