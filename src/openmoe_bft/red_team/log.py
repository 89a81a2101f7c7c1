"""JSON Lines scan log, garak-style: one record per line, so a scan can be audited and
replayed.

Records (``entry_type``): ``start_run`` (target, strategies, seed, settings), one
``attempt`` per probe (prompt turns, responses, detector verdict, timing, retries) and
``completion`` (the report summary). Lines are written as attempts finish and flushed,
so a crashed scan still leaves its attempts. :func:`read_log` reads a log back and
:func:`replay` re-judges the recorded responses with today's detectors.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .. import _json as safe_json
from ..errors import InvalidInput
from .types import Attempt

__all__ = ["ScanLog", "read_log", "replay"]

LOG_VERSION = 1


class ScanLog:
    """Appends records to ``path`` (created with its parent directories)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot open the scan log {str(path)!r}: {exc.strerror}",
                               argument="log_path") from None

    def write(self, entry_type: str, data: Mapping[str, Any]) -> None:
        if self._fh is None:
            return
        self._fh.write(json.dumps({"entry_type": entry_type, "log_version": LOG_VERSION,
                                   **data}, sort_keys=True, default=str) + "\n")
        self._fh.flush()

    def attempt(self, attempt: Attempt, seq: int) -> None:
        self.write("attempt", {"seq": seq, **attempt.to_dict()})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_log(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The records of a scan log, in order (a torn last line is skipped)."""
    try:
        fh = Path(path).open(encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InvalidInput(f"cannot read the scan log {str(path)!r}: {exc.strerror}",
                           argument="path") from None
    with fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                yield safe_json.loads(line)
            except ValueError:
                continue


def replay(path: str | os.PathLike[str], *, context: Mapping[str, Any] | None = None,
           strategies: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """Re-judge every recorded attempt with the current detectors.

    The probes are regenerated from the logged seed (canaries are deterministic) and each
    recorded response is fed to its probe's detector again; the default strategies are
    always known, pass your own ``strategies`` (AttackStrategy objects) for the rest.
    Returns one row per attempt: ``probe_id``, ``recorded`` outcome, ``replayed``
    outcome (``unknown`` for a probe no strategy generates, e.g. an LLM attacker's) and
    ``agrees``.
    """
    from .strategies import default_strategies
    from .strategy import ProbeContext

    records = list(read_log(path))
    start = next((r for r in records if r.get("entry_type") == "start_run"), {})
    ctx = dict(start.get("context", {}))
    ctx.update(context or {})
    pctx = ProbeContext(seed=int(start.get("seed", 0)), canaries=tuple(ctx.get("canaries", ())))
    probes = {p.id: p for s in (*default_strategies(), *strategies) for p in s.probes(pctx)}
    from .types import TargetResponse, ToolCall

    rows = []
    for rec in records:
        if rec.get("entry_type") != "attempt":
            continue
        probe = probes.get(rec["probe_id"])
        replayed = "unknown"
        if probe is not None and rec.get("responses"):
            replayed = "defended"
            for r in rec["responses"]:
                resp = TargetResponse(r.get("text", ""), tuple(
                    ToolCall(c["name"], c.get("arguments", {})) for c in r.get("tool_calls", ())))
                if probe.detector(resp).landed:
                    replayed = "landed"
                    break
        elif rec.get("outcome") in ("error", "timeout"):
            replayed = rec["outcome"]
        rows.append({"probe_id": rec["probe_id"], "recorded": rec.get("outcome"),
                     "replayed": replayed, "agrees": replayed == rec.get("outcome")})
    return rows
