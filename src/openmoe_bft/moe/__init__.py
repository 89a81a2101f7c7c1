"""Sparse Mixture-of-Experts routing (numpy): the gate a single router runs.

Top-k token-choice gating (Shazeer et al. 2017; GShard, Lepikhin et al. 2020; Switch,
Fedus et al. 2022), noisy top-k gating, expert capacity with token dropping, expert
choice routing (Zhou et al. 2022), the Switch load-balancing loss and the ST-MoE
router z-loss (Zoph et al. 2022). Cleanroom with respect to OpenMoE
(arXiv:2402.01739). The Byzantine layer (:mod:`openmoe_bft.bft`) sits above this:
:func:`route_settled` dispatches what a quorum of router replicas agreed on.

The seed package's names keep their call shapes::

    from openmoe_bft.moe import (SparseMoERouter, RoutingResult, softmax, top_k_gating,
                                 noisy_top_k_gating, load_balancing_loss)
"""

from ._gating import (
    Assignment,
    load_balancing_loss,
    noisy_top_k_gating,
    router_z_loss,
    softmax,
    switch_load_balancing_loss,
    top_k_gating,
)
from .compose import SettledRouting, route_settled
from .router import RoutingResult, SparseMoERouter

__all__ = [
    "Assignment",
    "RoutingResult",
    "SettledRouting",
    "SparseMoERouter",
    "load_balancing_loss",
    "noisy_top_k_gating",
    "route_settled",
    "router_z_loss",
    "softmax",
    "switch_load_balancing_loss",
    "top_k_gating",
]
