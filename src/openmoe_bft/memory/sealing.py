"""Seal a dream pass as a tamper-evident receipt in an :class:`~openmoe_bft.receipts.AuditChain`.

>>> from openmoe_bft.receipts import AuditChain
>>> from openmoe_bft.memory import MemoryPyramid
>>> memory, chain = MemoryPyramid(), AuditChain()
>>> _ = memory.observe_message(1.0, "user", "I work at Initech")
>>> receipt = seal_dream(chain, memory, memory.dream(), timestamp=2.0)
>>> receipt.payload["state"] == memory.digest() and chain.verify().ok
True
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidType
from .pyramid import MemoryPyramid
from .types import DreamStats

__all__ = ["seal_dream"]


def seal_dream(
    chain: Any, memory: MemoryPyramid, stats: DreamStats, *, trace_id: str = "",
    timestamp: float | None = None,
) -> Any:
    """Append ``{"kind": "memory.dream", "stats": ..., "state": memory.digest()}`` to
    ``chain`` and return the receipt. ``timestamp=None`` lets the chain's clock decide."""
    if not isinstance(memory, MemoryPyramid):
        raise InvalidType(f"expected MemoryPyramid, got {type(memory).__name__}",
                          argument="memory")
    if not isinstance(stats, DreamStats):
        raise InvalidType(f"expected DreamStats, got {type(stats).__name__}", argument="stats")
    payload = {"kind": "memory.dream", "stats": stats.to_dict(), "state": memory.digest(),
               "tokenizer": memory.tokenizer}
    return chain.append(payload, trace_id=trace_id, timestamp=timestamp)
