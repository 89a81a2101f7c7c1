"""Pay for an MCP tool call with x402: the unpaid call gets HTTP 402, a locally generated
key signs an EIP-3009 payment, the local facilitator settles it, and the settlement is
sealed as a signed receipt that passes expert #5 as an A2A ``x402Receipt``.

    python examples/x402_paid_call.py [STORE.db]
"""

from __future__ import annotations

import sys

import anyio
import httpx2
from eth_account import Account
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from openmoe_bft.experts import by_id
from openmoe_bft.server import PaywallConfig, ServerConfig, X402Auth, running_server


async def call(url: str, auth: X402Auth) -> object:
    async with httpx2.AsyncClient(auth=auth) as http, \
            streamable_http_client(url, http_client=http) as (read, write, *_), \
            ClientSession(read, write) as session:
        await session.initialize()
        try:
            return await session.call_tool("settle_votes", {
                "session_id": "round-1", "total_nodes": 4,
                "votes": [{"node_id": n, "value": "expert-3"} for n in "abc"]})
        except MCPError as exc:
            return exc


def main(store: str | None) -> None:
    payer, payee = Account.create(), Account.create().address
    paywall = PaywallConfig(pay_to=payee, consensus_price=5_000)  # $0.005 in USDC units
    with running_server(ServerConfig(port=0, store=store, paywall=paywall)) as (url, app):
        unpaid = anyio.run(call, url, X402Auth(None))
        print("unpaid:", unpaid.error.code, unpaid.error.message)
        auth = X402Auth(payer, max_amount=10_000)
        result = anyio.run(call, url, auth)
        print("paid: agreed =", result.structured_content["agreed"])
        receipt = auth.settlements[0].extra["x402Receipt"]
        print("sealed receipt", receipt["receipt_id"][:16], "...", receipt["payload"]["amount"],
              "units from", receipt["payload"]["payer"][:10], "...")
        server_key = app.state.openmoe.receipt_key.public_key
        verdict = by_id(5).validate(receipt, keys=[server_key])
        print("expert #5 (x402 Payment Validation):", verdict.status, "-", verdict.reason)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
