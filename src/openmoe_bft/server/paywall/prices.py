"""``PaywallConfig``: which tools cost what, payable how (x402 ``exact`` on EVM)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput

__all__ = ["PaywallConfig", "BASE_SEPOLIA", "BASE_SEPOLIA_USDC", "CONSENSUS_TOOLS"]

BASE_SEPOLIA = "eip155:84532"
BASE_SEPOLIA_USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
#: the calls that run a consensus / robust aggregation (priced by ``consensus_price``)
CONSENSUS_TOOLS = ("settle_votes", "robust_route")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


@dataclass(frozen=True)
class PaywallConfig:
    """Per-call prices in the asset's atomic units (USDC: 6 decimals, so 1000 = $0.001).

    ``prices`` maps tool name → amount; ``consensus_price`` (when set) prices every
    tool in :data:`CONSENSUS_TOOLS` not already in ``prices``. ``asset_name`` /
    ``asset_version`` are the token's EIP-712 domain (USDC: ``"USDC"``, ``"2"``).
    """

    pay_to: str
    prices: Mapping[str, int] = field(default_factory=dict)
    consensus_price: int | None = None
    network: str = BASE_SEPOLIA
    asset: str = BASE_SEPOLIA_USDC
    asset_name: str = "USDC"
    asset_version: str = "2"
    max_timeout_seconds: int = 300
    description: str = "openmoe-bft tool call"

    def __post_init__(self) -> None:
        for name, value in (("pay_to", self.pay_to), ("asset", self.asset)):
            if not isinstance(value, str) or _ADDRESS.fullmatch(value) is None:
                raise InvalidInput(f"{name} must be a 0x-prefixed 20-byte hex address, got "
                                   f"{value!r}", argument=name)
        from .eip3009 import chain_id_of

        chain_id_of(self.network)
        table = dict(self.prices)
        if self.consensus_price is not None:
            for tool in CONSENSUS_TOOLS:
                table.setdefault(tool, self.consensus_price)
        for tool, amount in table.items():
            if not isinstance(tool, str) or isinstance(amount, bool) or not isinstance(amount, int) \
                    or amount < 1:
                raise InvalidInput(f"price of {tool!r} must be a positive int of atomic units, "
                                   f"got {amount!r}", argument="prices")
        object.__setattr__(self, "prices", table)

    @property
    def domain(self) -> dict[str, str]:
        """Keyword arguments for :mod:`.eip3009` (network, asset and EIP-712 domain)."""
        return {"network": self.network, "asset": self.asset, "name": self.asset_name,
                "version": self.asset_version}

    def price_of(self, tool: str) -> int | None:
        return self.prices.get(tool)

    def requirements(self, tool: str) -> Any:
        """x402 ``PaymentRequirements`` for one call of ``tool`` (None when it is free)."""
        amount = self.price_of(tool)
        if amount is None:
            return None
        from x402 import PaymentRequirements

        return PaymentRequirements(scheme="exact", network=self.network, asset=self.asset,
                                   amount=str(amount), pay_to=self.pay_to,
                                   max_timeout_seconds=self.max_timeout_seconds,
                                   extra={"name": self.asset_name, "version": self.asset_version})

    def payment_required(self, tool: str, resource_url: str, error: str | None = None) -> Any:
        """The x402 v2 ``PaymentRequired`` answer for an unpaid / refused call."""
        from x402 import PaymentRequired, ResourceInfo

        return PaymentRequired(
            x402_version=2, error=error, accepts=[self.requirements(tool)],
            resource=ResourceInfo(url=resource_url, description=f"{self.description}: {tool}",
                                  mime_type="application/json"))

    def to_dict(self) -> dict[str, Any]:
        return {"pay_to": self.pay_to, "prices": dict(self.prices), "network": self.network,
                "asset": self.asset, "asset_name": self.asset_name,
                "asset_version": self.asset_version,
                "max_timeout_seconds": self.max_timeout_seconds}
