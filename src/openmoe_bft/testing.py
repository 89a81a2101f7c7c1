"""A loopback OpenAI-compatible chat server for tests, demos and benchmarks.

    from openmoe_bft.testing import FakeChatServer

    with FakeChatServer("vulnerable", latency=0.05) as server:     # a red-team target
        report = scan(server.url)

    def reply(request):                                            # any scripted "model"
        return 200, "POSITION: approve"
    with FakeChatServer(reply=reply) as server:
        proposer = openai_proposer(server.url, model="fake", question="Ship it?")

``agent`` is ``"vulnerable"``, ``"hardened"`` (the red team's builtin agents) or any
``agent(messages, tools) -> {"content", "tool_calls"}`` callable. ``reply`` instead
gets the whole request JSON and returns ``(status, payload)``: a ``str`` payload is the
assistant message's content, a ``dict`` is sent as the JSON body, ``bytes`` are sent
as they are (to test clients against broken servers). Both are called on the server's
event loop: keep them quick. ``received`` holds the latest 10,000 requests (``path``, ``headers``,
``json``). ``mode`` makes the server misbehave: ``"ok"``; ``"hang"`` (never answers
until the server stops); ``"500"`` (always HTTP 500); ``"flaky"`` (every other request
is a 503); ``"garbage"`` (HTTP 200 streaming non-JSON bytes in slow chunks);
``"endless"`` (a garbage stream that never ends).

It binds 127.0.0.1 on a free port and serves HTTP/1.1 keep-alive from an asyncio loop in
a daemon thread (one thread, however many connections: latency is an ``asyncio.sleep``,
so 32 concurrent clients cost no thread switching), and stops on leaving the ``with``
block. Stdlib only. ``python -m openmoe_bft.testing [agent] [latency] [mode]`` serves
from the command line and prints the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from .errors import InvalidInput

__all__ = ["FakeChatServer", "MODES"]

MODES = ("ok", "hang", "500", "flaky", "garbage", "endless")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
            503: "Service Unavailable"}


async def _read_request(reader: asyncio.StreamReader
                        ) -> tuple[str, dict[str, str], bytes] | None:
    """One HTTP/1.1 request (request line, headers, Content-Length body); None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip()] = value.strip()
    length = next((int(v or 0) for k, v in headers.items() if k.lower() == "content-length"), 0)
    try:
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return lines[0], headers, body


def _no_agent(messages: Any, tools: Any) -> Mapping[str, Any]:  # pragma: no cover - unused
    return {}


def _completion(n: int, req: Any, msg: Mapping[str, Any]) -> dict[str, Any]:
    model = req.get("model", "fake") if isinstance(req, dict) else "fake"
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": dict(msg),
                         "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop"}]}


async def _sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline`` (not at all if it has)."""
    wait = deadline - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


def _response(status: int, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n").encode() + body


class FakeChatServer:
    """See the module docstring. ``url`` is ``http://127.0.0.1:PORT/v1``; ``requests``
    counts the requests received."""

    def __init__(self, agent: str | Callable[..., Mapping[str, Any]] = "vulnerable", *,
                 latency: float = 0.0, mode: str = "ok", system_prompt: str | None = None,
                 port: int = 0, reply: Callable[[Any], tuple[int, Any]] | None = None) -> None:
        self.reply = reply
        self.received: deque[dict[str, Any]] = deque(maxlen=10_000)  # bounded: long-running serves
        if reply is not None:
            if not callable(reply):
                raise InvalidInput("reply must be a callable(request) -> (status, payload)",
                                   argument="reply")
            self.agent: Callable[..., Mapping[str, Any]] = _no_agent
        elif isinstance(agent, str):
            from .red_team.builtin import BUILTINS, SYSTEM_PROMPT


            if agent not in BUILTINS:
                raise InvalidInput(f"agent must be one of {', '.join(BUILTINS)} or a callable",
                                   argument="agent")
            fn = BUILTINS[agent]
            prompt = SYSTEM_PROMPT if system_prompt is None else system_prompt

            def served(messages: Any, tools: Any) -> Mapping[str, Any]:
                return fn([{"role": "system", "content": prompt}, *messages], tools)

            self.agent = served
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._bound = 0

    @property
    def url(self) -> str:
        if self._thread is None:
            raise InvalidInput("the server is not running: use it in a with block or start()")
        return f"http://127.0.0.1:{self._bound}/v1"

    # -- serving --------------------------------------------------------------------------
    def _answer(self, req: Any, n: int) -> bytes:
        if self.reply is not None:
            status, payload = self.reply(req)
            if isinstance(payload, str):
                payload = _completion(n, req, {"role": "assistant", "content": payload})
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            return _response(int(status), data)
        try:
            messages = req["messages"]
        except (KeyError, TypeError):
            return _response(400, b'{"error": "expected a chat-completions request"}')
        out = self.agent(messages, req.get("tools"))
        msg: dict[str, Any] = {"role": "assistant", "content": out.get("content", "")}
        if out.get("tool_calls"):
            msg["tool_calls"] = [{"id": f"call_{i}", "type": "function", **c}
                                 if "function" in c else c
                                 for i, c in enumerate(out["tool_calls"])]
        return _response(200, json.dumps(_completion(n, req, msg)).encode())

    async def _garbage(self, writer: asyncio.StreamWriter) -> None:
        assert self._stopping is not None
        # the server closes the connection after the stream: say so, or a client may
        # reuse it and see a spurious disconnect on its next request
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunks = 0
        while self.mode == "endless" or chunks < 5:
            junk = os.urandom(64).hex().encode() + b"\xff\xfe{{"
            writer.write(b"%x\r\n%s\r\n" % (len(junk), junk))
            await writer.drain()
            chunks += 1
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._stopping is not None
        try:
            while True:
                req = await _read_request(reader)
                if req is None:
                    return
                self.requests += 1
                n = self.requests
                arrived = time.monotonic()
                if self.latency:
                    # compute the answer later inside the latency window: the requests
                    # arriving alongside this one are read (and time-stamped) first, so this
                    # one thread's CPU does not add to their latency -- the simulated model
                    # serves concurrent requests side by side
                    await asyncio.sleep(self.latency / 2)
                line, headers, raw = req
                try:
                    parsed: Any = json.loads(raw) if raw else None
                except ValueError:
                    parsed = None
                self.received.append({"path": line.split(" ")[1] if " " in line else "",
                                      "headers": headers, "json": parsed})
                post = line.startswith("POST ")
                if post and self.mode == "hang":
                    await self._stopping.wait()
                    return
                if post and self.mode in ("garbage", "endless"):
                    await _sleep_until(arrived + self.latency)
                    await self._garbage(writer)
                    return
                if not post:
                    out = _response(404, b'{"error": "POST /v1/chat/completions"}')
                elif self.mode == "500" or (self.mode == "flaky" and n % 2 == 0):
                    status = 500 if self.mode == "500" else 503
                    out = _response(status, b'{"error": "internal error"}')
                elif parsed is None:
                    out = _response(400, b'{"error": "expected a JSON request body"}')
                else:
                    out = self._answer(parsed, n)
                # the simulated latency runs from the request's arrival: the answer is
                # computed inside it, as a real model's time would be
                await _sleep_until(arrived + self.latency)
                writer.write(out)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    def start(self) -> FakeChatServer:
        ready = threading.Event()
        error: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._stopping = asyncio.Event()

            async def main() -> None:
                try:
                    server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                        backlog=256)
                except OSError as exc:
                    error.append(exc)
                    ready.set()
                    return
                self._bound = server.sockets[0].getsockname()[1]
                ready.set()
                assert self._stopping is not None
                async with server:
                    await self._stopping.wait()
                    server.close()
                    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)

            try:
                loop.run_until_complete(main())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-chat-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if error:
            self._thread = None
            raise InvalidInput(f"cannot bind 127.0.0.1:{self.port}: {error[0]}", argument="port")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop may be closed already
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._loop = None

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m openmoe_bft.testing [vulnerable|hardened] [latency] [mode]``:
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
