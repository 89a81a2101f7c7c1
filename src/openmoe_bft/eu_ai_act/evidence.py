"""The evidence format: field specs, value validators and key lookup.

An *evidence document* is a JSON object. Each check reads one or more keys, written
either as flattened dotted paths (``{"metadata.riskAssessment": ...}``, as the seed
and A2A extraction produce) or as nested objects (``{"metadata": {"riskAssessment":
...}}``). The value under a key is one of:

* absent or ``null`` — the check is **missing**;
* a falsy value (``false``, ``""``, ``0``, ``[]``, ``{}``) — the check **fails**;
* any other non-object value (``true``, ``"yes"``, ``"https://..."``, a list) — a
  **self-attestation**: it passes, but is reported as "attested, not evidenced";
* an object — **structured evidence**, validated field by field against the check's
  :class:`EvidenceSpec`; it passes as **evidenced** or fails with the reasons.

Validators never raise on hostile values: every one is bounded (string lengths, list
sizes, nesting) and returns an error string instead. Nothing here walks the whole
document: each check looks up its own keys, so a huge or deeply nested document
costs no more than the handful of values the checks read.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput, InvalidType

__all__ = [
    "ABSENT",
    "FIELD_KINDS",
    "EvidenceSpec",
    "FieldSpec",
    "MAX_ITEMS",
    "MAX_TEXT",
    "MAX_URL",
    "RED_TEAM_SEVERITIES",
    "coerce_today",
    "lookup",
    "parse_date",
]

MAX_TEXT = 100_000
"""Longest accepted text value (characters)."""
MAX_URL = 2048
"""Longest accepted URL or document reference."""
MAX_ITEMS = 1000
"""Most items accepted in a list or metrics object."""
RED_TEAM_SEVERITIES = ("low", "medium", "high", "critical")

FIELD_KINDS: dict[str, str] = {
    "text": "a non-empty string",
    "url": "an http(s) URL",
    "ref": "a document reference: an http(s) URL or a document id / path",
    "contact": "an e-mail address, a mailto: or an http(s) URL",
    "date": "an ISO 8601 date or date-time (YYYY-MM-DD...)",
    "number": "a finite number",
    "integer": "an integer",
    "bool": "true or false",
    "text_list": "a list of non-empty strings",
    "int_set": "a list of integers",
    "metrics": "an object mapping metric names to finite numbers",
    "choice": "one of a fixed set of strings",
    "red_team_report": "a red-team report object (openmoe_bft.red_team to_a2a_evidence)",
    "receipt": "an audit receipt object (openmoe_bft.receipts Receipt.to_dict())",
}

_HEX64 = re.compile(r"[0-9a-f]{64}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# scheme, host (name or [IPv6]), port, then any non-space; with str.isprintable() on top
# (no control characters, no Unicode separators) — see _is_url
_URL = re.compile(
    r"https?://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]{1,5})?(?:[/?#]\S*)?",
    re.ASCII,
)
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f<>()\[\],;:\"]+@" + rf"{_LABEL}(?:\.{_LABEL})+", re.ASCII)
_REF = re.compile(r"[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?")

_sha256 = hashlib.sha256

ABSENT: Any = object()
"""Sentinel returned by :func:`lookup` when a key is not in the document."""


def _is_url(v: str) -> bool:
    m = _URL.fullmatch(v)
    return m is not None and ".." not in m.group(1) and v.isprintable()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def parse_date(value: Any) -> date:
    """Parse an ISO 8601 date or date-time (aware ones are taken in UTC).

    Raises :class:`ValueError` for anything else.
    """
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ValueError("not an ISO 8601 date")
    if len(value) == 10:
        return date.fromisoformat(value)
    if value[10] not in "Tt ":
        raise ValueError("not an ISO 8601 date")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


def coerce_today(today: Any) -> date:
    """``today`` as a :class:`datetime.date` (a date, a datetime or an ISO string)."""
    if isinstance(today, datetime):
        if today.tzinfo is not None:
            today = today.astimezone(timezone.utc)
        return today.date()
    if isinstance(today, date):
        return today
    if isinstance(today, str):
        try:
            return parse_date(today)
        except ValueError:
            raise InvalidInput(f"not an ISO 8601 date: {today[:40]!r}", argument="today") from None
    raise InvalidType(
        f"today must be a date, a datetime or an ISO date string, got {type(today).__name__}",
        argument="today",
    )


# ── field specs ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class FieldSpec:
    """One field of a structured evidence object.

    ``kind`` is a key of :data:`FIELD_KINDS`. ``minimum``/``maximum`` bound numbers,
    integers and a red-team report's ``riskScore``; ``max_age_days`` bounds how old a
    date may be (relative to the evaluation's ``today``); ``min_items`` is the least
    number of items of a list or metrics object; ``choices`` the allowed strings of a
    ``choice``; ``must_include`` the integers an ``int_set`` must contain;
    ``must_be_true`` makes a ``bool`` field pass only when ``true``.
    """

    name: str
    kind: str
    description: str
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    max_age_days: int | None = None
    min_items: int = 0
    choices: tuple[str, ...] = ()
    must_include: tuple[int, ...] = ()
    must_be_true: bool = False

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise InvalidInput(f"unknown field kind {self.kind!r}; known: "
                               f"{', '.join(FIELD_KINDS)}", argument="kind")

    def explain(self) -> str:
        """What a valid value of this field looks like, in words."""
        parts = [FIELD_KINDS[self.kind]]
        if self.must_be_true:
            parts = ["true"]
        if self.kind == "choice":
            parts.append("one of " + ", ".join(repr(c) for c in self.choices))
        if self.min_items:
            parts.append(f"at least {self.min_items} item{'s' if self.min_items > 1 else ''}")
        if self.must_include:
            parts.append("including " + ", ".join(str(i) for i in self.must_include))
        if self.kind == "red_team_report" and self.minimum is not None:
            parts.append(f"riskScore >= {self.minimum:g} and no critical finding")
        elif self.minimum is not None and self.maximum is not None:
            parts.append(f"in [{self.minimum:g}, {self.maximum:g}]")
        elif self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        elif self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.max_age_days is not None:
            parts.append(f"not older than {self.max_age_days} days")
        return ", ".join(parts)

    def check(self, value: Any, today: date) -> str | None:
        """``None`` when ``value`` is valid, else the reason (never raises)."""
        try:
            return _VALIDATORS[self.kind](self, value, today)
        except (RecursionError, MemoryError):  # pragma: no cover - defensive
            return "value is too large or too deeply nested"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required,
                               "description": self.description, "accepts": self.explain()}
        for key in ("minimum", "maximum", "max_age_days"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.min_items:
            out["min_items"] = self.min_items
        if self.choices:
            out["choices"] = list(self.choices)
        if self.must_include:
            out["must_include"] = list(self.must_include)
        if self.must_be_true:
            out["must_be_true"] = True
        return out


@dataclass(frozen=True)
class EvidenceSpec:
    """What structured evidence satisfies a check: the fields of the object.

    Every ``required`` field must be present and valid; optional fields are validated
    when present; ``require_any`` names fields of which at least one must be present.
    Unknown fields are allowed and ignored.
    """

    summary: str
    fields: tuple[FieldSpec, ...]
    require_any: tuple[str, ...] = ()

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fn", None)

    @property
    def source(self) -> str:
        """The Python source of this spec's compiled validator (for reading/debugging)."""
        return _compile_source(self)

    def compiled(self) -> Callable[[Mapping[Any, Any], date], tuple[str, ...]]:
        """The compiled validator ``(value, today) -> errors`` (built on first use)."""
        fn = self.__dict__["_fn"]
        if fn is None:
            fn = _compile(self)
            object.__setattr__(self, "_fn", fn)
        return fn  # type: ignore[no-any-return]

    def validate(self, value: Mapping[Any, Any], today: date) -> tuple[str, ...]:
        """The problems with a structured value (empty when it satisfies the spec)."""
        try:
            return self.compiled()(value, today)
        except (RecursionError, MemoryError):  # pragma: no cover - defensive
            return ("value is too large or too deeply nested",)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fn"] = None  # compiled code is rebuilt on first use
        return state

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": self.summary,
                               "fields": [f.to_dict() for f in self.fields]}
        if self.require_any:
            out["require_any"] = list(self.require_any)
        return out


# ── validators: (spec, value, today) -> None | reason ────────────────────────


def _text(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str):
        return f"expected a string, got {_type_name(v)}"
    if len(v) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    if not v or v.isspace():
        return "empty string"
    return None


def _url(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str):
        return f"expected a URL string, got {_type_name(v)}"
    if len(v) > MAX_URL:
        return f"URL longer than {MAX_URL} characters"
    if not _is_url(v):
        return f"not an http(s) URL: {v[:80]!r}"
    return None


def _ref(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str):
        return f"expected a document reference (URL or id), got {_type_name(v)}"
    if len(v) > MAX_URL:
        return f"reference longer than {MAX_URL} characters"
    if ":" in v and "://" in v:
        return _url(spec, v, today)
    if _REF.fullmatch(v) is None:
        return f"not a document reference: {v[:80]!r}"
    return None


def _contact(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str):
        return f"expected an e-mail address or URL, got {_type_name(v)}"
    if len(v) > MAX_URL:
        return f"longer than {MAX_URL} characters"
    address = v[7:] if v.startswith("mailto:") else v
    if _EMAIL.fullmatch(address) or _is_url(v):
        return None
    return f"not an e-mail address or http(s) URL: {v[:80]!r}"


def _date(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str):
        return f"expected an ISO 8601 date string, got {_type_name(v)}"
    try:
        d = date.fromisoformat(v) if len(v) == 10 else parse_date(v)
    except (ValueError, OverflowError):
        return f"not an ISO 8601 date: {v[:40]!r}"
    age = (today - d).days
    if age < -1:  # one day of slack for time zones
        return f"dated {d.isoformat()}, in the future (today is {today.isoformat()})"
    if spec.max_age_days is not None and age > spec.max_age_days:
        return (f"dated {d.isoformat()}, older than {spec.max_age_days} days "
                f"(today is {today.isoformat()}): renew it")
    return None


def _show(v: Any) -> str:
    """``repr`` of a number, safe for ints too long to print (CPython's digit limit)."""
    if type(v) is int and not -10**18 < v < 10**18:
        return "a very large integer" if v > 0 else "a very large negative integer"
    return repr(v)


def _is_number(v: Any) -> bool:
    return type(v) is int or (type(v) is float and math.isfinite(v))


def _bounds(spec: FieldSpec, v: float) -> str | None:
    if spec.minimum is not None and v < spec.minimum:
        return f"{_show(v)} is below the minimum {spec.minimum:g}"
    if spec.maximum is not None and v > spec.maximum:
        return f"{_show(v)} is above the maximum {spec.maximum:g}"
    return None


def _number(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not _is_number(v):
        if isinstance(v, float):
            return f"{v!r} is not finite"
        return f"expected a number, got {_type_name(v)}"
    return _bounds(spec, v)


def _integer(spec: FieldSpec, v: Any, today: date) -> str | None:
    if type(v) is not int:
        return f"expected an integer, got {_type_name(v)}"
    return _bounds(spec, v)


def _bool(spec: FieldSpec, v: Any, today: date) -> str | None:
    if type(v) is not bool:
        return f"expected true or false, got {_type_name(v)}"
    if spec.must_be_true and not v:
        return "is false"
    return None


def _items(spec: FieldSpec, v: Any, what: str) -> str | None:
    if not isinstance(v, (list, tuple)):
        return f"expected a list of {what}, got {_type_name(v)}"
    if len(v) > MAX_ITEMS:
        return f"more than {MAX_ITEMS} items"
    if len(v) < spec.min_items:
        return f"needs at least {spec.min_items} item{'s' if spec.min_items > 1 else ''}, got {len(v)}"
    return None


def _text_list(spec: FieldSpec, v: Any, today: date) -> str | None:
    if type(v) is not list:
        problem = _items(spec, v, "strings")
        if problem is not None:
            return problem
    elif len(v) > MAX_ITEMS or len(v) < spec.min_items:
        return _items(spec, v, "strings")
    for i, item in enumerate(v):
        if type(item) is not str or not item or item.isspace() or len(item) > MAX_TEXT:
            return f"item {i} is not a non-empty string"
    return None


def _int_set(spec: FieldSpec, v: Any, today: date) -> str | None:
    problem = _items(spec, v, "integers")
    if problem is not None:
        return problem
    seen = set()
    for i, item in enumerate(v):
        if type(item) is not int:
            return f"item {i} is not an integer"
        problem = _bounds(spec, item)
        if problem is not None:
            return f"item {i}: {problem}"
        seen.add(item)
    lacking = [str(n) for n in spec.must_include if n not in seen]
    if lacking:
        return "missing " + ", ".join(lacking)
    return None


def _metrics(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, Mapping):
        return f"expected an object of metric name -> number, got {_type_name(v)}"
    if len(v) > MAX_ITEMS:
        return f"more than {MAX_ITEMS} metrics"
    if len(v) < spec.min_items:
        return f"needs at least {spec.min_items} metric{'s' if spec.min_items > 1 else ''}"
    for name, value in v.items():
        if type(name) is not str or not name.strip():
            return "metric names must be non-empty strings"
        if not _is_number(value):
            return f"metric {name[:40]!r} is not a finite number"
    return None


def _choice(spec: FieldSpec, v: Any, today: date) -> str | None:
    if not isinstance(v, str) or v not in spec.choices:
        shown = repr(v[:40]) if isinstance(v, str) else _type_name(v)
        return f"{shown} is not one of " + ", ".join(repr(c) for c in spec.choices)
    return None


def _count(v: Any, name: str, errors: list[str], minimum: int = 0) -> int | None:
    if type(v) is not int:
        errors.append(f"{name} must be an integer, got {_type_name(v)}")
        return None
    if v < minimum:
        errors.append(f"{name} must be >= {minimum}, got {_show(v)}")
        return None
    return v


def _red_team_report(spec: FieldSpec, v: Any, today: date) -> str | None:
    """A red-team report as ``RedTeamOrchestrator.to_a2a_evidence`` writes it."""
    if type(v) is not dict and not isinstance(v, Mapping):
        return f"expected a red-team report object, got {_type_name(v)}"
    errors: list[str] = []
    target = v.get("targetId")
    if not isinstance(target, str) or not target.strip() or len(target) > MAX_URL:
        errors.append("targetId must be a non-empty string")
    total = _count(v.get("total"), "total", errors, minimum=1)
    succeeded = _count(v.get("succeeded"), "succeeded", errors)
    if total is not None and succeeded is not None and succeeded > total:
        errors.append(f"succeeded ({_show(succeeded)}) exceeds total ({_show(total)})")
        succeeded = None
    if "defended" in v:
        defended = _count(v.get("defended"), "defended", errors)
        if None not in (defended, succeeded, total) and defended + succeeded != total:  # type: ignore[operator]
            errors.append(f"succeeded + defended ({_show(succeeded)} + {_show(defended)}) "
                          f"!= total ({_show(total)})")
    score = v.get("riskScore")
    if not _is_number(score) or not 0.0 <= score <= 1.0:
        errors.append("riskScore must be a number in [0, 1]")
        score = None
    elif succeeded is not None and (succeeded == 0) != (score == 1.0):
        errors.append(f"riskScore {score!r} is inconsistent with {_show(succeeded)} succeeded attacks")
    critical = 0
    by_severity = v.get("bySeverity")
    if by_severity is not None:
        if not isinstance(by_severity, Mapping) or len(by_severity) > len(RED_TEAM_SEVERITIES):
            errors.append("bySeverity must map low/medium/high/critical to counts")
        else:
            for sev, n in by_severity.items():
                if sev not in RED_TEAM_SEVERITIES or type(n) is not int or n < 0:
                    errors.append("bySeverity must map low/medium/high/critical to counts")
                    break
            else:
                critical = by_severity.get("critical", 0)
    findings = v.get("criticalFindings")
    if findings is not None:
        if type(findings) is int and findings >= 0:
            critical = max(critical, findings)
        elif isinstance(findings, (list, tuple)) and len(findings) <= MAX_ITEMS and all(
            type(f) is str for f in findings
        ):
            critical = max(critical, len(findings))
        else:
            errors.append("criticalFindings must be a list of strategy ids or a count")
    if errors:
        return "malformed red-team report: " + "; ".join(errors)
    if spec.minimum is not None and score is not None and score < spec.minimum:
        return (f"riskScore {score:g} is below the required {spec.minimum:g} "
                f"({_show(succeeded)} of {_show(total)} attacks succeeded)")
    if spec.minimum is not None and critical:
        return f"{_show(critical)} critical attack{'s' if critical > 1 else ''} succeeded"
    return None


def _receipt(spec: FieldSpec, v: Any, today: date) -> str | None:
    """A receipt dict (``Receipt.to_dict()``); its entry hash is recomputed when the
    content needed for that (our receipt format) is there. Signatures need the key,
    so they are checked for shape only."""
    if type(v) is not dict and not isinstance(v, Mapping):
        return f"expected a receipt object, got {_type_name(v)}"
    entry_hash = v.get("entry_hash")
    if not isinstance(entry_hash, str) or _HEX64.fullmatch(entry_hash) is None:
        return "entry_hash must be 64 lowercase hex digits"
    prev = v.get("prev_hash", "")
    if not isinstance(prev, str) or (prev and _HEX64.fullmatch(prev) is None):
        return "prev_hash must be empty or 64 lowercase hex digits"
    signature = v.get("signature")
    if not isinstance(signature, str) or not signature.strip() or len(signature) > MAX_URL:
        return "signature is missing: an unsigned receipt does not evidence who recorded it"
    signer = v.get("signer")
    if signer is not None and signer not in ("hmac", "ed25519"):
        shown = repr(signer[:20]) if isinstance(signer, str) else _type_name(signer)
        return f"signer must be 'hmac' or 'ed25519', got {shown}"
    parent = v.get("parent_receipt_id")
    if parent is not None and (not isinstance(parent, str) or len(parent) > MAX_URL):
        return "parent_receipt_id must be a receipt id (a string) or null"
    if "payload_hash" in v and "seq" in v and "payload" in v:
        seq = v.get("seq")
        if type(seq) is not int or seq < 0:
            return "seq must be a non-negative integer"
        try:
            tools = _receipt_tools()
            ph = _sha256(tools.payload_bytes(v.get("payload"))).hexdigest()
            recomputed = tools.entry_hash_of(
                seq, prev, parent, ph,
                tools.format_timestamp(v.get("timestamp")),
                tools.check_trace_id(v.get("trace_id", "")),
            )
        except Exception as exc:  # a malformed receipt must fail, never crash evaluate
            return f"receipt content cannot be hashed: {str(exc)[:120]}"
        if recomputed != entry_hash or v.get("payload_hash") != ph:
            return "entry_hash does not match the receipt's content (tampered)"
    return None


@lru_cache(maxsize=1)
def _receipt_tools() -> Any:
    """The receipts module's entry hashing, imported on first use (it pulls in
    ``cryptography``, which evaluating attestations never needs)."""
    from ..receipts import records

    return records


_VALIDATORS: dict[str, Callable[[FieldSpec, Any, date], str | None]] = {
    "text": _text,
    "url": _url,
    "ref": _ref,
    "contact": _contact,
    "date": _date,
    "number": _number,
    "integer": _integer,
    "bool": _bool,
    "text_list": _text_list,
    "int_set": _int_set,
    "metrics": _metrics,
    "choice": _choice,
    "red_team_report": _red_team_report,
    "receipt": _receipt,
}


# ── compiled validators ──────────────────────────────────────────────────────
#
# Each EvidenceSpec is compiled, on first use, into one straight-line function: per
# field, an inline test accepts the common valid values without a call; anything it
# does not accept goes to the field's validator above, which decides and gives the
# reason. The inline tests only ever accept what the validators accept (the tests
# check both paths), so compiling changes speed, not verdicts. Field names come from
# the check data, never from evidence, and are embedded with repr().

_FAST_LIST = 64  # longer lists go to the validator's loop
_FAST_TEXT = 4096


@lru_cache(maxsize=4096)
def _date10(text: str) -> date | None:
    """``YYYY-MM-DD`` parsed (memoised: a pure function of an immutable string)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _fast_test(spec: FieldSpec, i: int) -> str:
    kind = spec.kind
    if kind == "bool" and spec.must_be_true:
        return "item is True"
    if kind == "text":
        return "type(item) is str and 0 < len(item) <= MAX_TEXT and not item.isspace()"
    if kind == "text_list":
        return (f"type(item) is list and {spec.min_items} <= len(item) <= _FAST_LIST and "
                "all([type(x) is str and 0 < len(x) <= _FAST_TEXT and not x.isspace() "
                "for x in item])")
    if kind == "date":
        age = "" if spec.max_age_days is None else f" <= {int(spec.max_age_days)}"
        return ("type(item) is str and len(item) == 10 and (d := _date10(item)) is not None "
                f"and -1 <= (today - d).days{age}")
    if kind in ("number", "integer"):
        test = ("type(item) is int" if kind == "integer" else
                "(type(item) is int or (type(item) is float and item - item == 0))")
        if spec.minimum is not None:
            test += f" and item >= {float(spec.minimum)!r}"
        if spec.maximum is not None:
            test += f" and item <= {float(spec.maximum)!r}"
        return test
    if (kind == "int_set" and spec.min_items >= 1 and spec.minimum is not None
            and spec.maximum is not None):
        return (f"type(item) is list and {spec.min_items} <= len(item) <= _FAST_LIST and "
                "all([type(x) is int for x in item]) and "
                f"{float(spec.minimum)!r} <= min(item) and max(item) <= {float(spec.maximum)!r}"
                f" and set(item) >= {set(spec.must_include) or 'set()'!r}")
    if kind == "choice":
        return f"item in {tuple(spec.choices)!r} and type(item) is str"
    if kind == "contact":
        return ("type(item) is str and len(item) <= MAX_URL and "
                "(_is_url(item) if '://' in item else _EMAIL.fullmatch(item) is not None)")
    if kind in ("ref", "url"):
        other = "_REF.fullmatch(item) is not None" if kind == "ref" else "False"
        return ("type(item) is str and 0 < len(item) <= MAX_URL and "
                f"(_is_url(item) if '://' in item else {other})")
    return "False"


def _compile_source(spec: EvidenceSpec) -> str:
    lines = ["def validate(value, today):", "    get = value.get", "    errors = None"]
    for i, f in enumerate(spec.fields):
        lines += [f"    item = get({f.name!r})", "    if item is None:"]
        lines.append(f"        errors = _required(errors, s{i})" if f.required else "        pass")
        lines += [f"    elif not ({_fast_test(f, i)}):",
                  f"        problem = v{i}(s{i}, item, today)",
                  "        if problem is not None:",
                  f"            errors = _add(errors, {f.name!r}, problem)"]
    if spec.require_any:
        cond = " and ".join(f"get({n!r}) is None" for n in spec.require_any)
        lines += [f"    if {cond}:",
                  "        errors = _add(errors, None, "
                  f"{'needs at least one of ' + ', '.join(spec.require_any)!r})"]
    lines.append("    return () if errors is None else tuple(errors)")
    return "\n".join(lines) + "\n"


def _required(errors: list[str] | None, spec: FieldSpec) -> list[str]:
    errors = errors or []
    errors.append(f"{spec.name}: required ({spec.explain()})")
    return errors


def _add(errors: list[str] | None, name: str | None, problem: str) -> list[str]:
    errors = errors or []
    errors.append(problem if name is None else f"{name}: {problem}")
    return errors


def _compile(spec: EvidenceSpec) -> Callable[[Mapping[Any, Any], date], tuple[str, ...]]:
    namespace: dict[str, Any] = {
        "MAX_TEXT": MAX_TEXT, "MAX_URL": MAX_URL, "_FAST_LIST": _FAST_LIST,
        "_FAST_TEXT": _FAST_TEXT, "_date10": _date10, "_REF": _REF, "_is_url": _is_url,
        "_EMAIL": _EMAIL,
        "_required": _required, "_add": _add,
    }
    for i, f in enumerate(spec.fields):
        namespace[f"s{i}"] = f
        namespace[f"v{i}"] = _VALIDATORS[f.kind]
    exec(compile(_compile_source(spec), f"<evidence spec: {spec.summary[:40]}>", "exec"),
         namespace)
    return namespace["validate"]  # type: ignore[no-any-return]


# ── lookup ───────────────────────────────────────────────────────────────────


def lookup(evidence: Mapping[Any, Any], key: str) -> tuple[Any, str | None]:
    """The value for dotted ``key`` and an error when the document is ambiguous.

    Looks the key up flattened (``doc["metadata.x"]``) and nested
    (``doc["metadata"]["x"]``). Returns ``(ABSENT, None)`` when neither is there; when
    both are there with different values, ``(ABSENT, reason)``.
    """
    flat = evidence.get(key, ABSENT)
    node: Any = evidence
    for part in key.split("."):
        if not isinstance(node, Mapping):
            node = ABSENT
            break
        node = node.get(part, ABSENT)
    if node is ABSENT:
        return flat, None
    if flat is ABSENT or flat is node:
        return node, None
    try:
        same = bool(flat == node)
    except Exception:  # RecursionError on deep values, or a hostile __eq__
        same = False
    if same:
        return node, None
    return ABSENT, f"given twice with different values ({key!r} flattened and nested)"
