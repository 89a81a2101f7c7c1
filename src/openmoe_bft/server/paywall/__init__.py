"""x402 paywall for the MCP server (extra ``[x402]``).

* :class:`PaywallConfig` — per-tool prices (and one price for the consensus calls).
* :class:`Paywall` — verify → settle → seal one payment; :class:`PaywallMiddleware`
  puts it in front of the MCP endpoint (HTTP 402 + ``PAYMENT-REQUIRED``).
* :class:`LocalFacilitator` — offline EIP-3009 verification and settlement (any object
  with ``verify`` / ``settle`` plugs in: :class:`Facilitator`).
* :func:`sign_payment`, :class:`X402Auth` — the paying client.

Importing this package imports neither ``x402`` nor ``eth_account``; they are loaded
when a payment is built or checked.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PaywallConfig": ".prices", "BASE_SEPOLIA": ".prices", "BASE_SEPOLIA_USDC": ".prices",
    "CONSENSUS_TOOLS": ".prices",
    "Paywall": ".core", "PaymentOutcome": ".core",
    "PaywallMiddleware": ".middleware",
    "Facilitator": ".facilitator", "LocalFacilitator": ".facilitator", "REASONS": ".facilitator",
    "sign_payment": ".client", "X402Auth": ".client",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
