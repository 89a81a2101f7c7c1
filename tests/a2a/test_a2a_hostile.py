"""Hostile cards and hostile servers: each ends in a clear error or a failed verdict,
within bounded time and memory."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _a2a_corpus import TODAY, card_with_fields, extension_card

from openmoe_bft.a2a import MAX_CARD_BYTES, TaskEnvelope, validate_card, validate_task
from openmoe_bft.errors import InvalidInput, InvalidType

FIFTY_MB = 50 * 1024 * 1024


def v(card, **kw):
    kw.setdefault("today", TODAY)
    return validate_card(card, **kw)


def _deep(n: int) -> dict:
    node: dict = {"leaf": True}
    for _ in range(n):
        node = {"x": node}
    return node


# ── in-memory and file inputs ───────────────────────────────────────────────────────


def test_a_50_mb_body_is_refused_before_parsing(tmp_path):
    body = b'{"name": "' + b"a" * FIFTY_MB + b'"}'
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="limit"):
        v(body)
    path = tmp_path / "huge.json"
    path.write_bytes(body)
    with pytest.raises(InvalidInput, match="larger than the limit"):
        v(str(path))
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("text", ["[" * 10_000 + "]" * 10_000,
                                  '{"metadata": ' * 10_000 + "{}" + "}" * 10_000])
def test_10000_deep_json_text_is_refused(text):
    with pytest.raises(InvalidInput, match="deep"):
        v(text.encode())


def test_10000_deep_python_objects_are_refused():
    card = card_with_fields()
    card["metadata"]["riskAssessment"] = _deep(10_000)
    with pytest.raises(InvalidInput, match="nested more than"):
        v(card)
    with pytest.raises(InvalidInput, match="nested more than"):
        validate_task(TaskEnvelope(task_id="t", metadata={"x": _deep(10_000)}))


def test_a_very_wide_card_is_refused():
    card = card_with_fields()
    card["skills"] = [{"id": str(i), "name": "s", "description": "d", "tags": ["t"]}
                      for i in range(60_000)]
    with pytest.raises(InvalidInput, match="more than"):
        v(card)


@pytest.mark.parametrize("data,match", [
    (b'{"name": "caf\xe9"}', "not UTF-8"),
    (b"\xff\xfe{\x00}\x00", "not UTF-8"),
    (b'{"name": "a", "name": "b"}', "duplicate"),
    (b'{"name": NaN}', "not a JSON number"),
    (b'{"name": ', "not JSON"),
    (b"[1, 2]", "JSON object"),
])
def test_bytes_that_are_not_a_json_object_are_refused(data, match):
    with pytest.raises((InvalidInput, InvalidType), match=match):
        v(data)


def test_a_bom_is_tolerated():
    assert v(b"\xef\xbb\xbf" + json.dumps(card_with_fields()).encode()).compliant


@pytest.mark.parametrize("field,bad", [
    ("name", {"$ne": ""}), ("version", 1.0), ("skills", [None]), ("capabilities", "all"),
    ("supportedInterfaces", [{"url": 5, "protocolBinding": [], "protocolVersion": None}]),
    ("signatures", [{"protected": 1, "signature": 2}]),
    ("securitySchemes", {"bearer": "yes"}),
])
def test_wrong_types_fail_the_verdict(field, bad):
    card = card_with_fields()
    card[field] = bad
    verdict = v(card)
    assert verdict.compliant is False and verdict.errors


def test_non_json_python_values_are_typed_errors():
    card = card_with_fields()
    card["metadata"]["riskAssessment"] = {1, 2}
    with pytest.raises(InvalidType, match="not a JSON value"):
        v(card)
    card["metadata"]["riskAssessment"] = {1: "x"}
    with pytest.raises(InvalidType, match="non-string"):
        v(card)
    card["metadata"]["riskAssessment"] = float("nan")
    with pytest.raises(InvalidInput, match="non-finite"):
        v(card)


def test_a_mapping_that_raises_is_a_clear_error():
    class Trap(Mapping):
        def __getitem__(self, k):
            raise RuntimeError("boom")

        def __iter__(self):
            raise RuntimeError("boom")

        def __len__(self):
            return 1

    with pytest.raises(InvalidInput, match="cannot be read"):
        v({"name": "x", "metadata": Trap()})


def test_a_cyrillic_a_in_metadata_does_not_smuggle_evidence():
    card = card_with_fields()
    card["met\u0430data"] = card.pop("metadata")  # Cyrillic а
    verdict = v(card)
    assert verdict.compliant is False
    assert "U+0430 CYRILLIC SMALL LETTER A" in verdict.advisory[0]
    assert verdict.experts_missing == list(range(1, 15))


@pytest.mark.parametrize("key", ["risk\u0410ssessment", "hitl\u0421ontact",
                                 "riskAssessment\u200b", "\uff52iskAssessment"])
def test_look_alike_evidence_keys_are_errors(key):
    card = extension_card()
    params = card["capabilities"]["extensions"][0]["params"]
    params[key] = {"present": True}
    verdict = v(card)
    assert verdict.compliant is False
    assert any(f.code == "evidence.look-alike" for f in verdict.errors)


def test_look_alike_top_level_keys_are_errors():
    card = card_with_fields()
    card["n\u0430me"] = "Impostor"  # Cyrillic а
    card["capabilities\u200d"] = {"streaming": True}
    errors = [f.message for f in v(card).errors]
    assert any("imitates 'name'" in m for m in errors)
    assert any("imitates 'capabilities'" in m for m in errors)


# ── a loopback server ───────────────────────────────────────────────────────────────


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, val in headers:
            self.send_header(k, val)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        s = self.server
        s.hits.append(self.path)
        try:
            if self.path == "/.well-known/agent-card.json":
                if s.well_known_missing:
                    self._send(404, b"not here")
                else:
                    self._send(200, s.card)
            elif self.path in ("/.well-known/agent.json", "/card.json"):
                self._send(200, s.card)
            elif self.path == "/loop":
                self._send(302, headers=[("Location", "/loop")])
            elif self.path == "/huge.json":  # no Content-Length: streamed until cut off
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"a" * 65536
                self.wfile.write(b'{"name": "')
                for _ in range(FIFTY_MB // len(chunk)):
                    if s.stop.is_set():
                        break
                    self.wfile.write(chunk)
            elif self.path == "/huge-declared.json":
                self._send(200, b"{}", headers=[("Content-Length", str(FIFTY_MB))])
            elif self.path == "/drip.json":  # one byte at a time, forever
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                while not s.stop.is_set():
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif self.path == "/silent.json":  # headers, then nothing
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.flush()
                s.stop.wait(10)
            elif self.path == "/latin1.json":
                self._send(200, b'{"name": "caf\xe9"}')
            elif self.path == "/deep.json":
                self._send(200, b"[" * 10_000 + b"]" * 10_000)
            elif self.path == "/gzip.json":
                self._send(200, b"\x1f\x8b...", headers=[("Content-Encoding", "gzip"),
                                                          ("Content-Length", "5")])
            elif self.path == "/scheme":
                self._send(302, headers=[("Location", "file:///etc/passwd")])
            else:
                self._send(404, b"no")
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.card = json.dumps(card_with_fields()).encode()
        self.well_known_missing = False
        self.hits: list[str] = []
        self.stop = threading.Event()


@pytest.fixture
def server() -> Iterator[_Server]:
    pytest.importorskip("httpx")
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _url(srv: _Server, path: str = "") -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}{path}"


def test_a_card_is_fetched_from_the_well_known_path(server):
    verdict = v(_url(server))
    assert verdict.compliant is True
    assert verdict.source == _url(server, "/.well-known/agent-card.json")
    assert server.hits == ["/.well-known/agent-card.json"]


def test_the_older_agent_json_is_the_fallback(server):
    server.well_known_missing = True
    verdict = v(_url(server, "/"))
    assert verdict.compliant is True
    assert server.hits == ["/.well-known/agent-card.json", "/.well-known/agent.json"]


def test_a_url_with_a_path_is_fetched_as_given(server):
    assert v(_url(server, "/card.json")).compliant is True


def test_a_redirect_loop_is_cut_off(server):
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="redirected more than 3 times"):
        v(_url(server, "/loop"))
    assert len(server.hits) == 4 and time.perf_counter() - start < 5


def test_a_redirect_to_another_scheme_is_refused(server):
    with pytest.raises(InvalidInput):
        v(_url(server, "/scheme"))


def test_a_50_mb_response_is_cut_off_in_bounded_memory(server):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(InvalidInput, match="cut off"):
            v(_url(server, "/huge.json"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 10
    assert peak < 8 * MAX_CARD_BYTES


def test_a_declared_50_mb_response_is_refused_unread(server):
    with pytest.raises(InvalidInput, match="announces"):
        v(_url(server, "/huge-declared.json"))


def test_a_server_that_drips_bytes_hits_the_deadline(server):
    from openmoe_bft.a2a import fetch_card

    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="did not finish within"):
        fetch_card(_url(server, "/drip.json"), timeout=2, deadline=1)
    assert time.perf_counter() - start < 5


def test_a_silent_server_hits_the_read_timeout(server):
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="timed out"):
        v(_url(server, "/silent.json"), timeout=0.5)
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("path,match", [("/latin1.json", "not UTF-8"), ("/deep.json", "deep"),
                                        ("/gzip.json", "compressed"), ("/nothing", "HTTP 404")])
def test_bad_bodies_from_a_server_are_clear_errors(server, path, match):
    with pytest.raises(InvalidInput, match=match):
        v(_url(server, path))


def test_no_card_at_either_well_known_path(server):
    server.well_known_missing = True
    server.card = b"{}"
    verdict = v(_url(server))  # agent.json serves {}: a (non-compliant) empty card
    assert verdict.compliant is False and verdict.experts_missing == list(range(1, 15))


def test_private_hosts_can_be_refused(server):
    with pytest.raises(InvalidInput, match="non-public address"):
        v(_url(server), allow_private=False)


def test_a_redirect_into_a_private_host_is_refused_too(server):
    import httpx

    from openmoe_bft.a2a import fetch_card

    def public_then_private(request):
        if request.url.host == "public.example":
            return httpx.Response(302, headers={"Location": _url(server, "/card.json")})
        return httpx.Response(200, json={})

    with pytest.raises(InvalidInput, match="non-public address"):
        fetch_card("https://public.example/card.json", allow_private=False,
                   transport=httpx.MockTransport(public_then_private),
                   resolve=lambda host: ["93.184.216.34" if host == "public.example"
                                         else host])
    doc = fetch_card("https://public.example/x.json", allow_private=False,
                     transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})),
                     resolve=lambda host: ["93.184.216.34"])
    assert doc.document == {}
