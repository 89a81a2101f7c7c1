"""``openmoe-bft serve``: the MCP server over streamable HTTP.

The lead registers it with ``app.command("serve")(serve)``. Exit codes: 0 after a
clean shutdown, 2 bad input (e.g. a non-loopback host without a token).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ..errors import OpenMoEBFTError
from .config import DEFAULT_HOST, DEFAULT_MAX_BODY, DEFAULT_PORT, TOKEN_ENV, ServerConfig

__all__ = ["serve", "app", "build_config"]

_err = Console(stderr=True)


def _prices(items: list[str]) -> dict[str, int]:
    out = {}
    for item in items:
        tool, sep, amount = item.partition("=")
        if not sep or not tool or not amount.isdigit():
            raise typer.BadParameter(f"expected TOOL=AMOUNT (atomic units), got {item!r}",
                                     param_hint="--price")
        out[tool] = int(amount)
    return out


def build_config(*, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
                 path: str = "/mcp", max_body: int = DEFAULT_MAX_BODY, store: Path | None = None,
                 receipt_key: Path | None = None, allow_network: bool = False,
                 allow_files: bool = False, allow_import: bool = False,
                 pay_to: str | None = None, price: list[str] | None = None,
                 consensus_price: int | None = None, log_level: str = "WARNING") -> ServerConfig:
    """The :class:`ServerConfig` the command line describes (checked; raises on bad input)."""
    paywall = None
    prices = _prices(price or [])
    if pay_to is not None:
        from .paywall import PaywallConfig

        paywall = PaywallConfig(pay_to=pay_to, prices=prices, consensus_price=consensus_price)
    elif prices or consensus_price is not None:
        raise typer.BadParameter("prices need --pay-to (the address that gets paid)",
                                 param_hint="--pay-to")
    key = receipt_key.read_bytes() if receipt_key is not None else None
    return ServerConfig(host=host, port=port, path=path, token=token, max_body_bytes=max_body,
                        store=None if store is None else str(store), receipt_key=key,
                        allow_network=allow_network, allow_files=allow_files,
                        allow_import=allow_import, paywall=paywall,
                        log_level=log_level.upper()).with_env_token().check()


def serve(
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to bind (non-loopback "
                                                          "needs --token)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="TCP port."),
    token: str = typer.Option(None, "--token", envvar=TOKEN_ENV,
                              help=f"Bearer token clients must send (or ${TOKEN_ENV})."),
    path: str = typer.Option("/mcp", "--path", help="MCP endpoint path."),
    max_body: int = typer.Option(DEFAULT_MAX_BODY, "--max-body", help="Largest request "
                                                                      "body in bytes (413)."),
    store: Path = typer.Option(None, "--store", help="SQLite file for receipts, votes and "
                                                     "x402 nonces (default: in memory)."),
    receipt_key: Path = typer.Option(None, "--receipt-key", help="Ed25519 private key (PEM) "
                                     "that signs receipts (default: a fresh key)."),
    allow_network: bool = typer.Option(False, "--allow-network", help="Let tools fetch URLs."),
    allow_files: bool = typer.Option(False, "--allow-files", help="Let tools read server "
                                                                  "files named by callers."),
    allow_import: bool = typer.Option(False, "--allow-import", help="Allow module:function "
                                                                    "red-team targets."),
    pay_to: str = typer.Option(None, "--pay-to", help="x402: the EVM address that gets paid "
                                                      "(enables the paywall)."),
    price: list[str] = typer.Option([], "--price", help="x402: TOOL=AMOUNT in atomic units "
                                                        "(repeat)."),
    consensus_price: int = typer.Option(None, "--consensus-price", help="x402: price of each "
                                        "consensus call (settle_votes, robust_route)."),
    log_level: str = typer.Option("WARNING", "--log-level"),
) -> None:
    """Serve the MCP tools over streamable HTTP (default http://127.0.0.1:8000/mcp)."""
    try:
        config = build_config(host=host, port=port, token=token, path=path, max_body=max_body,
                              store=store, receipt_key=receipt_key, allow_network=allow_network,
                              allow_files=allow_files, allow_import=allow_import, pay_to=pay_to,
                              price=price, consensus_price=consensus_price, log_level=log_level)
    except OpenMoEBFTError as exc:
        _err.print(f"[bold red]error:[/] {exc.diagnostics()}")
        raise typer.Exit(2) from None
    except OSError as exc:
        _err.print(f"[bold red]error:[/] cannot read the receipt key: {exc.strerror}")
        raise typer.Exit(2) from None
    from .run import serve as _serve

    _err.print(f"openmoe-bft MCP server on {config.url}"
               + (" (bearer token required)" if config.token else "")
               + (f"; x402 prices {dict(config.paywall.prices)}" if config.paywall else ""))
    try:
        _serve(config)
    except OpenMoEBFTError as exc:
        _err.print(f"[bold red]error:[/] {exc.diagnostics()}")
        raise typer.Exit(2) from None


app = typer.Typer(help="The openmoe-bft MCP server.", add_completion=False,
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The openmoe-bft MCP server."""


app.command("serve")(serve)
