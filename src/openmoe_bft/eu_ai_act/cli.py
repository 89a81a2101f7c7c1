"""``openmoe-bft eu-ai-act ...``: evaluate an evidence file, print the JSON Schema,
list the checks, print a template, classify a system's risk tier.

Exit codes of ``evaluate``: 0 compliant, 1 not compliant, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from .. import _json as safe_json
from ..errors import InvalidInput, OpenMoEBFTError

app = typer.Typer(help="EU AI Act (Regulation (EU) 2024/1689) Articles 9-15 checks.",
                  no_args_is_help=True)
_err = Console(stderr=True)

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest evidence file read (64 MiB)."""


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(2)


def _read_json(file: str) -> object:
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            path = Path(file)
            if not path.is_file():
                raise _bad(f"no file at {file!r}")
            with path.open("rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _bad(f"cannot read {file!r}: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _bad(f"{file!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(f"{file!r} is not UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        return safe_json.loads(text)
    except (RecursionError, InvalidInput) as exc:
        raise _bad(f"{file!r} is nested too deeply to parse ({exc})") from None
    except ValueError as exc:
        raise _bad(f"{file!r} is not JSON: {exc}") from None


@app.command()
def evaluate(
    file: str = typer.Argument(..., help="Evidence document (JSON object), or - for stdin."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
    as_markdown: bool = typer.Option(False, "--markdown", help="Print the report as Markdown."),
    today: str = typer.Option(None, "--today", help="Judge dates against this ISO date "
                                                    "(default: today, UTC)."),
) -> None:
    """Run the 19 checks. Exit 0 compliant, 1 not compliant, 2 bad input."""
    from .evaluate import evaluate as run

    if as_json and as_markdown:
        raise _bad("pass at most one of --json and --markdown")
    doc = _read_json(file)
    if not isinstance(doc, dict):
        raise _bad(f"the evidence must be a JSON object, got {type(doc).__name__}")
    try:
        report = run(doc, today=today)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    elif as_markdown:
        typer.echo(report.to_markdown(), nl=False)
    else:
        verdict = "COMPLIANT" if report.compliant else "NOT COMPLIANT"
        typer.echo(f"{verdict}: score {report.score:.3f}, evidenced "
                   f"{report.evidenced_score:.3f} (judged on {report.today})")
        for r in report.results:
            if r.status != "pass":
                typer.echo(f"  {r.status.upper():8} {r.check.id:18} {r.check.citation:12} "
                           f"{r.check.severity:7} {r.reason}")
    raise typer.Exit(0 if report.compliant else 1)


@app.command()
def schema() -> None:
    """Print the evidence format as a JSON Schema (draft 2020-12)."""
    from .schema import evidence_schema

    typer.echo(json.dumps(evidence_schema(), indent=2))


@app.command()
def checks(
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON."),
) -> None:
    """List the 19 checks: id, citation, severity, weight, evidence key."""
    from .checks import CHECKS

    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in CHECKS], indent=2))
        return
    for c in CHECKS:
        typer.echo(f"{c.id:18} {c.citation:12} {c.severity:7} {c.weight:3g}  "
                   f"{c.evidence_field:34} {c.title}")


@app.command()
def template(
    today: str = typer.Option(None, "--today", help="Date the sample evidence relative to "
                                                    "this ISO date (default: today, UTC)."),
    flat: bool = typer.Option(False, "--flat", help="Flattened dotted keys instead of "
                                                    "nested objects."),
) -> None:
    """Print a complete structured evidence document to copy and fill in."""
    from datetime import datetime, timezone

    from .samples import sample_evidence

    try:
        doc = sample_evidence(today or datetime.now(timezone.utc).date(), nested=not flat)
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    typer.echo(json.dumps(doc, indent=2))


@app.command()
def tier(
    annex_iii: list[str] = typer.Option([], "--annex-iii", help="An Annex III area "
                                        "(employment, education, ...); repeat for more."),
    prohibited: list[str] = typer.Option([], "--prohibited", help="An Art. 5(1) practice "
                                         "(social-scoring, manipulation, ...); repeat."),
    annex_i: bool = typer.Option(False, "--annex-i", help="Art. 6(1): safety component of / "
                                 "product under Annex I legislation."),
    derogation: str = typer.Option(None, "--derogation", help="An Art. 6(3) derogation "
                                   "claimed (narrow-procedural-task, preparatory-task, ...)."),
    profiling: bool = typer.Option(False, "--profiling", help="Profiles natural persons."),
    interacts: bool = typer.Option(False, "--interacts", help="Art. 50(1): talks to people."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Art. 50(2): generates "
                                   "synthetic audio, image, video or text."),
    emotion: bool = typer.Option(False, "--emotion-recognition"),
    biometric: bool = typer.Option(False, "--biometric-categorisation"),
    deep_fake: bool = typer.Option(False, "--deep-fake", help="Art. 50(4)."),
    gpai: bool = typer.Option(False, "--gpai", help="Provider of a general-purpose AI model."),
    gpai_systemic: bool = typer.Option(False, "--gpai-systemic-risk"),
    omnibus: bool = typer.Option(False, "--omnibus", help="Use the Digital Omnibus dates "
                                 "(only once they are published in the Official Journal)."),
    today: str = typer.Option(None, "--today", help="ISO date (default: today, UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the classification as JSON."),
) -> None:
    """Risk tier (prohibited / high-risk / limited / minimal) and when obligations apply."""
    from .tiers import DIGITAL_OMNIBUS_SCHEDULE, classify

    try:
        result = classify(
            prohibited_practices=prohibited, annex_iii_areas=annex_iii, annex_i_product=annex_i,
            derogation=derogation, profiling=profiling, interacts_with_people=interacts,
            generates_synthetic_content=synthetic, emotion_recognition=emotion,
            biometric_categorisation=biometric, deep_fake=deep_fake, gpai_model=gpai,
            gpai_systemic_risk=gpai_systemic, today=today,
            schedule=DIGITAL_OMNIBUS_SCHEDULE if omnibus else None,
        )
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    typer.echo(f"{result.tier} (judged on {result.today})")
    for reason in result.reasons:
        typer.echo(f"  - {reason}")
    for o in result.obligations:
        state = "applies since" if o.applies_now else "applies from"
        typer.echo(f"  {o.citation:28} {state} {o.applies_from}: {o.summary}")
