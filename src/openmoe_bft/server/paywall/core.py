"""``Paywall``: price lookup, verify → settle → seal, for one tool call.

Every settled payment is appended to the server's receipt chain (signed with the
server's Ed25519 key). The receipt's ``to_dict()`` is what an agent puts in its A2A
card as ``metadata.x402Receipt``; expert #5 recomputes and signature-checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .prices import PaywallConfig

__all__ = ["Paywall", "PaymentOutcome"]


@dataclass(frozen=True)
class PaymentOutcome:
    """What happened to one payment: ``ok`` with the ``settlement`` (x402
    ``SettleResponse``) and sealed ``receipt``, or refused with ``reason`` (x402 code)
    and ``message``."""

    ok: bool
    reason: str | None = None
    message: str = ""
    settlement: Any = None
    receipt: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "reason": self.reason, "message": self.message,
                "settlement": None if self.settlement is None
                else self.settlement.model_dump(by_alias=True, exclude_none=True),
                "receipt": None if self.receipt is None else self.receipt.to_dict()}


class Paywall:
    """Prices from ``config``; ``facilitator`` verifies and settles; ``seal(payload,
    trace_id=...)`` appends a receipt (e.g. ``AuditChain.append``) and returns it."""

    def __init__(self, config: PaywallConfig, facilitator: Any,
                 seal: Callable[..., Any] | None = None) -> None:
        from ._deps import require_x402

        require_x402()
        self.config = config
        self.facilitator = facilitator
        self._seal = seal

    def requirements(self, tool: str) -> Any:
        return self.config.requirements(tool)

    def payment_required(self, tool: str, resource_url: str, error: str | None = None) -> Any:
        return self.config.payment_required(tool, resource_url, error)

    def process(self, tool: str, payload: Any) -> PaymentOutcome:
        """Verify and settle ``payload`` (an x402 ``PaymentPayload``) for one call of
        ``tool``, then seal the settlement as a receipt."""
        req = self.requirements(tool)
        if req is None:
            return PaymentOutcome(True, message=f"{tool} is free")
        verdict = self.facilitator.verify(payload, req)
        if not verdict.is_valid:
            return PaymentOutcome(False, verdict.invalid_reason, verdict.invalid_message or
                                  verdict.invalid_reason or "payment refused")
        settled = self.facilitator.settle(payload, req)
        if not settled.success:
            return PaymentOutcome(False, settled.error_reason, settled.error_message or
                                  settled.error_reason or "settlement failed", settled)
        receipt = None
        if self._seal is not None:
            auth = payload.payload.get("authorization", {})
            receipt = self._seal({
                "kind": "x402.settlement", "x402Version": payload.x402_version,
                "tool": tool, "scheme": req.scheme, "network": req.network,
                "asset": req.asset, "amount": req.amount, "payTo": req.pay_to,
                "payer": settled.payer, "nonce": auth.get("nonce"),
                "transaction": settled.transaction,
                "resource": None if payload.resource is None else payload.resource.url,
            }, trace_id=f"x402:{tool}")
            extra = dict(settled.extra or {})
            extra.update({"receiptId": receipt.receipt_id, "x402Receipt": receipt.to_dict()})
            settled = settled.model_copy(update={"extra": extra})
        return PaymentOutcome(True, settlement=settled, receipt=receipt,
                              message=f"paid {req.amount} for {tool}")
