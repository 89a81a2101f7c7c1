"""The paying side: sign x402 ``exact`` payments and pay 402s automatically.

:func:`sign_payment` builds an x402 v2 ``PaymentPayload`` (EIP-3009 authorization
signed with an ``eth_account`` account) for one ``PaymentRequirements``.
:class:`X402Auth` is an ``httpx2.Auth`` (the HTTP client the MCP SDK uses): give it to
``streamable_http_client`` and a priced tool call answered with 402 is paid — within
``max_amount`` — and retried once; settlements (with their sealed receipts) collect
in ``auth.settlements``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator
from typing import Any

from ...errors import InvalidInput
from .eip3009 import new_nonce, sign_authorization

__all__ = ["sign_payment", "X402Auth"]


def sign_payment(account: Any, requirements: Any, *, resource: Any = None,
                 clock: Callable[[], float] = time.time, valid_for: int | None = None,
                 nonce: str | None = None, amount: int | str | None = None) -> Any:
    """An x402 v2 ``PaymentPayload`` paying ``requirements`` from ``account``.

    ``valid_for`` — seconds the authorization stays valid (default the requirement's
    ``max_timeout_seconds``); ``nonce`` and ``amount`` override the defaults (tests use
    them to build bad payments).
    """
    from x402 import PaymentPayload

    extra = requirements.extra or {}
    if "name" not in extra or "version" not in extra:
        raise InvalidInput("the requirements lack the token's EIP-712 domain (extra.name, "
                           "extra.version)", argument="requirements")
    now = int(clock())
    auth = {"from": account.address, "to": requirements.pay_to,
            "value": str(requirements.amount if amount is None else amount),
            "validAfter": "0",
            "validBefore": str(now + (valid_for if valid_for is not None
                                      else requirements.max_timeout_seconds or 300)),
            "nonce": nonce or new_nonce()}
    sig = sign_authorization(account, auth, network=requirements.network,
                             asset=requirements.asset, name=extra["name"],
                             version=extra["version"])
    return PaymentPayload(x402_version=2, payload={"authorization": auth, "signature": sig},
                          accepted=requirements, resource=resource)


def _auth_base() -> type:
    try:
        import httpx2
    except ImportError:  # pragma: no cover - httpx2 comes with the mcp SDK
        import httpx as httpx2  # type: ignore[no-redef]
    return httpx2.Auth


class X402Auth(_auth_base()):  # type: ignore[misc]
    """Bearer token + automatic x402 payment of 402 answers (see the module docstring).

    ``max_amount`` caps what one call may cost (atomic units); a dearer requirement is
    not paid and the 402 reaches the caller. After a tool's first 402 its requirements
    are remembered and later calls of that tool carry a payment up front (one round trip
    instead of two); if the price changed, the server's 402 is paid afresh once.
    """

    requires_response_body = False

    def __init__(self, account: Any = None, *, token: str | None = None,
                 max_amount: int = 10**6, clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.token = token
        self.max_amount = max_amount
        self.clock = clock
        self.settlements: list[Any] = []
        self.refusals: list[str] = []
        self._known: dict[str, tuple[Any, Any]] = {}  # tool -> (requirements, resource)

    @staticmethod
    def _tool_of(request: Any) -> str | None:
        try:
            msg = json.loads(request.content)
        except (ValueError, TypeError, RuntimeError):
            return None
        if isinstance(msg, dict) and msg.get("method") == "tools/call" \
                and isinstance(msg.get("params"), dict):
            name = msg["params"].get("name")
            return name if isinstance(name, str) else None
        return None

    def _attach(self, request: Any, requirements: Any, resource: Any) -> None:
        from x402.http import encode_payment_signature_header

        payload = sign_payment(self.account, requirements, resource=resource, clock=self.clock)
        request.headers["PAYMENT-SIGNATURE"] = encode_payment_signature_header(payload)

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        from x402.http import decode_payment_required_header, decode_payment_response_header

        if self.token is not None:
            request.headers["Authorization"] = f"Bearer {self.token}"
        tool = self._tool_of(request) if self.account is not None else None
        prepaid = tool in self._known and "payment-signature" not in request.headers
        if prepaid:
            self._attach(request, *self._known[tool])
        response = yield request
        header = response.headers.get("payment-required")
        if response.status_code == 402 and header and self.account is not None \
                and (prepaid or "payment-signature" not in request.headers):
            required = decode_payment_required_header(header)
            if required.error:
                self.refusals.append(required.error)
            choice = next((r for r in required.accepts if r.scheme == "exact"
                           and int(r.amount) <= self.max_amount), None)
            if tool is not None:
                self._known.pop(tool, None)
            if choice is None:
                return
            if tool is not None:
                self._known[tool] = (choice, required.resource)
            self._attach(request, choice, required.resource)
            response = yield request
        settled = response.headers.get("payment-response")
        if settled:
            self.settlements.append(decode_payment_response_header(settled))
