"""A loopback OpenAI-compatible chat server for tests, demos and benchmarks.

    from openmoe_bft.red_team.testing import FakeChatServer

    with FakeChatServer("vulnerable", latency=0.05) as server:
        report = scan(server.url)

``agent`` is ``"vulnerable"``, ``"hardened"`` (the builtin agents) or any
``agent(messages, tools) -> {"content", "tool_calls"}`` callable. ``mode`` makes the
server misbehave: ``"ok"``; ``"hang"`` (never answers until the server stops);
``"500"`` (always HTTP 500); ``"flaky"`` (every other request is a 503); ``"garbage"``
(HTTP 200 streaming non-JSON bytes in slow chunks); ``"endless"`` (a garbage stream
that never ends). It binds 127.0.0.1 on a free port, serves from a daemon thread and
stops on leaving the ``with`` block. Stdlib only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import InvalidInput

__all__ = ["FakeChatServer", "MODES"]

MODES = ("ok", "hang", "500", "flaky", "garbage", "endless")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _handler(owner: FakeChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            length = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(length)
            n = owner._count()
            if owner.latency:
                time.sleep(owner.latency)
            mode = owner.mode
            if mode == "hang":
                owner._stop.wait()
                return
            if mode == "500" or (mode == "flaky" and n % 2 == 0):
                self._send(500 if mode == "500" else 503, b'{"error": "internal error"}')
                return
            if mode in ("garbage", "endless"):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunks = 0
                try:
                    while mode == "endless" or chunks < 5:
                        junk = os.urandom(64).hex().encode() + b"\xff\xfe{{"
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(junk), junk))
                        self.wfile.flush()
                        chunks += 1
                        if owner._stop.wait(0.01):
                            return
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass
                return
            try:
                body = json.loads(raw)
                messages = body["messages"]
            except (ValueError, KeyError, TypeError):
                self._send(400, b'{"error": "expected a chat-completions request"}')
                return
            out = owner.agent(messages, body.get("tools"))
            msg: dict[str, Any] = {"role": "assistant", "content": out.get("content", "")}
            if out.get("tool_calls"):
                msg["tool_calls"] = [
                    {"id": f"call_{i}", "type": "function", **c} if "function" in c else c
                    for i, c in enumerate(out["tool_calls"])]
            self._send(200, json.dumps({
                "id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0,
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": msg,
                             "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}],
            }).encode())

    return Handler


class FakeChatServer:
    """See the module docstring. ``url`` is ``http://127.0.0.1:PORT/v1``; ``requests``
    counts the requests served."""

    def __init__(self, agent: str | Callable[..., Mapping[str, Any]] = "vulnerable", *,
                 latency: float = 0.0, mode: str = "ok", system_prompt: str | None = None,
                 port: int = 0) -> None:
        from .builtin import BUILTINS, SYSTEM_PROMPT

        if isinstance(agent, str):
            if agent not in BUILTINS:
                raise InvalidInput(f"agent must be one of {', '.join(BUILTINS)} or a callable",
                                   argument="agent")
            fn = BUILTINS[agent]
            prompt = SYSTEM_PROMPT if system_prompt is None else system_prompt

            def served(messages: Any, tools: Any) -> Mapping[str, Any]:
                return fn([{"role": "system", "content": prompt}, *messages], tools)

            self.agent: Callable[..., Mapping[str, Any]] = served
        elif callable(agent):
            self.agent = agent
        else:
            raise InvalidInput("agent must be a builtin name or a callable", argument="agent")
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}", argument="mode")
        self.latency = float(latency)
        self.mode = mode
        self.port = port
        self.requests = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def _count(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests

    @property
    def url(self) -> str:
        if self._server is None:
            raise InvalidInput("the server is not running: use it in a with block or start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeChatServer:
        self._stop.clear()
        self._server = _Server(("127.0.0.1", self.port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="fake-chat-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m openmoe_bft.red_team.testing [vulnerable|hardened] [latency] [mode]``:
    serve until interrupted, printing the URL first."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    server = FakeChatServer(args[0] if args else "vulnerable",
                            latency=float(args[1]) if len(args) > 1 else 0.0,
                            mode=args[2] if len(args) > 2 else "ok").start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
