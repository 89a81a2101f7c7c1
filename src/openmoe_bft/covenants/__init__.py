"""Covenants and a web of trust: agents pre-commit to what they may do, every action is
audited, breaches lower reputation.

::

    from openmoe_bft.covenants import Action, Covenant, CovenantRegistry

    reg = CovenantRegistry()                       # or CovenantRegistry("trust.db")
    reg.inscribe(Covenant.inscribe(agent_id="bot", allowed_actions={"spend"},
                                   constraints={"max_cost_usd": 1.0}, timestamp=1000))
    breach = reg.record(Action("a1", "bot", "spend", {"cost_usd": 5.0}, 1001))
    breach.severity, breach.constraint          # ('major', 'max_cost_usd')
    reg.trust_score("bot")                      # 0.8

* :mod:`~openmoe_bft.covenants.model` — ``Covenant``, ``Action``, ``Breach``, ``Verdict``
* :mod:`~openmoe_bft.covenants.constraints` — declarative constraints, custom evaluators
* :mod:`~openmoe_bft.covenants.registry` — ``CovenantRegistry`` (SQLite via ``store=``,
  receipts via ``audit=``), ``GlobalTrust``
* :mod:`~openmoe_bft.covenants.eigentrust` — ``eigentrust`` (numpy, Kamvar et al. 2003)
* :mod:`~openmoe_bft.covenants.experts` — ``expert_covenants``: the 14 expert templates
"""

from .constraints import Evaluator, evaluate_constraints
from .eigentrust import EigenTrustResult, eigentrust
from .experts import expert_covenants
from .model import (
    NO_ACTION_BASELINE,
    NO_COVENANT,
    SEVERITIES,
    SEVERITY_PENALTY,
    Action,
    Breach,
    Covenant,
    Verdict,
)
from .registry import CovenantRegistry, GlobalTrust

__all__ = [
    "Action",
    "Breach",
    "Covenant",
    "CovenantRegistry",
    "EigenTrustResult",
    "Evaluator",
    "GlobalTrust",
    "NO_ACTION_BASELINE",
    "NO_COVENANT",
    "SEVERITIES",
    "SEVERITY_PENALTY",
    "Verdict",
    "eigentrust",
    "evaluate_constraints",
    "expert_covenants",
]
