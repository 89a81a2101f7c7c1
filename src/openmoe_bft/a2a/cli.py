"""``openmoe-bft a2a ...``: validate an A2A Agent Card from a file or a URL.

Exit codes of ``validate``: 0 compliant, 1 not compliant, 2 bad input (unreadable,
not JSON, too large or deep, unfetchable, a missing extra).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from .. import _json as safe_json
from ..errors import OpenMoEBFTError

app = typer.Typer(help="A2A Agent Cards: validate against the EU AI Act and the 14 experts.",
                  no_args_is_help=True)
_err = Console(stderr=True)


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(2)


def _key(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _bad(f"cannot read key {str(path)!r}: {exc.strerror}") from None
    text = data.strip()
    if text.startswith(b"{"):
        try:
            return safe_json.loads(text)
        except ValueError as exc:
            raise _bad(f"{str(path)!r} is not a JWK (JSON): {exc}") from None
    return data


@app.command()
def validate(
    source: str = typer.Argument(..., help="Agent card: a JSON file, or an http(s) URL (its "
                                           "/.well-known/agent-card.json is fetched)."),
    seal: Path = typer.Option(None, "--seal", help="Seal the verdict as a receipt in this "
                                                   "SQLite store (created if missing)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
    key: Path = typer.Option(None, "--key", help="Public key that verifies the card's "
                                                 "signatures (JWK JSON or PEM)."),
    require_signature: bool = typer.Option(False, "--require-signature",
                                           help="Not compliant unless a signature verifies."),
    require_experts: bool = typer.Option(False, "--require-experts",
                                         help="Not compliant unless all 14 experts are covered."),
    strict: bool = typer.Option(False, "--strict", help="A missing A2A 1.0 field is an error."),
    today: str = typer.Option(None, "--today", help="Judge evidence dates against this ISO "
                                                    "date (default: today, UTC)."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds per network operation."),
    sdk: bool = typer.Option(False, "--sdk", help="Also check the structure with a2a-sdk's "
                                                  "own types (needs the [a2a] extra)."),
) -> None:
    """Validate a card. Exit 0 compliant, 1 not compliant, 2 bad input."""
    from .validate import validate_card

    try:
        verdict = validate_card(source, seal=None if seal is None else str(seal),
                                key=_key(key), require_signature=require_signature,
                                require_experts=require_experts, strict=strict, today=today,
                                timeout=timeout, structure="sdk" if sdk else "builtin")
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), indent=2, sort_keys=True))
    else:
        word = "COMPLIANT" if verdict.compliant else "NOT COMPLIANT"
        typer.echo(f"{word}: {verdict.subject or '(unnamed card)'} — A2A {verdict.card_version}"
                   f", EU AI Act score {verdict.score:.3f}, experts "
                   f"{len(verdict.experts_covered)}/14 covered"
                   + (f", {len(verdict.experts_invalid)} invalid"
                      if verdict.experts_invalid else ""))
        for s in verdict.signatures:
            typer.echo(f"  signature {s.index}: {s.status.upper()} ({s.reason})")
        for f in verdict.findings:
            if f.severity != "info":
                typer.echo(f"  {f.severity.upper():8} {f.message}")
        if verdict.receipt is not None:
            typer.echo(f"  sealed as receipt {verdict.receipt.receipt_id} in {seal}")
    raise typer.Exit(0 if verdict.compliant else 1)


@app.command()
def extension() -> None:
    """Print the OpenScore A2A extension block to put under capabilities.extensions."""
    from ._experts import expert_table
    from .evidence import EXTENSION_URI

    block = {"uri": EXTENSION_URI, "description": "OpenScore compliance evidence "
             "(EU AI Act Articles 9-15 and the 14 safety experts)", "required": False,
             "params": {key: None for _, _, key in expert_table()}}
    typer.echo(json.dumps(block, indent=2))
