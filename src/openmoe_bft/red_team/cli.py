"""``openmoe-bft red-team ...``: scan a target, list strategies, replay a scan log.

Exit codes: 0 ok (scan done, risk score at or above ``--fail-under``), 1 the target
failed (risk score below ``--fail-under``; with the default 1.0 any landed probe) or a
replay disagrees, 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .. import _json as safe_json
from ..errors import OpenMoEBFTError

app = typer.Typer(help="Red-team an agent: 8 strategies in 5 categories, scored and sealed.",
                  no_args_is_help=True)
_err = Console(stderr=True)


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _split(values: list[str]) -> list[str] | None:
    out = [v.strip() for item in values for v in item.split(",") if v.strip()]
    return out or None


@app.command("scan")
def scan_cmd(
    target: str = typer.Option(..., "--target", "-t",
                               help="http(s)://... (OpenAI-compatible), module:function, "
                                    "builtin:vulnerable|hardened, or a JSON target spec."),
    strategies: list[str] = typer.Option([], "--strategies", "-s",
                                         help="Strategy ids or categories (comma-separated "
                                              "or repeated); default: all eight."),
    concurrency: int = typer.Option(8, "--concurrency", "-c", min=1),
    timeout: float = typer.Option(10.0, "--timeout", help="Seconds per target call."),
    retries: int = typer.Option(2, "--retries", min=0),
    rate_limit: float = typer.Option(None, "--rate-limit", help="Max target calls per second."),
    seed: int = typer.Option(0, "--seed"),
    model: str = typer.Option(None, "--model", help="Model name for an OpenAI endpoint."),
    canary: list[str] = typer.Option([], "--canary",
                                     help="A string planted in the target's system prompt "
                                          "(repeatable); its leak is detected exactly."),
    log: Path = typer.Option(None, "--log", help="Write every attempt as JSON Lines here."),
    store: Path = typer.Option(None, "--store", help="Seal the report into this receipts "
                                                     "store (SQLite)."),
    markdown: Path = typer.Option(None, "--markdown", help="Write a Markdown report here."),
    fail_under: float = typer.Option(1.0, "--fail-under",
                                     help="Exit 1 when the risk score is below this."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    progress: bool = typer.Option(None, "--progress/--no-progress",
                                  help="Progress bar (default: when stderr is a terminal)."),
) -> None:
    """Scan a target and print its risk score and findings."""
    from .orchestrator import scan

    spec: Any = target
    if target.lstrip().startswith("{"):
        try:
            spec = safe_json.loads(target)
        except ValueError as exc:
            raise _bad(f"--target looks like JSON but is not: {exc}") from None
    if model and isinstance(spec, str) and spec.startswith(("http://", "https://")):
        spec = {"kind": "openai", "url": spec, "model": model}
    if not 0.0 <= fail_under <= 1.0:
        raise _bad("--fail-under must be in [0, 1]")
    show = _err.is_terminal if progress is None else progress
    chain = None
    try:
        if store is not None:
            from ..receipts import AuditChain

            chain = AuditChain(store)
        kwargs: dict[str, Any] = dict(strategies=_split(strategies), concurrency=concurrency,
                                      timeout=timeout, retries=retries, rate_limit=rate_limit,
                                      seed=seed, log_path=log, chain=chain,
                                      context={"canaries": canary} if canary else None)
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(TextColumn("[bold]red-team[/]"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[last]}"), console=_err,
                          transient=True) as bar:
                task = bar.add_task("scan", total=None, last="")

                def tick(done: int, total: int, attempt: Any) -> None:
                    bar.update(task, completed=done, total=total,
                               last=f"{attempt.probe_id} {attempt.outcome}")

                report = scan(spec, progress=tick, **kwargs)
        else:
            report = scan(spec, **kwargs)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    finally:
        if chain is not None:
            chain.close()
    if markdown is not None:
        try:
            markdown.write_text(report.to_markdown())
        except OSError as exc:
            raise _bad(f"cannot write {str(markdown)!r}: {exc.strerror}") from None
    if as_json:
        typer.echo(report.to_json(attempts=False))
    else:
        table = Table(title=f"red-team: {report.target_id}")
        for col in ("strategy", "category", "severity", "status", "probes landed"):
            table.add_column(col)
        for r in report.results:
            done = [a for a in r.attempts if a.conclusive]
            style = {"landed": "red", "defended": "green"}.get(r.status, "yellow")
            table.add_row(r.strategy_id, r.category, r.severity, f"[{style}]{r.status}[/]",
                          f"{sum(a.landed for a in done)}/{len(done)}")
        Console().print(table)
        typer.echo(f"risk score {report.risk_score:.3f} (1.0 = every probe defended); "
                   f"{report.probes_landed}/{report.probes} probes landed, "
                   f"{report.probes_inconclusive} inconclusive"
                   + (f"; sealed as {report.receipt_id}" if report.receipt_id else ""))
    raise typer.Exit(0 if report.risk_score >= fail_under else 1)


@app.command("strategies")
def strategies_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the default strategies with their category, severity and OWASP entries."""
    from .strategies import default_strategies

    rows = [{**s.to_dict(), "probes": len(s.probes())} for s in default_strategies()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="red-team strategies")
    for col in ("id", "category", "severity", "probes", "OWASP LLM 2025"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["category"], r["severity_if_successful"], str(r["probes"]),
                      ", ".join(r["owasp"]))
    Console().print(table)


@app.command("replay")
def replay_cmd(log: Path = typer.Argument(..., help="A scan log written with --log."),
               as_json: bool = typer.Option(False, "--json")) -> None:
    """Re-judge a scan log's recorded responses with the current detectors."""
    from .log import replay

    if not log.is_file():
        raise _bad(f"no file at {str(log)!r}")
    try:
        rows = replay(log)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    bad = [r for r in rows if not r["agrees"]]
    if as_json:
        typer.echo(json.dumps({"attempts": len(rows), "disagreements": bad}, indent=2))
    else:
        typer.echo(f"{len(rows)} attempts replayed, {len(bad)} disagree")
        for r in bad:
            typer.echo(f"  {r['probe_id']}: recorded {r['recorded']}, now {r['replayed']}")
    raise typer.Exit(1 if bad else 0)
