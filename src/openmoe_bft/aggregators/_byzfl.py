"""Load ByzFL's aggregators and attacks for parity checks and benchmarks.

``import byzfl`` also imports its training framework, which needs torchvision,
matplotlib and seaborn; the rules themselves need only numpy, torch and scipy. This
loads ``byzfl.aggregators`` and ``byzfl.attacks`` under a bare ``byzfl`` package
object so the heavy parts are never imported. Used by our tests and benchmarks only
(install with ``pip install --no-deps byzfl==0.0.11`` after torch and scipy).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

from ..errors import OpenMoEBFTError


def load_byzfl() -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    """``(aggregators, preaggregators, attacks)`` modules of the installed ByzFL."""
    spec = importlib.util.find_spec("byzfl")
    if spec is None or not spec.submodule_search_locations:
        raise OpenMoEBFTError(
            "byzfl is not installed; `pip install --no-deps byzfl==0.0.11` (with torch==2.13.0 "
            "and scipy installed first)"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    if "byzfl" not in sys.modules:  # a bare package: its __init__ (the framework) never runs
        pkg = types.ModuleType("byzfl")
        pkg.__path__ = [str(root)]
        sys.modules["byzfl"] = pkg
    aggs = importlib.import_module("byzfl.aggregators.aggregators")
    pre = importlib.import_module("byzfl.aggregators.preaggregators")
    atk = importlib.import_module("byzfl.attacks.attacks")
    return aggs, pre, atk
