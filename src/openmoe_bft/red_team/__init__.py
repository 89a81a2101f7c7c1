"""Red-team orchestration: probe a target with attack strategies, score it, seal it.

    from openmoe_bft.red_team import scan

    report = scan("builtin:vulnerable")
    report.risk_score            # 1.0 = every probe defended
    report.to_a2a_evidence()     # {"metadata": {"redTeamReport": {...}}}

Eight default strategies in five categories (the seed's ids), each with real probes and
detectors built on planted canaries and structural checks; targets are Python
callables, OpenAI-compatible endpoints, A2A agents and MCP tools. See
:mod:`~openmoe_bft.red_team.report` for how the score counts errors and timeouts.
"""

from .detectors import (
    any_of,
    canary_detector,
    exfil_link_detector,
    judge_detector,
    pii_detector,
    system_prompt_detector,
    tool_authz_detector,
)
from .engine import EngineSettings
from .log import ScanLog, read_log, replay
from .mutations import MutationEngine
from .orchestrator import (
    RedTeamOrchestrator,
    ascan,
    default_orchestrator,
    red_team_scan,
    scan,
    seal_report,
)
from .owasp import OWASP_LLM_2025
from .registry import ENTRY_POINT_GROUP, StrategyRegistry, register_strategy
from .registry import registry as strategy_registry
from .report import RedTeamReport, build_report, risk_score, to_a2a_evidence
from .strategies import STRATEGIES, default_strategies, make_canary
from .strategy import AttackResult, AttackStrategy, ProbeContext
from .targets import (
    CallableTarget,
    OpenAIChatTarget,
    Target,
    TargetError,
    TargetRefused,
    resolve_target,
)
from .types import (
    SEVERITY_WEIGHTS,
    VALID_CATEGORIES,
    VALID_SEVERITIES,
    Attempt,
    Message,
    Probe,
    TargetResponse,
    ToolCall,
    ToolSpec,
    Verdict,
)

__all__ = [
    "ENTRY_POINT_GROUP", "OWASP_LLM_2025", "SEVERITY_WEIGHTS", "STRATEGIES",
    "VALID_CATEGORIES", "VALID_SEVERITIES",
    "AttackResult", "AttackStrategy", "Attempt", "CallableTarget", "EngineSettings",
    "Message", "MutationEngine", "OpenAIChatTarget", "Probe", "ProbeContext",
    "RedTeamOrchestrator", "RedTeamReport", "ScanLog", "StrategyRegistry", "Target",
    "TargetError", "TargetRefused", "TargetResponse", "ToolCall", "ToolSpec", "Verdict",
    "any_of", "ascan", "build_report", "canary_detector", "default_orchestrator",
    "default_strategies", "exfil_link_detector", "judge_detector", "make_canary",
    "pii_detector", "read_log", "red_team_scan", "register_strategy", "replay",
    "resolve_target", "risk_score", "scan", "seal_report", "strategy_registry",
    "system_prompt_detector",
    "to_a2a_evidence", "tool_authz_detector",
]
