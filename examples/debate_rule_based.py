"""Rule-based proposers debate which expert should handle a request; BFT settles it.

Run: python examples/debate_rule_based.py
"""

from openmoe_bft.bft import BFTLedger
from openmoe_bft.debate import run_debate


def fixed(expert):
    return lambda transcript: (expert, f"route to {expert}")


def follow_the_majority(transcript):
    """Start with its own pick; later adopt the most frequent pick so far."""
    picks = [msg.removeprefix("route to ") for _, msg in transcript if msg.startswith("route")]
    if not picks:
        return "nist-rmf", "route to nist-rmf"
    best = max(sorted(set(picks)), key=picks.count)
    return best, f"route to {best}"


def broken(transcript):
    raise TimeoutError("upstream model is down")


proposers = {"eu-ai-act": fixed("eu-ai-act"), "dora": fixed("eu-ai-act"),
             "swing": follow_the_majority, "broken": broken}
result = run_debate("route-request-42", proposers, rounds=2, ledger=BFTLedger(), timeout=2)
for who, message in result.transcript:
    print(f"{who:>9}: {message}")
print("abstained:", result.abstentions)
print(f"agreed={result.agreed} value={result.agreed_value!r} "
      f"votes={result.settlement.votes_for}/{result.total_participants} "
      f"(threshold {result.settlement.threshold})")
