"""Drive the server once with the MCP Inspector CLI from the npm registry.

Skips cleanly when node / npx are absent or the package cannot be fetched (offline).
The package is pinned (``--header`` needs Inspector 2.x); override with
``OPENMOE_INSPECTOR_PKG``.
"""

import json
import os
import shutil
import subprocess

import pytest

pytest.importorskip("mcp")

from _mcp_harness import server_process  # noqa: E402

PKG = os.environ.get("OPENMOE_INSPECTOR_PKG", "@modelcontextprotocol/inspector@2.12.0")
TOKEN = "inspector-token-0123456789abcdef"


def inspector(url: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["npx", "-y", PKG, "--cli", url, "--transport", "http", *args],
        capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "npm_config_update_notifier": "false", "CI": "1"})


@pytest.fixture(scope="module")
def url():
    if shutil.which("node") is None or shutil.which("npx") is None:
        pytest.skip("node / npx not installed")
    with server_process("--token", TOKEN) as u:
        try:
            probe = inspector(u, "--header", f"Authorization: Bearer {TOKEN}",
                              "--method", "tools/list")
        except subprocess.TimeoutExpired:
            pytest.skip("the MCP Inspector could not be fetched in time (offline?)")
        offline = ("ENOTFOUND", "ETIMEDOUT", "EAI_AGAIN", "E404", "ECONNREFUSED", "network",
                   "npm error")
        if probe.returncode != 0 and not probe.stdout.strip().startswith("{") \
                and any(s in probe.stderr for s in offline):
            pytest.skip(f"the MCP Inspector could not be fetched: {probe.stderr[-300:]}")
        yield u, probe


def test_inspector_lists_our_tools(url):
    _, probe = url
    assert probe.returncode == 0, probe.stderr[-2000:]
    tools = {t["name"]: t for t in json.loads(probe.stdout)["tools"]}
    assert {"bft_quorum", "evaluate_eu_ai_act", "validate_agent_card", "red_team_scan"} <= set(tools)
    assert tools["bft_quorum"]["outputSchema"]["properties"]["byzantine_safe"]["type"] == "boolean"


def test_inspector_calls_a_tool_and_is_refused_without_the_token(url):
    u, _ = url
    r = inspector(u, "--header", f"Authorization: Bearer {TOKEN}", "--method", "tools/call",
                  "--tool-name", "bft_quorum", "--tool-arg", "num_nodes=7")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["structuredContent"]["quorum_size"] == 5 and out["isError"] is False
    denied = inspector(u, "--stored-auth-only", "--method", "tools/list")
    assert denied.returncode != 0
    assert '"tools"' not in denied.stdout
