"""``evaluate(evidence) -> ComplianceReport``: run the checks over an evidence document.

Each check ends in one of four statuses:

``pass``      structured evidence that validates (or a valid supporting report);
``attested``  a bare truthy value — a self-attestation: it passes and scores, but the
              report marks it "attested, not evidenced" and says what would verify it;
``fail``      a falsy value, or structured evidence that does not validate (the reason
              says which field and why), or a key given twice with different values;
``missing``   no value under the check's key(s).

The score is the severity-weighted share of checks that pass (``pass`` or
``attested``); ``evidenced_score`` counts ``pass`` only. ``compliant`` is True only
when no ``blocker`` check fails or is missing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property, lru_cache
from typing import Any

from ..errors import InvalidInput, InvalidType
from .checks import CHECKS, REGULATION, Article, Check
from .evidence import ABSENT, coerce_today, lookup

__all__ = ["ArticleSummary", "CheckResult", "ComplianceReport", "STATUSES", "evaluate"]

STATUSES = ("pass", "attested", "fail", "missing")
_PASSING = frozenset(("pass", "attested"))
_ATTESTATION_TYPES = (bool, int, float, str, list, tuple)


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``status`` (one of :data:`STATUSES`), a human
    ``reason``, the field-level ``errors`` and the evidence ``key`` that decided it."""

    check: Check
    status: str
    reason: str
    errors: tuple[str, ...] = ()
    key: str | None = None

    @property
    def id(self) -> str:
        return self.check.id

    @property
    def passed(self) -> bool:
        return self.status in _PASSING

    @property
    def evidenced(self) -> bool:
        return self.status == "pass"

    @property
    def blocking(self) -> bool:
        """A failed or missing blocker."""
        return self.check.severity == "blocker" and self.status not in _PASSING

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        return {
            "id": c.id,
            "article": c.article.number,
            "citation": c.citation,
            "title": c.title,
            "severity": c.severity,
            "weight": c.weight,
            "evidence_field": c.evidence_field,
            "status": self.status,
            "passed": self.passed,
            "reason": self.reason,
            "errors": list(self.errors),
            "key": self.key,
            "remediation": None if self.status == "pass" else c.remediation,
        }


@dataclass(frozen=True)
class ArticleSummary:
    """Per-article totals: counts by status, the weighted score, failed blockers."""

    article: Article
    checks: int
    passed: int
    attested: int
    failed: int
    missing: int
    score: float
    blocking_failures: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "article": self.article.number,
            "title": self.article.title,
            "checks": self.checks,
            "passed": self.passed,
            "attested": self.attested,
            "failed": self.failed,
            "missing": self.missing,
            "score": self.score,
            "blocking_failures": list(self.blocking_failures),
        }


@dataclass(frozen=True)
class ComplianceReport:
    """The outcome of :func:`evaluate`.

    ``passed`` / ``failed`` / ``blocking_failures`` are lists of :class:`Check` (the
    seed's fields, in the seed's order; ``passed`` includes attested checks);
    ``results`` has one :class:`CheckResult` per check, in check order; ``today`` is
    the date dates were judged against.
    """

    passed: list[Check] = field(default_factory=list)
    failed: list[Check] = field(default_factory=list)
    score: float = 0.0
    blocking_failures: list[Check] = field(default_factory=list)
    results: tuple[CheckResult, ...] = ()
    evidenced_score: float = 0.0
    today: date | None = None

    @property
    def compliant(self) -> bool:
        """True only when no blocker check fails (and something was evaluated)."""
        return not self.blocking_failures and bool(self.passed or self.failed)

    @property
    def attested(self) -> list[Check]:
        """Checks passed on a bare self-attestation only."""
        return [r.check for r in self.results if r.status == "attested"]

    @property
    def evidenced(self) -> list[Check]:
        return [r.check for r in self.results if r.status == "pass"]

    @property
    def missing(self) -> list[Check]:
        return [r.check for r in self.results if r.status == "missing"]

    def result(self, check_id: str) -> CheckResult:
        """The result of one check (full id or without ``EUAIACT-``)."""
        wanted = check_id if check_id.startswith("EUAIACT-") else f"EUAIACT-{check_id}"
        for r in self.results:
            if r.check.id == wanted:
                return r
        raise InvalidInput(f"no result for check {check_id!r}", argument="check_id")

    @cached_property
    def articles(self) -> tuple[ArticleSummary, ...]:
        """One summary per article that has checks, in article order."""
        out = []
        for article in Article:
            rs = [r for r in self.results if r.check.article is article]
            if not rs:
                continue
            total = sum(r.check.weight for r in rs)
            earned = sum(r.check.weight for r in rs if r.passed)
            count = {s: sum(1 for r in rs if r.status == s) for s in STATUSES}
            out.append(ArticleSummary(
                article=article, checks=len(rs), passed=count["pass"],
                attested=count["attested"], failed=count["fail"], missing=count["missing"],
                score=earned / total if total else 0.0,
                blocking_failures=tuple(r.check.id for r in rs if r.blocking),
            ))
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "regulation": REGULATION,
            "today": None if self.today is None else self.today.isoformat(),
            "compliant": self.compliant,
            "score": self.score,
            "evidenced_score": self.evidenced_score,
            "passed": [c.id for c in self.passed],
            "failed": [c.id for c in self.failed],
            "attested": [c.id for c in self.attested],
            "blocking_failures": [c.id for c in self.blocking_failures],
            "counts": {s: sum(1 for r in self.results if r.status == s) for s in STATUSES},
            "articles": [a.to_dict() for a in self.articles],
            "results": [r.to_dict() for r in self.results],
        }

    def to_markdown(self) -> str:
        """A human-readable report: verdict, per-article table, per-check table, to-dos."""
        verdict = "COMPLIANT" if self.compliant else "NOT COMPLIANT"
        today = "" if self.today is None else f" (judged on {self.today.isoformat()})"
        lines = [
            f"# EU AI Act — {REGULATION}",
            "",
            f"**{verdict}**{today} — score {self.score:.3f}, evidenced "
            f"{self.evidenced_score:.3f}; {len(self.blocking_failures)} blocking failure(s), "
            f"{len(self.attested)} check(s) attested but not evidenced.",
            "",
            "| Article | Checks | Pass | Attested | Fail | Missing | Score |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for a in self.articles:
            lines.append(f"| Art. {a.article.number} {a.article.title} | {a.checks} | {a.passed} "
                         f"| {a.attested} | {a.failed} | {a.missing} | {a.score:.2f} |")
        lines += ["", "| Check | Citation | Severity | Status | Reason |",
                  "|---|---|---|---|---|"]
        for r in self.results:
            reason = r.reason.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {r.check.id} {r.check.title} | {r.check.citation} | "
                         f"{r.check.severity} | {r.status.upper()} | {reason} |")
        todo = [r for r in self.results if r.status != "pass"]
        if todo:
            rank = {"blocker": 0, "major": 1, "minor": 2}
            todo.sort(key=lambda r: (r.status == "attested", rank.get(r.check.severity, 3)))
            lines += ["", "## What to do", ""]
            for r in todo:
                lines.append(f"- **{r.check.id}** ({r.check.citation}, {r.check.severity}, "
                             f"{r.status}): {r.check.remediation}")
        return "\n".join(lines) + "\n"


# ── evaluation ───────────────────────────────────────────────────────────────


def _attestation_problem(value: Any) -> str | None:
    """Why a non-object value is not an acceptable self-attestation (None if it is)."""
    if not isinstance(value, _ATTESTATION_TYPES):
        return f"a {type(value).__name__} is not a JSON value"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number is not an attestation"
    if not value:
        return f"{value!r} is falsy: no evidence" if not isinstance(value, (list, tuple)) \
            else "an empty list is no evidence"
    return None


class _Plan:
    """What one check needs at evaluation time, built once per :class:`Check` (lazily)
    and kept in its ``__dict__``: the key split for lookup, the spec, and the
    results that never vary (missing, attested, evidenced) so they are shared."""

    __slots__ = ("check", "key", "parts", "head", "tail", "spec", "validate", "supporting",
                 "missing", "attested", "passed")

    def __init__(self, check: Check) -> None:
        spec = check.satisfied_by
        self.check = check
        self.key = check.evidence_field
        self.parts = tuple(self.key.split("."))
        two = len(self.parts) == 2
        self.head = self.parts[0] if two else None
        self.tail = self.parts[1] if two else None
        self.spec = spec
        self.validate = None if spec is None else spec.compiled()
        self.supporting = tuple(
            (k, tuple(k.split(".")), spec.field(k.rsplit(".", 1)[-1]))
            for k in check.supporting_fields if spec is not None
        )
        self.missing = CheckResult(
            check, "missing", f"no evidence under {self.key}. {check.remediation}", (), None)
        hint = (f"; to evidence it, give an object with {spec.summary}" if spec is not None
                else "; this check has no structured evidence format")
        self.attested = CheckResult(check, "attested", f"attested, not evidenced{hint}", (),
                                    self.key)
        self.passed = CheckResult(
            check, "pass", f"evidenced: {spec.summary}" if spec else "evidenced", (), self.key)


def _plan(check: Check) -> _Plan:
    plan = check.__dict__.get("_eval_plan")
    if plan is None:
        plan = check.__dict__["_eval_plan"] = _Plan(check)
    return plan


def _get(evidence: Mapping[Any, Any], key: str, parts: tuple[str, ...]) -> tuple[Any, str | None]:
    flat = evidence.get(key, ABSENT)
    node: Any = evidence
    for part in parts:
        if type(node) is not dict and not isinstance(node, Mapping):
            node = ABSENT
            break
        node = node.get(part, ABSENT)
        if node is ABSENT:
            break
    if node is ABSENT:
        return flat, None
    if flat is ABSENT:
        return node, None
    return lookup(evidence, key)  # both forms present: let lookup compare them


def _judge_plan(plan: _Plan, evidence: Mapping[Any, Any], today: date) -> CheckResult:
    check = plan.check
    # the check's own key, flattened or nested (inlined _get: this is the hot path)
    key = plan.key
    value = evidence.get(key, ABSENT)
    if value is ABSENT and plan.head is not None:
        node = evidence.get(plan.head)
        if node is not None and (type(node) is dict or isinstance(node, Mapping)):
            value = node.get(plan.tail, ABSENT)
    elif plan.head is not None:  # found flattened: is it also given nested, differently?
        node = evidence.get(plan.head)
        if node is not None and (type(node) is dict or isinstance(node, Mapping)) \
                and node.get(plan.tail, ABSENT) is not ABSENT:
            value, ambiguity = lookup(evidence, key)
            if ambiguity is not None:
                return CheckResult(check, "fail", ambiguity, (ambiguity,), key)
    elif len(plan.parts) > 1:
        value, ambiguity = _get(evidence, key, plan.parts)
        if ambiguity is not None:
            return CheckResult(check, "fail", ambiguity, (ambiguity,), key)
    supported_by = None
    for skey, parts, field_spec in plan.supporting:
        support, ambiguity = _get(evidence, skey, parts)
        if ambiguity is not None:
            return CheckResult(check, "fail", ambiguity, (ambiguity,), skey)
        if support is ABSENT or support is None:
            continue
        problem = field_spec.check(support, today)
        if problem is not None:
            return CheckResult(check, "fail", f"{skey}: {problem}", (problem,), skey)
        supported_by = skey

    if value is ABSENT or value is None:
        if supported_by is not None:
            return CheckResult(check, "pass", f"evidenced by {supported_by}", (), supported_by)
        return plan.missing
    if type(value) is dict or isinstance(value, Mapping):
        if not value:
            problem = "an empty object is no evidence"
            return CheckResult(check, "fail", problem, (problem,), key)
        validate = plan.validate
        if validate is None:
            return plan.attested
        try:
            errors = validate(value, today)
        except Exception as exc:  # a hostile Mapping; the value fails, evaluate goes on
            errors = (f"cannot read the evidence object: {type(exc).__name__}",)
        if not errors:
            return plan.passed
        shown = "; ".join(errors[:4]) + (f"; and {len(errors) - 4} more"
                                         if len(errors) > 4 else "")
        return CheckResult(check, "fail", f"malformed evidence: {shown}", errors, key)
    if value is not True:
        problem = _attestation_problem(value)
        if problem is not None:
            return CheckResult(check, "fail", problem, (problem,), key)
    if supported_by is not None:
        return CheckResult(check, "pass", f"attested, and evidenced by {supported_by}", (),
                           supported_by)
    return plan.attested


@lru_cache(maxsize=1)
def _default_plans() -> tuple[_Plan, ...]:
    return tuple(_plan(c) for c in CHECKS)


def evaluate(
    evidence: Mapping[str, Any] | None,
    *,
    today: date | datetime | str | None = None,
    checks: Sequence[Check] | None = None,
) -> ComplianceReport:
    """Run every check against ``evidence`` and return a :class:`ComplianceReport`.

    ``evidence`` is a JSON-like object keyed by dotted evidence keys
    (``"metadata.riskAssessment"``) or holding them nested (``{"metadata": {...}}``);
    ``None`` is an empty document. ``today`` is the date that evidence dates are judged
    against (freshness, not-in-the-future); by default the current UTC date, read once
    here. ``checks`` replaces :data:`CHECKS` (e.g. a subset).

    A malformed value fails its check with a reason; only a top-level value that is not
    an object raises (:class:`~openmoe_bft.errors.InvalidType`).
    """
    if evidence is None:
        evidence = {}
    elif not isinstance(evidence, dict):
        if not isinstance(evidence, Mapping):
            raise InvalidType(
                f"evidence must be an object (dict) of evidence keys, got "
                f"{type(evidence).__name__}", argument="evidence")
        try:
            evidence = dict(evidence)
        except Exception as exc:
            raise InvalidInput(f"evidence mapping cannot be read: {exc}",
                               argument="evidence") from None
    day = datetime.now(timezone.utc).date() if today is None else coerce_today(today)
    if checks is None:
        plans = _default_plans()
    else:
        checks = tuple(checks)
        for c in checks:
            if not isinstance(c, Check):
                raise InvalidType(f"checks must be Check objects, got {type(c).__name__}",
                                  argument="checks")
        plans = tuple(_plan(c) for c in checks)

    judged: list[CheckResult] = []
    for p in plans:
        try:
            judged.append(_judge_plan(p, evidence, day))
        except Exception as exc:  # e.g. a container Mapping that raises: fail, go on
            problem = f"the evidence cannot be read: {type(exc).__name__}"
            judged.append(CheckResult(p.check, "fail", problem, (problem,), p.key))
    results = tuple(judged)
    passed: list[Check] = []
    failed: list[Check] = []
    blocking: list[Check] = []
    total = earned = evidenced = 0.0
    for r in results:
        c = r.check
        w = c.weight
        total += w
        status = r.status
        if status == "pass":
            passed.append(c)
            earned += w
            evidenced += w
        elif status == "attested":
            passed.append(c)
            earned += w
        else:
            failed.append(c)
            if c.severity == "blocker":
                blocking.append(c)
    return ComplianceReport(
        passed=passed, failed=failed, score=earned / total if total else 0.0,
        blocking_failures=blocking, results=results,
        evidenced_score=evidenced / total if total else 0.0, today=day,
    )
