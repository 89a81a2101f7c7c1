"""Small helpers shared by the pyramid's modules: value encoding, SQL chunking, tiers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..canonical import from_tagged, to_tagged
from ..errors import InvalidInput
from .text import words
from .types import ALL_TIERS

__all__ = ["body", "chunks", "json_text", "marks", "tier_numbers", "unjson"]

_TIER_NO = {t: i for i, t in enumerate(ALL_TIERS)}
_CHUNK = 900


def body(text: str) -> str:
    """What the FTS index stores for ``text``: its words joined by spaces."""
    return " ".join(words(text))


def json_text(value: Any) -> str:
    """Compact JSON of the tagged form of ``value`` (types survive a round trip)."""
    return json.dumps(to_tagged(value), separators=(",", ":"), ensure_ascii=False)


def unjson(text: str | None) -> Any:
    return None if text is None else from_tagged(json.loads(text))


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def marks(n: int) -> str:
    return ",".join("?" * n)


def tier_numbers(tiers: Iterable[str] | str | None) -> tuple[int, ...]:
    """``None`` (all), a tier name or tier names → sorted tier numbers 0–3."""
    if tiers is None:
        return (0, 1, 2, 3)
    if isinstance(tiers, str):
        tiers = (tiers,)
    out = []
    for t in tiers:
        if t not in _TIER_NO:
            raise InvalidInput(f"unknown tier {t!r}: use {', '.join(ALL_TIERS)}",
                               argument="tiers")
        out.append(_TIER_NO[t])
    return tuple(sorted(set(out)))
