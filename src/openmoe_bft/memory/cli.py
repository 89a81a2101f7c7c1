"""``openmoe-bft memory ...``: observe, import, dream, recall, stats, show, check.

Exit codes: 0 ok, 1 "no" (no hits / inconsistent store), 2 bad input.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .. import _json as safe_json
from ..errors import OpenMoEBFTError
from .pyramid import MemoryPyramid
from .types import ALL_TIERS, MemoryEvent, event_id

app = typer.Typer(help="Agent memory: the L0-L3 pyramid, dream consolidation, recall.",
                  no_args_is_help=True)
_err = Console(stderr=True)

_STORE = typer.Option(..., "--store", help="SQLite store (created if missing).")


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _open(store: Path, tokenizer: str | None = None, *, must_exist: bool = False) -> MemoryPyramid:
    if must_exist and not store.is_file():
        raise _bad(f"no store at {str(store)!r}")
    try:
        return MemoryPyramid(store, tokenizer=tokenizer)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, sort_keys=True, ensure_ascii=False))


@app.command()
def observe(
    content: str = typer.Argument(..., help="The message text."),
    store: Path = _STORE,
    role: str = typer.Option("user", "--role"),
    timestamp: float = typer.Option(None, "--timestamp", help="Seconds since the epoch "
                                                              "(default: now)."),
    tokenizer: str = typer.Option(None, "--tokenizer", help="chars or words (new stores)."),
) -> None:
    """Store one raw event and print its id."""
    ts = time.time() if timestamp is None else timestamp
    with _open(store, tokenizer) as memory:
        try:
            ev = memory.observe_message(ts, role, content)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    typer.echo(ev.id)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="JSON Lines: {timestamp, role, content[, meta, id]}"),
    store: Path = _STORE,
    tokenizer: str = typer.Option(None, "--tokenizer", help="chars or words (new stores)."),
) -> None:
    """Store every event of a JSON Lines file in one transaction."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise _bad(f"cannot read {str(file)!r}: {exc.strerror}") from None
    events = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = safe_json.loads(line)
            ts, role, content = d["timestamp"], d["role"], d["content"]
            events.append(MemoryEvent(d.get("id") or event_id(ts, role, content), ts, role,
                                      content, d.get("meta") or {}))
        except (ValueError, KeyError, TypeError, OpenMoEBFTError) as exc:
            raise _bad(f"{file}:{n}: not an event ({type(exc).__name__}: {exc})") from None
    with _open(store, tokenizer) as memory:
        try:
            new = memory.observe_many(events)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    _echo({"read": len(events), "new": new})


@app.command()
def dream(
    store: Path = _STORE,
    no_compact: bool = typer.Option(False, "--no-compact", help="Keep the raw events."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the consolidation pass with the default plug-ins."""
    with _open(store, must_exist=True) as memory, _err.status("dreaming ..."):
        stats = memory.dream(compact=not no_compact)
    if as_json:
        _echo(stats.to_dict())
        return
    typer.echo(f"atoms +{stats.atoms_added} ({stats.atoms_superseded} superseded), scenarios "
               f"+{stats.scenarios_added}, traits +{stats.traits_added}, events compacted "
               f"{stats.events_compacted}; stored {stats.tokens_before} -> {stats.tokens_after} "
               f"{stats.tokenizer} tokens, saving {stats.token_savings_ratio:.1%} of "
               f"{stats.raw_tokens_ever} raw")


@app.command()
def recall(
    query: str = typer.Argument(...),
    store: Path = _STORE,
    k: int = typer.Option(5, "-k", help="How many hits."),
    tier: list[str] = typer.Option([], "--tier", help=f"Only these tiers ({', '.join(ALL_TIERS)})."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print the items most relevant to QUERY. Exit 1 when nothing matches."""
    with _open(store, must_exist=True) as memory:
        try:
            hits = memory.recall(query, tiers=tier or None, k=k)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    if as_json:
        _echo([{k_: v for k_, v in h.to_dict().items() if k_ != "item"} for h in hits])
    else:
        for h in hits:
            typer.echo(f"{h.tier} {h.score:8.4f} {h.id}  {h.text}")
    raise typer.Exit(0 if hits else 1)


@app.command()
def stats(store: Path = _STORE, as_json: bool = typer.Option(False, "--json")) -> None:
    """Counts per tier and measured sizes."""
    with _open(store, must_exist=True) as memory:
        s = memory.stats()
    if as_json:
        _echo(s)
    else:
        for key, value in s.items():
            typer.echo(f"{key:20} {value}")


@app.command()
def show(item_id: str = typer.Argument(...), store: Path = _STORE) -> None:
    """Print an item's provenance (JSON)."""
    with _open(store, must_exist=True) as memory:
        try:
            _echo(memory.provenance(item_id))
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None


@app.command()
def check(store: Path = _STORE) -> None:
    """Verify the store's invariants. Exit 0 consistent, 1 problems found."""
    with _open(store, must_exist=True) as memory:
        problems = memory.check()
    for p in problems:
        typer.echo(f"PROBLEM: {p}")
    if not problems:
        typer.echo("OK: consistent")
    raise typer.Exit(1 if problems else 0)
