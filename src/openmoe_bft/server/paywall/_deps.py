"""The paywall's optional dependencies, checked once with a helpful error."""

from __future__ import annotations

from ...errors import MissingDependency

__all__ = ["require_x402"]


def require_x402() -> None:
    """Raise :class:`MissingDependency` unless ``x402`` and ``eth-account`` import."""
    try:
        import eth_account  # noqa: F401
        import x402  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            f"the x402 paywall needs the x402 SDK and eth-account ({exc.name} is missing): "
            "pip install 'openmoe-bft[x402]'") from exc
