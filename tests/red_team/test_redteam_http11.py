"""The lean h11 client (red_team.http11.H11Pool) and OpenAIChatTarget's transport choice:
keep-alive reuse, stale connections, chunked / close-delimited / 1xx responses, size cap,
malformed replies, cancellation, event-loop changes, and parity with httpx on real scans."""

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput
from openmoe_bft.red_team import scan
from openmoe_bft.red_team.builtin import BUILTIN_CANARY
from openmoe_bft.red_team.targets import OpenAIChatTarget, resolve_target
from openmoe_bft.red_team.testing import FakeChatServer
from openmoe_bft.testing import _read_request

h11 = pytest.importorskip("h11")
from openmoe_bft.red_team.http11 import H11Pool, ResponseTooLarge  # noqa: E402

OK = b'{"ok": true}'


def _plain(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


class Scripted:
    """A loopback server whose n-th response (0-based, over all connections) is
    ``respond(n, request)``: bytes to send, or None to hang. ``close_after`` closes the
    connection after each response (without saying so); ``connections`` counts accepts."""

    def __init__(self, respond, *, close_after=False):
        self.respond, self.close_after = respond, close_after
        self.connections, self.n, self.requests = 0, 0, []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1/chat/completions?x=1"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _handle(self, reader, writer):
        self.connections += 1
        try:
            while (req := await _read_request(reader)) is not None:
                self.requests.append(req)
                n, self.n = self.n, self.n + 1
                out = self.respond(n, req)
                if out is None:
                    await asyncio.sleep(3600)
                if out == b"":
                    break
                for piece in out if isinstance(out, list) else [out]:
                    writer.write(piece)
                    await writer.drain()
                if self.close_after:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def run(coro):
    return asyncio.run(coro)


def test_keep_alive_reuses_at_most_max_connections():
    async def main():
        async with Scripted(lambda n, r: _plain(OK)) as srv:
            pool = H11Pool(srv.url, max_connections=4, headers={"Authorization": "Bearer t"})
            out = await asyncio.gather(*(pool.post(b'{"n": %d}' % i) for i in range(40)))
            await pool.aclose()
            return srv, out
    srv, out = run(main())
    assert out == [(200, OK)] * 40
    assert srv.connections <= 4
    line, headers, body = srv.requests[0]
    assert line == "POST /v1/chat/completions?x=1 HTTP/1.1"
    assert headers["Authorization"] == "Bearer t" and headers["Host"].startswith("127.0.0.1:")
    assert headers["Content-Type"] == "application/json" and json.loads(body)["n"] >= 0


def test_a_connection_the_server_closed_while_idle_is_replaced_transparently():
    async def main():
        async with Scripted(lambda n, r: _plain(OK), close_after=True) as srv:
            pool = H11Pool(srv.url, max_connections=1)
            out = []
            for _ in range(5):
                out.append(await pool.post(b"{}"))
                await asyncio.sleep(0.01)  # let the close arrive, or not: both must work
            await pool.aclose()
            return srv, out
    srv, out = run(main())
    assert out == [(200, OK)] * 5 and srv.connections == 5


def test_stale_connection_detected_only_on_use_is_retried_once():
    """The server drops a kept-alive connection when the next request arrives on it,
    without answering: the request goes out again on a fresh connection, not as an
    error. A fresh connection that is dropped the same way is an error."""
    replies = {0: _plain(OK), 1: b"", 2: _plain(OK)}  # b"": close without answering

    async def main():
        async with Scripted(lambda n, r: replies.get(n, b"")) as srv:
            pool = H11Pool(srv.url, max_connections=1)
            first = await pool.post(b"{}")
            second = await pool.post(b"{}")
            connections = srv.connections
            with pytest.raises(ConnectionError, match="without answering"):
                await pool.post(b"{}")  # reused: stale, retried fresh: dropped again
            await pool.aclose()
            return first, second, connections
    first, second, connections = run(main())
    assert first == second == (200, OK) and connections == 2


def test_chunked_close_delimited_and_informational_responses():
    replies = {
        0: [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"5\r\nhello\r\n", b"6\r\n world\r\n", b"0\r\n\r\n"],
        1: b"HTTP/1.1 100 Continue\r\n\r\n" + _plain(OK),
        2: b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
        3: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close",
    }

    async def main():
        async with Scripted(lambda n, r: replies[n], close_after=False) as srv:
            pool = H11Pool(srv.url, max_connections=1)
            out = [await pool.post(b"{}") for _ in range(3)]
            srv.close_after = True  # reply 3 is close-delimited: the server must close
            out.append(await pool.post(b"{}"))
            idle_after_close = len(pool._idle)
            await pool.aclose()
            return out, idle_after_close
    out, idle = run(main())
    assert out == [(200, b"hello world"), (200, OK), (503, b"busy"), (200, b"until-close")]
    assert idle == 0  # a Connection: close exchange is never reused


def test_oversized_and_malformed_replies_raise_and_poison_nothing():
    replies = {0: _plain(b"x" * 5000), 1: b"NOT HTTP AT ALL\r\n\r\n", 2: _plain(OK)}

    async def main():
        async with Scripted(lambda n, r: replies[n]) as srv:
            pool = H11Pool(srv.url, max_connections=1, max_body=1000)
            with pytest.raises(ResponseTooLarge):
                await pool.post(b"{}")
            with pytest.raises(h11.RemoteProtocolError):
                await pool.post(b"{}")
            ok = await pool.post(b"{}")
            await pool.aclose()
            return ok, srv.connections
    ok, connections = run(main())
    assert ok == (200, OK) and connections == 3  # each failure closed its connection


def test_a_cancelled_call_closes_its_connection():
    async def main():
        async with Scripted(lambda n, r: None if n == 0 else _plain(OK)) as srv:
            pool = H11Pool(srv.url, max_connections=1)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pool.post(b"{}"), 0.1)
            assert pool._idle == []
            ok = await pool.post(b"{}")
            await pool.aclose()
            return ok, srv.connections
    ok, connections = run(main())
    assert ok == (200, OK) and connections == 2


def test_refused_connection_is_an_oserror():
    async def main():
        pool = H11Pool("http://127.0.0.1:9/v1")
        with pytest.raises(OSError):
            await pool.post(b"{}")
    run(main())


def test_a_pool_moves_between_event_loops():
    with FakeChatServer("hardened") as server:
        pool = H11Pool(server.url + "/chat/completions")
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        for _ in range(3):
            status, raw = asyncio.run(pool.post(body.encode()))
            assert status == 200 and json.loads(raw)["choices"]
        asyncio.run(pool.aclose())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=6),
       chunked=st.booleans())
def test_any_split_of_any_body_arrives_whole(body, cuts, chunked):
    if chunked:
        raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        edges = sorted({0, len(body), *(c for c in cuts if c <= len(body))})
        for a, b in zip(edges, edges[1:], strict=False):
            raw += b"%x\r\n%s\r\n" % (b - a, body[a:b])
        raw += b"0\r\n\r\n"
    else:
        raw = _plain(body)
    points = sorted({0, len(raw), *(c for c in cuts if c <= len(raw))})
    pieces = [raw[a:b] for a, b in zip(points, points[1:], strict=False)]

    async def main():
        async with Scripted(lambda n, r: pieces) as srv:
            pool = H11Pool(srv.url)
            out = [await pool.post(b"{}") for _ in range(2)]
            await pool.aclose()
            return out
    assert run(main()) == [(200, body)] * 2


def test_transport_choice(monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert OpenAIChatTarget("http://127.0.0.1:8000").transport == "h11"
    assert OpenAIChatTarget("https://api.example.com/v1").transport == "httpx"
    assert OpenAIChatTarget("http://127.0.0.1:8000", transport="httpx").transport == "httpx"
    assert resolve_target({"url": "http://h:1", "transport": "httpx"}).transport == "httpx"
    with pytest.raises(InvalidInput, match="https"):
        OpenAIChatTarget("https://api.example.com/v1", transport="h11")
    with pytest.raises(InvalidInput, match="transport must be"):
        OpenAIChatTarget("http://h:1", transport="curl")
    with pytest.raises(InvalidInput, match="http:// only"):
        H11Pool("https://api.example.com/v1")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert OpenAIChatTarget("http://model.internal:8000").transport == "httpx"  # proxied
    monkeypatch.setenv("NO_PROXY", "model.internal")
    assert OpenAIChatTarget("http://model.internal:8000").transport == "h11"


@pytest.mark.parametrize("agent", ["vulnerable", "hardened"])
def test_h11_and_httpx_transports_give_the_same_report(agent):
    pytest.importorskip("httpx")
    with FakeChatServer(agent) as server:
        reps = [scan({"url": server.url, "transport": t}, context={"canaries": [BUILTIN_CANARY]},
                     concurrency=8, seed=7) for t in ("h11", "httpx")]
    a, b = ([(x.strategy_id, x.probe_id, x.outcome, x.responses) for x in r.attempts]
            for r in reps)
    assert a == b and reps[0].risk_score == reps[1].risk_score
