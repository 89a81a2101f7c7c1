"""evidence_schema(): generated from the checks, draft 2020-12; the fixtures validate.

``jsonschema`` is not a dependency of the project, so the fixtures are validated with a
small validator of the keywords the schema uses (below); when ``jsonschema`` is
installed the same fixtures are also checked with it.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from typing import Any

import pytest

from openmoe_bft.eu_ai_act import CHECKS, evaluate, evidence_schema
from openmoe_bft.eu_ai_act.samples import sample_evidence, sample_red_team_report

TODAY = date(2026, 11, 25)
SCHEMA = evidence_schema()
USED = {"$schema", "$id", "$ref", "$defs", "title", "description", "type", "properties",
        "required", "anyOf", "allOf", "not", "const", "enum", "minLength", "maxLength",
        "pattern", "format", "minimum", "maximum", "items", "minItems", "maxItems",
        "contains", "additionalProperties", "propertyNames", "minProperties",
        "maxProperties", "x-check", "x-citations", "x-maxAgeDays"}


def _type_ok(value: Any, t: str) -> bool:
    return {
        "object": isinstance(value, dict), "array": isinstance(value, list),
        "string": isinstance(value, str), "boolean": isinstance(value, bool),
        "null": value is None,
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
    }[t]


def valid(value: Any, schema: dict, root: dict = SCHEMA) -> bool:
    """A validator for the subset of draft 2020-12 in USED (annotations ignored)."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        if not valid(value, target, root):
            return False
    if "type" in schema and not _type_ok(value, schema["type"]):
        return False
    if "const" in schema and not (value == schema["const"]
                                  and type(value) is type(schema["const"])):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "anyOf" in schema and not any(valid(value, s, root) for s in schema["anyOf"]):
        return False
    if "allOf" in schema and not all(valid(value, s, root) for s in schema["allOf"]):
        return False
    if "not" in schema and valid(value, schema["not"], root):
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1e18):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    lo, hi = schema.get("minimum", -float("inf")), schema.get("maximum", float("inf"))
    if _type_ok(value, "number") and not lo <= value <= hi:
        return False
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1e18):
            return False
        if "items" in schema and not all(valid(v, schema["items"], root) for v in value):
            return False
        if "contains" in schema and not any(valid(v, schema["contains"], root) for v in value):
            return False
    if isinstance(value, dict):
        if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", 1e18):
            return False
        if any(k not in value for k in schema.get("required", ())):
            return False
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                if not valid(v, props[k], root):
                    return False
            elif "additionalProperties" in schema and not valid(v, schema["additionalProperties"],
                                                                root):
                return False
            if "propertyNames" in schema and not valid(k, schema["propertyNames"], root):
                return False
    return True


def _keywords(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            out.add(k)
            if k in ("properties", "$defs"):
                for sub in v.values():
                    _keywords(sub, out)
            else:
                _keywords(v, out)
    elif isinstance(node, list):
        for v in node:
            _keywords(v, out)
    return out


def good_documents() -> list[dict]:
    full = sample_evidence(TODAY)
    docs = [full, sample_evidence(TODAY, nested=False), {},
            {c.evidence_field: True for c in CHECKS},
            {"metadata": {"riskAssessment": "yes", "eventLogging": 1, "humanOversight": ["x"]}},
            {"metadata": {"redTeamReport": sample_red_team_report()}}]
    return docs


def bad_documents() -> list[dict]:
    docs = []
    for mutate in (
        lambda m: m["riskAssessment"].update(identifiedRisks="one risk"),
        lambda m: m["technicalDocumentation"].update(annexIvSections=[1, 2, 3]),
        lambda m: m["eventLogging"].update(retentionDays=30),
        lambda m: m["overrideControl"].update(canStop=False),
        lambda m: m["conformityEvidence"].update(assessmentProcedure="vibes"),
        lambda m: m["cybersecurityControls"].update(
            redTeamReport=sample_red_team_report(succeeded=4)),
        lambda m: m["logTraceability"]["receipt"].update(entry_hash="nothex"),
        lambda m: m["dataQuality"].pop("errorRate") and m["dataQuality"].pop("completeness"),
        lambda m: m.update(riskTesting=False),
        lambda m: m.update(dataGovernance=""),
        lambda m: m.update(biasExamination=0),
    ):
        doc = sample_evidence(TODAY)
        mutate(doc["metadata"])
        docs.append(doc)
    return docs


def test_schema_is_draft_2020_12_and_plain_json():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["type"] == "object"
    assert json.loads(json.dumps(SCHEMA)) == SCHEMA
    assert _keywords(SCHEMA, set()) <= USED


def test_schema_is_generated_from_the_checks():
    props = SCHEMA["properties"]
    nested = props["metadata"]["properties"]
    for c in CHECKS:
        name = c.evidence_field.split(".", 1)[1]
        assert props[c.evidence_field] == {"$ref": f"#/$defs/{name}"}
        assert nested[name] == {"$ref": f"#/$defs/{name}"}
        d = SCHEMA["$defs"][name]
        assert d["x-check"] == c.id and d["x-citations"][0] == c.citation
        obj = SCHEMA["$defs"][f"{name}Evidence"]
        assert sorted(obj["properties"]) == sorted(f.name for f in c.satisfied_by.fields)
        assert obj["required"] == [f.name for f in c.satisfied_by.fields if f.required]
    assert "metadata.redTeamReport" in props  # the supporting key of ART15-003
    # only the subset of checks asked for
    one = evidence_schema([CHECKS[0]])
    assert list(one["properties"]["metadata"]["properties"]) == ["riskManagementSystem"]


def test_max_age_is_carried_as_an_annotation():
    rms = SCHEMA["$defs"]["riskManagementSystemEvidence"]["properties"]["lastReviewed"]
    assert rms["x-maxAgeDays"] == 365


@pytest.mark.parametrize("index", range(len(good_documents())))
def test_documents_that_evaluate_cleanly_validate(index):
    doc = good_documents()[index]
    assert valid(doc, SCHEMA)
    report = evaluate(doc, today=TODAY)
    assert not any(r.status == "fail" for r in report.results)


@pytest.mark.parametrize("index", range(len(bad_documents())))
def test_malformed_documents_do_not_validate(index):
    doc = bad_documents()[index]
    assert not valid(doc, SCHEMA)
    assert any(r.status == "fail" for r in evaluate(doc, today=TODAY).results)


def test_with_jsonschema_when_installed():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for doc in good_documents():
        assert validator.is_valid(copy.deepcopy(doc))
    for doc in bad_documents():
        assert not validator.is_valid(doc)
