"""BFT routing inside Hugging Face ``transformers`` MoE models.

Needs the ``[hf]`` extra (``pip install 'openmoe-bft[hf]'``: ``transformers`` and
``torch==2.13.0``)::

    from openmoe_bft.hf import patch_moe_gates

    with patch_moe_gates(model, replicas=4) as handle:   # every MoE router -> BFTGate(R=4)
        out = model(input_ids)                          # == the unpatched model's output
        print(handle.stats().to_dict())                 # per layer: withheld, flagged replicas
    # leaving the block restores the original router modules (the same objects)

Supported families (``SUPPORTED_FAMILIES``): Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE
(top-k routers) and Switch Transformers (top-1 router with expert capacity). See
:func:`patch_moe_gates` for how each router is replaced and what stays bit-exact.

Importing this package does not import torch or transformers; the first use does.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "patch_moe_gates",
    "find_moe_routers",
    "PatchHandle",
    "PatchStats",
    "LayerStats",
    "PatchedLayer",
    "RouterSite",
    "SUPPORTED_FAMILIES",
    "PATCH_MODES",
]

SUPPORTED_FAMILIES = ("mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "switch_transformers")
PATCH_MODES = ("copies", "perturbed", "given")


def __getattr__(name: str) -> Any:
    if name in {"patch_moe_gates", "find_moe_routers", "PatchHandle", "PatchStats", "LayerStats", "PatchedLayer",
                "RouterSite"}:
        from . import _patch

        return getattr(_patch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
