"""Agent memory: observe a conversation, dream, recall across tiers, measure savings.

    python examples/memory_pyramid.py [memory.db]
"""

import sys
import tempfile
from pathlib import Path

from openmoe_bft.memory import MemoryPyramid

path = sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "memory.db")
conversation = [
    ("user", "Hi! My name is Ana and I live in Lyon."),
    ("assistant", "Nice to meet you, Ana. What are you working on?"),
    ("user", "A Rust parser for invoices. The invoice parser deadline is Friday."),
    ("assistant", "Noted: the invoice parser is due Friday."),
    ("user", "ok thanks"),
    ("user", "Remember the invoice parser must handle scanned PDFs."),
    ("user", "Big news: I moved to Paris last week."),
]
with MemoryPyramid(path, tokenizer="words") as memory:
    for i, (role, text) in enumerate(conversation):
        memory.observe_message(1_700_000_000.0 + 60 * i, role, text)
    stats = memory.dream()
    print(f"dream: +{stats.atoms_added} facts ({stats.atoms_superseded} superseded), "
          f"+{stats.scenarios_added} scenarios, +{stats.traits_added} traits, "
          f"{stats.events_compacted} raw events compacted")
    print(f"stored {stats.tokens_before} -> {stats.tokens_after} word tokens "
          f"(saving {stats.pass_savings_ratio:+.0%}, measured: a short chat has little to "
          "deduplicate; benchmarks/bench_memory.py measures 10,000 events)")
    print("traits:", {t.key: t.value for t in memory.traits})
    for hit in memory.recall("invoice parser deadline", k=3):
        print(f"  {hit.tier} {hit.score:.2f} {hit.text}")
    lyon = next(a for a in memory.atoms if a.text == "user location lyon")
    print("superseded:", lyon.text, "->", memory.provenance(lyon.id)["superseded_by"])
    print("consistent:", memory.check() == [])
