"""The 14 OpenScore safety experts: registry, evidence validators, registration.

::

    from openmoe_bft.experts import EXPERTS, check_experts, register_expert

    report = check_experts({"metadata": {"hitlContact": "oversight@example.org"}})
    report.covered, report.missing, report.invalid

Each :class:`Expert` names its A2A metadata field (``metadata.riskAssessment``, ...),
what a valid value looks like (:attr:`Expert.accepts`) and the covenant it maps to
(agent ``"expert:<id>"``, allowed action ``"audit:<a2a_field>"``; the covenants module
reads :attr:`Expert.covenant_agent_id` / :attr:`Expert.covenant_action`).

A value under an expert's field is judged as (:class:`FieldVerdict` ``status``):

* ``"missing"`` — absent or ``null``;
* ``"invalid"`` — a falsy value (``false``, ``""``, ``[]``, ``{}``; a ``0`` score is a
  score), or a value of the expert's evidence shape that does not validate;
* ``"attested"`` — the seed's bare truthy self-attestation (``true``, a string that is
  not the expert's shape, the ``{"present": true}`` marker): it covers the expert but
  is "attested, not evidenced";
* ``"valid"`` — evidence of the expert's shape that validates.

Field validators are the EU AI Act module's (:class:`~openmoe_bft.eu_ai_act.FieldSpec`
kinds ``contact``, ``date``, ``red_team_report``, ``receipt``, ...); ``x402Receipt``
additionally recomputes the receipt's entry hash with :mod:`openmoe_bft.receipts` and
verifies its signature when ``keys=`` are given.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, timezone
from typing import Any

from .errors import InvalidType
from .eu_ai_act import EvidenceSpec, FieldSpec, check_by_id
from .eu_ai_act.evidence import ABSENT, MAX_ITEMS, coerce_today, lookup

__all__ = [
    "EXPERTS",
    "STATUSES",
    "Expert",
    "ExpertDomain",
    "ExpertsReport",
    "FieldVerdict",
    "RegistrationResult",
    "SafetyExpert",
    "by_domain",
    "by_id",
    "by_regulation",
    "check_experts",
    "expert_ids",
    "mcp_digest",
    "register_expert",
    "to_json",
]

STATUSES = ("valid", "attested", "invalid", "missing")
MAX_TOOLS = MAX_ITEMS
"""Most tools a registration candidate may list."""
MAX_NAME = 200
ATTESTED = "attested, not evidenced"


class ExpertDomain(enum.Enum):
    COMPLIANCE = "compliance"
    SECURITY = "security"
    GOVERNANCE = "governance"
    MONETIZATION = "monetization"
    VERIFICATION = "verification"


# ── results ──────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FieldVerdict:
    """The judgement of one expert's field: ``status`` is one of :data:`STATUSES`."""

    expert_id: int
    field: str
    status: str
    reason: str

    @property
    def covered(self) -> bool:
        return self.status in ("valid", "attested")

    def to_dict(self) -> dict[str, Any]:
        return {"expert_id": self.expert_id, "field": self.field, "status": self.status,
                "reason": self.reason}


@dataclass(frozen=True)
class ExpertsReport:
    """Coverage of the 14 experts: ``covered`` (valid or attested), ``missing``,
    ``invalid`` and ``attested`` are lists of expert ids; ``verdicts`` one
    :class:`FieldVerdict` per expert, in order."""

    covered: list[int]
    missing: list[int]
    invalid: list[int]
    verdicts: tuple[FieldVerdict, ...]
    attested: list[int] = dc_field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every expert covered and none invalid."""
        return not self.missing and not self.invalid

    def verdict(self, expert_id: int) -> FieldVerdict:
        for v in self.verdicts:
            if v.expert_id == expert_id:
                return v
        raise KeyError(expert_id)

    def to_dict(self) -> dict[str, Any]:
        return {"covered": list(self.covered), "missing": list(self.missing),
                "invalid": list(self.invalid), "attested": list(self.attested),
                "complete": self.complete, "verdicts": [v.to_dict() for v in self.verdicts]}


@dataclass(frozen=True)
class RegistrationResult:
    """Outcome of :func:`register_expert`. ``expert_id`` is set only when accepted;
    ``reasons`` lists why not (empty when accepted); ``verdict`` is the expert's own
    field's :class:`FieldVerdict` (None when the id is unknown)."""

    accepted: bool
    expert_id: int | None
    reasons: list[str]
    matched_tools: list[str] = dc_field(default_factory=list)
    verdict: FieldVerdict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "expert_id": self.expert_id,
                "reasons": list(self.reasons), "matched_tools": list(self.matched_tools),
                "verdict": None if self.verdict is None else self.verdict.to_dict()}


# ── validators: (value, keys, today) -> list of problems ─────────────────────

Validator = Callable[[Any, Any, date], list[str]]


def _spec_validator(spec: EvidenceSpec, extra: Callable[[Mapping[Any, Any]], list[str]] | None = None
                    ) -> Validator:
    def validate(value: Any, keys: Any, today: date) -> list[str]:
        problems = list(spec.validate(value, today))
        if not problems and extra is not None:
            problems.extend(extra(value))
        return problems
    return validate


def _field_validator(spec: FieldSpec) -> Validator:
    def validate(value: Any, keys: Any, today: date) -> list[str]:
        problem = spec.check(value, today)
        return [] if problem is None else [problem]
    return validate


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and math.isfinite(v)


_RMF = ("govern", "map", "measure", "manage")


def _nist(value: Any, keys: Any, today: date) -> list[str]:
    if _is_number(value):
        return [] if 0.0 <= value <= 1.0 else [f"score {value!r} is not in [0, 1]"]
    problems = list(_NIST_SPEC.validate(value, today))
    funcs = value.get("functions")
    if funcs is not None:
        if not isinstance(funcs, Mapping):
            problems.append("functions must be an object {govern, map, measure, manage}")
        else:
            for name in _RMF:
                v = funcs.get(name)
                if not _is_number(v) or not 0.0 <= v <= 1.0:
                    problems.append(f"functions.{name} must be a number in [0, 1]")
    return problems


_NIST_SPEC = EvidenceSpec("an overall NIST AI RMF score, optionally per function", (
    FieldSpec("score", "number", "overall score", minimum=0.0, maximum=1.0),
    FieldSpec("assessedOn", "date", "date of the scoring", required=False),
))

_DORA_REGS = ("DORA", "NIS2")


def _dora_extra(value: Mapping[Any, Any]) -> list[str]:
    bad = [r for r in value.get("regulations", ()) if r not in _DORA_REGS]
    return [f"regulations: {bad[0][:40]!r} is not one of DORA, NIS2"] if bad else []


_ART9_BASES = tuple(f"9(2)({c})" for c in "abcdefghij") + ("not-processed",)

_HEX64 = re.compile(r"(?:sha256:)?[0-9a-f]{64}")
_TX = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_CAIP2 = re.compile(r"[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}")


def mcp_digest(tools: Any) -> str:
    """The ``digest`` of an ``mcpAttestation``: SHA-256 hex of the RFC 8785 canonical
    JSON of its ``tools`` array (tool names, or tool descriptor objects)."""
    from .canonical import canonical_json

    return hashlib.sha256(canonical_json(list(tools))).hexdigest()


def _mcp(value: Any, keys: Any, today: date) -> list[str]:
    if not isinstance(value, Mapping):
        return ["expected an object"]
    problems: list[str] = []
    tools = value.get("tools")
    names: list[str] = []
    if not isinstance(tools, list) or not tools or len(tools) > MAX_TOOLS:
        problems.append(f"tools must be a list of 1..{MAX_TOOLS} tool names or descriptors")
    else:
        for i, t in enumerate(tools):
            name = t.get("name") if isinstance(t, Mapping) else t
            if not isinstance(name, str) or not name.strip() or len(name) > 128:
                problems.append(f"tools[{i}] has no tool name")
                break
            names.append(name)
        if len(set(names)) != len(names):
            problems.append("tools lists a tool name twice")
    digest = value.get("digest")
    if not isinstance(digest, str) or _HEX64.fullmatch(digest) is None:
        problems.append("digest must be 64 lowercase hex digits (optionally 'sha256:')")
    elif not problems:
        try:
            want = mcp_digest(tools)
        except Exception:  # noqa: BLE001 - hostile descriptors fail, never crash
            return ["tools cannot be canonicalised (not JSON, or too deep)"]
        if digest.removeprefix("sha256:") != want:
            problems.append("digest does not match the tools (SHA-256 of their RFC 8785 JSON)")
    problems.extend(_MCP_SPEC.validate(value, today))
    return problems


_MCP_SPEC = EvidenceSpec("who attested and when", (
    FieldSpec("attestedBy", "text", "who attested", required=False),
    FieldSpec("attestedOn", "date", "when", required=False),
))


def _anchor(value: Any, keys: Any, today: date) -> list[str]:
    if not isinstance(value, Mapping):
        return ["expected an object"]
    problems: list[str] = []
    chain = value.get("chainId")
    if not ((type(chain) is int and chain >= 1)
            or (isinstance(chain, str) and _CAIP2.fullmatch(chain) is not None)):
        problems.append("chainId must be a positive integer (EVM) or a CAIP-2 id "
                        "like 'eip155:8453'")
    tx = value.get("txHash")
    if not isinstance(tx, str) or _TX.fullmatch(tx) is None:
        problems.append("txHash must be 64 hex digits (0x-prefixed for EVM)")
    anchored = value.get("anchoredHash")
    if anchored is not None and (not isinstance(anchored, str)
                                 or _HEX64.fullmatch(anchored) is None):
        problems.append("anchoredHash must be 64 lowercase hex digits")
    block = value.get("blockNumber")
    if block is not None and (type(block) is not int or block < 0):
        problems.append("blockNumber must be a non-negative integer")
    return problems


def _fuzz_extra(value: Mapping[Any, Any]) -> list[str]:
    if value["crashes"] > value["executions"]:
        return ["crashes exceed executions"]
    return []


def _hitl(value: Any, keys: Any, today: date) -> list[str]:
    if isinstance(value, str):
        problem = _CONTACT.check(value, today)
        return [] if problem is None else [problem]
    return list(_HITL_SPEC.validate(value, today))


_CONTACT = FieldSpec("contact", "contact", "who approves: an e-mail address or URL")
_HITL_SPEC = EvidenceSpec("the approver's contact, optionally role and response time", (
    _CONTACT,
    FieldSpec("role", "text", "the approver's role", required=False),
    FieldSpec("responseTimeMinutes", "number", "response time", required=False, minimum=0),
))


# ── x402 receipts ────────────────────────────────────────────────────────────

_RECEIPT_FIELD = FieldSpec("x402Receipt", "receipt", "a settled payment sealed as a receipt")
_RECEIPT_NEEDS = ("receipt_id", "trace_id", "timestamp", "payload", "seq", "payload_hash")


def _keyring(keys: Any) -> Any:
    from .receipts import KeyRing

    if keys is None or isinstance(keys, KeyRing):
        return keys
    if isinstance(keys, Mapping):
        return KeyRing(keys.values())
    if isinstance(keys, (str, bytes, bytearray)) or not isinstance(keys, Iterable):
        return KeyRing([keys])
    return KeyRing(list(keys))


def _is_receipt(value: Any) -> bool:
    from .receipts import Receipt

    return isinstance(value, Receipt)


def _receipt(value: Any, keys: Any, today: date) -> list[str]:
    if _is_receipt(value):
        value = value.to_dict()
    if not isinstance(value, Mapping):
        return ["expected a receipt object (Receipt.to_dict())"]
    lacking = [k for k in _RECEIPT_NEEDS if k not in value]
    if lacking:
        return ["incomplete receipt: needs " + ", ".join(lacking) + " to recompute its hash"]
    problem = _RECEIPT_FIELD.check(value, today)  # shape + entry hash recomputed
    if problem is not None:
        return [problem]
    if value["receipt_id"] != value["entry_hash"]:
        return ["receipt_id is not the receipt's entry hash"]
    if keys is None:
        return []
    message = value["entry_hash"].encode("ascii")
    scheme, key_id, sig = value.get("signer"), value.get("key_id"), value["signature"]
    if isinstance(key_id, str):
        verifier = keys.get(key_id)
        if verifier is None:
            return [f"signed under key id {key_id[:80]!r}, which is not among the given keys"]
        candidates = [verifier]
    else:
        candidates = list(keys)
    for v in candidates:
        if (scheme is None or v.algorithm == scheme) and v.verify(message, sig):
            break
    else:
        return ["signature does not verify under the given keys (tampered or wrong key)"]
    co_id, co_sig = value.get("co_key_id"), value.get("co_signature")
    co_key = keys.get(co_id) if isinstance(co_id, str) else None
    if isinstance(co_sig, str) and co_key is not None and not co_key.verify(message, co_sig):
        return ["co-signature does not verify"]
    return []


# ── the registry ─────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Expert:
    """One of the 14 OpenScore safety experts.

    ``name`` is the seed package's spelling; ``aliases`` other accepted spellings
    (SPEC.md's). ``accepts`` says what a valid value of ``a2a_field`` looks like;
    ``shapes`` are the value types that are evidence (validated) rather than a bare
    attestation.
    """

    expert_id: int
    name: str
    domain: ExpertDomain
    regulation: str | None
    a2a_field: str
    description: str
    accepts: str
    aliases: tuple[str, ...] = ()
    shapes: tuple[type, ...] = (Mapping,)
    validator: Validator | None = dc_field(default=None, repr=False, compare=False)

    @property
    def field(self) -> str:
        """The bare metadata key (``"riskAssessment"``)."""
        return self.a2a_field.split(".", 1)[-1]

    @property
    def covenant_agent_id(self) -> str:
        return f"expert:{self.expert_id}"

    @property
    def covenant_action(self) -> str:
        return f"audit:{self.a2a_field}"

    def validate(self, value: Any, *, keys: Any = None, today: Any = None) -> FieldVerdict:
        """Judge one value of this expert's field (never raises on the value)."""
        day = datetime.now(timezone.utc).date() if today is None else coerce_today(today)
        return self._judge(value, _keyring(keys), day)

    def _judge(self, value: Any, keys: Any, today: date) -> FieldVerdict:
        def verdict(status: str, reason: str) -> FieldVerdict:
            return FieldVerdict(self.expert_id, self.a2a_field, status, reason)

        if value is None or value is ABSENT:
            return verdict("missing", f"add {self.a2a_field}: {self.accepts}")
        if isinstance(value, Mapping) and len(value) == 1 and value.get("present") is True:
            return verdict("attested", f"{ATTESTED}: evidence would be {self.accepts}")
        is_shape = isinstance(value, self.shapes) and not isinstance(value, bool)
        if self.validator is _receipt and _is_receipt(value):
            is_shape = True
        if not is_shape:
            try:
                truthy = bool(value)
            except Exception:  # noqa: BLE001 - a hostile __bool__
                truthy = False
            if not truthy:
                return verdict("invalid", f"{value!r:.40} is not evidence; expected "
                                          f"{self.accepts}")
            return verdict("attested", f"{ATTESTED}: evidence would be {self.accepts}")
        if isinstance(value, Mapping) and not value:
            return verdict("invalid", f"empty object; expected {self.accepts}")
        try:
            problems = self.validator(value, keys, today) if self.validator else []
        except (RecursionError, MemoryError):
            problems = ["value is too large or too deeply nested"]
        except Exception as exc:  # noqa: BLE001 - a malformed value never crashes
            problems = [f"cannot be read: {str(exc)[:120]}"]
        if problems:
            return verdict("invalid", "; ".join(problems[:6]))
        if self.validator is _receipt:
            return verdict("valid", "receipt hash recomputes; " + (
                "signature verified" if keys is not None else
                "signature not checked (no keys given)"))
        return verdict("valid", "evidenced")

    def to_dict(self) -> dict[str, Any]:
        return {"expert_id": self.expert_id, "name": self.name, "domain": self.domain.value,
                "regulation": self.regulation, "a2a_field": self.a2a_field,
                "description": self.description, "accepts": self.accepts,
                "aliases": list(self.aliases), "covenant_agent_id": self.covenant_agent_id,
                "covenant_action": self.covenant_action}


SafetyExpert = Expert
"""The seed package's name for :class:`Expert`."""

_D = ExpertDomain
_ART9_002 = check_by_id("EUAIACT-ART9-002").satisfied_by
assert _ART9_002 is not None

EXPERTS: tuple[Expert, ...] = (
    Expert(1, "EU AI Act Compliance", _D.COMPLIANCE, "eu_ai_act", "metadata.riskAssessment",
           "Risk assessment of the system under EU AI Act Art. 9(2)",
           "the EU AI Act Art. 9(2) risk assessment object {identifiedRisks, "
           "foreseeableMisuse, assessedOn, document?} (check EUAIACT-ART9-002)",
           validator=_spec_validator(_ART9_002)),
    Expert(2, "NIST RMF Risk Scoring", _D.COMPLIANCE, None, "metadata.nistRmfScore",
           "Risk score under the NIST AI Risk Management Framework (AI 100-1)",
           "a number in [0, 1], or {score in [0, 1], functions?: {govern, map, measure, "
           "manage} each in [0, 1], assessedOn?}",
           shapes=(Mapping, int, float), validator=_nist),
    Expert(3, "DORA / NIS2 Incident Taxonomy", _D.COMPLIANCE, "dora", "metadata.ictRiskFramework",
           "ICT risk framework and incident classification (DORA Art. 6, 18; NIS2 Art. 21, 23)",
           "{regulations: ['DORA' and/or 'NIS2'], document: URL or id, incidentTaxonomy?: "
           "[classes], lastReviewed?: date within 365 days, reportingContact?: e-mail/URL}",
           aliases=("DORA/NIS2 Incident Taxonomy",),
           validator=_spec_validator(EvidenceSpec("ICT risk framework", (
               FieldSpec("regulations", "text_list", "DORA and/or NIS2", min_items=1),
               FieldSpec("document", "ref", "the framework document"),
               FieldSpec("incidentTaxonomy", "text_list", "incident classes", required=False,
                         min_items=1),
               FieldSpec("lastReviewed", "date", "last review", required=False,
                         max_age_days=365),
               FieldSpec("reportingContact", "contact", "incident reporting contact",
                         required=False),
           )), _dora_extra)),
    Expert(4, "Neurorights (GDPR Art 9)", _D.GOVERNANCE, None, "metadata.neurorightsPolicy",
           "Special-category (biometric, neural) data under GDPR Art. 9",
           "{document: URL or id, lawfulBasis: one of '9(2)(a)'..'9(2)(j)' or "
           "'not-processed', dataCategories?: [..], dpiaCompleted?: bool, contact?: e-mail/URL}",
           aliases=("Neurorights/GDPR Art 9", "Neurorights / GDPR Art 9"),
           validator=_spec_validator(EvidenceSpec("special-category data policy", (
               FieldSpec("document", "ref", "the policy"),
               FieldSpec("lawfulBasis", "choice", "GDPR Art. 9(2) condition",
                         choices=_ART9_BASES),
               FieldSpec("dataCategories", "text_list", "categories", required=False),
               FieldSpec("dpiaCompleted", "bool", "Art. 35 DPIA done", required=False),
               FieldSpec("contact", "contact", "data protection officer", required=False),
           )))),
    Expert(5, "x402 Payment Validation", _D.MONETIZATION, None, "metadata.x402Receipt",
           "A settled x402 payment sealed as an audit receipt",
           "a signed receipt (openmoe_bft.receipts Receipt.to_dict()) whose entry hash "
           "recomputes; its signature verifies under keys= when given",
           validator=_receipt),
    Expert(6, "MCP Tool Attestation", _D.SECURITY, None, "metadata.mcpAttestation",
           "Attests the MCP tool descriptors an agent exposes",
           "{tools: [tool names or descriptors], digest: SHA-256 hex of the RFC 8785 JSON of "
           "tools (mcp_digest), attestedBy?, attestedOn?}",
           validator=_mcp),
    Expert(7, "Blockchain Verification", _D.VERIFICATION, None, "metadata.blockchainAnchor",
           "Audit-trail anchoring on a public chain",
           "{chainId: positive int or CAIP-2 id, txHash: 64 hex (0x-prefixed for EVM), "
           "anchoredHash?: 64 hex, blockNumber?: int >= 0}",
           validator=_anchor),
    Expert(8, "Human-in-the-Loop Gate", _D.GOVERNANCE, None, "metadata.hitlContact",
           "Who approves high-risk actions",
           "an e-mail address, mailto: or http(s) URL, or {contact, role?, "
           "responseTimeMinutes?}",
           shapes=(Mapping, str), validator=_hitl),
    Expert(9, "Red Team Automation", _D.SECURITY, None, "metadata.redTeamReport",
           "Adversarial testing of the agent (openmoe_bft.red_team)",
           "a red-team report as to_a2a_evidence writes it {targetId, total, succeeded, "
           "defended?, riskScore, bySeverity?, criticalFindings?}",
           validator=_field_validator(FieldSpec("redTeamReport", "red_team_report",
                                                "a red-team report"))),
    Expert(10, "Blue Team Defense", _D.SECURITY, None, "metadata.blueTeamStatus",
           "Runtime defensive monitoring and anomaly detection",
           "{status: 'operational'|'degraded'|'down', controls: [..], openIncidents?: int, "
           "updatedOn?: date}",
           validator=_spec_validator(EvidenceSpec("blue-team status", (
               FieldSpec("status", "choice", "state", choices=("operational", "degraded",
                                                               "down")),
               FieldSpec("controls", "text_list", "defences", min_items=1),
               FieldSpec("openIncidents", "integer", "open incidents", required=False,
                         minimum=0),
               FieldSpec("updatedOn", "date", "as of", required=False),
           )))),
    Expert(11, "Continuous Monitoring", _D.SECURITY, None, "metadata.continuousMonitoring",
           "Ongoing evaluation of behaviour drift and policy violations",
           "{metrics: [..], intervalSeconds: number >= 1, lastRun?: date within 30 days, "
           "dashboard?: URL, alertContact?: e-mail/URL}",
           validator=_spec_validator(EvidenceSpec("monitoring set-up", (
               FieldSpec("metrics", "text_list", "what is monitored", min_items=1),
               FieldSpec("intervalSeconds", "number", "how often", minimum=1),
               FieldSpec("lastRun", "date", "last run", required=False, max_age_days=30),
               FieldSpec("dashboard", "url", "dashboard", required=False),
               FieldSpec("alertContact", "contact", "alerts go to", required=False),
           )))),
    Expert(12, "Fuzzing / Mutation", _D.SECURITY, None, "metadata.fuzzingReport",
           "Generative fuzzing of agent inputs",
           "{target, executions: int >= 1, crashes: int >= 0 (<= executions), coverage?: "
           "[0, 1], tool?, runOn?: date}",
           aliases=("Fuzzing/Mutation",),
           validator=_spec_validator(EvidenceSpec("fuzzing run", (
               FieldSpec("target", "text", "what was fuzzed"),
               FieldSpec("executions", "integer", "inputs run", minimum=1),
               FieldSpec("crashes", "integer", "failures found", minimum=0),
               FieldSpec("coverage", "number", "coverage", required=False, minimum=0,
                         maximum=1),
               FieldSpec("tool", "text", "fuzzer", required=False),
               FieldSpec("runOn", "date", "date", required=False),
           )), _fuzz_extra)),
    Expert(13, "Autonomous Auditor", _D.VERIFICATION, None, "metadata.autonomousAudit",
           "Autonomous audit of the agent's behaviour",
           "{auditor, auditedOn: date within 365 days, report: URL or id, findings?: int, "
           "receipt?: receipt object}",
           validator=_spec_validator(EvidenceSpec("audit", (
               FieldSpec("auditor", "text", "who or what audited"),
               FieldSpec("auditedOn", "date", "when", max_age_days=365),
               FieldSpec("report", "ref", "the audit report"),
               FieldSpec("findings", "integer", "findings", required=False, minimum=0),
               FieldSpec("receipt", "receipt", "the audit sealed as a receipt",
                         required=False),
           )))),
    Expert(14, "Web Crawler / Extractor", _D.VERIFICATION, None, "metadata.webExtractionPolicy",
           "Rules for autonomous web extraction",
           "{respectsRobotsTxt: true, userAgent, allowedDomains?: [..], "
           "maxRequestsPerMinute?: number >= 0, document?: URL or id}",
           aliases=("Web Crawler/Extractor",),
           validator=_spec_validator(EvidenceSpec("crawler policy", (
               FieldSpec("respectsRobotsTxt", "bool", "honours robots.txt", must_be_true=True),
               FieldSpec("userAgent", "text", "the crawler's user agent"),
               FieldSpec("allowedDomains", "text_list", "domains", required=False),
               FieldSpec("maxRequestsPerMinute", "number", "rate limit", required=False,
                         minimum=0),
               FieldSpec("document", "ref", "the policy", required=False),
           )))),
)


# ── lookups (the seed's) ─────────────────────────────────────────────────────


def by_id(expert_id: Any) -> Expert | None:
    """The expert with this id (1-14), or None."""
    if type(expert_id) is not int or not 1 <= expert_id <= len(EXPERTS):
        return None
    return EXPERTS[expert_id - 1]


def by_domain(domain: ExpertDomain) -> list[Expert]:
    return [e for e in EXPERTS if e.domain == domain]


def by_regulation(regulation: str) -> list[Expert]:
    return [e for e in EXPERTS if e.regulation == regulation]


def expert_ids() -> list[int]:
    return [e.expert_id for e in EXPERTS]


def to_json() -> str:
    return json.dumps([e.to_dict() for e in EXPERTS], indent=2)


# ── checking evidence ────────────────────────────────────────────────────────


def check_experts(evidence_or_metadata: Mapping[str, Any] | None, *, keys: Any = None,
                  today: Any = None) -> ExpertsReport:
    """Judge the 14 experts' fields in an evidence document (nested ``{"metadata":
    {...}}`` or dotted ``{"metadata.x402Receipt": ...}``, as :func:`eu_ai_act.evaluate`
    reads). ``keys`` — a key, a :class:`~openmoe_bft.receipts.KeyRing`, or keys (a list
    or a mapping's values) that receipts must verify under. ``today`` — the date that
    evidence dates are judged against (default: the current UTC date)."""
    if evidence_or_metadata is None:
        evidence_or_metadata = {}
    if not isinstance(evidence_or_metadata, Mapping):
        raise InvalidType(f"evidence must be an object (dict), got "
                          f"{type(evidence_or_metadata).__name__}", argument="evidence")
    day = datetime.now(timezone.utc).date() if today is None else coerce_today(today)
    ring = _keyring(keys)
    verdicts = []
    for e in EXPERTS:
        try:
            value, conflict = lookup(evidence_or_metadata, e.a2a_field)
        except Exception as exc:  # noqa: BLE001 - a hostile mapping
            value, conflict = ABSENT, f"cannot be read: {str(exc)[:80]}"
        if conflict is not None:
            verdicts.append(FieldVerdict(e.expert_id, e.a2a_field, "invalid", conflict))
        else:
            verdicts.append(e._judge(value, ring, day))
    ids = {s: [v.expert_id for v in verdicts if v.status == s] for s in STATUSES}
    return ExpertsReport(covered=sorted(ids["valid"] + ids["attested"]),
                         missing=ids["missing"], invalid=ids["invalid"],
                         verdicts=tuple(verdicts), attested=ids["attested"])


# ── registration ─────────────────────────────────────────────────────────────


def _norm(name: str) -> str:
    return re.sub(r"\s*/\s*", "/", " ".join(name.split())).casefold()


def register_expert(candidate: Any, *, keys: Any = None, today: Any = None,
                    strict: bool = False) -> RegistrationResult:
    """Check an expert candidate (the seed's transport-agnostic protocol, no network).

    ``candidate`` is ``{"expert_id": 1..14, "name": <the expert's name>, "tools":
    [{"name": ...}, ...], "metadata": {<the expert's field>: <evidence>}}``. Accepted
    when the id is known, the name matches (case and spacing around "/" ignored; SPEC
    spellings accepted), ``tools`` is a list of 1..1000 objects each with a distinct
    non-empty ``name`` (at most 128 characters, no whitespace), and the expert's own
    field is valid — or attested, unless ``strict``. Bad input is a refused result with
    reasons, never an exception (as in the seed).
    """
    if not isinstance(candidate, Mapping):
        return RegistrationResult(False, None, [
            f"candidate must be a dict, got {type(candidate).__name__}"])
    try:
        return _register(candidate, keys, today, strict)
    except (RecursionError, MemoryError):
        return RegistrationResult(False, None, ["candidate is too large or too deeply nested"])
    except InvalidType:
        raise
    except Exception as exc:  # noqa: BLE001 - a hostile mapping never crashes registration
        return RegistrationResult(False, None, [f"candidate cannot be read: {str(exc)[:120]}"])


def _register(candidate: Mapping[Any, Any], keys: Any, today: Any, strict: bool
              ) -> RegistrationResult:
    reasons: list[str] = []
    raw_id = candidate.get("expert_id")
    expert = by_id(raw_id)
    if expert is None:
        reasons.append(f"unknown or missing expert_id: {raw_id!r:.40} (must be an integer "
                       "1-14)")
    name = candidate.get("name")
    if expert is not None:
        names = {_norm(n) for n in (expert.name, *expert.aliases)}
        if not isinstance(name, str) or len(name) > MAX_NAME or _norm(name) not in names:
            reasons.append(f"name {name!r:.60} does not match expert {expert.expert_id} "
                           f"({expert.name!r})")
    matched: list[str] = []
    tools = candidate.get("tools")
    if not isinstance(tools, list) or not tools:
        reasons.append("tools must be a non-empty list of {\"name\": ...} objects")
    elif len(tools) > MAX_TOOLS:
        reasons.append(f"tools lists {len(tools)} tools (at most {MAX_TOOLS})")
    else:
        for i, t in enumerate(tools):
            tname = t.get("name") if isinstance(t, Mapping) else None
            if (not isinstance(tname, str) or not tname or len(tname) > 128
                    or any(c.isspace() or not c.isprintable() for c in tname)):
                reasons.append(f"tools[{i}] does not expose a valid tool name")
                break
            if tname in matched:
                reasons.append(f"tools[{i}] repeats the tool name {tname!r}")
                break
            matched.append(tname)
        if not matched and not any("name" in r for r in reasons):
            reasons.append("no tool in tools exposes a non-empty name")
    verdict = None
    if expert is not None:
        md = {k: v for k, v in candidate.items() if k not in ("expert_id", "name", "tools")}
        day = datetime.now(timezone.utc).date() if today is None else coerce_today(today)
        value, conflict = lookup(md, expert.a2a_field)
        if conflict is not None:
            verdict = FieldVerdict(expert.expert_id, expert.a2a_field, "invalid", conflict)
        else:
            verdict = expert._judge(value, _keyring(keys), day)
        if verdict.status == "missing":
            reasons.append(f"missing evidence at a2a_field {expert.a2a_field!r}: "
                           f"{expert.accepts}")
        elif verdict.status == "invalid":
            reasons.append(f"invalid evidence at a2a_field {expert.a2a_field!r}: "
                           f"{verdict.reason}")
        elif verdict.status == "attested" and strict:
            reasons.append(f"evidence at a2a_field {expert.a2a_field!r} is {ATTESTED} "
                           "(strict registration needs evidence)")
    accepted = not reasons
    return RegistrationResult(accepted, expert.expert_id if accepted and expert else None,
                              reasons, matched, verdict)
