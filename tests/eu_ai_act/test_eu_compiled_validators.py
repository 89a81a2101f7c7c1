"""The compiled validators (inline fast paths) agree exactly with the field-by-field
reference semantics of FieldSpec.check, on valid, malformed and random values."""

from __future__ import annotations

import pickle
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from openmoe_bft.eu_ai_act import CHECKS, EvidenceSpec
from openmoe_bft.eu_ai_act.samples import sample_evidence

TODAY = date(2026, 11, 25)
GOOD = sample_evidence(TODAY)["metadata"]
SPECS = [c.satisfied_by for c in CHECKS]


def reference(spec: EvidenceSpec, value: dict, today: date) -> tuple[str, ...]:
    errors = []
    for f in spec.fields:
        item = value.get(f.name)
        if item is None:
            if f.required:
                errors.append(f"{f.name}: required ({f.explain()})")
            continue
        problem = f.check(item, today)
        if problem is not None:
            errors.append(f"{f.name}: {problem}")
    if spec.require_any and all(value.get(n) is None for n in spec.require_any):
        errors.append("needs at least one of " + ", ".join(spec.require_any))
    return tuple(errors)


def test_compiled_and_reference_agree_on_the_samples():
    for c in CHECKS:
        value = GOOD[c.evidence_field.split(".", 1)[1]]
        assert c.satisfied_by.validate(value, TODAY) == reference(c.satisfied_by, value, TODAY)
        assert c.satisfied_by.validate(value, TODAY) == ()
        assert c.satisfied_by.validate({}, TODAY) == reference(c.satisfied_by, {}, TODAY)


edge_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 400), st.floats(allow_nan=True),
    st.sampled_from(["", " ", "x", "2026-11-01", "2026-11-27", "2026-11-26", "2025-11-25",
                     "2025-11-24", "2026-02-30", "https://example.org/a", "http://[::1]/x",
                     "mailto:a@example.org", "a@example.org", "docs/x.pdf", "ftp://x",
                     "internal-control", "notified-body", "vibes", "https://", "a\nb"]),
    st.lists(st.one_of(st.integers(0, 10), st.sampled_from(["a", "", " ", "b"]), st.booleans()),
             max_size=12),
    st.dictionaries(st.sampled_from(["auc", "", " ", "f1"]),
                    st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=2)),
                    max_size=3),
    st.just(list(range(1, 10))), st.just([*range(1, 10), 0]), st.just([*range(1, 10), 10]),
)


@settings(max_examples=300)
@given(st.sampled_from(range(len(SPECS))), st.data())
def test_compiled_and_reference_agree_on_random_values(index, data):
    spec = SPECS[index]
    names = [f.name for f in spec.fields]
    value = dict(GOOD[CHECKS[index].evidence_field.split(".", 1)[1]])
    for name in data.draw(st.lists(st.sampled_from(names), max_size=len(names))):
        value[name] = data.draw(edge_values)
    assert spec.validate(value, TODAY) == reference(spec, value, TODAY)


def test_specs_pickle_without_their_compiled_code():
    spec = CHECKS[0].satisfied_by
    spec.validate({}, TODAY)
    again = pickle.loads(pickle.dumps(spec))
    assert again == spec
    assert again.validate({}, TODAY) == spec.validate({}, TODAY)
    assert "def validate(value, today):" in spec.source
