"""Keep every vote in SQLite, so decisions and equivocation evidence survive restarts.

Run: python examples/persistent_ledger.py [path/to/votes.db]
"""

import sys
import tempfile
from pathlib import Path

from openmoe_bft import BFTLedger, BFTRouter

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "votes.db"
ledger = BFTLedger(path)
router = BFTRouter({0: None, 1: None}, replicas=[lambda t: t % 2] * 4, ledger=ledger, timeout=None)
for token in range(3):
    router.decide(token, session_id=f"tok-{token}")
ledger.store.close()

reopened = BFTLedger(path)
for sid in reopened.rounds:
    s = reopened.settle(sid)
    print(sid, "agreed" if s.agreed else "no quorum", s.value, f"{s.votes_for}/{s.n} votes")
reopened.store.close()
