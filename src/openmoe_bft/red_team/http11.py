"""A lean keep-alive HTTP/1.1 client for plain-``http://`` chat endpoints: an asyncio
Protocol + h11.

Why it exists: a scan at concurrency 32 against a fast local model server (vLLM, Ollama,
llama.cpp, our loopback test targets) is bound by the scanner's own CPU per request.
``httpx`` stacks httpx -> httpcore -> anyio -> h11 and costs about 0.6-1.6 ms of CPU per
request on a 2-core machine (``httpcore``'s pool scans every connection on every
request); this client keeps ``h11`` -- the HTTP/1.1 state machine httpx itself uses, so
framing, chunked bodies, keep-alive and header validation are that library's -- and
drops the layers above it: about 0.1-0.2 ms per request.

What it does not do (``OpenAIChatTarget`` sends those through ``httpx``): TLS,
proxies, redirects, cookies, HTTP/2. One :class:`H11Pool` talks to one origin; it keeps
at most ``max_connections`` connections open, reuses idle ones (newest first) and
retries a request once on a fresh connection when a reused one turns out to have been
closed by the server before it answered. A connection whose exchange did not finish
cleanly (an error, a cancelled call, a ``Connection: close``) is closed, never reused.
A pool is bound to the event loop that uses it; used from another loop it starts a new
set of connections, and each loop's connections are closed when that loop shuts down.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from urllib.parse import urlsplit

import h11  # this module is imported only once h11 is known to be there (targets._h11)

from ..errors import InvalidInput

__all__ = ["H11Pool", "ResponseTooLarge"]


class ResponseTooLarge(Exception):
    """The response body passed the pool's ``max_body`` bytes."""


class _Stale(Exception):
    """A reused keep-alive connection was closed by the server before it answered."""


class _Conn(asyncio.Protocol):
    """One connection: feeds received bytes to h11 in ``data_received`` and resolves
    the pending exchange's future at the end of the response -- one future per
    request, no stream-reader wake-ups per chunk."""

    def __init__(self, max_body: int) -> None:
        self.h = h11.Connection(h11.CLIENT)
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._chunks: list[bytes] = []
        self._size = 0
        self._got_bytes = False

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self._abort()  # bytes nobody asked for: this connection can't be trusted again
            return
        self._got_bytes = True
        self._feed(data)

    def eof_received(self) -> bool:
        if self._waiter is not None and not self._waiter.done():
            if self._got_bytes:
                self._feed(b"")  # a close-delimited body ends here; h11 judges the rest
            else:
                self._waiter.set_exception(_Stale())
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._waiter is not None and not self._waiter.done():
            if self._got_bytes:
                self._waiter.set_exception(ConnectionError(
                    f"the server closed the connection mid-response: {exc or 'EOF'}"))
            else:
                self._waiter.set_exception(_Stale())

    # -- exchange -------------------------------------------------------------------------
    def usable(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    def begin(self, waiter: asyncio.Future[tuple[int, bytes]], request: bytes) -> None:
        self._waiter, self._status, self._chunks, self._size = waiter, 0, [], 0
        self._got_bytes = False
        assert self.transport is not None
        self.transport.write(request)

    def _feed(self, data: bytes) -> None:
        waiter = self._waiter
        assert waiter is not None
        h = self.h
        try:
            h.receive_data(data)
            while True:
                event = h.next_event()
                if event is h11.NEED_DATA:
                    return
                kind = type(event)
                if kind is h11.Response:
                    self._status = event.status_code
                elif kind is h11.Data:
                    self._size += len(event.data)
                    if self._size > self.max_body:
                        raise ResponseTooLarge(f"response larger than {self.max_body} bytes")
                    self._chunks.append(event.data)
                elif kind is h11.EndOfMessage:
                    waiter.set_result((self._status, b"".join(self._chunks)))
                    return
                elif kind is h11.ConnectionClosed:
                    raise ConnectionError("the server closed the connection mid-response")
                # h11.InformationalResponse (1xx): keep reading for the final response
        except Exception as exc:  # h11.ProtocolError, ResponseTooLarge, ...
            if not waiter.done():
                waiter.set_exception(exc)
            self._abort()

    def finish(self, clean: bool) -> bool:
        """End the exchange; True when the connection can serve another request."""
        self._waiter = None
        h = self.h
        if (clean and self.usable() and h.our_state is h11.DONE and h.their_state is h11.DONE
                and not h.trailing_data[0]):  # bytes past the response: not to be trusted
            h.start_next_cycle()
            return True
        self._abort()
        return False

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _close_all(idle: list[_Conn]) -> list[_Conn]:
    """Empty ``idle`` (in place) and close its connections; returns them."""
    conns, idle[:] = list(idle), []
    for conn in conns:
        conn.finish(False)
    return conns


class H11Pool:
    """Keep-alive HTTP/1.1 connections to the origin of ``url`` (``http://`` only).

    ``await pool.post(body)`` sends ``body`` (bytes) to ``url``'s path and returns
    ``(status, body)``. Raises ``OSError`` / ``ConnectionError`` for network failures,
    ``h11.ProtocolError`` for a malformed response and :class:`ResponseTooLarge` past
    ``max_body`` bytes.
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 max_connections: int = 32, max_body: int = 1 << 20,
                 content_type: str = "application/json") -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise InvalidInput(f"H11Pool speaks plain http:// only, got {url!r}; use httpx for "
                               "https", argument="url")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        authority = host if parts.port is None else f"{host}:{parts.port}"
        given = {k.lower() for k in (headers or {})}
        base = [("Host", authority), ("Accept", "application/json"),
                ("User-Agent", "openmoe-bft")]
        self._headers = [(k, v) for k, v in base if k.lower() not in given]
        self._headers += [(str(k), str(v)) for k, v in (headers or {}).items()]
        self._content_type = content_type
        self.max_connections = max(1, int(max_connections))
        self.max_body = int(max_body)
        self._idle: list[_Conn] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._guard: AsyncGenerator[None, None] | None = None

    async def _bind(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._slots is None:
            # a fresh idle list per loop, closed by an async generator the loop finalises
            # at shutdown (asyncio.run does): no socket outlives the loop that opened it
            self._idle = []
            self._loop, self._slots = loop, asyncio.Semaphore(self.max_connections)
            self._guard = self._close_at_loop_exit(self._idle)
            await self._guard.__anext__()
        return self._slots

    @staticmethod
    async def _close_at_loop_exit(idle: list[_Conn]) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            _close_all(idle)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """POST ``body``; ``(status, response body)``."""
        async with await self._bind():
            while self._idle:
                conn = self._idle.pop()
                if not conn.usable():
                    conn.finish(False)
                    continue
                try:
                    return await self._exchange(conn, body)
                except _Stale:
                    continue  # closed while idle: the request never reached a live server
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(lambda: _Conn(self.max_body), self.host,
                                                   self.port)
            try:
                return await self._exchange(conn, body)
            except _Stale:
                raise ConnectionError("the server closed a new connection without "
                                      "answering") from None

    async def _exchange(self, conn: _Conn, body: bytes) -> tuple[int, bytes]:
        h = conn.h
        headers = [*self._headers, ("Content-Type", self._content_type),
                   ("Content-Length", str(len(body)))]
        request = (h.send(h11.Request(method="POST", target=self.path, headers=headers))
                   + h.send(h11.Data(data=body)) + h.send(h11.EndOfMessage()))
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        clean = False
        try:
            conn.begin(waiter, request)
            out = await waiter
            clean = True
            return out
        finally:
            if conn.finish(clean):
                self._idle.append(conn)

    async def aclose(self) -> None:
        """Close the idle connections (connections in use close when their call ends)."""
        if self._loop is not asyncio.get_running_loop():
            return  # nothing of this loop's; another loop's close when that loop shuts down
        idle = _close_all(self._idle)
        for _ in range(2):  # let connection_lost run, so no socket outlives the call
            if all(c.lost for c in idle):
                break
            await asyncio.sleep(0)
