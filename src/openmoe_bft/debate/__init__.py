"""Debate consensus: proposers argue over rounds, the BFT quorum settles their positions.

::

    from openmoe_bft.debate import run_debate

    result = run_debate("d-1", {"a": lambda t: ("yes", "a: yes"),
                                "b": lambda t: ("yes", "b: yes"),
                                "c": lambda t: ("no", "c: no"),
                                "d": lambda t: ("yes", "d: yes")}, rounds=2)
    result.consensus, result.agreed_value, result.debate.transcript

* :mod:`~openmoe_bft.debate.core` — ``run_debate`` / ``arun_debate``, ``DebateResult``,
  ``DebateRound``, ``Turn``, ``position_hash``
* :mod:`~openmoe_bft.debate.proposers` — ``openai_proposer`` (any OpenAI-compatible
  ``/chat/completions`` server, stdlib HTTP), ``parse_position``
"""

from .core import (
    DebateResult,
    DebateRound,
    Proposer,
    Turn,
    arun_debate,
    position_hash,
    run_debate,
)
from .proposers import ProposerError, openai_proposer, parse_position

__all__ = [
    "DebateResult",
    "DebateRound",
    "Proposer",
    "ProposerError",
    "Turn",
    "arun_debate",
    "openai_proposer",
    "parse_position",
    "position_hash",
    "run_debate",
]
