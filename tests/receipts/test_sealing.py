"""BFT decisions sealed as receipts: per-token routing decisions and whole batches."""

from __future__ import annotations

import numpy as np
import pytest

from openmoe_bft.bft import BFTRouter, settle_batch
from openmoe_bft.errors import InvalidInput, InvalidType, NoConsensusError
from openmoe_bft.receipts import AuditChain, Ed25519Key
from openmoe_bft.receipts.sealing import seal_settlement

KEY = Ed25519Key.from_raw(bytes(range(32)))


def test_router_seals_every_decision_before_dispatch():
    chain = AuditChain(signer=KEY)
    ran = []
    router = BFTRouter({"a": lambda t: ran.append(t) or "A", "b": lambda t: "B"},
                       replicas=[lambda t: "a"] * 3 + [lambda t: "b"], timeout=None, audit=chain)
    decision = router.route("tok-1", session_id="s1")
    assert decision.dispatched and decision.receipt is not None
    assert decision.receipt.payload["expert_key"] == "a"
    assert decision.receipt.payload["agreed_hash"] == decision.agreed_hash
    assert decision.receipt.trace_id == "s1"
    split = BFTRouter({"a": None, "b": None}, replicas=[lambda t: "a", lambda t: "a",
                                                       lambda t: "b", lambda t: "b"],
                      timeout=None, audit=chain)
    with pytest.raises(NoConsensusError) as info:
        split.route("tok-2", session_id="s2", strict=True)
    assert info.value.decision.receipt.payload["consensus"] is False  # withheld, still sealed
    assert len(chain) == 2 and chain.verify(require_sealed=True).ok


def test_router_refuses_a_non_chain_audit():
    with pytest.raises(InvalidType):
        BFTRouter({"a": None}, replicas=[lambda t: "a"], audit="chain.db")


def test_a_batch_is_one_receipt_and_every_token_is_provable():
    rng = np.random.default_rng(0)
    logits = np.repeat(rng.normal(size=(1, 64, 8)), 7, axis=0).astype(np.float32)
    logits[5:] = rng.normal(size=(2, 64, 8))  # two Byzantine replicas
    logits[:, 3] = rng.normal(size=(7, 8))  # token 3: everyone disagrees
    settlement = settle_batch(logits=logits, k=2)
    chain = AuditChain(signer=KEY, sealing="batch", checkpoint_every=1)
    sealed = seal_settlement(chain, settlement, trace_id="batch-0", timestamp=1)
    assert len(chain) == 1 and sealed.receipt.payload["tokens"] == 64
    for t in range(64):
        proof = sealed.prove(t)
        assert proof.verify(sealed.receipt)
        assert proof.dispatched == bool(settlement.dispatched[t])
        if proof.dispatched:
            assert list(proof.experts) == settlement.expert_ids[t].tolist()
    assert not sealed.prove(3).dispatched
    forged = sealed.prove(4)
    from dataclasses import replace

    assert not replace(forged, experts=(0, 1) if forged.experts != (0, 1) else (2, 3)).verify(
        sealed.receipt)
    assert not replace(forged, dispatched=not forged.dispatched).verify(sealed.receipt)
    assert not forged.verify(chain.append({"other": 1}, timestamp=2))
    with pytest.raises(InvalidInput):
        sealed.prove(64)
    assert chain.inclusion_proof(0).verify(KEY.public_key, receipt=sealed.receipt)
