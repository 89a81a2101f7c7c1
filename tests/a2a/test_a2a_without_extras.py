"""Without the [a2a] extra: the package imports, dict and file cards validate,
signatures are 'unverifiable', and the features that need it raise MissingDependency."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    for name in ("httpx", "joserfc", "a2a", "google.protobuf"):
        sys.modules[name] = None  # as if not installed
    import openmoe_bft.a2a as a2a
    from openmoe_bft.errors import MissingDependency
    loaded = [m for m in sys.modules if m.split(".")[0] in ("httpx", "joserfc", "a2a")
              and sys.modules[m] is not None]
    card = {"name": "x", "metadata": {"riskAssessment": True},
            "signatures": [{"protected": "eyJhbGciOiJFZERTQSJ9", "signature": "AA"}]}
    v = a2a.validate_card(card, today="2026-11-25")
    out = {"loaded": loaded, "covered": v.experts_covered,
           "sig": [s.status for s in v.signatures], "reason": v.signatures[0].reason}
    for label, call in (("url", lambda: a2a.validate_card("https://example.com")),
                        ("sdk", lambda: a2a.validate_card(card, structure="sdk")),
                        ("sign", lambda: a2a.sign_card(card, b"k"))):
        try:
            call()
            out[label] = "no error"
        except MissingDependency as exc:
            out[label] = "MissingDependency: " + str(exc)
    print(json.dumps(out))
""").replace("import sys\\n", "import json, sys\\n", 1)


def test_core_validation_works_without_the_extra():
    proc = subprocess.run([sys.executable, "-c", "import json\n" + SCRIPT],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    assert out["covered"] == [1]
    assert out["sig"] == ["unverifiable"] and "openmoe-bft[a2a]" in out["reason"]
    for label in ("url", "sdk", "sign"):
        assert out[label].startswith("MissingDependency"), (label, out[label])
        assert "[a2a]" in out[label]
