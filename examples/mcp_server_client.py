"""Serve the openmoe-bft MCP tools on a free loopback port and call them with the
official MCP SDK client (ClientSession over streamable HTTP), with a bearer token.

    python examples/mcp_server_client.py [STORE.db]
"""

from __future__ import annotations

import secrets
import sys

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from openmoe_bft.server import ServerConfig, running_server


async def use(url: str, token: str) -> None:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http, \
            streamable_http_client(url, http_client=http) as (read, write, *_), \
            ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("tools:", ", ".join(t.name for t in tools.tools))
        q = await session.call_tool("bft_quorum", {"num_nodes": 7})
        print("bft_quorum(7):", q.structured_content)
        route = await session.call_tool("robust_route", {
            "scores": [[1.0, 0.0, 0.0]] * 5 + [[-1e6, 1e6, 0.0]] * 2, "method": "krum"})
        print("robust_route winner (2 Byzantine replicas):", route.structured_content["winner"])
        bad = await session.call_tool("bft_quorum", {"num_nodes": 0})
        print("bad input -> tool error:", bad.is_error)
        sealed = await session.call_tool("append_receipt", {"payload": {"decision": "e0"}})
        print("sealed receipt:", sealed.structured_content["receipt"]["receipt_id"][:16], "...")


def main(store: str | None) -> None:
    token = secrets.token_urlsafe(24)
    with running_server(ServerConfig(port=0, token=token, store=store)) as (url, _app):
        print("serving", url)
        anyio.run(use, url, token)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
