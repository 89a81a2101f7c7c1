"""The seed's public names stay importable; importing the package does no work."""

import subprocess
import sys

import pytest

import openmoe_bft

SEED_TOP_LEVEL = ["BFTRouter", "BFTConsensus", "BFTLedger", "NoConsensusError", "quorum_size",
                  "tolerated_faults", "assignment_hash", "RoutingDecision"]


@pytest.mark.parametrize("name", SEED_TOP_LEVEL)
def test_seed_names_import_from_top_level(name):
    assert getattr(openmoe_bft, name) is not None


def test_seed_module_paths():
    from openmoe_bft.bft import (  # noqa: F401
        BFTConsensus,
        BFTLedger,
        BFTRouter,
        NoConsensusError,
        quorum_size,
        tolerated_faults,
    )


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        openmoe_bft.does_not_exist  # noqa: B018


def test_import_is_light():
    code = "import sys, openmoe_bft; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
