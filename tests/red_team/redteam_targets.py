"""Loopback targets for the red-team tests: a fake A2A agent (stdlib HTTP server speaking
the A2A 1.0 JSON-RPC binding) and small callables. The OpenAI-compatible vulnerable and
hardened servers are openmoe_bft.red_team.testing.FakeChatServer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from openmoe_bft.red_team.builtin import SYSTEM_PROMPT, hardened_agent, vulnerable_agent


class FakeA2AAgent:
    """Serves an agent card and answers JSON-RPC ``SendMessage`` with a builtin agent."""

    def __init__(self, agent: str = "vulnerable") -> None:
        self.fn = {"vulnerable": vulnerable_agent, "hardened": hardened_agent}[agent]
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a: Any) -> None:
                pass

            def _json(self, obj: Any) -> None:
                body = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._json({
                    "name": "victim", "description": "test agent", "version": "1.0",
                    "supportedInterfaces": [{"url": owner.url + "/rpc",
                                             "protocolBinding": "JSONRPC",
                                             "protocolVersion": "1.0"}],
                    "capabilities": {"streaming": False},
                    "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
                    "skills": [{"id": "chat", "name": "chat", "description": "chat",
                                "tags": ["chat"]}]})

            def do_POST(self) -> None:  # noqa: N802
                req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests += 1
                text = "".join(p.get("text", "") for p in req["params"]["message"]["parts"])
                out = owner.fn([{"role": "system", "content": SYSTEM_PROMPT},
                                {"role": "user", "content": text}], None)
                self._json({"jsonrpc": "2.0", "id": req["id"], "result": {"message": {
                    "messageId": f"m{owner.requests}", "role": "ROLE_AGENT",
                    "parts": [{"text": out["content"]}]}}})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeA2AAgent:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
