"""Target kinds and resolve_target: callables, OpenAI endpoints, A2A, MCP, refusals."""

import asyncio
import sys
import time
import types

import pytest

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.red_team import (
    CallableTarget,
    Message,
    OpenAIChatTarget,
    TargetRefused,
    resolve_target,
    scan,
)
from openmoe_bft.red_team.builtin import BUILTIN_CANARY, SYSTEM_PROMPT, vulnerable_agent
from openmoe_bft.red_team.targets import coerce_response, render_prompt

CTX = {"canaries": [BUILTIN_CANARY]}


def _prompt_agent(prompt: str) -> str:
    """A prompt -> response callable around the vulnerable agent."""
    return vulnerable_agent([{"role": "system", "content": SYSTEM_PROMPT},
                             {"role": "user", "content": prompt}])["content"]


def test_resolve_target_kinds(monkeypatch):
    assert resolve_target("builtin:hardened").target_id == "builtin:hardened"
    t = resolve_target("http://127.0.0.1:9/v1")
    assert isinstance(t, OpenAIChatTarget) and t.url == "http://127.0.0.1:9/v1/chat/completions"
    t = resolve_target({"kind": "openai", "url": "http://h:1", "model": "m",
                        "headers": {"Authorization": "Bearer x"}, "canaries": ["C-1"]})
    assert t.model == "m" and t.canaries == ("C-1",) and t.url.endswith("/v1/chat/completions")
    mod = types.ModuleType("rt_fake_agents")
    mod.agent = _prompt_agent
    monkeypatch.setitem(sys.modules, "rt_fake_agents", mod)
    t = resolve_target("rt_fake_agents:agent")
    assert isinstance(t, CallableTarget) and t.mode == "prompt"
    assert t.target_id == "callable:rt_fake_agents:agent"
    assert resolve_target(_prompt_agent).mode == "prompt"
    assert resolve_target(vulnerable_agent).mode == "messages"
    assert resolve_target(t) is t


@pytest.mark.parametrize("spec, match", [
    ("nonsense", "cannot tell"), (42, "callable, a string or a dict"),
    ({"kind": "carrier-pigeon"}, "kind"), ({"kind": "mcp", "url": "http://x"}, "tool"),
    ("builtin:nope", "no builtin"), ("no_such_module_xyz:f", "cannot import"),
    ({"kind": "openai", "url": "ftp://x"}, "http"),
])
def test_resolve_target_rejects_bad_specs(spec, match):
    with pytest.raises(InvalidInput, match=match):
        resolve_target(spec)


def test_resolve_target_refuses_network_and_import_when_disabled():
    for spec in ("http://127.0.0.1:1", {"kind": "a2a", "url": "http://x"},
                 {"kind": "mcp", "url": "http://x", "tool": "t"}):
        with pytest.raises(TargetRefused, match="network"):
            resolve_target(spec, allow_network=False)
    with pytest.raises(TargetRefused, match="import"):
        resolve_target("os.path:join", allow_import=False)
    with pytest.raises(TargetRefused):
        scan("http://127.0.0.1:1", allow_network=False)
    assert resolve_target("builtin:vulnerable", allow_network=False, allow_import=False)


def test_prompt_callable_gets_rendered_transcripts():
    msgs = [Message("user", "hi"), Message("assistant", "hello"), Message("user", "and?")]
    assert render_prompt(msgs[:1]) == "hi"
    text = render_prompt(msgs, {"user": "alice", "role": "user", "owned": ["A"]})
    assert text.startswith("[Session: user=alice role=user owns: A.]")
    assert text.endswith("User: and?\nAssistant:")


def test_sync_and_async_callables_score_the_same():
    async def async_agent(prompt):
        await asyncio.sleep(0)
        return _prompt_agent(prompt)

    a = scan(_prompt_agent, strategies=["prompt_injection"], context=CTX)
    b = scan(async_agent, strategies=["prompt_injection"], context=CTX)
    assert a.risk_score == b.risk_score < 0.2
    assert [x.outcome for x in a.attempts] == [x.outcome for x in b.attempts]


def test_hanging_and_raising_callables_are_inconclusive():
    def hangs(prompt):
        time.sleep(1.5)
        return "late"

    def raises(prompt):
        raise ConnectionError("backend down")

    t0 = time.perf_counter()
    rep = scan(hangs, strategies=["RT-BFLA"], timeout=0.1, retries=0, concurrency=6)
    assert time.perf_counter() - t0 < 1.0
    assert {a.outcome for a in rep.attempts} == {"timeout"}
    rep = scan(raises, strategies=["RT-BFLA"], retries=1, backoff=0.001)
    assert {a.outcome for a in rep.attempts} == {"error"}
    assert "backend down" in rep.attempts[0].error and rep.attempts[0].retries == 1


def test_coerce_response_shapes():
    assert coerce_response("x").text == "x"
    r = coerce_response({"content": None, "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]})
    assert r.text == "" and r.tool_calls[0].arguments == {"a": 1}
    from openmoe_bft.red_team.targets import TargetError
    with pytest.raises(TargetError):
        coerce_response(3.5)
    with pytest.raises(InvalidType):
        CallableTarget("not callable")


def test_openai_target_sends_tools_session_and_system_prompt():
    pytest.importorskip("httpx")
    seen = {}

    def agent(messages, tools):
        seen["messages"], seen["tools"] = messages, tools
        return {"content": "no"}

    from openmoe_bft.red_team.testing import FakeChatServer

    with FakeChatServer(agent) as server:
        spec = {"kind": "openai", "url": server.url, "system_prompt": "You are X."}
        scan(spec, strategies=["RT-BFLA"], concurrency=1)
    assert seen["messages"][0] == {"role": "system", "content": "You are X."}
    assert seen["messages"][1]["content"].startswith("Session: user=alice role=user")
    assert {t["function"]["name"] for t in seen["tools"]} >= {"delete_user", "get_invoice"}


def test_a2a_target_scores_apart():
    pytest.importorskip("a2a")
    pytest.importorskip("httpx")
    from redteam_targets import FakeA2AAgent

    scores = {}
    for name in ("vulnerable", "hardened"):
        with FakeA2AAgent(name) as agent:
            rep = scan({"kind": "a2a", "url": agent.url}, context=CTX, timeout=5,
                       strategies=["RT-PROMPT-SEND", "RT-INJECT-OVERRIDE"])
            assert rep.coverage == 1.0 and agent.requests == rep.probes
            scores[name] = rep.risk_score
    assert scores == {"vulnerable": 0.0, "hardened": 1.0}


def test_mcp_tool_target_in_process():
    pytest.importorskip("mcp")
    from mcp.server import MCPServer

    from openmoe_bft.red_team.remote import MCPToolTarget

    server = MCPServer("victim")

    @server.tool()
    def chat(prompt: str) -> str:
        return _prompt_agent(prompt)

    rep = scan(MCPToolTarget(server, "chat"), context=CTX, strategies=["RT-PROMPT-SEND"])
    assert rep.succeeded == 1 and rep.probes_landed == rep.probes == 8
    missing = scan(MCPToolTarget(server, "no_such_tool"), strategies=["RT-PROMPT-SEND"],
                   retries=0)
    assert missing.coverage == 0.0


@pytest.mark.parametrize(("helper", "transport"), [("_httpx", "httpx"), ("_h11", "h11")])
def test_missing_http_library_is_a_typed_error_with_the_extra(monkeypatch, helper, transport):
    from openmoe_bft.errors import MissingDependency
    from openmoe_bft.red_team import targets

    def missing():
        raise MissingDependency("pip install 'openmoe-bft[red-team]'")

    monkeypatch.setattr(targets, helper, missing)
    with pytest.raises(MissingDependency, match="red-team"):
        scan({"url": "http://127.0.0.1:9", "transport": transport}, strategies=["RT-BFLA"],
             retries=0)
