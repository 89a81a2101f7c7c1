"""Register an OpenScore safety expert and check the 14 experts' evidence on a card.

    python examples/expert_registration.py
"""

from openmoe_bft.experts import EXPERTS, check_experts, register_expert
from openmoe_bft.receipts import AuditChain, Ed25519Key

# A settled x402 payment, sealed as a signed receipt.
key = Ed25519Key.generate()
chain = AuditChain(signer=key)
receipt = chain.append({"x402": {"amount": "10000", "asset": "USDC", "network": "base"}},
                       trace_id="payment-1", timestamp=1_764_000_000)

# An MCP server offering itself as expert #5, with its own field as evidence.
candidate = {
    "expert_id": 5,
    "name": "x402 Payment Validation",
    "tools": [{"name": "verify_payment"}, {"name": "settle"}],
    "metadata": {"x402Receipt": receipt.to_dict()},
}
result = register_expert(candidate, keys=key.public_key)
print("accepted:", result.accepted, "-", result.verdict.reason)

# A tampered amount, or a key we do not trust, is refused.
candidate["metadata"]["x402Receipt"]["payload"]["x402"]["amount"] = "1"
print("tampered:", register_expert(candidate, keys=key.public_key).reasons[0])

# Coverage of the 14 experts on an agent card's metadata.
report = check_experts({"metadata": {
    "hitlContact": "oversight@example.org",      # evidenced
    "redTeamReport": True,                       # attested, not evidenced
    "nistRmfScore": 1.7,                         # invalid: not in [0, 1]
}})
for v in report.verdicts:
    if v.status != "missing":
        print(f"#{v.expert_id:>2} {EXPERTS[v.expert_id - 1].name:<28} {v.status:<9} {v.reason}")
print("missing:", report.missing)
