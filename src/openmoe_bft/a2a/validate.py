"""``validate_card`` / ``validate_task``: an A2A card or task -> a frozen compliance verdict.

The steps, each bounded and none raising on the card's *content* (only on input that
is not a JSON object at all, is too big or too deep, or cannot be fetched):

1. read the card: a dict, an :class:`AgentCard`, an a2a-sdk ``AgentCard`` message, a
   JSON file path, JSON bytes, or an ``http(s)`` URL (:func:`~.fetch.fetch_card`);
2. check its structure against A2A 1.0 / 0.3 (:mod:`.structure`; with the ``[a2a]``
   extra also through a2a-sdk's own types);
3. verify its ``signatures`` (:mod:`.signatures`) — an invalid one makes the card
   non-compliant;
4. collect the evidence from ``metadata`` and the OpenScore extension
   (:mod:`.evidence`), run :func:`openmoe_bft.eu_ai_act.evaluate` over it and check
   the 14 experts' fields;
5. optionally seal the verdict as a receipt in an
   :class:`~openmoe_bft.receipts.AuditChain` (``seal=``).

``compliant`` is True only when the EU AI Act report is compliant (no blocking check
fails), no finding is an error (a wrong-typed or look-alike field, an invalid
signature, evidence given twice with different values, an expert field present but
invalid) and — when asked for — every expert is covered (``require_experts``) and a
signature verifies (``require_signature``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, InvalidType, OpenMoEBFTError
from ._experts import check_experts, expert_table
from ._json import MAX_CARD_BYTES, check_tree, parse_json_bytes
from .evidence import CollectedEvidence, collect_card, collect_task
from .signatures import SignatureResult, verify_signatures
from .structure import (
    BARE,
    StructureReport,
    check_structure,
    check_with_sdk,
    confusable_skeleton,
    sdk_available,
    skeletons,
)
from .types import AgentCard, TaskEnvelope

if TYPE_CHECKING:
    from ..eu_ai_act import ComplianceReport
    from ..receipts import Receipt

__all__ = [
    "A2AComplianceVerdict",
    "Finding",
    "SEVERITIES",
    "load_card",
    "seal_verdict",
    "validate_card",
    "validate_task",
]

SEVERITIES = ("error", "blocker", "major", "minor", "warning", "info")
"""Finding severities, most severe first. ``advisory`` lists all but ``info``."""
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_STRUCTURE_MODES = ("auto", "builtin", "sdk")


@dataclass(frozen=True)
class Finding:
    """One thing the verdict found: ``severity`` (see :data:`SEVERITIES`), a short
    ``code`` (``signature.invalid``, ``eu.missing``, ``expert.missing``, ...), the
    human ``message``, and the JSON ``path`` or evidence key it is about."""

    severity: str
    code: str
    message: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "message": self.message,
                "path": self.path}


@dataclass(frozen=True)
class A2AComplianceVerdict:
    """The verdict on one card or task (frozen; :meth:`to_dict` for JSON).

    ``experts_covered`` / ``experts_missing`` / ``experts_invalid`` are lists of expert
    ids (``list(range(1, 15))`` missing for an empty card). ``advisory`` is the list of
    human-readable things to fix, most severe first (errors, blocking EU AI Act
    checks, missing experts, other checks, A2A structure warnings); ``findings`` the
    same with severities and codes, plus ``info`` notes (attested-not-evidenced,
    self-asserted signing keys). ``signatures`` has one result per card signature.
    """

    compliant: bool
    score: float
    eu_ai_act_report: ComplianceReport
    experts_covered: list[int] = field(default_factory=list)
    experts_missing: list[int] = field(default_factory=list)
    experts_invalid: list[int] = field(default_factory=list)
    advisory: list[str] = field(default_factory=list)
    findings: tuple[Finding, ...] = ()
    signatures: tuple[SignatureResult, ...] = ()
    structure: StructureReport | None = None
    evidence_sources: Mapping[str, str] = field(default_factory=dict)
    subject: str = ""
    source: str | None = None
    kind: str = "card"
    receipt: Receipt | None = None

    @property
    def report(self) -> ComplianceReport:
        """The :class:`~openmoe_bft.eu_ai_act.ComplianceReport` (same as ``eu_ai_act_report``)."""
        return self.eu_ai_act_report

    @property
    def card_version(self) -> str | None:
        """``"1.0"``, ``"0.3"`` or ``"bare"`` (None for a task without a card)."""
        return None if self.structure is None else self.structure.version

    @property
    def signatures_valid(self) -> bool:
        """At least one signature verifies and none is invalid."""
        return any(s.valid for s in self.signatures) and \
            not any(s.status == "invalid" for s in self.signatures)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    def to_dict(self, *, include_report: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "subject": self.subject,
            "source": self.source,
            "compliant": self.compliant,
            "score": self.score,
            "experts_covered": list(self.experts_covered),
            "experts_missing": list(self.experts_missing),
            "experts_invalid": list(self.experts_invalid),
            "advisory": list(self.advisory),
            "findings": [f.to_dict() for f in self.findings],
            "signatures": [s.to_dict() for s in self.signatures],
            "structure": None if self.structure is None else self.structure.to_dict(),
            "evidence_sources": dict(sorted(self.evidence_sources.items())),
        }
        if include_report:
            out["eu_ai_act"] = self.eu_ai_act_report.to_dict()
        if self.receipt is not None:
            out["receipt_id"] = self.receipt.receipt_id
        return out


# ── reading the input ───────────────────────────────────────────────────────────────


def _read_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    p = Path(path)
    try:
        if not p.is_file():
            raise InvalidInput(f"no file at {str(path)[:200]!r}", argument="card")
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {str(path)[:200]!r}: {exc.strerror}",
                           argument="card") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{str(path)[:200]!r} is larger than the limit of {max_bytes} "
                           "bytes", argument="card")
    return data


def _integral(value: Any, depth: int = 0) -> Any:
    """protobuf ``Struct`` numbers are doubles: give whole numbers back as ints, as the
    JSON they came from had them (JSON does not tell ``180`` from ``180.0``)."""
    if depth > 100:
        return value
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v, depth + 1) for v in value]
    return value


def _message_to_dict(obj: Any) -> dict[str, Any] | None:
    """An a2a-sdk protobuf message or a pydantic model as a JSON object (else None)."""
    mod = type(obj).__module__ or ""
    if hasattr(obj, "DESCRIPTOR") and hasattr(obj, "SerializeToString"):
        from google.protobuf.json_format import MessageToDict

        return _integral(MessageToDict(obj))
    if mod.startswith("a2a.") and hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return None


def load_card(
    card: Any,
    *,
    max_bytes: int = MAX_CARD_BYTES,
    fetch: Callable[[str], Any] | None = None,
) -> tuple[Mapping[str, Any], str | None]:
    """Any accepted card input -> ``(JSON object, source)``; raises on unusable input.

    ``source`` is the file path or URL read (None for in-memory cards). ``fetch`` is the
    URL fetcher (default :func:`~.fetch.fetch_card` with its default limits).
    """
    source: str | None = None
    if isinstance(card, AgentCard):
        doc: Any = card._document()
    elif isinstance(card, Mapping):
        doc = card
    elif isinstance(card, (bytes, bytearray, memoryview)):
        doc = parse_json_bytes(bytes(card), max_bytes=max_bytes)
    elif isinstance(card, str):
        low = card[:10].lower()
        if card[:1] == "{" or card.lstrip()[:1] == "{":  # JSON text, not a path
            doc = parse_json_bytes(card.encode("utf-8", "surrogatepass"), max_bytes=max_bytes)
        elif low.startswith(("http://", "https://")):
            if fetch is None:
                from .fetch import fetch_card as fetch
            fetched = fetch(card)
            doc, source = fetched.document, fetched.url
        elif "://" in card[:40]:
            raise InvalidInput(f"only http and https URLs are fetched, got {card[:60]!r}",
                               argument="card")
        else:
            source = card
            doc = parse_json_bytes(_read_file(card, max_bytes), source=card,
                                   max_bytes=max_bytes)
    elif isinstance(card, os.PathLike):
        source = os.fspath(card)
        doc = parse_json_bytes(_read_file(card, max_bytes), source=source, max_bytes=max_bytes)
    else:
        doc = _message_to_dict(card)
        if doc is None:
            raise InvalidType("card must be a dict, an AgentCard, an a2a-sdk AgentCard, JSON "
                              f"bytes, a file path or an http(s) URL, got {type(card).__name__}",
                              argument="card")
    if not isinstance(doc, Mapping):
        raise InvalidType(f"an agent card must be a JSON object, got {type(doc).__name__}",
                          argument="card")
    _check_tree(doc, "card")
    return doc, source


def _check_tree(doc: Any, what: str) -> None:
    try:
        check_tree(doc, what=what)
    except OpenMoEBFTError:
        raise
    except Exception as exc:  # a hostile Mapping that raises while being read
        raise InvalidInput(f"the {what} cannot be read: {type(exc).__name__}",
                           argument=what) from None


# ── the verdict ─────────────────────────────────────────────────────────────────────


def _structure(doc: Mapping[str, Any], mode: str, strict: bool) -> StructureReport:
    report = check_structure(doc, strict=strict)
    use_sdk = mode == "sdk" or (mode == "auto" and sdk_available())
    if not use_sdk:
        return report
    extra = check_with_sdk(doc, report.version)
    seen = {(i.severity, i.path) for i in report.issues}
    new = [i for i in extra if (i.severity, i.path) not in seen
           and not (i.severity == "missing" and report.version == BARE and not strict)]
    return StructureReport(report.version, report.issues + tuple(new), sdk=True)


def _look_alike_evidence(values: Mapping[str, Any], known: frozenset[str]) -> list[Finding]:
    skel = skeletons(known)
    out = []
    for k in values:
        if type(k) is str and k not in known and not k.isascii():
            hit = skel.get(confusable_skeleton(k))
            if hit is not None:
                out.append(Finding("error", "evidence.look-alike",
                                   f"evidence key {k!r} imitates {hit!r} with look-alike "
                                   f"characters; use the exact key {hit!r}", f"metadata.{k}"))
    return out


def _is_marker(v: Any) -> bool:
    """The seed's presence marker ``{"present": true}``."""
    return type(v) is dict and len(v) == 1 and v.get("present") is True


def _normalise(values: Mapping[str, Any]) -> dict[str, Any]:
    """Evidence values with the seed's ``{"present": true}`` marker read as ``true`` (a
    self-attestation: it passes a check but is reported "attested, not evidenced")."""
    out = dict(values)
    for k, v in values.items():
        if _is_marker(v):
            out[k] = True
    return out


def _attests(v: Any) -> bool:
    """A bare (non-object) value: an attestation, which supports nothing."""
    return not isinstance(v, Mapping)


@lru_cache(maxsize=1)
def _support_only_keys() -> frozenset[str]:
    """Bare keys that only support a check (``redTeamReport`` for Art. 15(5)), never
    decide one. A bare attestation under such a key is left out of ``evaluate``: it
    adds no evidence (an expert field like ``redTeamReport: true`` still covers its
    expert)."""
    from ..eu_ai_act import CHECKS

    own = {c.evidence_field.split(".", 1)[-1] for c in CHECKS}
    support = {s.split(".", 1)[-1] for c in CHECKS for s in getattr(c, "supporting_fields", ())}
    return frozenset(support - own)


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    from ..eu_ai_act import CHECKS

    keys = {key for _, _, key in expert_table()}
    for c in CHECKS:
        keys.add(c.evidence_field.split(".", 1)[-1])
        for s in getattr(c, "supporting_fields", ()):
            keys.add(s.split(".", 1)[-1])
    return frozenset(keys)


def _build(
    *,
    kind: str,
    subject: str,
    source: str | None,
    structure: StructureReport | None,
    signatures: tuple[SignatureResult, ...],
    collected: CollectedEvidence,
    extra_findings: list[Finding],
    today: Any,
    require_experts: bool,
    require_signature: bool,
    strict: bool,
    expert_keys: Any,
) -> A2AComplianceVerdict:
    from ..eu_ai_act import evaluate

    findings: list[Finding] = list(extra_findings)
    if structure is not None:
        claimed = structure.version != BARE or strict
        for issue in structure.issues:
            if issue.severity == "error":
                findings.append(Finding("error", "structure.error", issue.message, issue.path))
            elif claimed:
                sev = "error" if (strict and issue.severity == "missing") else "warning"
                findings.append(Finding(sev, f"structure.{issue.severity}", issue.message,
                                        issue.path))
    for s in signatures:
        where = f"card.signatures[{s.index}]"
        if s.status == "invalid":
            findings.append(Finding("error", "signature.invalid",
                                    f"signature {s.index} is invalid: {s.reason}", where))
        elif s.status == "unverifiable":
            findings.append(Finding("warning", "signature.unverifiable",
                                    f"signature {s.index} cannot be verified: {s.reason}",
                                    where))
        elif s.key_source == "jwk":
            findings.append(Finding("info", "signature.self-asserted", s.reason, where))
    if require_signature and not any(s.valid for s in signatures):
        findings.append(Finding("error", "signature.required",
                                "no signature on the card verifies, and one is required",
                                "card.signatures"))
    for text in collected.conflicts:
        findings.append(Finding("error", "evidence.conflict", text))
    findings.extend(_look_alike_evidence(collected.values, _known_keys()))

    values = _normalise(collected.values)
    support_only = _support_only_keys()
    report = evaluate({f"metadata.{k}": v for k, v in values.items()
                       if not (k in support_only and _attests(v))}, today=today)
    blockers, others, notes = [], [], []
    for r in report.results:
        c = r.check
        key = c.evidence_field
        if r.status == "missing":
            f = Finding(c.severity, "eu.missing",
                        f"add EU AI Act evidence at {key!r} ({c.id}: {c.title})", key)
        elif r.status == "fail":
            f = Finding(c.severity, "eu.fail",
                        f"fix EU AI Act evidence at {key!r} ({c.id}: {c.title}): {r.reason}",
                        key)
        else:
            if r.status == "attested":
                notes.append(Finding("info", "eu.attested", f"{c.id} ({key}): {r.reason}", key))
            continue
        (blockers if c.severity == "blocker" else others).append(f)

    coverage = check_experts(values, keys=expert_keys, today=today)
    names = {eid: (name, key) for eid, name, key in expert_table()}
    invalid_set = set(coverage.invalid)
    expert_findings = []
    for eid in coverage.invalid:
        name, key = names.get(eid, (f"#{eid}", "?"))
        findings.append(Finding("error", "expert.invalid",
                                f"Expert #{eid} ({name}) evidence at 'metadata.{key}' is "
                                f"invalid: {coverage.reasons.get(eid, 'invalid')}",
                                f"metadata.{key}"))
    for eid in coverage.missing:
        if eid in invalid_set:
            continue
        name, key = names.get(eid, (f"#{eid}", "?"))
        expert_findings.append(Finding("major", "expert.missing",
                                       f"add Expert #{eid} ({name}) evidence at "
                                       f"'metadata.{key}'", f"metadata.{key}"))
    ordered = [f for f in findings if f.severity == "error"] + blockers + expert_findings + \
        others + [f for f in findings if f.severity not in ("error", "info")] + \
        [f for f in findings if f.severity == "info"] + notes
    ordered.sort(key=lambda f: _RANK.get(f.severity, len(SEVERITIES)))
    compliant = bool(report.compliant) and not any(f.severity == "error" for f in ordered) \
        and not (require_experts and coverage.missing)
    return A2AComplianceVerdict(
        compliant=compliant, score=report.score, eu_ai_act_report=report,
        experts_covered=list(coverage.covered),
        experts_missing=[e for e in coverage.missing if e not in invalid_set],
        experts_invalid=list(coverage.invalid),
        advisory=[f.message for f in ordered if f.severity != "info"],
        findings=tuple(ordered), signatures=signatures, structure=structure,
        evidence_sources=dict(collected.sources), subject=subject, source=source, kind=kind,
    )


def _check_options(structure: str) -> None:
    if structure not in _STRUCTURE_MODES:
        raise InvalidInput(f"structure must be one of {_STRUCTURE_MODES}, got {structure!r}",
                           argument="structure")


def _seal(verdict: A2AComplianceVerdict, seal: Any, timestamp: Any, signer_key: Any,
          trace_id: str) -> A2AComplianceVerdict:
    from ..receipts import AuditChain

    if isinstance(seal, AuditChain):
        receipt = seal_verdict(verdict, seal, timestamp=timestamp, signer_key=signer_key,
                               trace_id=trace_id)
    elif isinstance(seal, (str, os.PathLike)):
        with AuditChain(seal) as chain:
            receipt = seal_verdict(verdict, chain, timestamp=timestamp, signer_key=signer_key,
                                   trace_id=trace_id)
    else:
        raise InvalidType(f"seal must be an AuditChain or a store path, got "
                          f"{type(seal).__name__}", argument="seal")
    return replace(verdict, receipt=receipt)


def validate_card(
    card: Any,
    *,
    seal: Any = None,
    key: Any = None,
    resolve_key: Callable[[str], Any] | Mapping[str, Any] | None = None,
    trust_embedded_jwk: bool = True,
    require_signature: bool = False,
    require_experts: bool = False,
    strict: bool = False,
    structure: str = "builtin",
    today: date | datetime | str | None = None,
    timestamp: int | float | None = None,
    signer_key: Any = None,
    trace_id: str = "a2a-compliance",
    expert_keys: Any = None,
    timeout: float = 5.0,
    deadline: float = 15.0,
    max_bytes: int = MAX_CARD_BYTES,
    max_redirects: int = 3,
    allow_private: bool = True,
    transport: Any = None,
) -> A2AComplianceVerdict:
    """Validate an A2A Agent Card; return an :class:`A2AComplianceVerdict`.

    ``card`` — a dict, an :class:`AgentCard`, an a2a-sdk ``AgentCard``, JSON bytes or
    text (a str starting with ``{``), a JSON file path, or an ``http(s)`` URL (the agent's ``/.well-known/agent-card.json``,
    then ``agent.json``; ``timeout``, ``deadline``, ``max_bytes``, ``max_redirects``,
    ``allow_private`` and ``transport`` bound the fetch). A :class:`TaskEnvelope` is
    passed on to :func:`validate_task`.

    Signatures: ``key`` (one verification key), ``resolve_key`` (kid -> key, a callable
    or a mapping), ``trust_embedded_jwk`` (use a ``jwk`` in the protected header);
    ``require_signature`` makes an unsigned (or unverifiable) card non-compliant.
    ``require_experts`` makes a missing expert non-compliant. ``strict`` holds a bare
    card to the A2A 1.0 required fields and makes a missing required field an error.
    ``structure`` — ``"auto"`` (a2a-sdk's types too when installed), ``"builtin"``,
    ``"sdk"`` (needs the ``[a2a]`` extra). ``today`` — the date evidence dates are
    judged against. ``expert_keys`` — keys for the experts' validators (receipts).

    ``seal`` — an :class:`~openmoe_bft.receipts.AuditChain` or a store path: the verdict
    is appended as a receipt (``timestamp``, ``signer_key``, ``trace_id``) and returned
    in ``verdict.receipt``.

    Raises :class:`~openmoe_bft.errors.InvalidInput` / ``InvalidType`` only for input
    that is not a card at all (not JSON, not an object, too big or deep, unreadable,
    unfetchable); everything about the card's content ends in the verdict.
    """
    if isinstance(card, TaskEnvelope):
        return validate_task(card, seal=seal, key=key, resolve_key=resolve_key,
                             trust_embedded_jwk=trust_embedded_jwk,
                             require_signature=require_signature,
                             require_experts=require_experts, strict=strict,
                             structure=structure, today=today, timestamp=timestamp,
                             signer_key=signer_key, trace_id=trace_id, expert_keys=expert_keys)
    _check_options(structure)

    def fetch(url: str) -> Any:
        from .fetch import fetch_card

        return fetch_card(url, timeout=timeout, deadline=deadline, max_bytes=max_bytes,
                          max_redirects=max_redirects, allow_private=allow_private,
                          transport=transport)

    doc, source = load_card(card, max_bytes=max_bytes, fetch=fetch)
    verdict = _verdict_for_card(doc, source, key=key, resolve_key=resolve_key,
                                trust_embedded_jwk=trust_embedded_jwk, structure=structure,
                                strict=strict, today=today, require_experts=require_experts,
                                require_signature=require_signature, expert_keys=expert_keys)
    if seal is not None:
        verdict = _seal(verdict, seal, timestamp, signer_key, trace_id)
    return verdict


def _verdict_for_card(doc: Mapping[str, Any], source: str | None, *, key: Any,
                      resolve_key: Any, trust_embedded_jwk: bool, structure: str, strict: bool,
                      today: Any, require_experts: bool, require_signature: bool,
                      expert_keys: Any) -> A2AComplianceVerdict:
    report = _structure(doc, structure, strict)
    sigs = verify_signatures(doc, key=key, resolve_key=resolve_key,
                             trust_embedded_jwk=trust_embedded_jwk)
    name = doc.get("name")
    return _build(kind="card", subject=name if isinstance(name, str) else "", source=source,
                  structure=report, signatures=sigs, collected=collect_card(doc),
                  extra_findings=[], today=today, require_experts=require_experts,
                  require_signature=require_signature, strict=strict, expert_keys=expert_keys)


def validate_task(
    task: Any,
    *,
    card: Any = None,
    seal: Any = None,
    key: Any = None,
    resolve_key: Callable[[str], Any] | Mapping[str, Any] | None = None,
    trust_embedded_jwk: bool = True,
    require_signature: bool = False,
    require_experts: bool = False,
    strict: bool = False,
    structure: str = "builtin",
    today: date | datetime | str | None = None,
    timestamp: int | float | None = None,
    signer_key: Any = None,
    trace_id: str = "a2a-compliance",
    expert_keys: Any = None,
    max_bytes: int = MAX_CARD_BYTES,
) -> A2AComplianceVerdict:
    """Validate an A2A task payload: its agent card plus the task's own evidence.

    ``task`` — a :class:`TaskEnvelope`, a dict (the seed's ``{task_id, agent, input,
    metadata}`` or an A2A ``Task`` object), JSON bytes or a JSON file path. The agent
    card is ``card`` when given (anything :func:`validate_card` reads, except that a
    URL is fetched with default limits), else the task's ``agent`` when it is a card.
    The card's structure and signatures are checked as in :func:`validate_card`; the
    evidence is the card's with the task's ``metadata`` on top (the task wins on a
    key). Other options as in :func:`validate_card`.
    """
    _check_options(structure)
    if isinstance(task, TaskEnvelope):
        envelope = task
        raw: Mapping[str, Any] | None = None
    else:
        if isinstance(task, Mapping):
            raw = task
        elif isinstance(task, (bytes, bytearray, memoryview)):
            raw = parse_json_bytes(bytes(task), source="task", max_bytes=max_bytes)
        elif isinstance(task, (str, os.PathLike)):
            raw = parse_json_bytes(_read_file(task, max_bytes), source=os.fspath(task),
                                   max_bytes=max_bytes)
        else:
            raise InvalidType("task must be a TaskEnvelope, a dict, JSON bytes or a file "
                              f"path, got {type(task).__name__}", argument="task")
        if not isinstance(raw, Mapping):
            raise InvalidType(f"a task must be a JSON object, got {type(raw).__name__}",
                              argument="task")
        _check_tree(raw, "task")
        envelope = TaskEnvelope.from_dict(raw)
    extra: list[Finding] = []
    if raw is not None:
        md = raw.get("metadata")
        if md is not None and not isinstance(md, Mapping):
            extra.append(Finding("error", "task.metadata", "task.metadata must be an object, "
                                 f"got {type(md).__name__}", "task.metadata"))
        tid = raw.get("task_id", raw.get("id"))
        if tid is not None and not isinstance(tid, str):
            extra.append(Finding("error", "task.id", "the task id must be a string",
                                 "task.task_id"))
    else:
        _check_tree(envelope.metadata, "task.metadata")
    card_doc: Mapping[str, Any] | None = None
    source: str | None = None
    if card is not None:
        card_doc, source = load_card(card, max_bytes=max_bytes)
    elif isinstance(envelope.agent, AgentCard):
        card_doc = envelope.agent._document()
        _check_tree(card_doc, "card")
    elif isinstance(envelope.agent, str) and envelope.agent:
        extra.append(Finding("warning", "task.agent-by-id",
                             f"the task names its agent {envelope.agent[:100]!r} without its "
                             "card; pass card= to check the card's evidence and signatures",
                             "task.agent"))
    report = _structure(card_doc, structure, strict) if card_doc is not None else None
    sigs = verify_signatures(card_doc, key=key, resolve_key=resolve_key,
                             trust_embedded_jwk=trust_embedded_jwk) \
        if card_doc is not None else ()
    collected = collect_task(envelope, card_doc)
    for p in collected.problems:
        if p.startswith("task."):
            extra.append(Finding("error", "task.metadata", p, "task.metadata"))
    name = card_doc.get("name") if card_doc is not None else None
    verdict = _build(kind="task", subject=envelope.task_id or (name if isinstance(name, str)
                                                               else ""),
                     source=source, structure=report, signatures=sigs, collected=collected,
                     extra_findings=extra, today=today, require_experts=require_experts,
                     require_signature=require_signature, strict=strict,
                     expert_keys=expert_keys)
    if seal is not None:
        verdict = _seal(verdict, seal, timestamp, signer_key, trace_id)
    return verdict


def seal_verdict(
    verdict: A2AComplianceVerdict,
    chain: Any,
    timestamp: int | float | None = None,
    trace_id: str = "a2a-compliance",
    signer_key: Any = None,
) -> Any:
    """Append ``verdict`` to ``chain`` (an :class:`~openmoe_bft.receipts.AuditChain`) as
    the payload ``{"a2a_compliance_verdict": verdict.to_dict()}``; return the receipt.

    ``timestamp`` — the receipt time (default: the chain's clock); ``signer_key`` — a
    per-receipt signing key (a str is HMAC-SHA256, as in the seed).
    """
    from ..receipts import AuditChain

    if not isinstance(verdict, A2AComplianceVerdict):
        raise InvalidType(f"verdict must be an A2AComplianceVerdict, got "
                          f"{type(verdict).__name__}", argument="verdict")
    if not isinstance(chain, AuditChain):
        raise InvalidType(f"chain must be an AuditChain, got {type(chain).__name__}",
                          argument="chain")
    return chain.append(payload={"a2a_compliance_verdict": verdict.to_dict()},
                        trace_id=trace_id, timestamp=timestamp, signer_key=signer_key)
