"""The server as a subprocess on a free loopback port, driven by the MCP SDK's own client
(``ClientSession`` over streamable HTTP): tools, schemas, tool errors, auth, limits."""

import io
import json

import anyio
import httpx
import pytest

pytest.importorskip("mcp")

from _mcp_harness import mcp_session, server_process  # noqa: E402

from openmoe_bft.receipts import AuditChain, Ed25519Key, export_chain  # noqa: E402
from openmoe_bft.server import TOOL_NAMES  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
try:
    from openmoe_bft import red_team as _rt

    HAS_RED_TEAM = hasattr(_rt, "scan") and hasattr(_rt, "resolve_target")
except ImportError:  # pragma: no cover
    HAS_RED_TEAM = False
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    store = tmp_path_factory.mktemp("mcp") / "server.db"
    with server_process("--token", TOKEN, "--store", str(store)) as u:
        yield u


def run(url, fn, headers=BEARER):
    async def main():
        async with mcp_session(url, headers=headers) as s:
            return await fn(s)
    return anyio.run(main)


def test_lists_every_tool_with_input_and_output_schemas(url):
    async def go(s):
        return (await s.list_tools()).tools
    tools = {t.name: t for t in run(url, go)}
    assert set(tools) == set(TOOL_NAMES)
    q = tools["bft_quorum"]
    assert q.input_schema["properties"]["num_nodes"]["type"] == "integer"
    assert q.input_schema["required"] == ["num_nodes"]
    assert set(q.output_schema["properties"]) == {
        "num_nodes", "tolerated_faults", "quorum_size", "decision_threshold", "byzantine_safe"}
    for name in ("evaluate_eu_ai_act", "validate_agent_card", "settle_votes", "verify_receipts"):
        assert tools[name].output_schema["type"] == "object", name
        assert tools[name].description


def test_calls_each_tool(url):
    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    chain.append({"x": 1}, timestamp=1)
    buf = io.BytesIO()
    export_chain(chain, buf)

    async def go(s):
        out = {}
        for name, args in [
            ("bft_quorum", {"num_nodes": 3}),
            ("bft_quorum", {"num_nodes": 4}),
            ("evaluate_eu_ai_act", {"evidence": {"metadata": {"riskAssessment": True}}}),
            ("validate_agent_card", {"card": {"name": "a", "metadata": {}}}),
            ("settle_votes", {"session_id": "s", "total_nodes": 4, "votes": [
                {"node_id": n, "value": "e3"} for n in "abc"]}),
            ("robust_route", {"scores": [[1, 0]] * 5 + [[-1e6, 1e6]] * 2, "f": 2,
                              "method": "krum"}),
            ("verify_receipts", {"public_keys": [key.public_key.raw.hex()],
                                 "export": buf.getvalue().decode()}),
            ("append_receipt", {"payload": {"hello": "world"}, "trace_id": "t"}),
            ("receipt_key", {}),
            *([("red_team_scan", {"target": "builtin:hardened"})] if HAS_RED_TEAM else []),
        ]:
            res = await s.call_tool(name, args)
            assert not res.is_error, (name, res.content)
            out.setdefault(name, []).append(res.structured_content)
        return out
    out = run(url, go)
    assert [q["byzantine_safe"] for q in out["bft_quorum"]] == [False, True]
    assert "EUAIACT-ART9-002" in out["evaluate_eu_ai_act"][0]["passed"]
    assert out["validate_agent_card"][0]["experts_missing"] == list(range(1, 15))
    assert out["settle_votes"][0]["agreed"] and out["settle_votes"][0]["value"] == "e3"
    assert out["robust_route"][0]["winner"] == 0
    assert out["verify_receipts"][0]["ok"]
    receipt = out["append_receipt"][0]["receipt"]
    assert out["append_receipt"][0]["key_id"] == out["receipt_key"][0]["key_id"]
    from openmoe_bft.experts import by_id
    from openmoe_bft.receipts import load_verifier

    pub = load_verifier(out["receipt_key"][0]["public_key_pem"].encode())
    assert by_id(5).validate(receipt, keys=[pub]).status == "valid"
    if HAS_RED_TEAM:
        rt = out["red_team_scan"][0]
        assert rt["risk_score"] == 1.0 and rt["succeeded"] == 0
        assert rt["a2a_evidence"]["metadata"]["redTeamReport"]["riskScore"] == 1.0


@pytest.mark.parametrize("name,args,needle", [
    ("bft_quorum", {"num_nodes": 0}, "greater than or equal to 1"),
    ("bft_quorum", {"num_nodes": "four"}, "num_nodes"),
    ("bft_quorum", {}, "num_nodes"),
    ("robust_route", {"scores": [[1, 0]] * 3, "method": "krum", "f": 1}, "krum"),
    ("evaluate_eu_ai_act", {"evidence": [1, 2]}, "evidence"),
    ("validate_agent_card", {"card": "/etc/passwd"}, "JSON object"),
    ("validate_agent_card", {"card": "http://127.0.0.1:9/card.json"}, "--allow-network"),
    ("verify_receipts", {"public_keys": ["00" * 32], "path": "/etc/passwd"}, "--allow-files"),
    ("verify_receipts", {"public_keys": ["nope"], "export": "x"}, "public key"),
    ("settle_votes", {"session_id": "x", "total_nodes": 4, "votes": [{"node_id": "a"}]},
     "exactly one of"),
    ("no_such_tool", {}, "no_such_tool"),
    ("red_team_scan", {"target": "os:system"}, "--allow-import"),
])
def test_tool_failures_are_tool_errors_with_a_message(url, name, args, needle):
    async def go(s):
        res = await s.call_tool(name, args)
        # the connection survives a failed call
        ok = await s.call_tool("bft_quorum", {"num_nodes": 7})
        return res, ok
    res, ok = run(url, go)
    assert res.is_error
    assert needle in res.content[0].text
    assert ok.structured_content["quorum_size"] == 5


def test_auth_is_enforced(url):
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}}
    hdrs = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for auth in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                 {"Authorization": TOKEN}):
        r = httpx.post(url, json=init, headers={**hdrs, **auth}, timeout=10)
        assert r.status_code == 401, auth
        assert "bearer" in r.headers.get("www-authenticate", "").lower()
    assert httpx.post(url, json=init, headers={**hdrs, **BEARER}, timeout=10).status_code == 200

    async def go(s):
        return await s.list_tools()
    with pytest.raises(BaseException):  # noqa: B017 - the SDK raises a transport error group
        run(url, go, headers={})


def test_request_body_size_is_limited(url):
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "append_receipt", "arguments": {"payload": "x" * (2 * 1024 * 1024)}}})
    r = httpx.post(url, content=big, headers={**BEARER, "Content-Type": "application/json",
                                               "Accept": "application/json, text/event-stream"},
                   timeout=30)
    assert r.status_code == 413


def test_public_routes(url):
    base = url.rsplit("/mcp", 1)[0]
    assert httpx.get(base + "/healthz", timeout=5).json() == {"ok": True}
    key = httpx.get(base + "/receipt-key", timeout=5).json()
    assert key["algorithm"] == "ed25519" and len(key["public_key_hex"]) == 64


def test_non_loopback_without_a_token_is_refused_at_start_up():
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "openmoe_bft.server", "--host", "0.0.0.0",
                        "--port", "1"], capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 2
    assert "non-loopback" in r.stderr and "--token" in r.stderr


def test_the_server_attests_its_own_tools_for_expert_6(url):
    async def go(s):
        att = await s.call_tool("mcp_attestation", {})
        listed = (await s.list_tools()).tools
        return att.structured_content, listed
    att, listed = run(url, go)
    from openmoe_bft.experts import by_id, mcp_digest

    assert [t["name"] for t in att["tools"]] == [t.name for t in listed]
    assert att["digest"] == mcp_digest(att["tools"])
    assert by_id(6).validate(att).status == "valid"
    changed = {**att, "tools": att["tools"][:-1]}
    assert by_id(6).validate(changed).status == "invalid"
