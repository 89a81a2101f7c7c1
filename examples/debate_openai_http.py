"""An LLM proposer over an OpenAI-compatible HTTP API, debating with rule-based ones.

The "LLM" here is a loopback fake server (stdlib http.server) so the example needs no
network; point ``openai_proposer`` at any real ``/v1`` endpoint (vLLM, llama.cpp,
Ollama, OpenAI) instead.

Run: python examples/debate_openai_http.py
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from openmoe_bft.debate import openai_proposer, run_debate


class FakeModel(BaseHTTPRequestHandler):
    """Rejects until someone in the transcript approved, then approves."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        content = ("POSITION: approve\nThe evidence cited above convinces me."
                   if "approve" in prompt.split("Debate so far:")[-1]
                   else "POSITION: reject\nI have seen no evidence yet.")
        data = json.dumps({"choices": [{"message": {"role": "assistant",
                                                    "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), FakeModel)
threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
try:
    llm = openai_proposer(f"http://127.0.0.1:{server.server_address[1]}/v1", model="fake",
                          question="Approve deployment of model v2?", name="llm")
    proposers = {"llm": llm,
                 "auditor": lambda t: ("approve", "approve: red-team report is clean"),
                 "monitor": lambda t: ("approve", "approve: no incidents in 30 days"),
                 "skeptic": lambda t: ("reject", "reject: wait for the fuzzing run")}
    result = run_debate("deploy-v2", proposers, rounds=2, timeout=10)
finally:
    server.shutdown()
    server.server_close()
for turn in result.turns:
    print(f"round {turn.round} {turn.proposer:>8}: {turn.position}")
print(f"agreed={result.agreed} value={result.agreed_value!r} "
      f"votes={result.settlement.votes_for}/{result.total_participants}")
