"""Declarative covenant constraints, and how to add your own.

Built-in keys (a violation is a ``"major"`` breach naming the key):

``max_<field>`` (number)
    ``payload[<field>]`` must be ≤ the limit (the seed's rule: ``max_cost_usd`` checks
    ``payload["cost_usd"]``). Not applicable when the payload has no numeric ``<field>``;
    a non-numeric limit is reported unchecked (the seed ignored it).
``min_<field>`` (number)
    ``payload[<field>]`` must be ≥ the limit.
``allowed_domains`` (list of host names)
    The host of ``payload["url"]`` (or ``payload["domain"]``, or every entry of
    ``payload["urls"]``) must be one of them or a subdomain of one. Not applicable
    when the payload names no URL or domain.
``allowed_tools`` (list of names)
    ``payload["tool"]`` (or every entry of ``payload["tools"]``) must be one of them.
``rate_limit`` (``{"max_actions": N, "per_seconds": S}``)
    At most ``N`` actions of the agent in any window of ``S`` seconds: the action
    breaches when ``N`` earlier actions lie in ``(t - S, t]``.
``time_window`` (``{"start": t0, "end": t1, "hours_utc": [h0, h1]}``, all optional)
    The action's timestamp must lie in ``[t0, t1]`` and its UTC hour in ``[h0, h1)``
    (``h0 > h1`` wraps midnight).

Any other key is *unchecked* (reported in the verdict, not enforced) unless an
evaluator is given for it. An evaluator is a plain callable::

    def no_pii(limit, action, history) -> str | None:   # None: ok, str: why not
        return "payload has an email" if limit and "email" in action.payload else None

    registry = CovenantRegistry(evaluators={"no_pii": no_pii})

An evaluator given for a built-in key replaces the built-in rule. One that raises
fails closed: the action breaches, with the exception as the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType

if TYPE_CHECKING:
    from .model import Action

__all__ = ["Evaluator", "BUILTIN_KEYS", "evaluate_constraints", "validate_constraints"]

Evaluator = Callable[[Any, "Action", Sequence["Action"]], "str | None"]
"""``evaluator(limit, action, history) -> None`` (ok) or a reason string (violated)."""

BUILTIN_KEYS = ("max_*", "min_*", "allowed_domains", "allowed_tools", "rate_limit",
                "time_window")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _str_list(value: Any, key: str) -> list[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not all(
        isinstance(v, str) and v for v in value
    ):
        raise InvalidInput(f"{key} must be a list of non-empty strings, got {value!r:.80}",
                           argument="constraints")
    return list(value)


def validate_constraints(constraints: Mapping[str, Any]) -> None:
    """Refuse malformed built-in constraints (and any non-JSON value) at inscription."""
    for key in constraints:
        if not isinstance(key, str) or not key:
            raise InvalidType(f"constraint keys must be non-empty str, got {key!r}",
                              argument="constraints")
    canonical_json({k: constraints[k] for k in constraints})  # JSON, or InvalidInput
    for key, value in constraints.items():
        if key in ("allowed_domains", "allowed_tools"):
            _str_list(value, key)
        elif key == "rate_limit":
            if not isinstance(value, Mapping) or not {"max_actions", "per_seconds"} <= set(value):
                raise InvalidInput('rate_limit must be {"max_actions": N, "per_seconds": S}',
                                   argument="constraints")
            n, s = value["max_actions"], value["per_seconds"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 0 or not _is_number(s) or s <= 0:
                raise InvalidInput(f"rate_limit needs an int max_actions >= 0 and seconds > 0, "
                                   f"got {dict(value)!r}", argument="constraints")
        elif key == "time_window":
            if not isinstance(value, Mapping) or not set(value) <= {"start", "end", "hours_utc"}:
                raise InvalidInput('time_window must be {"start"?, "end"?, "hours_utc"?: [h0, h1]}',
                                   argument="constraints")
            for bound in ("start", "end"):
                if bound in value and not _is_number(value[bound]):
                    raise InvalidInput(f"time_window.{bound} must be a number",
                                       argument="constraints")
            hours = value.get("hours_utc")
            if hours is not None and not (
                isinstance(hours, Sequence) and len(hours) == 2
                and all(isinstance(h, int) and not isinstance(h, bool) and 0 <= h <= 24
                        for h in hours)
            ):
                raise InvalidInput("time_window.hours_utc must be [h0, h1] with 0 <= h <= 24",
                                   argument="constraints")


def _host_allowed(host: str, allowed: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for dom in allowed:
        dom = dom.lower().rstrip(".")
        if host == dom or host.endswith("." + dom):
            return True
    return False


def _hosts(payload: Mapping[str, Any]) -> list[str] | None:
    hosts: list[str] = []
    urls: list[Any] = []
    if "url" in payload:
        urls.append(payload["url"])
    if isinstance(payload.get("urls"), (list, tuple)):
        urls.extend(payload["urls"])
    for url in urls:
        host = urlsplit(str(url)).hostname if isinstance(url, str) else None
        hosts.append(host or "")  # an unparseable URL names no allowed host
    if "domain" in payload:
        hosts.append(str(payload["domain"]))
    return hosts if (urls or "domain" in payload) else None


def _check_builtin(key: str, limit: Any, action: Action, history: Sequence[Action]
                   ) -> tuple[bool, str | None]:
    """(understood, reason-or-None) for a built-in key."""
    payload = action.payload
    if key.startswith(("max_", "min_")) and len(key) > 4:
        name = key[4:]
        value = payload.get(name)
        if not _is_number(limit):
            return False, None  # the seed ignored non-numeric limits: report it unchecked
        if not _is_number(value):
            return True, None
        if key.startswith("max_") and value > limit:
            return True, f"constraint {key}={limit} violated: payload[{name!r}]={value} exceeds limit"
        if key.startswith("min_") and value < limit:
            return True, f"constraint {key}={limit} violated: payload[{name!r}]={value} is below it"
        return True, None
    if key == "allowed_domains":
        hosts = _hosts(payload)
        bad = [h for h in (hosts or []) if not _host_allowed(h, list(limit))]
        if bad:
            return True, f"constraint allowed_domains violated: {bad[0]!r} is not in {list(limit)!r}"
        return True, None
    if key == "allowed_tools":
        tools: list[Any] = []
        if "tool" in payload:
            tools.append(payload["tool"])
        if isinstance(payload.get("tools"), (list, tuple)):
            tools.extend(payload["tools"])
        bad_tools = [t for t in tools if t not in list(limit)]
        if bad_tools:
            return True, (f"constraint allowed_tools violated: {bad_tools[0]!r} is not in "
                          f"{list(limit)!r}")
        return True, None
    if key == "rate_limit":
        n, per = limit["max_actions"], limit["per_seconds"]
        t = action.timestamp
        recent = sum(1 for a in history if t - per < a.timestamp <= t
                     and a.action_id != action.action_id)
        if recent >= n:
            return True, (f"constraint rate_limit violated: {recent} actions in the last {per}s "
                          f"already (max {n})")
        return True, None
    if key == "time_window":
        t = action.timestamp
        if "start" in limit and t < limit["start"]:
            return True, f"constraint time_window violated: action at {t} before start {limit['start']}"
        if "end" in limit and t > limit["end"]:
            return True, f"constraint time_window violated: action at {t} after end {limit['end']}"
        hours = limit.get("hours_utc")
        if hours is not None:
            h0, h1 = hours
            hour = datetime.fromtimestamp(t, tz=timezone.utc).hour
            inside = h0 <= hour < h1 if h0 <= h1 else (hour >= h0 or hour < h1)
            if not inside:
                return True, (f"constraint time_window violated: hour {hour} UTC is outside "
                              f"[{h0}, {h1})")
        return True, None
    return False, None


def evaluate_constraints(
    constraints: Mapping[str, Any],
    action: Action,
    history: Sequence[Action] = (),
    evaluators: Mapping[str, Evaluator] | None = None,
) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Check every constraint (sorted by key); return ``(violations, unchecked_keys)``."""
    violations: list[tuple[str, str]] = []
    unchecked: list[str] = []
    extra = evaluators or {}
    for key in sorted(constraints):
        limit = constraints[key]
        fn = extra.get(key)
        if fn is not None:
            try:
                reason = fn(limit, action, history)
            except Exception as exc:  # noqa: BLE001 - fail closed
                reason = f"evaluator for {key} raised {type(exc).__name__}: {exc}"
            if reason is not None:
                violations.append((key, str(reason) or f"constraint {key} violated"))
            continue
        understood, reason = _check_builtin(key, limit, action, history)
        if not understood:
            unchecked.append(key)
        elif reason is not None:
            violations.append((key, reason))
    return tuple(violations), tuple(unchecked)
