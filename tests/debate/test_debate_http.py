"""openai_proposer against a loopback fake OpenAI-compatible server (stdlib http.server)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from openmoe_bft.debate import ProposerError, openai_proposer, parse_position, run_debate
from openmoe_bft.errors import InvalidInput


class FakeOpenAI:
    """Answers /v1/chat/completions with ``reply(request_json) -> (status, body)``."""

    def __init__(self, reply):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                status, payload = reply(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


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
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"]["model"] == "fake-1"
    assert "Question: Ship it?" in req["body"]["messages"][-1]["content"]
    later = fake.requests[1]["body"]["messages"][-1]["content"]
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
