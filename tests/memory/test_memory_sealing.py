"""digest() and seal_dream(): a dream pass as a receipt."""

import pytest

from openmoe_bft.errors import InvalidType
from openmoe_bft.memory import MemoryPyramid, seal_dream
from openmoe_bft.receipts import AuditChain, HmacKey


def _memory():
    p = MemoryPyramid()
    p.observe_message(1.0, "user", "I live in Kyoto. Matcha every morning.")
    p.observe_message(2.0, "user", "Matcha again, with the Kyoto tea club.")
    return p


def test_digest_tracks_content_not_identity():
    a, b = _memory(), _memory()
    assert a.digest() == b.digest()
    a.dream()
    assert a.digest() != b.digest()
    b.dream()
    assert a.digest() == b.digest()
    b.dream()  # idempotent pass: same memory
    assert a.digest() == b.digest()
    b.observe_message(3.0, "user", "I moved to Osaka")
    assert a.digest() != b.digest()


def test_seal_dream_appends_a_verifiable_receipt():
    p = _memory()
    chain = AuditChain(signer=HmacKey("k"))
    r = seal_dream(chain, p, p.dream(), trace_id="nightly", timestamp=10.0)
    assert r.payload["kind"] == "memory.dream" and r.payload["state"] == p.digest()
    assert r.payload["stats"]["atoms_added"] >= 2 and chain.verify().ok
    r.payload["stats"]["atoms_added"] = 0  # tampering with the sealed record is detected
    assert not chain.verify().ok
    with pytest.raises(InvalidType):
        seal_dream(chain, p, {"atoms_added": 1})
