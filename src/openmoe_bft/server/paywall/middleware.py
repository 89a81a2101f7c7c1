"""The x402 paywall as ASGI middleware in front of the MCP endpoint.

A JSON-RPC ``tools/call`` for a priced tool must carry a payment: the x402 HTTP header
(``PAYMENT-SIGNATURE``, or v1's ``X-PAYMENT``) or the x402 MCP convention
``params._meta["x402/payment"]``. Without one — or with one that is refused — the
answer is **HTTP 402** with the x402 ``PAYMENT-REQUIRED`` header (base64 JSON) and a
JSON-RPC error body (code 402, ``data`` = the ``PaymentRequired``), which MCP clients
surface as a tool-call error and x402 clients can pay. A valid payment is settled and
sealed *before* the tool runs (settle-then-serve: the nonce is spent even if the tool
then fails, and the receipt says what was bought); the response carries
``PAYMENT-RESPONSE`` (base64 ``SettleResponse`` whose ``extra`` holds the receipt).
"""

from __future__ import annotations

import json
from typing import Any

from ... import _json as safe_json
from .core import Paywall

__all__ = ["PaywallMiddleware"]

_META_KEY = "x402/payment"


class _Ambiguous(ValueError):
    """A body the paywall will not guess about (duplicate keys, batched paid calls)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _Ambiguous("a JSON object repeats a key")
    return dict(pairs)


def _payment_from(headers: dict[bytes, bytes], params: dict[str, Any]) -> Any:
    """The PaymentPayload the request carries (None when it carries none); raises
    ValueError when one is there but cannot be decoded."""
    from x402 import PaymentPayload
    from x402.http import decode_payment_signature_header

    raw = headers.get(b"payment-signature") or headers.get(b"x-payment")
    if raw is not None:
        payload = decode_payment_signature_header(raw.decode("latin-1"))
        if not isinstance(payload, PaymentPayload):
            raise ValueError("only x402 v2 payment payloads are accepted")
        return payload
    meta = params.get("_meta")
    if isinstance(meta, dict) and meta.get(_META_KEY) is not None:
        return PaymentPayload.model_validate(meta[_META_KEY])
    return None


class PaywallMiddleware:
    """Gate priced ``tools/call`` requests on ``path`` (see the module docstring)."""

    def __init__(self, app: Any, paywall: Paywall, path: str = "/mcp",
                 require_auth: bool = False) -> None:
        self.app = app
        self.paywall = paywall
        self.path = path.rstrip("/") or "/"
        self.require_auth = require_auth

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] != "POST"
                or scope["path"].rstrip("/") != self.path
                or (self.require_auth and not self._authenticated(scope))):
            await self.app(scope, receive, send)
            return
        body, replay = await self._buffer(receive)
        try:
            call = self._priced_call(body)
        except _Ambiguous as exc:
            # parsers disagree on such bodies; the paywall must see what the server runs
            await self._error(send, 400, -32600, f"refused: {exc}")
            return
        if call is None:
            await self.app(scope, replay, send)
            return
        req_id, tool, params = call
        resource = self._resource_url(scope, tool)
        try:
            payload = _payment_from(dict(scope["headers"]), params)
        except Exception as exc:  # noqa: BLE001 - a malformed payment is the client's error
            await self._402(send, req_id, tool, resource,
                            f"malformed payment: {str(exc)[:200]}")
            return
        if payload is None:
            await self._402(send, req_id, tool, resource,
                            f"payment required: {tool} costs "
                            f"{self.paywall.config.price_of(tool)} atomic units of "
                            f"{self.paywall.config.asset}")
            return
        import anyio.to_thread

        outcome = await anyio.to_thread.run_sync(self.paywall.process, tool, payload)
        if not outcome.ok:
            await self._402(send, req_id, tool, resource,
                            f"payment refused ({outcome.reason}): {outcome.message}")
            return
        await self.app(scope, replay, self._with_settlement(send, outcome))

    @staticmethod
    def _authenticated(scope: dict[str, Any]) -> bool:
        from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

        return isinstance(scope.get("user"), AuthenticatedUser)

    @staticmethod
    async def _buffer(receive: Any) -> tuple[bytes, Any]:
        chunks, messages = [], []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = [{"type": "http.request", "body": body, "more_body": False}]
        replayed += [m for m in messages if m["type"] != "http.request"]

        async def replay() -> Any:
            return replayed.pop(0) if replayed else await receive()

        return body, replay

    def _priced_call(self, body: bytes) -> tuple[Any, str, dict[str, Any]] | None:
        try:
            msg = safe_json.loads(body, object_pairs_hook=_no_duplicates)
        except _Ambiguous:
            raise
        except ValueError:
            return None  # the MCP transport answers the parse error
        msgs = msg if isinstance(msg, list) else [msg]
        for m in msgs:
            if not (isinstance(m, dict) and m.get("method") == "tools/call"):
                continue
            params = m.get("params") if isinstance(m.get("params"), dict) else {}
            name = params.get("name")
            if isinstance(name, str) and self.paywall.config.price_of(name) is not None:
                if isinstance(msg, list):
                    raise _Ambiguous("priced tools cannot be called in a JSON-RPC batch")
                return m.get("id"), name, params
        return None

    @staticmethod
    async def _error(send: Any, status: int, code: int, message: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": None,
                           "error": {"code": code, "message": message}}).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def _resource_url(self, scope: dict[str, Any], tool: str) -> str:
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"localhost").decode("latin-1")
        return f"{scope.get('scheme', 'http')}://{host}{self.path}#tools/{tool}"

    async def _402(self, send: Any, req_id: Any, tool: str, resource: str, error: str) -> None:
        from x402.http import encode_payment_required_header

        required = self.paywall.payment_required(tool, resource, error)
        data = required.model_dump(by_alias=True, exclude_none=True, mode="json")
        body = json.dumps({"jsonrpc": "2.0", "id": req_id,
                           "error": {"code": 402, "message": error, "data": data}}).encode()
        await send({"type": "http.response.start", "status": 402, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"payment-required", encode_payment_required_header(required).encode("ascii")),
        ]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _with_settlement(send: Any, outcome: Any) -> Any:
        from x402.http import encode_payment_response_header

        header = encode_payment_response_header(outcome.settlement).encode("ascii")

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), (b"payment-response", header)]
            await send(message)

        return wrapped
