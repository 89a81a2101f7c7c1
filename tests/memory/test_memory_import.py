"""Importing the memory package is light: no numpy (until a vector index is used), no CLI,
no HTTP client."""

import subprocess
import sys


def test_import_is_light():
    code = ("import sys, openmoe_bft.memory as m; "
            "print(*[x in sys.modules for x in ('numpy', 'typer', 'urllib.request')]); "
            "m.VectorIndex; print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False", "False", "True"]
