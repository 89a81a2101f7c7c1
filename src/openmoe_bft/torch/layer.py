"""``TinyMoE``: a minimal MoE feed-forward layer around a :class:`BFTGate`.

Small on purpose (examples and tests): ``E`` two-layer GELU MLP experts stored as
stacked weights, sparse dispatch with the gate's ``dispatch_mask`` (a token is
computed only by the experts it was dispatched to), outputs mixed with
``combine_weights``, and a residual connection — so a token the gate withheld comes
out as its input, unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import InvalidInput
from .gate import BFTGate, GateOutput

__all__ = ["TinyMoE"]


class TinyMoE(nn.Module):
    """``y = x + sum_e combine[t, e] * expert_e(x_t)`` with a BFT gate.

    ``TinyMoE(hidden_size, num_experts, k=2, ffn_size=4*hidden, replicas=4, **gate_kwargs)``
    builds its own :class:`BFTGate`; pass ``gate=`` to use one you built (e.g.
    ``BFTGate.from_router(...)``; ``replicas=1`` is a plain single router).
    ``forward(x [..., H])`` returns ``(y [..., H], GateOutput)``; add
    ``gate_output.aux_loss`` / ``z_loss`` to your loss as you see fit.
    """

    def __init__(
        self,
        hidden_size: int,
        num_experts: int,
        *,
        k: int = 2,
        ffn_size: int | None = None,
        replicas: int = 4,
        gate: BFTGate | None = None,
        device: Any = None,
        dtype: torch.dtype | None = None,
        **gate_kwargs: Any,
    ) -> None:
        super().__init__()
        if gate is None:
            gate = BFTGate(hidden_size, num_experts, replicas, k=k, device=device, dtype=dtype, **gate_kwargs)
        elif not isinstance(gate, BFTGate):
            raise InvalidInput(f"expected a BFTGate, got {type(gate).__name__}", argument="gate")
        elif (gate.hidden_size, gate.num_experts) != (hidden_size, num_experts):
            raise InvalidInput(
                f"gate is {gate.hidden_size} -> {gate.num_experts}, layer is {hidden_size} -> {num_experts}",
                argument="gate",
            )
        self.gate = gate
        ffn = ffn_size or 4 * hidden_size
        factory = {"device": device, "dtype": dtype}
        self.w_in = nn.Parameter(torch.empty(num_experts, hidden_size, ffn, **factory))
        self.b_in = nn.Parameter(torch.zeros(num_experts, ffn, **factory))
        self.w_out = nn.Parameter(torch.empty(num_experts, ffn, hidden_size, **factory))
        self.b_out = nn.Parameter(torch.zeros(num_experts, hidden_size, **factory))
        with torch.no_grad():
            self.w_in.uniform_(-1 / math.sqrt(hidden_size), 1 / math.sqrt(hidden_size))
            self.w_out.uniform_(-1 / math.sqrt(ffn), 1 / math.sqrt(ffn))
        self.hidden_size = hidden_size
        self.num_experts = num_experts

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, GateOutput]:
        route = self.gate(x)
        flat = x.reshape(-1, self.hidden_size)
        out = torch.zeros_like(flat)
        combine = route.combine_weights.to(flat.dtype)
        for e in range(self.num_experts):
            idx = route.dispatch_mask[:, e].nonzero().squeeze(1)
            if idx.numel() == 0:
                continue
            h = torch.nn.functional.gelu(flat[idx] @ self.w_in[e] + self.b_in[e])
            y = h @ self.w_out[e] + self.b_out[e]
            out = out.index_add(0, idx, y * combine[idx, e].unsqueeze(1))
        return x + out.view_as(x), route
