"""The seam to the 14-expert registry: its verdicts drive coverage, an invalid field is an
error (the card is not compliant), and evidence dates are judged against ``today``."""

from __future__ import annotations

from _a2a_corpus import TODAY, card_with_fields

from openmoe_bft.a2a import validate_card


def test_a_present_but_invalid_expert_field_is_an_error():
    card = card_with_fields()
    card["metadata"]["x402Receipt"] = {"entry_hash": "zz", "signature": "00"}
    verdict = validate_card(card, today=TODAY)
    assert verdict.experts_invalid == [5]
    assert 5 not in verdict.experts_missing and 5 not in verdict.experts_covered
    assert verdict.compliant is False
    assert any("Expert #5 (x402 Payment Validation)" in a for a in verdict.advisory)


def test_the_seed_marker_is_an_attestation_that_covers_the_expert():
    card = card_with_fields()
    card["metadata"]["webExtractionPolicy"] = {"present": True}
    verdict = validate_card(card, today=TODAY)
    assert 14 in verdict.experts_covered and 14 not in verdict.experts_invalid


def test_expert_dates_are_judged_against_today():
    card = card_with_fields()
    card["metadata"]["autonomousAudit"] = {"auditor": "acme", "auditedOn": "2026-06-01",
                                           "report": "https://audit.example/r.pdf"}
    assert 13 in validate_card(card, today="2026-11-25").experts_covered
    assert 13 in validate_card(card, today="2028-11-25").experts_invalid
