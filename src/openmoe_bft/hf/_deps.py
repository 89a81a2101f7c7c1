"""Import torch / transformers on first use, or say which extra to install."""

from __future__ import annotations

from types import ModuleType

from ..errors import MissingDependency

HINT = "pip install 'openmoe-bft[hf]'"


def require_torch() -> ModuleType:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise MissingDependency(f"openmoe_bft.hf needs PyTorch, which is not installed. Install the extra: {HINT}") from exc
    return torch


def require_transformers() -> ModuleType:
    require_torch()
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover - exercised only without transformers
        raise MissingDependency(
            f"openmoe_bft.hf needs Hugging Face transformers, which is not installed. Install the extra: {HINT}"
        ) from exc
    return transformers
