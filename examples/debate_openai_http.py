"""An LLM proposer over an OpenAI-compatible HTTP API, debating with rule-based ones.

The "LLM" here is a loopback fake server (``openmoe_bft.testing.FakeChatServer``) so
the example needs no network; point ``openai_proposer`` at any real ``/v1`` endpoint (vLLM, llama.cpp,
Ollama, OpenAI) instead.

Run: python examples/debate_openai_http.py
"""

from openmoe_bft.debate import openai_proposer, run_debate
from openmoe_bft.testing import FakeChatServer


def fake_model(request):
    """Rejects until someone in the transcript approved, then approves."""
    prompt = request["messages"][-1]["content"]
    if "approve" in prompt.split("Debate so far:")[-1]:
        return 200, "POSITION: approve\nThe evidence cited above convinces me."
    return 200, "POSITION: reject\nI have seen no evidence yet."


with FakeChatServer(reply=fake_model) as server:
    llm = openai_proposer(server.url, model="fake", question="Approve deployment of model v2?",
                          name="llm")
    proposers = {"llm": llm,
                 "auditor": lambda t: ("approve", "approve: red-team report is clean"),
                 "monitor": lambda t: ("approve", "approve: no incidents in 30 days"),
                 "skeptic": lambda t: ("reject", "reject: wait for the fuzzing run")}
    result = run_debate("deploy-v2", proposers, rounds=2, timeout=10)
for turn in result.turns:
    print(f"round {turn.round} {turn.proposer:>8}: {turn.position}")
print(f"agreed={result.agreed} value={result.agreed_value!r} "
      f"votes={result.settlement.votes_for}/{result.total_participants}")
