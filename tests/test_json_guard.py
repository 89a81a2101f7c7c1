"""Untrusted JSON is depth-checked before the C decoder sees it.

Some libraries raise the interpreter's recursion limit at import (``eth_account``
sets 100,000); then ``json.loads`` on a few hundred KB of ``[[[[`` overflows the C
stack and kills the process. These tests pin that every parser of outside JSON
refuses such input with a clean error instead, even after such an import.
"""

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft._json import MAX_DEPTH, loads, nesting_depth
from openmoe_bft.errors import InvalidInput

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=20,
)


def _depth(v):
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    return 0


@given(json_values)
def test_nesting_depth_matches_the_parsed_depth(value):
    text = json.dumps(value)
    assert nesting_depth(text) == _depth(value)
    assert nesting_depth(text.encode()) == _depth(value)
    assert loads(text) == value


def test_too_deep_is_invalid_input_and_a_value_error():
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidInput, match=f"nests {MAX_DEPTH + 1} levels deep") as info:
        loads(deep, argument="body")
    assert isinstance(info.value, ValueError) and info.value.argument == "body"
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


_HOSTILE = textwrap.dedent("""
    import os, sys, tempfile
    __import__("eth_account")                   # raises the recursion limit to 100,000
    assert sys.getrecursionlimit() >= 100_000
    deep = "[" * 400_000 + "]" * 400_000
    from typer.testing import CliRunner
    from openmoe_bft.a2a._json import parse_json_bytes
    from openmoe_bft.cli import app
    from openmoe_bft.errors import InvalidInput
    from openmoe_bft.red_team.detectors import tool_calls_in_text
    try:
        parse_json_bytes(deep.encode())
    except InvalidInput as exc:
        print("a2a:", exc)
    blob = '{"tool": "t", "arguments": "' + deep + '"}' + " " + deep
    print("red-team calls:", tool_calls_in_text(blob, ["t"]))
    path = os.path.join(tempfile.mkdtemp(), "deep.json")
    open(path, "w").write(deep)
    print("eu-ai-act exit", CliRunner().invoke(app, ["eu-ai-act", "evaluate", path]).exit_code)
""")


def test_hostile_nesting_after_eth_account_import_is_refused_not_a_crash():
    pytest.importorskip("eth_account")
    proc = subprocess.run([sys.executable, "-c", _HOSTILE], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "a2a:" in proc.stdout and "levels deep" in proc.stdout
    assert "red-team calls: [" in proc.stdout
    assert "eu-ai-act exit 2" in proc.stdout


def test_a_deeply_nested_export_line_is_a_bad_file_not_a_crash(tmp_path):
    from openmoe_bft.receipts import verify_export

    path = tmp_path / "audit.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    result = verify_export(str(path), [])
    assert not result.ok and "not JSON" in result.reason
