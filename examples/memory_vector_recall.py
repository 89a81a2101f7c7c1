"""Vector recall: the same MemoryPyramid with a numpy cosine index over an embed callable.

HashingEmbedder (feature hashing of words and character trigrams) needs no model
download; any ``embed(list[str]) -> array (n, d)`` works the same way, e.g.
``SentenceTransformer(...).encode`` once you have its weights locally.

    python examples/memory_vector_recall.py
"""

from openmoe_bft.memory import HashingEmbedder, MemoryPyramid, VectorIndex

memory = MemoryPyramid(index=VectorIndex(HashingEmbedder(dim=512)))
notes = ["Renew the passport before the Tokyo trip",
         "Dentist appointment moved to Thursday",
         "The Tokyo hotel booking is confirmed for March",
         "Buy oat milk and espresso beans"]
for i, note in enumerate(notes):
    memory.observe_message(float(i), "user", note)
memory.dream()
# character trigrams also match inflections the lexical index would miss ("booked")
for hit in memory.recall("booked hotels in tokyo", k=3):
    print(f"{hit.tier} cos={hit.score:.2f} {hit.text}")
