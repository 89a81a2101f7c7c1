"""The ``openmoe-bft`` command line (typer + rich).

Exit codes: 0 success, 1 the answer is "no" (e.g. nothing dispatched with
``--strict``), 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from . import _json as safe_json
from .errors import OpenMoEBFTError

app = typer.Typer(
    name="openmoe-bft",
    help="Byzantine-fault-tolerant consensus for Mixture-of-Experts routing.",
    no_args_is_help=True,
    add_completion=False,
)
_out = Console()
_err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"openmoe-bft {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Byzantine-fault-tolerant consensus for Mixture-of-Experts routing."""


def _fail(exc: OpenMoEBFTError) -> None:
    _err.print(f"[bold red]error:[/] {exc.diagnostics()}")
    raise typer.Exit(2)


def _emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True))


@app.command()
def quorum(
    n: str = typer.Argument(..., help="Number of replicas (nodes)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Quorum arithmetic for N replicas: tolerated faults f, quorum 2f+1, decision threshold."""
    from .bft.quorum import decision_threshold, quorum_size, tolerated_faults
    from .errors import InvalidInput

    try:
        try:
            count = int(n)
        except ValueError:
            raise InvalidInput(f"expected an integer, got {n!r}", argument="N") from None
        data = {
            "num_nodes": count,
            "tolerated_faults": tolerated_faults(count),
            "quorum_size": quorum_size(count),
            "decision_threshold": decision_threshold(count),
            "byzantine_safe": tolerated_faults(count) >= 1,
        }
    except OpenMoEBFTError as exc:
        _fail(exc)
        return
    if as_json:
        _emit_json(data)
        return
    table = Table(title=f"BFT quorum for n = {count}", show_header=False)
    table.add_row("tolerated faults f = (n-1)//3", str(data["tolerated_faults"]))
    table.add_row("quorum 2f+1", str(data["quorum_size"]))
    table.add_row("decision threshold max(2f+1, n//2+1)", str(data["decision_threshold"]))
    table.add_row("Byzantine-safe (f >= 1)", "yes" if data["byzantine_safe"] else "no (n < 4)")
    _out.print(table)


@app.command()
def demo(
    tokens: int = typer.Option(131_072, help="Tokens per scenario."),
    experts: int = typer.Option(64, help="Number of experts."),
    k: int = typer.Option(2, help="Experts per token (top-k)."),
    replicas: int = typer.Option(7, help="Router replicas."),
    seed: int = typer.Option(0, help="Random seed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    backend: str = typer.Option(
        "inprocess", "--backend",
        help="inprocess: one vectorized call per scenario; ray: replicas as Ray actors "
             "([ray] extra), some killed mid-run.",
    ),
    kill: int = typer.Option(2, help="--backend ray: replica actors killed mid-run."),
) -> None:
    """Settle a synthetic MoE batch with colluding Byzantine router replicas."""
    from .demo import demo_byzantine_counts, run_scenario

    if backend not in ("inprocess", "ray"):
        _err.print(f"[bold red]error:[/] --backend must be inprocess or ray, got {backend!r}")
        raise typer.Exit(2)
    if backend == "ray":
        _demo_ray(tokens=tokens, experts=experts, k=k, replicas=replicas, kill=kill, seed=seed,
                  as_json=as_json)
        return
    try:
        counts = demo_byzantine_counts(replicas)
        results = []
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(),
            console=_err, disable=as_json, transient=True,
        ) as progress:
            for b in counts:
                task = progress.add_task(f"{b} Byzantine of {replicas}", total=tokens)
                results.append(run_scenario(
                    tokens=tokens, experts=experts, k=k, replicas=replicas, byzantine=b, seed=seed,
                    progress=lambda m, task=task: progress.advance(task, m),
                ))
    except OpenMoEBFTError as exc:
        _fail(exc)
        return
    if as_json:
        _emit_json([r.to_dict() for r in results])
        return
    table = Table(title=f"openmoe-bft demo: {replicas} replicas, {experts} experts, top-{k}")
    table.add_column("")
    for r in results:
        table.add_column(f"{r.byzantine} colluding (f={r.f})", justify="right")
    rows = [
        ("tokens", lambda r: f"{r.tokens:,}"),
        ("dispatched", lambda r: f"{r.dispatched:,}"),
        ("withheld", lambda r: f"{r.withheld:,}"),
        ("wrong dispatches", lambda r: f"[bold {'green' if r.wrong_dispatches == 0 else 'red'}]"
                                       f"{r.wrong_dispatches:,}"),
        ("replicas flagged", lambda r: ", ".join(r.flagged_replicas) or "-"),
        ("Byzantine replicas", lambda r: ", ".join(r.byzantine_replicas) or "-"),
        ("consensus throughput", lambda r: f"{r.tokens_per_s / 1e6:,.1f} M tokens/s"),
        ("lone compromised router: wrong", lambda r: f"{r.single_router_wrong:,}"),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(r) for r in results))
    _out.print(table)
    _out.print(
        f"Threshold {results[0].threshold} of {replicas}. With up to f Byzantine replicas every "
        "token goes to the honest experts; with more, tokens are withheld rather than misrouted "
        "(replicas are flagged for disagreeing with dispatched decisions)."
    )


def _demo_ray(*, tokens: int, experts: int, k: int, replicas: int, kill: int, seed: int,
              as_json: bool) -> None:
    from .distributed.cli import demo as distributed_demo

    distributed_demo(backend="ray", replicas=replicas, kill=kill, tokens=tokens,
                     batch=min(65_536, max(1, tokens // 4)), experts=experts, k=k, deadline=5.0,
                     seed=seed, as_json=as_json)


@app.command()
def settle(
    path: Path = typer.Argument(..., help="A .npy file of proposals [replicas, tokens, k]."),
    num_experts: int = typer.Option(..., "--num-experts", "-e", help="Number of experts."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Settle a saved batch of replica proposals and summarise the outcome."""
    import numpy as np

    from .bft.batch import settle_batch
    from .errors import InvalidInput

    try:
        try:
            proposals = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read {path} as a .npy array: {exc}", argument="PATH") from exc
        s = settle_batch(proposals, num_experts=num_experts)
    except OpenMoEBFTError as exc:
        _fail(exc)
        return
    data = s.to_dict()
    if as_json:
        _emit_json(data)
        return
    table = Table(title=f"{path.name}: {s.num_tokens:,} tokens, {s.n} replicas, threshold {s.threshold}")
    table.add_column("replica")
    table.add_column("disagreements", justify="right")
    table.add_column("abstentions", justify="right")
    for rid, row in data["replicas"].items():
        table.add_row(rid, f"{row['disagreements']:,}", f"{row['abstentions']:,}")
    _out.print(table)
    _out.print(f"dispatched {s.num_dispatched:,}, withheld {s.num_withheld:,}")


@app.command()
def route(
    path: Path = typer.Argument(
        ..., help="Replica scores: .npy or .json, [replicas, experts] or [replicas, tokens, experts]."
    ),
    method: str = typer.Option("median", "--method", "-m", help="median, trimmed_mean, krum, multi_krum, geometric_median, bulyan."),
    f: int | None = typer.Option(None, "--f", "-f", help="Byzantine replicas to tolerate (default (n-1)//3)."),
    k: int | None = typer.Option(None, "--k", "-k", help="Route to the k best experts instead of the argmax."),
    pre: str | None = typer.Option(None, "--pre", help="Pre-aggregation: nnm."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fuse replica score vectors with a Byzantine-robust rule and print the winning expert(s)."""
    import numpy as np

    from .aggregators import robust_route
    from .errors import InvalidInput

    try:
        try:
            if path.suffix == ".json":
                scores = safe_json.loads(path.read_text())
            else:
                scores = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read {path} as .npy or JSON scores: {exc}", argument="PATH") from exc
        winners = robust_route(np.asarray(scores) if isinstance(scores, list) else scores, f=f, method=method, k=k, pre=pre)
    except OpenMoEBFTError as exc:
        _fail(exc)
        return
    data = np.asarray(winners).tolist()
    if as_json:
        _emit_json({"method": method, "f": f, "k": k, "winners": data})
        return
    if np.ndim(winners) == 0 or (k is not None and np.ndim(winners) == 1):
        _out.print(f"winner: {data}")
        return
    first = np.asarray(winners).reshape(len(data), -1)[:, 0]
    counts = np.bincount(first)
    table = Table(title=f"{path.name}: {len(data):,} tokens routed by {method}")
    table.add_column("expert", justify="right")
    table.add_column("tokens (first choice)", justify="right")
    for expert in np.flatnonzero(counts):
        table.add_row(str(expert), f"{counts[expert]:,}")
    _out.print(table)


def _add_subcommands() -> None:
    from .a2a.cli import app as a2a_app
    from .covenants.cli import app as covenant_app
    from .distributed.cli import app as distributed_app
    from .eu_ai_act.cli import app as eu_app
    from .memory.cli import app as memory_app
    from .receipts.cli import app as receipts_app
    from .red_team.cli import app as red_team_app
    from .server.cli import serve as serve_cmd

    app.add_typer(receipts_app, name="receipts")
    app.add_typer(eu_app, name="eu-ai-act")
    app.add_typer(a2a_app, name="a2a")
    app.add_typer(covenant_app, name="covenant")
    app.add_typer(distributed_app, name="distributed")
    app.add_typer(red_team_app, name="red-team")
    app.add_typer(memory_app, name="memory")
    app.command("serve")(serve_cmd)


_add_subcommands()


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
