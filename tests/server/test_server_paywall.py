"""x402 paywall without HTTP: locally generated keys sign real EIP-3009 payments; the
local facilitator refuses bad ones with the reason; settled payments are sealed as
receipts that expert #5 (x402 Payment Validation) accepts."""

import importlib
import pathlib
import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("x402")
eth_account = pytest.importorskip("eth_account")
Account = eth_account.Account

from openmoe_bft.errors import InvalidInput  # noqa: E402
from openmoe_bft.experts import by_id  # noqa: E402
from openmoe_bft.receipts import AuditChain, Ed25519Key  # noqa: E402
from openmoe_bft.server.paywall import (  # noqa: E402
    REASONS,
    LocalFacilitator,
    Paywall,
    PaywallConfig,
    sign_payment,
)
from openmoe_bft.server.paywall.eip3009 import typed_data  # noqa: E402
from openmoe_bft.store import Store  # noqa: E402

NOW = 1_800_000_000
PAYER = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "33" * 32)
PAYEE = Account.from_key("0x" + "22" * 32).address
CFG = PaywallConfig(pay_to=PAYEE, prices={"bft_quorum": 1000}, consensus_price=5000)
REQ = CFG.requirements("bft_quorum")


def clock():
    return NOW


def pay(account=PAYER, req=REQ, **kw):
    kw.setdefault("clock", clock)
    return sign_payment(account, req, **kw)


@pytest.fixture
def fac():
    return LocalFacilitator(clock=clock)


def test_prices_cover_chosen_tools_and_consensus_calls():
    assert CFG.price_of("bft_quorum") == 1000
    assert CFG.price_of("settle_votes") == CFG.price_of("robust_route") == 5000
    assert CFG.price_of("evaluate_eu_ai_act") is None and CFG.requirements("x") is None
    assert (REQ.scheme, REQ.amount, REQ.pay_to, REQ.extra) == (
        "exact", "1000", PAYEE, {"name": "USDC", "version": "2"})


@pytest.mark.parametrize("kw", [{"pay_to": "0x12"}, {"pay_to": PAYEE, "prices": {"a": 0}},
                                {"pay_to": PAYEE, "prices": {"a": True}},
                                {"pay_to": PAYEE, "network": "solana:1"}])
def test_bad_paywall_configs_are_refused(kw):
    with pytest.raises(InvalidInput):
        PaywallConfig(**kw)


def test_a_correct_payment_verifies_and_settles_once(fac):
    p = pay()
    ok = fac.verify(p, REQ)
    assert ok.is_valid and ok.payer == PAYER.address
    s = fac.settle(p, REQ)
    assert s.success and s.amount == "1000" and s.transaction.startswith("local:")
    again = fac.settle(p, REQ)
    assert not again.success and again.error_reason == REASONS["replay"]
    assert "replayed" in fac.verify(p, REQ).invalid_message


def _refusal(fac, payload, req=REQ):
    v = fac.verify(payload, req)
    assert not v.is_valid
    s = fac.settle(payload, req)
    assert not s.success and s.error_reason == v.invalid_reason
    return v.invalid_reason, v.invalid_message


def test_underpaid(fac):
    cheap = REQ.model_copy(update={"amount": "999"})
    reason, msg = _refusal(fac, pay(req=cheap).model_copy(update={"accepted": REQ}))
    assert reason == REASONS["amount"] and msg.startswith("underpaid: authorized 999")


def test_wrong_asset(fac):
    other = REQ.model_copy(update={"asset": "0x" + "ab" * 20})
    reason, msg = _refusal(fac, pay(req=other))
    assert reason == REASONS["asset"] and "wrong asset" in msg


def test_wrong_asset_even_when_the_accepted_field_lies(fac):
    # signed over another token's EIP-712 domain, but claims to pay the priced asset
    other = REQ.model_copy(update={"asset": "0x" + "ab" * 20})
    reason, _ = _refusal(fac, pay(req=other).model_copy(update={"accepted": REQ}))
    assert reason == REASONS["signature"]


def test_expired(fac):
    reason, msg = _refusal(fac, pay(clock=lambda: NOW - 3600, valid_for=60))
    assert reason == REASONS["expired"] and msg.startswith("expired")


def test_forged_by_another_key(fac):
    p = pay(account=OTHER)
    auth = dict(p.payload["authorization"], **{"from": PAYER.address})
    forged = p.model_copy(update={"payload": {**p.payload, "authorization": auth}})
    reason, msg = _refusal(fac, forged)
    assert reason == REASONS["signature"] and "forged" in msg


def test_replayed_nonce_with_a_fresh_signature(fac):
    p = pay()
    assert fac.settle(p, REQ).success
    again = pay(nonce=p.payload["authorization"]["nonce"], valid_for=120)
    assert again.payload["signature"] != p.payload["signature"]  # a new authorization
    reason, msg = _refusal(fac, again)
    assert reason == REASONS["replay"] and msg.startswith("replayed")


def test_recipient_and_malformed_payloads(fac):
    other_payee = REQ.model_copy(update={"pay_to": OTHER.address})
    assert _refusal(fac, pay(req=other_payee).model_copy(update={"accepted": REQ}))[0] == \
        REASONS["recipient"]
    p = pay()
    for broken in ({"authorization": {"from": "x"}}, {}, {"authorization": p.payload[
            "authorization"], "signature": "0x1234"}):
        reason, _ = _refusal(fac, p.model_copy(update={"payload": broken}))
        assert reason in (REASONS["payload"], REASONS["signature"])


def test_insufficient_balance_is_refused_and_settlement_debits():
    fac = LocalFacilitator(clock=clock, balances={PAYER.address: 1500})
    assert fac.settle(pay(), REQ).success
    reason, _ = _refusal(fac, pay())
    assert reason == REASONS["balance"]


FIELDS = ("from", "to", "value", "validAfter", "validBefore", "nonce")


@given(field=st.sampled_from(FIELDS), data=st.data())
def test_any_change_to_a_signed_authorization_is_refused(field, data):
    fac = LocalFacilitator(clock=clock)
    p = pay(nonce="0x" + "07" * 32)
    auth = dict(p.payload["authorization"])
    if field in ("from", "to"):
        auth[field] = data.draw(st.sampled_from([OTHER.address, PAYEE, PAYER.address])
                                .filter(lambda a: a != auth[field]))
    elif field == "nonce":
        auth[field] = "0x" + data.draw(st.binary(min_size=32, max_size=32)
                                       .filter(lambda b: b != b"\x07" * 32)).hex()
    else:
        auth[field] = str(int(auth[field]) + data.draw(st.integers(1, 10**6)))
    changed = p.model_copy(update={"payload": {**p.payload, "authorization": auth}})
    assert not fac.verify(changed, REQ).is_valid
    assert not fac.settle(changed, REQ).success


def test_replay_is_refused_across_restarts_with_a_store(tmp_path):
    path = tmp_path / "nonces.db"
    p = pay()
    with Store(path) as s1:
        assert LocalFacilitator(store=s1, clock=clock).settle(p, REQ).success
    with Store(path) as s2:
        fac = LocalFacilitator(store=lambda: s2, clock=clock)
        assert fac.settle(p, REQ).error_reason == REASONS["replay"]
        assert fac.settle(pay(), REQ).success


def test_settled_payments_are_sealed_and_pass_expert_5():
    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    wall = Paywall(CFG, LocalFacilitator(clock=clock), seal=chain.append)
    p = pay()
    out = wall.process("bft_quorum", p)
    assert out.ok and out.receipt is not None and len(chain) == 1
    r = out.receipt.to_dict()
    assert r["payload"]["kind"] == "x402.settlement" and r["payload"]["amount"] == "1000"
    assert r["payload"]["nonce"] == p.payload["authorization"]["nonce"]
    assert out.settlement.extra["receiptId"] == out.receipt.receipt_id
    expert5 = by_id(5)
    assert expert5.a2a_field == "metadata.x402Receipt"
    assert expert5.validate(r, keys=[key.public_key]).status == "valid"
    assert expert5.validate(r, keys=[Ed25519Key.generate().public_key]).status == "invalid"
    tampered = {**r, "payload": {**r["payload"], "amount": "1"}}
    assert expert5.validate(tampered, keys=[key.public_key]).status == "invalid"
    # refused payments seal nothing
    bad = wall.process("bft_quorum", p)
    assert not bad.ok and bad.reason == REASONS["replay"] and len(chain) == 1
    assert wall.process("evaluate_eu_ai_act", None).ok  # free tools need no payment


def test_the_sealed_receipt_fills_the_x402receipt_field_of_a_card():
    from openmoe_bft.a2a import validate_card

    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    out = Paywall(CFG, LocalFacilitator(clock=clock), seal=chain.append).process(
        "bft_quorum", pay())
    card = {"name": "paid-agent", "metadata": {"x402Receipt": out.receipt.to_dict()}}
    verdict = validate_card(card, expert_keys=[key.public_key])
    assert 5 in verdict.experts_covered


def _x402_eip712():
    """x402's own EIP-712 module, loaded without its web3-dependent package __init__."""
    import x402

    base = pathlib.Path(x402.__file__).parent / "mechanisms" / "evm"
    saved = sys.modules.get("x402.mechanisms.evm")
    pkg = types.ModuleType("x402.mechanisms.evm")
    pkg.__path__ = [str(base)]
    sys.modules["x402.mechanisms.evm"] = pkg
    try:
        return (importlib.import_module("x402.mechanisms.evm.eip712"),
                importlib.import_module("x402.mechanisms.evm.types"))
    finally:
        for name in [m for m in sys.modules if m.startswith("x402.mechanisms.evm")]:
            del sys.modules[name]
        if saved is not None:
            sys.modules["x402.mechanisms.evm"] = saved


def test_our_typed_data_hashes_exactly_as_x402_does():
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    try:
        eip712, evm_types = _x402_eip712()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"x402's EIP-712 helpers cannot be loaded here: {exc}")
    auth = pay().payload["authorization"]
    ours = _hash_eip191_message(encode_typed_data(full_message=typed_data(auth, **CFG.domain)))
    parsed = evm_types.ExactEIP3009Payload.from_dict({"authorization": auth}).authorization
    theirs = eip712.hash_eip3009_authorization(parsed, 84532, REQ.asset, "USDC", "2")
    assert bytes(ours) == bytes(theirs)


def test_known_payers_are_verified_fast_and_still_strictly():
    from openmoe_bft.server.paywall import eip3009

    fac = LocalFacilitator(clock=clock)
    assert fac.verify(pay(), REQ).is_valid  # learns PAYER's public key
    assert PAYER.address.lower() in fac._pubkeys
    assert fac.verify(pay(), REQ).is_valid  # fast path
    p = pay()
    auth = dict(p.payload["authorization"], value="1")
    assert not fac._signed_by(auth, p.payload["signature"], REQ)
    other = pay(account=OTHER)
    assert not fac._signed_by(dict(other.payload["authorization"], **{"from": PAYER.address}),
                              other.payload["signature"], REQ)
    # a high-s twin of a valid signature is refused (EIP-2), before and after caching
    r, s, v = eip3009.split_signature(p.payload["signature"])
    n = eip3009._SECP256K1_N
    twin = "0x" + (r.to_bytes(32, "big") + (n - s).to_bytes(32, "big") + bytes([28 - v])).hex()
    assert not fac._signed_by(p.payload["authorization"], twin, REQ)
    assert not LocalFacilitator(clock=clock)._signed_by(p.payload["authorization"], twin, REQ)


@given(st.binary(min_size=32, max_size=32))
def test_fast_and_slow_signature_paths_agree(seed):
    acct = Account.from_key(b"\x01" + seed[1:])
    p = pay(account=acct, nonce="0x" + seed.hex())
    auth, sig = p.payload["authorization"], p.payload["signature"]
    from openmoe_bft.server.paywall.eip3009 import recover_authorizer

    assert recover_authorizer(auth, sig, **CFG.domain) == acct.address
    fac = LocalFacilitator(clock=clock)
    assert fac._signed_by(auth, sig, REQ) and fac._signed_by(auth, sig, REQ)
    bumped = dict(auth, validBefore=str(int(auth["validBefore"]) + 1))
    assert not fac._signed_by(bumped, sig, REQ)
