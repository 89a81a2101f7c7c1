"""Red-team two demo agents, seal the reports, and feed the result to the EU AI Act check.

    python examples/red_team_scan.py receipts.db
"""

import sys
import tempfile
from pathlib import Path

from openmoe_bft.eu_ai_act import evaluate
from openmoe_bft.receipts import AuditChain
from openmoe_bft.red_team import scan, to_a2a_evidence

db = sys.argv[1] if len(sys.argv) > 1 else str(Path(tempfile.mkdtemp()) / "receipts.db")
log = Path(db).with_suffix(".jsonl")

with AuditChain(db) as chain:
    for target in ("builtin:hardened", "builtin:vulnerable"):
        report = scan(target, concurrency=16, chain=chain, log_path=log)
        art15 = next(r for r in evaluate(to_a2a_evidence(report)).results
                     if r.check.id == "EUAIACT-ART15-003")
        print(f"{target:20} risk score {report.risk_score:.2f}  "
              f"{report.probes_landed:3}/{report.probes} probes landed  "
              f"Art. 15(5): {art15.status}  receipt {report.receipt_id[:12]}")
        for finding in report.findings[:3]:
            print(f"    {finding.strategy_id:18} {finding.severity:8} {', '.join(finding.owasp)}")
    print(f"chain verifies: {chain.verify().ok}; attempts logged to {log.name}")
