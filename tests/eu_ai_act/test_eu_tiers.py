"""Risk tiers (Art. 5, Art. 6 + Annex I/III, Art. 50) and the Art. 113 dates."""

from __future__ import annotations

from datetime import date

import pytest

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.eu_ai_act import (
    ANNEX_III_AREAS,
    APPLICATION_DATES,
    DIGITAL_OMNIBUS_SCHEDULE,
    ENTRY_INTO_FORCE,
    HIGH_RISK,
    LIMITED,
    MINIMAL,
    PROHIBITED,
    PROHIBITED_PRACTICES,
    RISK_TIERS,
    classify,
    risk_tier,
)

TODAY = date(2026, 11, 25)


def keys(c) -> dict:
    return {o.key: o for o in c.obligations}


def test_article_113_dates():
    assert (ENTRY_INTO_FORCE.year, ENTRY_INTO_FORCE.month, ENTRY_INTO_FORCE.day) == (2024, 8, 1)
    assert APPLICATION_DATES["general_provisions_and_prohibitions"] == date(2025, 2, 2)
    assert APPLICATION_DATES["gpai_models"] == date(2025, 8, 2)
    assert APPLICATION_DATES["annex_iii_high_risk"] == date(2026, 8, 2)
    assert APPLICATION_DATES["transparency"] == date(2026, 8, 2)
    assert APPLICATION_DATES["annex_i_high_risk"] == date(2027, 8, 2)
    assert RISK_TIERS == (PROHIBITED, HIGH_RISK, LIMITED, MINIMAL)


def test_eight_prohibited_practices_and_eight_annex_iii_areas():
    assert len(PROHIBITED_PRACTICES) == 8
    assert [t.split(":")[0] for t in PROHIBITED_PRACTICES.values()] == [
        f"Art. 5(1)({x})" for x in "abcdefgh"]
    assert [t.split(":")[0] for t in ANNEX_III_AREAS.values()] == [
        f"Annex III point {i}" for i in range(1, 9)]


def test_prohibited_wins_over_everything():
    c = classify(prohibited_practices=["social-scoring"], annex_iii_areas=["employment"],
                 interacts_with_people=True, today=TODAY)
    assert c.tier == PROHIBITED and not c.checks_apply
    assert "Art. 5(1)(c)" in c.reasons[0]
    assert keys(c)["prohibition"].applies_from == date(2025, 2, 2)
    assert keys(c)["prohibition"].applies_now


def test_annex_iii_is_high_risk_from_2026_08_02():
    c = classify(annex_iii_areas="employment", today="2026-08-01")
    assert c.tier == HIGH_RISK and c.checks_apply
    assert c.high_risk_from == date(2026, 8, 2)
    assert not keys(c)["high_risk_requirements"].applies_now
    assert keys(classify(annex_iii_areas=["employment"], today="2026-08-02"))[
        "high_risk_requirements"].applies_now


def test_annex_i_product_is_high_risk_from_2027_08_02():
    c = classify(annex_i_product=True, today=TODAY)
    assert c.tier == HIGH_RISK and c.high_risk_from == date(2027, 8, 2)
    assert not keys(c)["high_risk_requirements"].applies_now
    assert "Art. 6(1)" in c.reasons[0]


def test_art_6_3_derogation_unless_profiling():
    c = classify(annex_iii_areas=["education"], derogation="preparatory-task", today=TODAY)
    assert c.tier == MINIMAL and not c.checks_apply
    assert "derogation_documentation" in keys(c)
    assert any("Art. 6(3)(d)" in r for r in c.reasons)
    p = classify(annex_iii_areas=["education"], derogation="preparatory-task", profiling=True,
                 today=TODAY)
    assert p.tier == HIGH_RISK
    assert any("always high-risk" in r for r in p.reasons)


def test_transparency_only_is_limited():
    c = classify(interacts_with_people=True, generates_synthetic_content=True, today=TODAY)
    assert c.tier == LIMITED
    assert [t[:11] for t in c.transparency] == ["Art. 50(1):", "Art. 50(2):"]
    assert keys(c)["transparency"].applies_from == date(2026, 8, 2)


def test_emotion_recognition_is_annex_iii_point_1_plus_art_50_3():
    c = classify(emotion_recognition=True, today=TODAY)
    assert c.tier == HIGH_RISK and c.annex_iii_areas == ("biometrics",)
    assert any(t.startswith("Art. 50(3)") for t in c.transparency)


def test_minimal_still_has_ai_literacy():
    c = classify(today=TODAY)
    assert c.tier == MINIMAL
    assert list(keys(c)) == ["ai_literacy"]
    assert keys(c)["ai_literacy"].citation == "Art. 4"
    assert risk_tier(today=TODAY) == MINIMAL


def test_gpai_obligations():
    c = classify(gpai_systemic_risk=True, today=TODAY)
    assert keys(c)["gpai_provider"].applies_from == date(2025, 8, 2)
    assert keys(c)["gpai_systemic_risk"].citation == "Art. 55"


def test_schedule_override_for_the_digital_omnibus():
    c = classify(annex_iii_areas=["employment"], today=TODAY, schedule=DIGITAL_OMNIBUS_SCHEDULE)
    assert c.high_risk_from == date(2027, 12, 2)
    assert not keys(c)["high_risk_requirements"].applies_now
    c = classify(annex_i_product=True, today=TODAY,
                 schedule={"annex_i_high_risk": "2028-08-02"})
    assert c.high_risk_from == date(2028, 8, 2)


def test_classification_to_dict():
    d = classify(annex_iii_areas=["law-enforcement"], today=TODAY).to_dict()
    assert d["tier"] == "high-risk" and d["today"] == "2026-11-25" and d["checks_apply"]
    assert all(set(o) == {"key", "citation", "summary", "applies_from", "applies_now"}
               for o in d["obligations"])


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"annex_iii_areas": ["astrology"]}, InvalidInput),
    ({"prohibited_practices": ["being rude"]}, InvalidInput),
    ({"annex_iii_areas": [3]}, InvalidType),
    ({"annex_iii_areas": 3}, InvalidType),
    ({"derogation": "trust me"}, InvalidInput),
    ({"derogation": ["preparatory-task"]}, InvalidType),
    ({"profiling": "yes"}, InvalidType),
    ({"today": "soon"}, InvalidInput),
    ({"schedule": {"someday": "2030-01-01"}}, InvalidInput),
    ({"schedule": [("annex_iii_high_risk", "2030-01-01")]}, InvalidType),
])
def test_bad_facts_are_typed_errors(kwargs, error):
    with pytest.raises(error):
        classify(**kwargs)
