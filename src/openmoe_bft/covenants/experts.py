"""The 14 OpenScore safety experts as covenant templates.

Each expert of :data:`openmoe_bft.experts.EXPERTS` pre-commits to one action, auditing
its own A2A field: agent :attr:`~openmoe_bft.experts.Expert.covenant_agent_id`
(``"expert:1"``), allowed action :attr:`~openmoe_bft.experts.Expert.covenant_action`
(``"audit:metadata.riskAssessment"``). The list lives in the experts registry; this
module only turns it into covenants.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidType
from .model import Covenant

__all__ = ["expert_covenants"]

Constraints = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None


def expert_covenants(
    timestamp: int | float | None = None,
    *,
    constraints: Constraints = None,
    expires_at: int | float | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[int, Covenant]:
    """``{expert_id: Covenant}`` for the 14 experts, in registry order.

    ``constraints`` is one dict for every expert, or a callable ``expert -> dict``
    (e.g. a rate limit per expert); ``timestamp`` defaults to ``clock()`` (one value
    for all 14, so the set is reproducible).
    """
    from ..experts import EXPERTS

    if constraints is not None and not (isinstance(constraints, Mapping) or callable(constraints)):
        raise InvalidType("constraints must be a dict or a callable expert -> dict",
                          argument="constraints")
    ts = clock() if timestamp is None else timestamp
    out: dict[int, Covenant] = {}
    for expert in EXPERTS:
        cons = constraints(expert) if callable(constraints) else constraints
        out[expert.expert_id] = Covenant.inscribe(
            agent_id=expert.covenant_agent_id, allowed_actions={expert.covenant_action},
            constraints=cons, timestamp=ts, expires_at=expires_at)
    return out
