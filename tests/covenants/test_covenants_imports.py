"""Importing covenants / debate pulls in no optional extra and no network client."""

import subprocess
import sys

HEAVY = ("httpx", "scipy", "networkx", "torch", "ray", "mcp", "x402", "a2a", "transformers")


def test_imports_are_light():
    code = ("import sys, openmoe_bft.covenants, openmoe_bft.debate, "
            "openmoe_bft.covenants.cli; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
