"""The seed's receipts call shapes (SPEC.md, "Seed call shapes") run unchanged."""

from __future__ import annotations

from openmoe_bft import AuditChain as TopLevelAuditChain
from openmoe_bft.receipts import (
    AuditChain,
    Receipt,
    VerifyResult,
    sign_ed25519,
    sign_hmac,
    verify_ed25519,
    verify_hmac,
)


def test_top_level_export():
    assert TopLevelAuditChain is AuditChain


def test_genesis_and_links():
    chain = AuditChain()
    r0 = chain.append({"decision": "route->expert-1"}, trace_id="t", timestamp=1000)
    r1 = chain.append({"step": 1}, trace_id="t", timestamp=1001)
    assert r0.prev_hash == "" and r0.parent_receipt_id is None and len(r0.entry_hash) == 64
    assert r1.prev_hash == r0.entry_hash and r1.parent_receipt_id == r0.receipt_id
    assert chain.receipts == [r0, r1]
    result = chain.verify()
    assert isinstance(result, VerifyResult) and result.ok and result.broken_at is None


def test_mutating_a_returned_payload_is_tampering():
    chain = AuditChain()
    chain.append({"step": 0}, trace_id="t", timestamp=1000)
    r = chain.append({"amount": "1.00"}, trace_id="t", timestamp=1001)
    chain.append({"step": 2}, trace_id="t", timestamp=1002)
    r.payload["amount"] = "9999.00"  # the receipt is the chain's own record
    result = chain.verify()
    assert not result.ok and result.broken_at == 1 and "tampered" in result.reason


def test_mutating_the_callers_dict_is_not_tampering():
    chain = AuditChain()
    payload = {"step": 0}
    chain.append(payload, trace_id="t", timestamp=1000)
    payload["step"] = 1  # the caller reusing its own dict changes nothing sealed
    assert chain.verify().ok


def test_hmac_signing_and_verify_signatures():
    chain = AuditChain()
    r = chain.append({"x": 1}, trace_id="t", timestamp=1000, signer_key="right")
    assert r.signer == "hmac" and verify_hmac(r.entry_hash, "right", r.signature)
    assert not verify_hmac(r.entry_hash, "wrong", r.signature)
    assert chain.verify_signatures({0: "right"}).ok
    bad = chain.verify_signatures({0: "nope"})
    assert not bad.ok and bad.broken_at == 0
    assert not chain.verify_signatures({5: "right"}).ok


def test_co_sign_with_two_hmac_keys():
    chain = AuditChain()
    r = chain.append({"decision": "approve"}, trace_id="t", timestamp=1000,
                     signer_key="alice", co_sign_key="bob")
    assert r.signer == "hmac" and r.co_signer == "hmac"
    assert verify_hmac(r.entry_hash, "alice", r.signature)
    assert verify_hmac(r.entry_hash, "bob", r.co_signature)
    assert not verify_hmac(r.entry_hash, "bob", r.signature)
    assert chain.verify_signatures({0: ("alice", "bob")}).ok
    assert not chain.verify_signatures({0: ("alice", "mallory")}).ok
    assert chain.verify().ok  # the chain remembers both keys


def test_receipt_id_is_deterministic_and_key_order_free():
    a = Receipt.create(trace_id="t", payload={"a": 1, "b": 2}, timestamp=1000)
    b = Receipt.create(trace_id="t", payload={"b": 2, "a": 1}, timestamp=1000)
    c = Receipt.create(trace_id="t", payload={"a": 1, "b": 2}, timestamp=1001)
    assert a.receipt_id == b.receipt_id != c.receipt_id
    assert a.recomputed_entry_hash() == a.entry_hash


def test_standalone_helpers_and_ed25519_is_always_available():
    sig = sign_hmac("deadbeef", "k")
    assert verify_hmac("deadbeef", "k", sig) and not verify_hmac("deadbeef", "other", sig)
    seed = bytes(range(32))
    from openmoe_bft.receipts import Ed25519Key

    pub = Ed25519Key.from_raw(seed).public_key.raw
    s = sign_ed25519("deadbeef", seed)
    assert verify_ed25519("deadbeef", pub, s)
    assert not verify_ed25519("deadbeee", pub, s)
    assert not verify_ed25519("deadbeef", pub, s.upper())  # one spelling only
