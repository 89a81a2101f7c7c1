"""OpenAIExtractor against a loopback fake OpenAI-compatible server."""

import json

import pytest

from openmoe_bft.errors import InvalidInput
from openmoe_bft.memory import MemoryPyramid
from openmoe_bft.memory.llm import ExtractionError, OpenAIExtractor
from openmoe_bft.testing import FakeChatServer


def _Fake(reply):  # noqa: N802
    """A loopback OpenAI-compatible server answering with ``reply(request_json)``."""
    return FakeChatServer(reply=reply)


def _facts_for(body):
    lines = body["messages"][1]["content"].splitlines()
    facts = []
    for line in lines:
        n = int(line[1:line.index("]")])
        if "live in" in line:
            facts.append({"event": n, "text": "User lives in " + line.split("live in ")[1],
                          "salience": 0.9, "key": "user.location"})
        else:
            facts.append({"event": n, "text": line.split(") ", 1)[1], "salience": 0.3})
    return 200, "```json\n" + json.dumps({"facts": facts}) + "\n```"


def test_llm_extractor_drives_dream_in_batches():
    with _Fake(_facts_for) as fake:
        ex = OpenAIExtractor(fake.url, model="tiny", api_key="k-123", batch_size=2)
        p = MemoryPyramid()
        p.observe_message(1.0, "user", "I live in Turin")
        p.observe_message(2.0, "user", "Reminder: water the ficus")
        p.observe_message(3.0, "user", "I live in Milan")
        s = p.dream(extractor=ex)
    assert len(fake.received) == 2  # 3 events, batches of 2
    path, headers, body = (fake.received[0][k] for k in ("path", "headers", "json"))
    assert path == "/v1/chat/completions" and headers["Authorization"] == "Bearer k-123"
    assert body["model"] == "tiny" and body["temperature"] == 0.0
    assert s.atoms_added == 3 and s.atoms_superseded == 1 and s.events_compacted == 3
    (active,) = [a for a in p.active_atoms if a.key == "user.location"]
    assert active.text == "User lives in Milan"


@pytest.mark.parametrize("reply, match", [
    (lambda b: (200, "not json"), "not"),
    (lambda b: (200, json.dumps({"facts": [{"event": 9, "text": "x"}]})), "names no event"),
    (lambda b: (200, json.dumps({"facts": [{"event": 0, "text": "  "}]})), "no text"),
    (lambda b: (200, json.dumps({"facts": {"a": 1}})), "not a list"),
    (lambda b: (500, "boom"), "HTTP 500"),
])
def test_bad_replies_fail_the_step_and_write_nothing(reply, match):
    with _Fake(reply) as fake:
        p = MemoryPyramid()
        p.observe_message(1.0, "user", "hello there")
        with pytest.raises(ExtractionError, match=match):
            p.dream(extractor=OpenAIExtractor(fake.url, model="m"))
        assert p.atoms == [] and len(p.events) == 1


def test_unreachable_and_bad_config():
    with pytest.raises(ExtractionError, match="cannot reach"):
        OpenAIExtractor("http://127.0.0.1:9/v1", model="m", timeout_s=2)([_event()])
    with pytest.raises(InvalidInput):
        OpenAIExtractor("ftp://x", model="m")
    with pytest.raises(InvalidInput):
        OpenAIExtractor("http://x", model="m", batch_size=0)


def _event():
    from openmoe_bft.memory import MemoryEvent
    return MemoryEvent("e", 1.0, "user", "x")
