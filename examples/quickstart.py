"""Route tokens only when a Byzantine quorum of router replicas agrees.

Run: python examples/quickstart.py
"""

from openmoe_bft import BFTRouter, NoConsensusError

experts = {
    "math": lambda token: f"math expert solved {token!r}",
    "code": lambda token: f"code expert compiled {token!r}",
}


def honest(token):
    return "math" if any(ch.isdigit() for ch in token) else "code"


def compromised(token):  # a buggy / hijacked router replica
    return "code"


def crashed(token):
    raise ConnectionError("replica is down")


# 7 replicas tolerate f = 2 faults: 5 honest, 1 compromised, 1 crashed.
router = BFTRouter(experts, replicas=[honest] * 5 + [compromised, crashed], timeout=1.0)
decision = router.route("2 + 2", session_id="tok-1")
print(decision.expert_key, "->", decision.result)
print("abstained:", [(a.node_id, a.reason) for a in decision.abstentions])

# With a 2-2 split nothing is dispatched; strict=True raises instead.
split = BFTRouter(experts, replicas=[honest, honest, compromised, compromised])
print("split dispatched:", split.route("7 * 6").dispatched)
try:
    split.route("7 * 6", strict=True)
except NoConsensusError as exc:
    print("strict:", exc)
router.close()
