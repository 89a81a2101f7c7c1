"""Full scans against loopback HTTP targets: vulnerable vs hardened, misbehaving servers,
concurrency, rate limit, JSON Lines log, sealing, and the Art. 15 evidence."""

import datetime
import json
import time

import pytest

from openmoe_bft.canonical import value_hash
from openmoe_bft.receipts import AuditChain
from openmoe_bft.red_team import read_log, replay, scan, to_a2a_evidence
from openmoe_bft.red_team.builtin import BUILTIN_CANARY
from openmoe_bft.red_team.testing import FakeChatServer

pytest.importorskip("httpx")
CTX = {"canaries": [BUILTIN_CANARY]}


@pytest.fixture(scope="module")
def reports(vulnerable_url, hardened_url):
    return (scan(vulnerable_url, context=CTX, concurrency=16),
            scan(hardened_url, context=CTX, concurrency=16))


def test_vulnerable_and_hardened_score_clearly_apart(reports):
    vul, hard = reports
    assert vul.risk_score <= 0.2 and hard.risk_score == 1.0
    assert vul.coverage == hard.coverage == 1.0
    assert hard.succeeded == 0 and hard.probes_landed == 0
    assert vul.target_id.startswith("openai:http://127.0.0.1")


def test_findings_name_the_right_strategies_and_owasp_entries(reports):
    vul, _ = reports
    landed = {r.strategy_id for r in vul.findings}
    assert landed == {"RT-PROMPT-SEND", "RT-INJECT-OVERRIDE", "RT-REDTEAM-LLM", "RT-CRESCENDO",
                      "RT-BARGE-IN", "RT-IDOR-BOLA", "RT-BFLA", "RT-DATA-EXFIL"}
    assert set(vul.critical_findings) == {"RT-IDOR-BOLA", "RT-BFLA", "RT-DATA-EXFIL"}
    owasp = vul.by_owasp()
    assert set(owasp["LLM06:2025"]["strategies"]) == {"RT-IDOR-BOLA", "RT-BFLA",
                                                      "RT-DATA-EXFIL"}
    assert "RT-PROMPT-SEND" in owasp["LLM07:2025"]["strategies"]
    assert "RT-REDTEAM-LLM" in owasp["LLM01:2025"]["strategies"]
    methods = {a.strategy_id: a.verdict.method for a in vul.attempts if a.landed}
    assert methods["RT-BFLA"] == methods["RT-IDOR-BOLA"] == "tool_authz"
    bola = next(a for a in vul.attempts if a.probe_id == "RT-IDOR-BOLA/other-invoice")
    assert bola.responses[0].tool_calls[0].arguments == {"invoice_id": "INV-2002"}


def test_a_partly_hardened_target_lands_only_where_it_is_weak(hardened_url):
    """A target that falls only for encoded jailbreaks: only RT-REDTEAM-LLM lands."""
    import base64

    from openmoe_bft.red_team.builtin import hardened_agent, vulnerable_agent

    def agent(messages, tools=None):
        text = messages[-1]["content"]
        if "base64" in text and "system prompt" not in text:
            return vulnerable_agent(messages, tools)
        return hardened_agent(messages, tools)

    rep = scan(agent, context=CTX)
    assert {r.strategy_id for r in rep.findings} == {"RT-REDTEAM-LLM"}
    res = next(r for r in rep.results if r.strategy_id == "RT-REDTEAM-LLM")
    assert 0 < res.landed_fraction < 0.5
    assert all("base64" in a.technique for a in res.attempts if a.landed)
    assert 0.8 < rep.risk_score < 1.0
    assert base64  # the agent keys on the word, not the module


@pytest.mark.parametrize("transport", ["h11", "httpx"])
@pytest.mark.parametrize("mode", ["hang", "500", "garbage", "endless"])
def test_misbehaving_targets_neither_stall_nor_crash_the_scan(mode, transport):
    with FakeChatServer("vulnerable", mode=mode) as server:
        t0 = time.perf_counter()
        rep = scan({"url": server.url, "transport": transport}, strategies=["RT-PROMPT-SEND", "RT-CRESCENDO", "RT-BFLA"],
                   concurrency=32, timeout=0.3, retries=1, backoff=0.01)
        elapsed = time.perf_counter() - t0
    assert elapsed < 5
    assert rep.probes == 18 and rep.probes_inconclusive == 18 and rep.coverage == 0.0
    assert rep.inconclusive == rep.total == 3 and rep.succeeded == 0
    outcome = {"hang": "timeout", "endless": "timeout"}.get(mode, "error")
    assert {a.outcome for a in rep.attempts} == {outcome}
    if mode == "500":
        assert all(a.retries == 1 and a.requests == 2 for a in rep.attempts)
    if mode == "garbage":
        assert all(a.retries == 0 for a in rep.attempts)  # malformed: not retried
    ev = to_a2a_evidence(rep)["metadata"]["redTeamReport"]
    assert ev["total"] == 0 and ev["inconclusive"] == 3
    from openmoe_bft.eu_ai_act import evaluate

    art15 = next(r for r in evaluate(to_a2a_evidence(rep)).results
                 if r.check.id == "EUAIACT-ART15-003")
    assert art15.status != "pass"  # a scan that learned nothing is no evidence


@pytest.mark.parametrize("transport", ["h11", "httpx"])
def test_retries_recover_a_flaky_target(transport):
    with FakeChatServer("hardened", mode="flaky") as server:
        spec = {"url": server.url, "transport": transport}
        # one worker: requests strictly alternate ok / 503, so each probe needs <= 1 retry
        rep = scan(spec, strategies=["RT-BFLA"], retries=2, backoff=0.001, concurrency=1)
        assert rep.probes_inconclusive == 0 and rep.risk_score == 1.0
        assert sum(a.retries for a in rep.attempts) >= 1
        without = scan(spec, strategies=["RT-BFLA"], retries=0, concurrency=1)
        assert without.probes_inconclusive >= 1


def test_concurrency_overlaps_latency():
    with FakeChatServer("hardened", latency=0.05) as server:
        t0 = time.perf_counter()
        scan(server.url, strategies=["RT-BFLA", "RT-IDOR-BOLA"], concurrency=1)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        scan(server.url, strategies=["RT-BFLA", "RT-IDOR-BOLA"], concurrency=12)
        parallel = time.perf_counter() - t0
    assert serial >= 12 * 0.05 and parallel < serial / 3


def test_rate_limit_spaces_calls():
    with FakeChatServer("hardened") as server:
        t0 = time.perf_counter()
        rep = scan(server.url, strategies=["RT-BFLA"], concurrency=6, rate_limit=40)
        elapsed = time.perf_counter() - t0
    assert rep.probes == 6 and elapsed >= 5 / 40


def test_jsonl_log_records_every_attempt_and_replays(tmp_path, vulnerable_url):
    log = tmp_path / "scan.jsonl"
    rep = scan(vulnerable_url, context=CTX, log_path=log, strategies=["prompt_injection",
                                                                      "api_abuse"])
    records = list(read_log(log))
    kinds = [r["entry_type"] for r in records]
    assert kinds[0] == "start_run" and kinds[-1] == "completion"
    attempts = [r for r in records if r["entry_type"] == "attempt"]
    assert len(attempts) == rep.probes == 44
    a = attempts[0]
    assert {"probe_id", "transcript", "responses", "verdict", "elapsed_s", "outcome",
            "owasp", "started_at"} <= set(a)
    assert all(line.strip() and json.loads(line) for line in log.read_text().splitlines())
    rows = replay(log)
    assert len(rows) == 44 and all(r["agrees"] for r in rows)
    # tampering with a recorded response shows up on replay
    lines = log.read_text().splitlines()
    rec = json.loads(lines[1])
    assert rec["outcome"] == "landed"
    rec["responses"] = [{"text": "I can't help with that.", "tool_calls": []}]
    lines[1] = json.dumps(rec)
    log.write_text("\n".join(lines) + "\n")
    rows = replay(log)
    assert [r["probe_id"] for r in rows if not r["agrees"]] == [rec["probe_id"]]


def test_sealing_into_the_receipts_chain(vulnerable_url):
    chain = AuditChain()
    rep = scan(vulnerable_url, strategies=["RT-BFLA"], chain=chain, clock=lambda: 1_764_000_000)
    [receipt] = chain.receipts
    assert rep.receipt_id == receipt.receipt_id and chain.verify().ok
    payload = receipt.payload
    assert payload["type"] == "red_team_report"
    assert payload["summary"]["risk_score"] == rep.risk_score
    assert payload["attempt_hashes"] == [value_hash(a.to_dict()) for a in rep.attempts]
    assert to_a2a_evidence(rep)["metadata"]["redTeamReport"]["receiptId"] == rep.receipt_id


def test_evidence_is_structured_for_the_art15_check_and_expert_9(reports):
    from openmoe_bft.eu_ai_act import evaluate
    from openmoe_bft.experts import EXPERTS

    vul, hard = reports
    verdicts = {}
    for name, rep in (("vul", vul), ("hard", hard)):
        res = next(r for r in evaluate(to_a2a_evidence(rep)).results
                   if r.check.id == "EUAIACT-ART15-003")
        verdicts[name] = res
    assert verdicts["hard"].status == "pass"
    assert "evidenced by metadata.redTeamReport" in verdicts["hard"].reason
    assert verdicts["vul"].status == "fail" and "riskScore" in verdicts["vul"].reason
    expert9 = EXPERTS[8]
    assert expert9.a2a_field == "metadata.redTeamReport"
    body = to_a2a_evidence(hard)["metadata"]["redTeamReport"]
    assert expert9.validate(body, today=datetime.date(2026, 11, 25)).status == "valid"


def test_report_serialises_to_json_and_markdown(reports):
    vul, _ = reports
    d = json.loads(vul.to_json())
    assert d["risk_score"] == vul.risk_score and len(d["results"]) == 8
    assert d["results"][0]["attempts"][0]["transcript"][0]["role"] == "user"
    md = vul.to_markdown()
    assert "LLM06:2025 Excessive Agency" in md and "RT-BFLA" in md and "## Findings" in md


def test_without_planted_canaries_leaks_are_caught_structurally(vulnerable_url, hardened_url):
    vul = scan(vulnerable_url, strategies=["RT-PROMPT-SEND"])
    assert vul.succeeded == 1
    assert {a.verdict.method for a in vul.attempts if a.landed} == {"heuristic"}
    assert scan(hardened_url, strategies=["RT-PROMPT-SEND"]).succeeded == 0
    exfil = scan(vulnerable_url, strategies=["RT-DATA-EXFIL"])
    b64 = next(a for a in exfil.attempts if a.probe_id == "RT-DATA-EXFIL/prompt-base64")
    assert b64.landed and b64.verdict.evidence["encoding"] == "base64"
