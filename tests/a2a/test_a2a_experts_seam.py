"""The seam to the 14-expert registry: with an ``openmoe_bft.experts`` that has
``EXPERTS`` and ``check_experts``, its verdicts drive coverage; an invalid field is an
error and the card is not compliant."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
from _a2a_corpus import TODAY, card_with_fields

from openmoe_bft.a2a import _experts, validate_card


@dataclass(frozen=True)
class _Expert:
    expert_id: int
    name: str
    a2a_field: str


@dataclass(frozen=True)
class _Verdict:
    expert_id: int
    status: str
    reason: str


@dataclass(frozen=True)
class _Report:
    covered: list
    missing: list
    invalid: list
    verdicts: tuple


@pytest.fixture
def registry(monkeypatch):
    seen = {}

    def check_experts(evidence, *, keys=None):
        seen["evidence"], seen["keys"] = evidence, keys
        md = evidence["metadata"]
        covered, missing, invalid, verdicts = [], [], [], []
        for eid, _name, key in _experts._FALLBACK:
            value = md.get(key)
            if value is None:
                missing.append(eid)
            elif key == "x402Receipt" and not isinstance(value, dict):
                invalid.append(eid)
                verdicts.append(_Verdict(eid, "invalid", "not a receipt that verifies"))
            else:
                covered.append(eid)
        return _Report(covered, missing, invalid, tuple(verdicts))

    module = types.ModuleType("openmoe_bft.experts")
    module.EXPERTS = tuple(_Expert(eid, name, f"metadata.{key}")
                           for eid, name, key in _experts._FALLBACK)
    module.check_experts = check_experts
    monkeypatch.setitem(sys.modules, "openmoe_bft.experts", module)
    _experts._registry.cache_clear()
    _experts.expert_table.cache_clear()
    yield seen
    _experts._registry.cache_clear()
    _experts.expert_table.cache_clear()


def test_the_registry_decides_coverage_and_invalid_fields(registry):
    card = card_with_fields()
    card["metadata"]["x402Receipt"] = "tok_123"
    verdict = validate_card(card, today=TODAY, expert_keys={"k": "secret"})
    assert registry["keys"] == {"k": "secret"}
    assert registry["evidence"]["metadata"]["x402Receipt"] == "tok_123"
    assert verdict.experts_invalid == [5]
    assert 5 not in verdict.experts_missing and 5 not in verdict.experts_covered
    assert verdict.compliant is False
    assert "Expert #5 (x402 Payment Validation)" in verdict.advisory[0]
    assert "not a receipt that verifies" in verdict.advisory[0]


def test_the_seed_marker_reaches_the_registry_as_an_attestation(registry):
    card = card_with_fields()
    card["metadata"]["webExtractionPolicy"] = {"present": True}
    validate_card(card, today=TODAY)
    assert registry["evidence"]["metadata"]["webExtractionPolicy"] is True
