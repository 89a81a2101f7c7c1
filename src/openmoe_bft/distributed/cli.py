"""``openmoe-bft distributed ...``: replicas as Ray actors (or in-process) from a shell.

Exit codes: 0 ok, 1 a wrong dispatch or a broken receipts chain, 2 bad input or Ray
missing.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..errors import OpenMoEBFTError

app = typer.Typer(help="Replicas across processes and machines on Ray.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Replicas across processes and machines on Ray."""


@app.command()
def demo(
    backend: str = typer.Option("ray", help="Where replicas run: ray or inprocess."),
    replicas: int = typer.Option(7, help="Router replicas (Ray actors)."),
    kill: int = typer.Option(2, help="Replicas to kill halfway through (ray.kill)."),
    tokens: int = typer.Option(524_288, help="Tokens in the run."),
    batch: int = typer.Option(65_536, help="Tokens per round (one signed proposal each)."),
    experts: int = typer.Option(64, help="Number of experts."),
    k: int = typer.Option(2, help="Experts per token (top-k)."),
    deadline: float = typer.Option(5.0, help="Seconds a round waits for replicas."),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Start replicas (a local Ray cluster with --backend ray), kill some mid-run, and show
    that nothing is misrouted and the throughput before and after."""
    from .demo import render_demo, run_distributed_demo

    try:
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            console=_err, disable=as_json, transient=True,
        ) as progress:
            task = progress.add_task(f"{replicas} replicas ({backend})", total=tokens)
            result = run_distributed_demo(
                backend=backend, replicas=replicas, kill=kill, tokens=tokens, batch=batch,
                experts=experts, k=k, deadline=deadline, seed=seed,
                progress=lambda m: progress.advance(task, m),
            )
    except OpenMoEBFTError as exc:
        _err.print(f"[bold red]error:[/] {exc.diagnostics()}")
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        _out.print(render_demo(result))
    if not result.ok:
        raise typer.Exit(1)
