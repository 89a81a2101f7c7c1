"""``openmoe-bft covenant ...``: inscribe covenants, audit actions, vouch, show trust.

All state lives in one SQLite store (``--store``). Exit codes: 0 ok / compliant,
1 the action breaches its covenant, 2 bad input.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from .. import _json as safe_json
from ..errors import OpenMoEBFTError
from .model import Action, Covenant
from .registry import CovenantRegistry

app = typer.Typer(help="Covenants and web of trust: inscribe, audit, vouch, trust.",
                  no_args_is_help=True)
_err = Console(stderr=True)


def _bad(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


def _json_arg(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return safe_json.loads(text)
    except ValueError as exc:
        raise _bad(f"{what} is not JSON: {exc}") from None


def _open(store: Path, *, seal: bool = False, must_exist: bool = False) -> CovenantRegistry:
    if must_exist and not store.is_file():
        raise _bad(f"no store at {str(store)!r}: inscribe a covenant first")
    try:
        registry = CovenantRegistry(store)
        if seal:
            from ..receipts import AuditChain

            registry.audit_chain = AuditChain(registry.store)
        return registry
    except OpenMoEBFTError as exc:
        raise _bad(exc.diagnostics()) from None


@app.command()
def inscribe(
    agent: str = typer.Argument(..., help="The agent id bound by the covenant."),
    allow: list[str] = typer.Option(..., "--allow", help="An allowed action (repeat)."),
    store: Path = typer.Option(..., "--store", help="SQLite store (created if missing)."),
    constraints: str = typer.Option(None, "--constraints",
                                    help='Constraints as JSON, e.g. \'{"max_cost_usd": 1}\'.'),
    expires_at: float = typer.Option(None, "--expires-at", help="Expiry (epoch seconds)."),
    timestamp: float = typer.Option(None, "--timestamp", help="Inscription time (default now)."),
    seal: bool = typer.Option(False, "--seal", help="Seal the inscription as a receipt in the "
                                                    "store's audit chain."),
    as_json: bool = typer.Option(False, "--json", help="Print the covenant as JSON."),
) -> None:
    """Inscribe a covenant for AGENT and print its id."""
    cons = _json_arg(constraints, "--constraints")
    with _open(store, seal=seal) as registry:
        try:
            cov = registry.inscribe(Covenant.inscribe(
                agent_id=agent, allowed_actions=allow, constraints=cons,
                timestamp=_num(timestamp), expires_at=_num(expires_at)))
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    if as_json:
        typer.echo(json.dumps(cov.to_dict(), sort_keys=True))
    else:
        typer.echo(f"{cov.covenant_id}  {agent}: {', '.join(sorted(cov.allowed_actions))}")


def _num(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


@app.command()
def audit(
    agent: str = typer.Option(..., "--agent", help="The acting agent."),
    action: str = typer.Option(..., "--action", help="The action name."),
    store: Path = typer.Option(..., "--store", help="SQLite store holding the covenants."),
    payload: str = typer.Option(None, "--payload", help="The action's payload as JSON."),
    action_id: str = typer.Option(None, "--id", help="Action id (default: a fresh one)."),
    timestamp: float = typer.Option(None, "--timestamp", help="Action time (default now)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Judge only; record nothing."),
    seal: bool = typer.Option(False, "--seal", help="Seal a breach as a receipt."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Audit (and record) one action. Exit 0 compliant, 1 breach, 2 bad input."""
    data = _json_arg(payload, "--payload")
    with _open(store, seal=seal, must_exist=True) as registry:
        try:
            act = Action(action_id or f"cli-{uuid.uuid4().hex[:16]}", agent, action,
                         data if data is not None else {},
                         _num(timestamp) if timestamp is not None else time.time())
            verdict = registry.audit(act)
            if not dry_run:
                registry.record(act)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    if as_json:
        typer.echo(json.dumps(verdict.to_dict(), sort_keys=True))
    elif verdict.compliant:
        typer.echo(f"COMPLIANT: {agent} {action}")
    else:
        typer.echo(f"BREACH ({verdict.severity}, {verdict.constraint}): {verdict.reason}")
    raise typer.Exit(0 if verdict.compliant else 1)


@app.command()
def vouch(
    truster: str = typer.Argument(..., help="The agent that vouches."),
    trustee: str = typer.Argument(..., help="The agent vouched for."),
    store: Path = typer.Option(..., "--store", help="SQLite store (created if missing)."),
    weight: float = typer.Option(1.0, "--weight", help="Weight >= 0 (0 withdraws)."),
) -> None:
    """Record that TRUSTER vouches for TRUSTEE."""
    with _open(store) as registry:
        try:
            registry.vouch(truster, trustee, weight)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
    typer.echo(f"{truster} -> {trustee} ({weight})")


@app.command()
def trust(
    agents: list[str] = typer.Argument(None, help="Agents to show (default: all)."),
    store: Path = typer.Option(..., "--store", help="SQLite store."),
    pretrusted: list[str] = typer.Option([], "--pretrusted", help="A pre-trusted agent "
                                                                  "(repeat; default: all)."),
    alpha: float = typer.Option(0.15, "--alpha", help="EigenTrust damping (weight of "
                                                      "pre-trust)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Own trust (covenant record) and EigenTrust global trust of each agent."""
    with _open(store, must_exist=True) as registry:
        try:
            result = registry.global_trust(pretrusted or None, alpha=alpha)
        except OpenMoEBFTError as exc:
            raise _bad(exc.diagnostics()) from None
        names = agents or registry.agents
        unknown = [a for a in names if a not in result.trust]
        if unknown:
            raise _bad(f"unknown agents {unknown}")
        rows = [{"agent": a, "own": registry.trust_score(a), "global": result.trust[a],
                 "score": result.scores[a], "actions": len(registry.actions_for(a)),
                 "breaches": len(registry.breaches_for(a))} for a in names]
    if as_json:
        typer.echo(json.dumps({"agents": rows, "converged": result.converged,
                               "iterations": result.iterations,
                               "pretrusted": list(result.pretrusted)}, sort_keys=True))
        return
    table = Table("agent", "own", "global", "score", "actions", "breaches")
    for r in rows:
        table.add_row(r["agent"], f"{r['own']:.3f}", f"{r['global']:.4f}", f"{r['score']:.3f}",
                      str(r["actions"]), str(r["breaches"]))
    Console().print(table)
