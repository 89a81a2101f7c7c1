"""A2A Agent Card and Task validation against the EU AI Act and the 14 OpenScore experts.

::

    from openmoe_bft.a2a import validate_card, seal_verdict
    from openmoe_bft.receipts import AuditChain

    verdict = validate_card("agent-card.json")          # or a dict, AgentCard, URL
    verdict.compliant, verdict.score, verdict.experts_missing, verdict.advisory
    receipt = seal_verdict(verdict, AuditChain(), timestamp=1_700_000_000)

Evidence is read from the card's top-level ``metadata`` (the seed's convention) and
from the params of the A2A extension :data:`EXTENSION_URI` under
``capabilities.extensions``. Card ``signatures`` (JWS over the RFC 8785 canonical
card) are verified with ``joserfc``; URL fetching uses ``httpx``; the structure check
also uses ``a2a-sdk``'s types — all three in the ``[a2a]`` extra. Without the extra,
dict/file validation works (built-in structure check); signatures are reported
``unverifiable`` and fetching raises :class:`~openmoe_bft.errors.MissingDependency`.
"""

from __future__ import annotations

from ._json import MAX_CARD_BYTES, MAX_DEPTH
from .evidence import EXTENSION_URI, extract_evidence
from .fetch import WELL_KNOWN_PATHS, CardFetchError, FetchedCard, fetch_card
from .signatures import ALGORITHMS, SignatureResult, sign_card, signing_payload, verify_signatures
from .structure import Issue, StructureReport, check_structure
from .types import AgentCard, TaskEnvelope
from .validate import (
    SEVERITIES,
    A2AComplianceVerdict,
    Finding,
    load_card,
    seal_verdict,
    validate_card,
    validate_task,
)

__all__ = [
    "A2AComplianceVerdict",
    "ALGORITHMS",
    "AgentCard",
    "CardFetchError",
    "EXTENSION_URI",
    "FetchedCard",
    "Finding",
    "Issue",
    "MAX_CARD_BYTES",
    "MAX_DEPTH",
    "SEVERITIES",
    "SignatureResult",
    "StructureReport",
    "TaskEnvelope",
    "WELL_KNOWN_PATHS",
    "check_structure",
    "extract_evidence",
    "fetch_card",
    "load_card",
    "seal_verdict",
    "sign_card",
    "signing_payload",
    "validate_card",
    "validate_task",
    "verify_signatures",
]
