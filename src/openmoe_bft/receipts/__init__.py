"""Tamper-evident signed receipts: hash chain, Ed25519/HMAC, co-signing, RFC 9162
Merkle tree heads and proofs, offline verification.

    from openmoe_bft.receipts import AuditChain, Ed25519Key

    key = Ed25519Key.generate()
    chain = AuditChain("audit.db", signer=key)
    receipt = chain.append({"decision": "expert-3"}, trace_id="req-1")
    assert chain.verify().ok

See :mod:`openmoe_bft.receipts.chain` for the two storage homes and the two sealing
modes, and :mod:`openmoe_bft.receipts.export` for offline verification.
"""

from .chain import AuditChain
from .export import ExportResult, export_chain, verify_export
from .merkle import MerkleTree
from .proofs import ConsistencyProof, InclusionProof, ProofResult
from .records import Checkpoint, Receipt, VerifyResult
from .signing import (
    Ed25519Key,
    Ed25519PublicKey,
    HmacKey,
    KeyRing,
    Signer,
    Verifier,
    load_verifier,
    sign_ed25519,
    sign_hmac,
    verify_ed25519,
    verify_hmac,
)

__all__ = [
    "AuditChain",
    "Checkpoint",
    "ConsistencyProof",
    "Ed25519Key",
    "ExportResult",
    "Ed25519PublicKey",
    "HmacKey",
    "InclusionProof",
    "KeyRing",
    "MerkleTree",
    "ProofResult",
    "Receipt",
    "Signer",
    "Verifier",
    "VerifyResult",
    "export_chain",
    "load_verifier",
    "sign_ed25519",
    "sign_hmac",
    "verify_ed25519",
    "verify_export",
    "verify_hmac",
]
