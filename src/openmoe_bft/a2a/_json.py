"""Reading untrusted JSON: size, encoding, duplicate keys, depth and node limits.

An agent card comes from someone else's server. Everything here is bounded: the
bytes are capped before decoding, the text must be UTF-8, duplicate object keys
are refused (two parsers could otherwise read two different cards from the same
bytes, which breaks signatures), and the parsed tree is walked iteratively with a
depth and a node limit. Every problem is an :class:`~openmoe_bft.errors.InvalidInput`
(or :class:`~openmoe_bft.errors.InvalidType`) naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .. import _json as safe_json
from ..errors import InvalidInput, InvalidType

__all__ = ["MAX_CARD_BYTES", "MAX_DEPTH", "MAX_NODES", "check_tree", "parse_json_bytes"]

MAX_CARD_BYTES = 1024 * 1024
"""Largest card or task document read (1 MiB); A2A cards are a few KiB."""
MAX_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a card."""
MAX_NODES = 200_000
"""Most JSON values (objects, arrays and scalars together) accepted in a card."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise InvalidInput(f"duplicate object key {k[:80]!r}: a card must not repeat a "
                                   "key (parsers disagree on which value wins)", argument="card")
            seen.add(k)
    return out


def _no_constant(name: str) -> Any:
    raise InvalidInput(f"{name} is not a JSON number", argument="card")


def parse_json_bytes(data: bytes, *, source: str = "card",
                     max_bytes: int = MAX_CARD_BYTES) -> Any:
    """Decode ``data`` (UTF-8 JSON, an optional BOM) into Python values, bounded."""
    if len(data) > max_bytes:
        raise InvalidInput(f"{source} is {len(data)} bytes, more than the limit of {max_bytes}",
                           argument="card")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source} is not UTF-8: {exc.reason} at byte {exc.start}",
                           argument="card") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = safe_json.loads(text, max_depth=MAX_DEPTH, what=source, argument="card",
                                object_pairs_hook=_pairs, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidInput(f"{source} is nested too deeply to parse (limit {MAX_DEPTH})",
                           argument="card") from None
    except InvalidInput:
        raise
    except ValueError as exc:
        raise InvalidInput(f"{source} is not JSON: {exc}", argument="card") from None
    check_tree(value, what=source)
    return value


_SCALARS = frozenset({str, int, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_PLAIN = _SCALARS | _CONTAINERS | {float}
_STR = frozenset({str})


def check_tree(value: Any, *, what: str = "card", max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_NODES) -> None:
    """Refuse anything that is not a bounded JSON tree (iterative: no recursion).

    Fast path over plain ``dict`` / ``list`` / ``tuple`` containers: the value types of
    a container are checked as a set in one C-level pass, and only containers are
    walked. Anything else (a ``Mapping`` that is not a dict, a str or int subclass,
    a float to check for NaN) goes through :func:`_walk`, which says precisely what
    is wrong — or accepts it.
    """
    if type(value) is not dict:
        _walk(value, what, max_depth, max_nodes)
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop = stack.pop
    push = stack.append
    nodes = 1
    while stack:
        node, depth = pop()
        if depth > max_depth:
            raise InvalidInput(f"{what} is nested more than {max_depth} levels deep",
                               argument="card")
        if type(node) is dict:
            if not set(map(type, node)) <= _STR:
                _walk(value, what, max_depth, max_nodes)
                return
            children: Any = node.values()
        else:
            children = node
        nodes += len(children)
        if nodes > max_nodes:
            raise InvalidInput(f"{what} has more than {max_nodes} values", argument="card")
        kinds = set(map(type, children))
        if kinds <= _SCALARS:
            continue
        if not kinds <= _PLAIN:  # the precise walk covers this whole subtree
            _walk(node, what, max_depth - depth + 1, max_nodes)
            continue
        if float in kinds:
            for c in children:
                if type(c) is float and not math.isfinite(c):
                    raise InvalidInput(f"{what} holds a non-finite number {c!r}",
                                       argument="card")
        if not kinds & _CONTAINERS:
            continue
        for c in children:
            if type(c) in _CONTAINERS:
                push((c, depth + 1))


def _walk(value: Any, what: str, max_depth: int, max_nodes: int) -> None:
    """The precise, iterative check (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    pop = stack.pop
    push = stack.append
    while stack:
        node, depth = pop()
        nodes += 1
        t = type(node)
        if t is str or t is bool or t is int or node is None:
            continue
        if t is dict or (t is not list and t is not tuple and isinstance(node, Mapping)):
            if depth > max_depth:
                raise InvalidInput(f"{what} is nested more than {max_depth} levels deep",
                                   argument="card")
            for k, v in node.items():
                if type(k) is not str:
                    raise InvalidType(f"{what} has a non-string object key {k!r:.60}",
                                      argument="card")
                t2 = type(v)
                if t2 is str or t2 is bool or t2 is int or v is None:
                    nodes += 1
                else:
                    push((v, depth + 1))
        elif t is list or t is tuple:
            if depth > max_depth:
                raise InvalidInput(f"{what} is nested more than {max_depth} levels deep",
                                   argument="card")
            for v in node:
                push((v, depth + 1))
        elif t is float:
            if not math.isfinite(node):
                raise InvalidInput(f"{what} holds a non-finite number {node!r}", argument="card")
        elif isinstance(node, (str, int)):  # subclasses (e.g. enums): plain JSON values
            continue
        else:
            raise InvalidType(f"{what} holds a {t.__name__}, which is not a JSON value",
                              argument="card")
        if nodes > max_nodes:
            raise InvalidInput(f"{what} has more than {max_nodes} values", argument="card")
