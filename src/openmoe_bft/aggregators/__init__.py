"""Byzantine-robust aggregation of router-replica score vectors.

Where :mod:`openmoe_bft.bft` votes over discrete expert choices, this package fuses
real-valued per-expert score vectors (router logits) from ``n`` replicas with a rule
that up to ``f`` arbitrary replicas cannot steer, then routes on the fused vector.
Every rule is vectorized and batched over tokens (``[replicas, tokens, experts]``).
"""

from .route import METHODS, aggregate, robust_route, top_k
from .rules import (
    bulyan,
    coordinate_wise_median,
    geometric_median,
    krum,
    krum_scores,
    mean,
    multi_krum,
    nnm,
    trimmed_mean,
)

__all__ = [
    "METHODS",
    "aggregate",
    "bulyan",
    "coordinate_wise_median",
    "geometric_median",
    "krum",
    "krum_scores",
    "mean",
    "multi_krum",
    "nnm",
    "robust_route",
    "top_k",
    "trimmed_mean",
]
