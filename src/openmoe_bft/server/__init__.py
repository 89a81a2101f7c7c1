"""The openmoe-bft MCP server (extra ``[mcp]``; the x402 paywall needs ``[x402]``).

    from openmoe_bft.server import ServerConfig, build_app, serve
    serve(ServerConfig(port=8000))           # streamable HTTP at http://127.0.0.1:8000/mcp

Importing this package imports neither ``mcp`` nor ``x402``: names resolve lazily,
and building a server does no network or file work.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ServerConfig": ".config", "TOKEN_ENV": ".config", "is_loopback": ".config",
    "ServerState": ".state",
    "build_server": ".app", "build_app": ".app", "TOOL_NAMES": ".app",
    "serve": ".run", "running_server": ".run",
    "NotAllowed": ".tools",
    "PaywallConfig": ".paywall", "LocalFacilitator": ".paywall", "Paywall": ".paywall",
    "sign_payment": ".paywall", "X402Auth": ".paywall",
}
__all__ = [
    "LocalFacilitator", "NotAllowed", "Paywall", "PaywallConfig", "ServerConfig", "ServerState",
    "TOKEN_ENV", "TOOL_NAMES", "X402Auth", "build_app", "build_server", "is_loopback",
    "running_server", "serve", "sign_payment",
]

if TYPE_CHECKING:  # pragma: no cover
    from .app import TOOL_NAMES, build_app, build_server
    from .config import TOKEN_ENV, ServerConfig, is_loopback
    from .paywall import LocalFacilitator, Paywall, PaywallConfig, X402Auth, sign_payment
    from .run import running_server, serve
    from .state import ServerState
    from .tools import NotAllowed


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
