"""openmoe-bft — Byzantine-fault-tolerant consensus for Mixture-of-Experts routing.

The headline names are importable from here; each lives in its own module::

    from openmoe_bft import BFTRouter, settle_batch, quorum_size

Names are resolved lazily on first use, so ``import openmoe_bft`` does no work
(and does not import numpy) until you touch something.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it. Later modules add their headline names here.
_EXPORTS: dict[str, str] = {
    "BFTConsensus": "openmoe_bft.bft",
    "BFTLedger": "openmoe_bft.bft",
    "BFTRouter": "openmoe_bft.bft",
    "BatchSettlement": "openmoe_bft.bft",
    "RoutingDecision": "openmoe_bft.bft",
    "Settlement": "openmoe_bft.bft",
    "assignment_hash": "openmoe_bft.bft",
    "decision_threshold": "openmoe_bft.bft",
    "quorum_size": "openmoe_bft.bft",
    "settle_batch": "openmoe_bft.bft",
    "tolerated_faults": "openmoe_bft.bft",
    "NoConsensusError": "openmoe_bft.errors",
    "OpenMoEBFTError": "openmoe_bft.errors",
    "InvalidInput": "openmoe_bft.errors",
    "Store": "openmoe_bft.store",
    "A2AComplianceVerdict": "openmoe_bft.a2a",
    "validate_card": "openmoe_bft.a2a",
    "validate_task": "openmoe_bft.a2a",
    "ComplianceReport": "openmoe_bft.eu_ai_act",
    "EXPERTS": "openmoe_bft.experts",
    "ExpertDomain": "openmoe_bft.experts",
    "by_domain": "openmoe_bft.experts",
    "by_id": "openmoe_bft.experts",
    "by_regulation": "openmoe_bft.experts",
    "expert_ids": "openmoe_bft.experts",
    "register_expert": "openmoe_bft.experts",
    "evaluate": "openmoe_bft.eu_ai_act",
    "RoutingResult": "openmoe_bft.moe",
    "SparseMoERouter": "openmoe_bft.moe",
    "route_settled": "openmoe_bft.moe",
    "aggregate": "openmoe_bft.aggregators",
    "coordinate_wise_median": "openmoe_bft.aggregators",
    "krum": "openmoe_bft.aggregators",
    "multi_krum": "openmoe_bft.aggregators",
    "robust_route": "openmoe_bft.aggregators",
    "trimmed_mean": "openmoe_bft.aggregators",
    "AuditChain": "openmoe_bft.receipts",
    "Receipt": "openmoe_bft.receipts",
    "VerifyResult": "openmoe_bft.receipts",
    "DebateResult": "openmoe_bft.debate",
    "run_debate": "openmoe_bft.debate",
    "Covenant": "openmoe_bft.covenants",
    "CovenantRegistry": "openmoe_bft.covenants",
    "expert_covenants": "openmoe_bft.covenants",
    "DistributedRouter": "openmoe_bft.distributed",
    "InProcessBackend": "openmoe_bft.distributed",
    "RayBackend": "openmoe_bft.distributed",
    "MemoryEvent": "openmoe_bft.memory",
    "MemoryPyramid": "openmoe_bft.memory",
    "RedTeamOrchestrator": "openmoe_bft.red_team",
    "RedTeamReport": "openmoe_bft.red_team",
    "red_team_scan": "openmoe_bft.red_team",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:  # pragma: no cover
    from .a2a import A2AComplianceVerdict, validate_card, validate_task
    from .aggregators import (
        aggregate,
        coordinate_wise_median,
        krum,
        multi_krum,
        robust_route,
        trimmed_mean,
    )
    from .bft import (
        BatchSettlement,
        BFTConsensus,
        BFTLedger,
        BFTRouter,
        RoutingDecision,
        Settlement,
        assignment_hash,
        decision_threshold,
        quorum_size,
        settle_batch,
        tolerated_faults,
    )
    from .covenants import Covenant, CovenantRegistry, expert_covenants
    from .debate import DebateResult, run_debate
    from .distributed import DistributedRouter, InProcessBackend, RayBackend
    from .errors import InvalidInput, NoConsensusError, OpenMoEBFTError
    from .eu_ai_act import ComplianceReport, evaluate
    from .experts import (
        EXPERTS,
        ExpertDomain,
        by_domain,
        by_id,
        by_regulation,
        expert_ids,
        register_expert,
    )
    from .memory import MemoryEvent, MemoryPyramid
    from .moe import RoutingResult, SparseMoERouter, route_settled
    from .receipts import AuditChain, Receipt, VerifyResult
    from .red_team import RedTeamOrchestrator, RedTeamReport, red_team_scan
    from .store import Store


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'openmoe_bft' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
