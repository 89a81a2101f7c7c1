"""The red team's loopback target server: :class:`openmoe_bft.testing.FakeChatServer`
(kept importable here; ``python -m openmoe_bft.red_team.testing`` still serves)."""

from __future__ import annotations

from ..testing import MODES, FakeChatServer, main

__all__ = ["FakeChatServer", "MODES", "main"]

if __name__ == "__main__":
    main()
