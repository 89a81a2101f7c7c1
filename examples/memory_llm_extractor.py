"""An LLM as the memory's extractor, through any OpenAI-compatible endpoint.

With MEMORY_LLM_BASE_URL (e.g. http://localhost:11434/v1 for Ollama, or a vLLM /
llama.cpp server) and MEMORY_LLM_MODEL set, the real model distils the facts.
Without them this script starts a tiny fake endpoint on 127.0.0.1 that answers like
a model would, so it runs offline (and in the test suite).

    python examples/memory_llm_extractor.py
"""

import json
import os
import re

from openmoe_bft.memory import MemoryPyramid
from openmoe_bft.memory.llm import OpenAIExtractor
from openmoe_bft.testing import FakeChatServer


def fake_model(request):
    """Answers with {"facts": [...]}, one fact per numbered event, like a model would."""
    facts = []
    for line in request["messages"][-1]["content"].splitlines():
        n, role, text = re.match(r"\[(\d+)\] \((\w+)\) (.*)", line).groups()
        city = re.search(r"(?:live in|moved to) (\w+)", text)
        if city:
            facts.append({"event": int(n), "text": f"The user lives in {city[1]}",
                          "salience": 0.9, "key": "user.location"})
        elif role == "user" and len(text.split()) > 2:
            facts.append({"event": int(n), "text": text.rstrip(".!"), "salience": 0.5})
    return 200, json.dumps({"facts": facts})


base_url, model = os.environ.get("MEMORY_LLM_BASE_URL"), os.environ.get("MEMORY_LLM_MODEL")
server = None
if not base_url:
    server = FakeChatServer(reply=fake_model).start()
    base_url, model = server.url, "fake-model"

try:
    memory = MemoryPyramid()
    for i, (role, text) in enumerate([
        ("user", "I live in Porto."),
        ("assistant", "Great city!"),
        ("user", "My sister's wedding is on June 14th."),
        ("user", "We moved to Braga over the winter."),
    ]):
        memory.observe_message(float(i), role, text)
    extractor = OpenAIExtractor(base_url, model=model,
                                api_key=os.environ.get("MEMORY_LLM_API_KEY"))
    stats = memory.dream(extractor=extractor)
    print(f"{model}: +{stats.atoms_added} facts, {stats.atoms_superseded} superseded, "
          f"{stats.events_compacted} raw events compacted")
    for atom in memory.atoms:
        print(("  " if atom.active else "  (superseded) ") + atom.text)
    print("where does the user live?", memory.recall("user lives", tiers=["L1"], k=1)[0].text)
finally:
    if server is not None:
        server.stop()
