"""openai_proposer against a loopback fake OpenAI-compatible server (stdlib http.server)."""

import pytest

from openmoe_bft.debate import ProposerError, openai_proposer, parse_position, run_debate
from openmoe_bft.errors import InvalidInput
from openmoe_bft.testing import FakeChatServer


def FakeOpenAI(reply):  # noqa: N802 - reads like the class it stands for
    """A loopback OpenAI-compatible server answering with ``reply(request_json)``."""
    return FakeChatServer(reply=reply)


def chat(content):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}


def persuadable(body):
    """A 'model' that approves once anyone in the transcript approved."""
    prompt = body["messages"][-1]["content"]
    if "POSITION: approve" in prompt or "says approve" in prompt:
        return chat("POSITION: Approve.\nThe others convinced me.")
    return chat("POSITION: reject\nNot enough evidence yet.")


def test_llm_proposer_debates_with_rule_proposers_and_follows_them():
    with FakeOpenAI(persuadable) as fake:
        llm = openai_proposer(fake.url, model="fake-1", question="Ship it?", name="llm",
                              api_key="sk-test")
        rules = {f"rule{i}": (lambda t: ("approve", "rule says approve")) for i in range(3)}
        res = run_debate("ship", {"llm": llm, **rules}, rounds=2, timeout=5)
    assert res.consensus and res.agreed_value == "approve"
    first, second = [t for t in res.turns if t.proposer == "llm"]
    assert first.position == "reject" and second.position == "approve"  # lower-cased
    assert res.settlement.votes_for == 4
    req = fake.received[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == "Bearer sk-test"
    assert req["json"]["model"] == "fake-1"
    assert "Question: Ship it?" in req["json"]["messages"][-1]["content"]
    later = fake.received[1]["json"]["messages"][-1]["content"]
    assert "llm (you): POSITION: reject" in later and "rule0: rule says approve" in later


@pytest.mark.parametrize("reply,why", [
    (lambda b: (500, {"error": "overloaded"}), "HTTP 500"),
    (lambda b: chat("I think we should ship."), "POSITION"),
    (lambda b: (200, b"not json"), "JSON"),
    (lambda b: (200, {"choices": []}), "choices"),
])
def test_a_failing_llm_abstains_and_the_debate_goes_on(reply, why):
    with FakeOpenAI(reply) as fake:
        llm = openai_proposer(fake.url, model="m", question="q")
        res = run_debate("d", {"llm": llm, "a": lambda t: ("x", "x"), "b": lambda t: ("x", "x"),
                               "c": lambda t: ("x", "x")}, rounds=1, timeout=5)
        with pytest.raises(ProposerError, match=why):
            llm([])
    assert res.consensus and "ProposerError" in res.abstentions["llm"]
    assert why in res.abstentions["llm"]


def test_unreachable_server_and_bad_arguments():
    with FakeOpenAI(persuadable) as fake:
        url = fake.url
    with pytest.raises(ProposerError, match="cannot reach"):
        openai_proposer(url, model="m", question="q", timeout=2)([])
    with pytest.raises(InvalidInput):
        openai_proposer("ftp://x", model="m", question="q")
    with pytest.raises(ValueError):
        openai_proposer("http://x", model="", question="q")


def test_parse_position():
    assert parse_position("POSITION: Yes.\nbecause") == ("yes", "POSITION: Yes.\nbecause")
    assert parse_position("Sure.\n**Position:** Expert 3\n")[0] == "expert 3"
    with pytest.raises(ProposerError):
        parse_position("no marker here")
