"""Classify an AI system under the EU AI Act, then check its Articles 9-15 evidence.

    python examples/eu_ai_act_check.py [IGNORED]

1. ``classify`` says which tier the system is in and from when its obligations apply.
2. ``evaluate`` runs the 19 checks: a bare ``True`` is a self-attestation ("attested,
   not evidenced"), a structured object is validated field by field, a malformed one
   fails with a reason.
"""

from __future__ import annotations

from datetime import date

from openmoe_bft.eu_ai_act import CHECKS, classify, evaluate
from openmoe_bft.eu_ai_act.samples import sample_evidence, sample_red_team_report


def main() -> None:
    today = date(2026, 11, 25)  # pass the day explicitly: verdicts are reproducible

    # 1. a CV-ranking system is an Annex III point 4 (employment) high-risk system
    tier = classify(annex_iii_areas=["employment"], interacts_with_people=True, today=today)
    print(f"tier: {tier.tier}")
    for o in tier.obligations:
        print(f"  {o.citation:28} from {o.applies_from}  {'in force' if o.applies_now else ''}")

    # 2. the seed's format: presence only -> compliant, but nothing is evidenced
    seed_style = evaluate({c.evidence_field: True for c in CHECKS}, today=today)
    print(f"\nseed-style evidence: compliant={seed_style.compliant} "
          f"score={seed_style.score:.2f} evidenced={seed_style.evidenced_score:.2f}")

    # 3. structured evidence, with two problems: stale logs retention and a weak red team
    evidence = sample_evidence(today)
    evidence["metadata"]["eventLogging"]["retentionDays"] = 30
    evidence["metadata"]["redTeamReport"] = sample_red_team_report(succeeded=3)
    report = evaluate(evidence, today=today)
    print(f"structured evidence: compliant={report.compliant} score={report.score:.2f} "
          f"evidenced={report.evidenced_score:.2f}")
    for r in report.results:
        if r.status != "pass":
            print(f"  {r.status.upper():8} {r.check.id} ({r.check.citation}): {r.reason}")
    for a in report.articles:
        print(f"  Art. {a.article.number:>2} {a.article.title:55} score {a.score:.2f}")


if __name__ == "__main__":
    main()
