"""R replica routers → Byzantine consensus → dispatch.

:func:`openmoe_bft.bft.settle_batch` decides, per token, which expert *set* a quorum
of router replicas agrees on; :func:`route_settled` turns that settlement into a
:class:`~openmoe_bft.moe.RoutingResult` for the agreed tokens: the quorum's expert
ids are kept as they are, gate weights come from the replicas' coordinate-wise
median logits (with fewer than half of the replicas Byzantine, each median lies
within the honest replicas' range), and the router's capacity policy then applies.
Tokens without consensus are withheld, never dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidInput, InvalidType
from ._gating import as_float_array
from .router import RoutingResult, SparseMoERouter

__all__ = ["SettledRouting", "route_settled"]


@dataclass(frozen=True, eq=False)
class SettledRouting:
    """``tokens``: batch indices of the dispatched tokens, ascending; ``routing``: their
    :class:`RoutingResult`, row ``i`` for ``tokens[i]``; ``withheld``: batch indices of
    tokens without consensus."""

    tokens: np.ndarray
    withheld: np.ndarray
    routing: RoutingResult

    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens.tolist(), "withheld": self.withheld.tolist(),
                "routing": self.routing.to_dict()}

    def __repr__(self) -> str:
        return (f"SettledRouting(dispatched={self.tokens.size}, withheld={self.withheld.size}, "
                f"routing={self.routing!r})")


def route_settled(settlement: Any, logits: Any, router: SparseMoERouter | None = None) -> SettledRouting:
    """Route the tokens a :class:`~openmoe_bft.bft.BatchSettlement` dispatched.

    ``logits``: the replicas' ``[replicas, tokens, experts]`` scores (their
    coordinate-wise median, ignoring non-finite entries, sets the weights) or one
    ``[tokens, experts]`` array of gate logits. ``router``: a token-choice
    :class:`SparseMoERouter` for the settlement's ``num_experts`` (default: one with
    the settlement's ``k`` and no capacity limit).
    """
    for attr in ("expert_ids", "dispatched", "num_experts", "k"):
        if not hasattr(settlement, attr):
            raise InvalidType(f"expected a BatchSettlement (from settle_batch), got "
                              f"{type(settlement).__name__}", argument="settlement")
    num_experts = int(settlement.num_experts)
    if router is None:
        router = SparseMoERouter(num_experts=num_experts, k=int(settlement.k))
    elif not isinstance(router, SparseMoERouter):
        raise InvalidType(f"expected a SparseMoERouter, got {type(router).__name__}", argument="router")
    if router.num_experts != num_experts or router.mode != "token_choice":
        raise InvalidInput(f"needs a token-choice router over the settlement's {num_experts} experts",
                           argument="router")
    dispatched = np.asarray(settlement.dispatched, dtype=bool)
    num_tokens = dispatched.shape[0]
    x = as_float_array(logits, "logits")
    if x.ndim == 3:
        if x.shape[1:] != (num_tokens, num_experts):
            raise InvalidInput(f"expected [replicas, {num_tokens}, {num_experts}], got {x.shape}",
                               argument="logits")
        sub = x[:, dispatched]
        if np.isfinite(sub).all():
            gate = np.median(sub, axis=0)
        else:  # abstaining replicas (NaN / inf rows) do not count
            gate = np.nanmedian(np.where(np.isfinite(sub), sub, np.nan), axis=0)
            if not np.isfinite(gate).all():
                raise InvalidInput("a dispatched token has an expert no replica scored finitely",
                                   argument="logits")
    elif x.ndim == 2:
        if x.shape != (num_tokens, num_experts):
            raise InvalidInput(f"expected [{num_tokens}, {num_experts}], got {x.shape}",
                               argument="logits")
        gate = x[dispatched]
    else:
        raise InvalidInput(f"expected [replicas, tokens, experts] or [tokens, experts], got {x.shape}",
                           argument="logits")
    tokens = np.flatnonzero(dispatched)
    selected = np.asarray(settlement.expert_ids)[dispatched]
    if selected.ndim == 1:
        selected = selected[:, None]
    routing = router.route(gate, selected=selected) if tokens.size else router.route(
        np.zeros((0, num_experts)))
    return SettledRouting(tokens=tokens, withheld=np.flatnonzero(~dispatched), routing=routing)
