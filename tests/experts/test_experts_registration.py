"""register_expert: accepted and refused candidates, hostile ones bounded."""

from __future__ import annotations

import time

from openmoe_bft.eu_ai_act.samples import sample_receipt
from openmoe_bft.experts import by_id, register_expert


def _card(eid=8, value="approvals@example.org", **kw):
    e = by_id(eid)
    card = {"expert_id": eid, "name": e.name, "tools": [{"name": "approve"}],
            "metadata": {e.field: value}}
    card.update(kw)
    return card


def test_accepted_with_evidence_and_to_dict():
    res = register_expert(_card())
    assert res.accepted and res.expert_id == 8 and res.verdict.status == "valid"
    assert res.to_dict()["verdict"]["status"] == "valid"
    rcpt = register_expert(_card(5, sample_receipt(key="k")), keys="k")
    assert rcpt.accepted


def test_spec_spellings_and_spacing_of_names_are_accepted():
    for name in ("Web Crawler/Extractor", "web crawler / extractor", " WEB  CRAWLER/ EXTRACTOR"):
        assert register_expert(_card(14, True, name=name)).accepted
    assert register_expert(_card(4, True, name="Neurorights/GDPR Art 9")).accepted


def test_refused_cases():
    assert not register_expert(_card(value="call Bob")).accepted  # invalid contact
    res = register_expert(_card(5, sample_receipt(key="k")), keys="other")
    assert not res.accepted and "invalid evidence" in res.reasons[0]
    strict = register_expert(_card(value=True), strict=True)
    assert not strict.accepted and "attested" in strict.reasons[0]
    assert register_expert(_card(value=True)).accepted
    for tools in ([{"name": "a"}, {"name": "a"}], [{"name": "a"}, {}], [{"name": "has space"}],
                  "approve", [{"name": 7}]):
        assert not register_expert(_card(tools=tools)).accepted
    assert not register_expert(_card(expert_id=True)).accepted
    assert not register_expert(_card(expert_id="8")).accepted


def test_hostile_candidates_end_in_a_refusal_quickly():
    class Boom(dict):
        def get(self, *a):
            raise RuntimeError("boom")

    start = time.perf_counter()
    cases = [None, 42, [], Boom(expert_id=1),
             _card(tools=[{"name": f"t{i}"} for i in range(200_000)]),
             _card(name="x" * 10_000_000),
             _card(value={"contact": "a@example.org", "role": "r" * 200_000}),
             {"expert_id": 10**100, "tools": None, "metadata": "x"}]
    deep: dict = {}
    node = deep
    for _ in range(20_000):
        node["hitlContact"] = {}
        node = node["hitlContact"]
    cases.append(_card(value=deep))
    for c in cases:
        res = register_expert(c)
        assert res.accepted is False and res.reasons and res.expert_id is None
    assert time.perf_counter() - start < 5
