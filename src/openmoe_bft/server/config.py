"""``ServerConfig``: everything the MCP server is allowed to do, decided up front.

Building a config does no I/O. :meth:`ServerConfig.check` enforces the start-up rules:
a non-loopback host needs a bearer token (``--token`` or ``OPENMOE_BFT_TOKEN``).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidInput, InvalidType

__all__ = ["ServerConfig", "TOKEN_ENV", "is_loopback", "DEFAULT_HOST", "DEFAULT_PORT"]

TOKEN_ENV = "OPENMOE_BFT_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY = 1024 * 1024  # 1 MiB: a JSON-RPC tool call, not a file upload
_MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    """How to run the MCP server (see the module docstring).

    ``token`` — the bearer token every request must carry (None: no auth, loopback only).
    ``max_body_bytes`` — larger request bodies get HTTP 413.
    ``allow_network`` — tools may fetch URLs (agent cards, red-team URL targets).
    ``allow_files`` — tools may read server-side files named by the caller.
    ``allow_import`` — red-team targets may name ``module:function`` callables.
    ``store`` — SQLite path for the server-held receipt chain, vote ledger and x402
    nonces (None: in memory, lost on exit). Opened on first use, never at build time.
    ``receipt_key`` — Ed25519 key (an ``Ed25519Key``, PEM bytes) that signs receipts;
    None makes a fresh key per process (its public half is served at ``/receipt-key``).
    ``paywall`` — an :class:`~openmoe_bft.server.paywall.PaywallConfig`, or None.
    ``red_team_timeout`` — seconds per red-team probe.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    path: str = "/mcp"
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    allow_network: bool = False
    allow_files: bool = False
    allow_import: bool = False
    store: str | None = None
    receipt_key: Any = field(default=None, repr=False)
    paywall: Any = None
    red_team_timeout: float = 10.0
    log_level: str = "WARNING"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    def with_env_token(self, environ: Any = None) -> ServerConfig:
        """This config, with ``token`` taken from ``OPENMOE_BFT_TOKEN`` when unset."""
        env = os.environ if environ is None else environ
        if self.token is None and env.get(TOKEN_ENV):
            return replace(self, token=env[TOKEN_ENV])
        return self

    def check(self) -> ServerConfig:
        """Validate; raise :class:`InvalidInput` saying what to change. Returns self."""
        if not isinstance(self.host, str) or not self.host.strip():
            raise InvalidInput("host must be a non-empty string", argument="host")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port < 65536:
            raise InvalidInput(f"port must be an int in 0..65535, got {self.port!r}", argument="port")
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise InvalidInput(f"path must start with '/', got {self.path!r}", argument="path")
        if self.token is not None:
            if not isinstance(self.token, str):
                raise InvalidType("token must be a str", argument="token")
            if len(self.token) < _MIN_TOKEN or any(c.isspace() for c in self.token):
                raise InvalidInput(
                    f"the bearer token must be at least {_MIN_TOKEN} characters with no "
                    "whitespace; generate one with: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))'", argument="token")
        elif not is_loopback(self.host):
            raise InvalidInput(
                f"refusing to serve on non-loopback address {self.host!r} without a bearer "
                f"token: pass --token or set {TOKEN_ENV}, or bind 127.0.0.1", argument="host")
        if (isinstance(self.max_body_bytes, bool) or not isinstance(self.max_body_bytes, int)
                or self.max_body_bytes < 1024):
            raise InvalidInput(f"max_body_bytes must be an int >= 1024, got {self.max_body_bytes!r}",
                               argument="max_body_bytes")
        if not (isinstance(self.red_team_timeout, (int, float)) and self.red_team_timeout > 0):
            raise InvalidInput("red_team_timeout must be a positive number of seconds",
                               argument="red_team_timeout")
        return self
