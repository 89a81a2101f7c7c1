"""The evidence format as a JSON Schema (draft 2020-12), generated from the checks.

Nothing here is written twice: every property comes from a :class:`Check` and its
:class:`~openmoe_bft.eu_ai_act.evidence.EvidenceSpec`. A document that validates has,
under each key it carries, either a self-attestation (``true``, a non-empty string, a
non-zero number, a non-empty list) or a well-formed structured object. What a schema
cannot express is left to :func:`~openmoe_bft.eu_ai_act.evaluate`: the age of dates
(``x-maxAgeDays``, relative to the day of evaluation), dates in the future, consistency
inside a red-team report, and recomputing a receipt's entry hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInput
from .checks import CHECKS, REGULATION, Check
from .evidence import MAX_ITEMS, MAX_TEXT, MAX_URL, RED_TEAM_SEVERITIES, FieldSpec

__all__ = ["SCHEMA_ID", "evidence_schema"]

SCHEMA_ID = "urn:openmoe-bft:eu-ai-act:evidence:v1"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NONBLANK = r"\S"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].+)?$"
_HEX64 = "^[0-9a-f]{64}$"


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    kind = spec.kind
    s: dict[str, Any]
    if kind == "text":
        s = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": _NONBLANK}
    elif kind == "url":
        s = {"type": "string", "format": "uri", "pattern": "^https?://[^\\s]+$",
             "maxLength": MAX_URL}
    elif kind == "ref":
        s = {"type": "string", "minLength": 1, "maxLength": MAX_URL, "pattern": _NONBLANK}
    elif kind == "contact":
        s = {"type": "string", "maxLength": MAX_URL,
             "pattern": "^((mailto:)?[^@\\s]+@[^@\\s]+\\.[^@\\s]+|https?://[^\\s]+)$"}
    elif kind == "date":
        s = {"type": "string", "pattern": _DATE, "maxLength": 40}
        if spec.max_age_days is not None:
            s["x-maxAgeDays"] = spec.max_age_days
    elif kind in ("number", "integer"):
        s = {"type": kind}
    elif kind == "bool":
        s = {"const": True} if spec.must_be_true else {"type": "boolean"}
    elif kind == "text_list":
        s = {"type": "array", "maxItems": MAX_ITEMS,
             "items": {"type": "string", "minLength": 1, "pattern": _NONBLANK}}
    elif kind == "int_set":
        item: dict[str, Any] = {"type": "integer"}
        if spec.minimum is not None:
            item["minimum"] = spec.minimum
        if spec.maximum is not None:
            item["maximum"] = spec.maximum
        s = {"type": "array", "maxItems": MAX_ITEMS, "items": item}
        if spec.must_include:
            s["allOf"] = [{"contains": {"const": n}} for n in spec.must_include]
    elif kind == "metrics":
        s = {"type": "object", "additionalProperties": {"type": "number"},
             "maxProperties": MAX_ITEMS}
        if spec.min_items:
            s["minProperties"] = spec.min_items
    elif kind == "choice":
        s = {"enum": list(spec.choices)}
    elif kind == "red_team_report":
        s = {"$ref": "#/$defs/RedTeamReport"}
        if spec.minimum is not None:
            s = {"allOf": [s, {"properties": {"riskScore": {"minimum": spec.minimum}}}]}
    elif kind == "receipt":
        s = {"$ref": "#/$defs/Receipt"}
    else:  # pragma: no cover - FieldSpec rejects unknown kinds
        raise ValueError(kind)
    if kind in ("number", "integer"):
        if spec.minimum is not None:
            s["minimum"] = spec.minimum
        if spec.maximum is not None:
            s["maximum"] = spec.maximum
    if spec.min_items and kind in ("text_list", "int_set"):
        s["minItems"] = spec.min_items
    s["description"] = f"{spec.description} — {spec.explain()}"
    return s


def _evidence_object(check: Check) -> dict[str, Any]:
    spec = check.satisfied_by
    assert spec is not None
    obj: dict[str, Any] = {
        "type": "object",
        "description": f"Structured evidence for {check.id}: {spec.summary}.",
        "properties": {f.name: _field_schema(f) for f in spec.fields},
        "required": [f.name for f in spec.fields if f.required],
    }
    if spec.require_any:
        obj["anyOf"] = [{"required": [name]} for name in spec.require_any]
    return obj


def _check_value(check: Check, def_name: str) -> dict[str, Any]:
    options: list[dict[str, Any]] = [{"$ref": "#/$defs/Attestation"}]
    if check.satisfied_by is not None:
        options.append({"$ref": f"#/$defs/{def_name}"})
    return {
        "title": f"{check.id} — {check.title}",
        "description": f"{check.requirement} Severity {check.severity} (weight "
                       f"{check.weight:g}). {check.remediation}",
        "x-check": check.id,
        "x-citations": list(check.citations),
        "anyOf": options,
    }


def _red_team_def() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "description": "A red-team report as RedTeamOrchestrator.to_a2a_evidence writes it "
                       "(riskScore 1.0 = every probe defended).",
        "required": ["targetId", "total", "succeeded", "riskScore"],
        "properties": {
            "targetId": {"type": "string", "minLength": 1},
            "total": {"type": "integer", "minimum": 1},
            "succeeded": count,
            "defended": count,
            "riskScore": {"type": "number", "minimum": 0, "maximum": 1},
            "bySeverity": {"type": "object",
                           "propertyNames": {"enum": list(RED_TEAM_SEVERITIES)},
                           "additionalProperties": count},
            "criticalFindings": {"anyOf": [{"type": "array", "items": {"type": "string"}},
                                           count]},
        },
    }


def _receipt_def() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "A signed audit receipt (openmoe_bft.receipts Receipt.to_dict()); "
                       "its entry hash is recomputed when payload, payload_hash and seq are "
                       "present.",
        "required": ["entry_hash", "signature"],
        "properties": {
            "entry_hash": {"type": "string", "pattern": _HEX64},
            "prev_hash": {"type": "string", "pattern": "^([0-9a-f]{64})?$"},
            "signature": {"type": "string", "minLength": 1, "pattern": _NONBLANK},
            "signer": {"enum": ["hmac", "ed25519"]},
            "seq": {"type": "integer", "minimum": 0},
            "payload_hash": {"type": "string", "pattern": _HEX64},
        },
    }


def evidence_schema(checks: Sequence[Check] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an evidence document for ``checks``
    (default :data:`~openmoe_bft.eu_ai_act.CHECKS`).

    Every check's key may appear flattened (``"metadata.riskAssessment"``) or nested
    under its first component (``{"metadata": {"riskAssessment": ...}}``).
    """
    checks = CHECKS if checks is None else tuple(checks)
    defs: dict[str, Any] = {
        "Attestation": {
            "description": "A self-attestation: passes, but is reported as 'attested, not "
                           "evidenced'.",
            "anyOf": [{"const": True}, {"type": "string", "minLength": 1},
                      {"type": "number", "not": {"const": 0}},
                      {"type": "array", "minItems": 1}],
        },
        "RedTeamReport": _red_team_def(),
        "Receipt": _receipt_def(),
    }
    # shared definitions are Capitalised; per-key ones use the evidence key's camelCase
    # name, so the two never collide
    flat: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for check in checks:
        keys = [(check.evidence_field, True)] + [(k, False) for k in check.supporting_fields]
        for key, own in keys:
            head, _, name = key.rpartition(".")
            if name in defs:
                raise InvalidInput(f"two checks define the evidence key {name!r}",
                                   argument="checks")
            if own:
                if check.satisfied_by is not None:
                    defs[f"{name}Evidence"] = _evidence_object(check)
                defs[name] = _check_value(check, f"{name}Evidence")
            else:
                assert check.satisfied_by is not None
                spec = check.satisfied_by.field(name)
                defs[name] = {"title": f"{key} (supports {check.id})",
                              **_field_schema(spec)}
            ref = {"$ref": f"#/$defs/{name}"}
            flat[key] = ref
            nested.setdefault(head, {})[name] = ref
    properties: dict[str, Any] = {}
    for head, props in nested.items():
        if head and "." not in head:
            properties[head] = {"type": "object", "properties": props}
    properties.update(flat)
    return {
        "$schema": _DIALECT,
        "$id": SCHEMA_ID,
        "title": "EU AI Act evidence document (openmoe-bft)",
        "description": (
            f"Evidence for the {len(checks)} checks of Articles 9-15 of {REGULATION}. Each "
            "key may be flattened ('metadata.riskAssessment') or nested ({'metadata': "
            "{'riskAssessment': ...}}). A value is a self-attestation or a structured "
            "object; absent keys are missing checks. Date ages (x-maxAgeDays) are judged "
            "against the evaluation day."),
        "type": "object",
        "properties": properties,
        "$defs": defs,
    }
