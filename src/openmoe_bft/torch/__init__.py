"""PyTorch BFT gate: ``R`` router replicas, one batched matmul, per-token consensus.

Needs the ``[torch]`` extra (``pip install 'openmoe-bft[torch]'``)::

    from openmoe_bft.torch import BFTGate, TinyMoE

    gate = BFTGate.from_router(nn.Linear(512, 64, bias=False), replicas=4, k=2)
    out = gate(hidden_states)            # GateOutput
    out.dispatch_mask, out.combine_weights, out.withheld, out.aux_loss, out.z_loss

See :class:`BFTGate` for the consensus rule and what it guarantees.
"""

from __future__ import annotations

try:
    import torch  # noqa: F401  (absolute import: the real PyTorch, not this package)
except ImportError as exc:  # pragma: no cover - exercised only without torch
    from ..errors import MissingDependency

    raise MissingDependency(
        "openmoe_bft.torch needs PyTorch, which is not installed. "
        "Install the extra: pip install 'openmoe-bft[torch]'"
    ) from exc

from .gate import FAULT_MODES, BFTGate, GateOutput, GateStats
from .layer import TinyMoE

__all__ = ["BFTGate", "GateOutput", "GateStats", "TinyMoE", "FAULT_MODES"]
