"""``json.loads`` for text from someone else, with a nesting-depth limit checked first.

CPython's C JSON decoder recurses once per nested array/object and relies on the
interpreter's recursion limit to stop. Some libraries raise that limit for the
whole process at import (``eth_account`` sets it to 100,000), and then a few hundred
kilobytes of ``[[[[...`` overflow the C stack and kill the process with a
segmentation fault instead of raising. So every place that parses JSON it did not
write itself (network replies, request bodies, files from another machine) goes
through :func:`loads`, which measures the nesting depth without recursion before
handing the text to :func:`json.loads`.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from .errors import InvalidInput

__all__ = ["MAX_DEPTH", "loads", "nesting_depth"]

MAX_DEPTH = 256
"""Deepest nesting of arrays and objects accepted by default (far below what the C
decoder survives; real documents stay under a few dozen)."""

# A JSON string literal (unrolled loop: linear time, no backtracking blow-up).
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TO_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\x02", "}": "\x02"})
_STEP = [0] * 256
_STEP[1], _STEP[2] = 1, -1


def nesting_depth(text: str | bytes | bytearray) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings do not
    count). Linear time, no recursion; meant as a guard, not a validator: malformed
    text still gets a number and is rejected later by the parser."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    if "[" not in text and "{" not in text:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    steps = brackets.translate(_TO_STEPS).encode("ascii")
    return max(0, max(accumulate(map(_STEP.__getitem__, steps))))


def loads(text: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH, what: str = "JSON",
          argument: str | None = None, **kwargs: Any) -> Any:
    """:func:`json.loads` after checking that ``text`` nests at most ``max_depth`` deep.

    Too deep raises :class:`~openmoe_bft.errors.InvalidInput` (a ``ValueError``, so
    callers that already turn ``json.JSONDecodeError`` into a clean error keep working).
    Keyword arguments go to :func:`json.loads`.
    """
    depth = nesting_depth(text)
    if depth > max_depth:
        raise InvalidInput(f"{what} nests {depth} levels deep, more than the limit of "
                           f"{max_depth}", argument=argument)
    return json.loads(text, **kwargs)
