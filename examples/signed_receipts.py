"""Seal BFT routing decisions as signed receipts, export them, verify offline.

    python examples/signed_receipts.py [WORKDIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from openmoe_bft.bft import BFTRouter, settle_batch
from openmoe_bft.receipts import AuditChain, Ed25519Key, export_chain, verify_export
from openmoe_bft.receipts.sealing import seal_settlement


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    key = Ed25519Key.generate()
    (workdir / "ops.key.pub").write_bytes(key.public_key.to_pem())
    chain = AuditChain(workdir / "audit.db", signer=key)

    # 1. per-token routing: every decision is sealed before the expert runs
    router = BFTRouter({"math": lambda t: f"math({t})", "code": lambda t: f"code({t})"},
                       replicas=[lambda t: "math"] * 3 + [lambda t: "code"],  # one Byzantine
                       timeout=None, audit=chain)
    decision = router.route("2+2", session_id="req-1")
    print(f"routed to {decision.expert_key}: receipt {decision.receipt.receipt_id[:16]}...")

    # 2. a whole batch: one receipt, every token provable
    rng = np.random.default_rng(0)
    logits = np.repeat(rng.normal(size=(1, 256, 16)), 7, axis=0)
    logits[5:] = rng.normal(size=(2, 256, 16))  # two colluding-noise replicas
    sealed = seal_settlement(chain, settle_batch(logits=logits, k=2), trace_id="batch-0")
    token_proof = sealed.prove(42)
    assert token_proof.verify(sealed.receipt)
    print(f"batch of {sealed.receipt.payload['tokens']} tokens sealed; token 42 -> "
          f"experts {list(token_proof.experts)} proven against the receipt")

    # 3. export and verify with nothing but the public key
    out = export_chain(chain, workdir / "audit.jsonl")
    result = verify_export(out.path, [key.public_key])
    print(f"export {out.path}: {result.reason} ({result.checked} entries)")
    assert result.ok

    # 4. any edit is caught, and the first broken entry is named
    lines = Path(out.path).read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].replace(b'"tokens":256', b'"tokens":255')
    Path(out.path).write_bytes(b"".join(lines))
    tampered = verify_export(out.path, [key.public_key])
    print(f"after editing the file: ok={tampered.ok}, broken_at={tampered.broken_at}")
    assert not tampered.ok and tampered.broken_at == 1


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
