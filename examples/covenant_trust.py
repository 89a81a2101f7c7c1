"""Covenants, audited actions and EigenTrust reputation, kept in SQLite and sealed as receipts.

Run: python examples/covenant_trust.py [path/to/trust.db]
"""

import sys
import tempfile
from pathlib import Path

from openmoe_bft.covenants import Action, Covenant, CovenantRegistry, expert_covenants
from openmoe_bft.receipts import AuditChain
from openmoe_bft.store import Store

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "trust.db"
store = Store(path)
chain = AuditChain(store, signer="demo-secret")
registry = CovenantRegistry(store, audit=chain)

# Every expert pre-commits to auditing its own A2A field; two agents take on limits.
for cov in expert_covenants(timestamp=1_700_000_000).values():
    registry.inscribe(cov)
for agent in ("shopper", "crawler"):
    registry.inscribe(Covenant.inscribe(
        agent_id=agent, allowed_actions={"buy", "fetch"}, timestamp=1_700_000_000,
        constraints={"max_cost_usd": 20, "allowed_domains": ["example.org"],
                     "rate_limit": {"max_actions": 5, "per_seconds": 60}}))

actions = [
    Action("e1", "expert:1", "audit:metadata.riskAssessment", {}, 1_700_000_010),
    Action("s1", "shopper", "buy", {"cost_usd": 12.5}, 1_700_000_020),
    Action("s2", "shopper", "buy", {"cost_usd": 99.0}, 1_700_000_030),
    Action("c1", "crawler", "fetch", {"url": "https://docs.example.org/a"}, 1_700_000_040),
    Action("c2", "crawler", "fetch", {"url": "https://tracker.evil.test/x"}, 1_700_000_050),
    Action("c3", "crawler", "delete", {}, 1_700_000_060),
]
for action in actions:
    verdict = registry.audit(action)
    registry.record(action)
    print(f"{action.agent_id:9} {action.action_name:31} "
          f"{'ok' if verdict.compliant else f'{verdict.severity}: {verdict.constraint}'}")

# expert:1 vouches for the shopper, the shopper for the crawler.
registry.vouch("expert:1", "shopper")
registry.vouch("shopper", "crawler")
trust = registry.global_trust(pretrusted=["expert:1"])
for agent in ("expert:1", "shopper", "crawler"):
    print(f"{agent:9} own={registry.trust_score(agent):.2f} "
          f"global={trust.trust[agent]:.3f} score={trust.scores[agent]:.2f}")
print(f"{len(chain)} receipts sealed, chain verifies: {chain.verify().ok}")
store.close()
