"""The MCP tools as plain functions (no HTTP): behaviour, refusals, invariants."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openmoe_bft.errors import InvalidInput, InvalidType
from openmoe_bft.receipts import AuditChain, Ed25519Key, export_chain
from openmoe_bft.server import ServerConfig, ServerState
from openmoe_bft.server import tools as T
from openmoe_bft.server.tools import NotAllowed


@pytest.fixture
def state():
    s = ServerState(ServerConfig())
    yield s
    s.close()


@given(st.integers(1, 10_000))
def test_bft_quorum_matches_the_formulas(n):
    q = T.bft_quorum(None, n)
    f = (n - 1) // 3
    assert q == {"num_nodes": n, "tolerated_faults": f, "quorum_size": 2 * f + 1,
                 "decision_threshold": max(2 * f + 1, n // 2 + 1), "byzantine_safe": n >= 4}


@pytest.mark.parametrize("bad", [0, -3, True, 2.0, "4", None])
def test_bft_quorum_refuses_bad_counts(bad):
    with pytest.raises(InvalidInput, match="num_nodes"):
        T.bft_quorum(None, bad)


def test_settle_votes_agrees_with_a_quorum_across_calls(state):
    s = T.settle_votes(state, "r1", 4, [{"node_id": "a", "value": 7}, {"node_id": "b", "value": 7}])
    assert not s["agreed"] and s["votes_for"] == 2
    s = T.settle_votes(state, "r1", 4, [{"node_id": "c", "value": 7},
                                        {"node_id": "d", "abstain": "timeout"}])
    assert s["agreed"] and s["value"] == 7 and s["threshold"] == 3


def test_settle_votes_flags_an_equivocator_and_does_not_count_it(state):
    T.settle_votes(state, "r2", 4, [{"node_id": "a", "value": 1}, {"node_id": "b", "value": 1}])
    s = T.settle_votes(state, "r2", 4, [{"node_id": "a", "value": 2}])
    assert s["equivocators"] == ["a"] and not s["agreed"]


@pytest.mark.parametrize("votes", [
    [{"node_id": "a"}],
    [{"node_id": "a", "value": 1, "value_hash": "x"}],
    [{"node_id": "a", "vote": 1}],
    ["a"],
    "a",
])
def test_settle_votes_refuses_malformed_ballots_and_records_nothing(state, votes):
    with pytest.raises(InvalidInput):
        T.settle_votes(state, "r3", 4, votes)
    assert state.ledger.status("r3") is None


def test_robust_route_seed_case_ignores_two_byzantine_replicas(state):
    scores = [[1.0, 0.0, 0.0]] * 5 + [[-1e6, 1e6, 0.0], [-1e6, 1e6, 0.0]]
    for method in ("median", "trimmed_mean", "krum", "multi_krum"):
        assert T.robust_route(state, scores, f=2, method=method)["winner"] == 0


def test_robust_route_refuses_unknown_methods(state):
    with pytest.raises(InvalidInput, match="unknown method"):
        T.robust_route(state, [[1.0, 0.0]] * 4, method="mode")


def test_evaluate_and_validate_card_wrap_the_library(state):
    rep = T.evaluate_eu_ai_act(state, {"metadata.riskAssessment": True})
    assert "EUAIACT-ART9-002" in rep["passed"] and rep["compliant"] is False
    verdict = T.validate_agent_card(state, {"name": "x", "metadata": {}})
    assert verdict["experts_missing"] == list(range(1, 15))
    with pytest.raises(InvalidType):
        T.evaluate_eu_ai_act(state, ["not", "a", "dict"])


@pytest.mark.parametrize("card", ["/etc/passwd", "card.json", '{"name": "x"}'])
def test_validate_card_never_reads_paths_or_text(state, card):
    with pytest.raises(InvalidInput, match="JSON object"):
        T.validate_agent_card(state, card)


def test_validate_card_url_needs_the_network_flag(state):
    with pytest.raises(NotAllowed, match="--allow-network"):
        T.validate_agent_card(state, "https://example.com/.well-known/agent-card.json")


def _export(chain):
    import io

    buf = io.BytesIO()
    export_chain(chain, buf)
    return buf.getvalue().decode()


def test_verify_receipts_inline_ok_and_tampered(state):
    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    for i in range(3):
        chain.append({"i": i}, timestamp=i)
    text = _export(chain)
    pub = key.public_key.to_pem().decode()
    assert T.verify_receipts(state, [pub], export=text)["ok"]
    assert T.verify_receipts(state, [key.public_key.raw.hex()], export=text)["ok"]
    bad = text.replace('"i":1', '"i":9')
    res = T.verify_receipts(state, [pub], export=bad)
    assert not res["ok"] and res["broken_at"] == 1
    other = Ed25519Key.generate().public_key.to_pem().decode()
    assert not T.verify_receipts(state, [other], export=text)["ok"]


def test_verify_receipts_paths_need_the_files_flag(tmp_path):
    key = Ed25519Key.generate()
    chain = AuditChain(signer=key)
    chain.append({"x": 1}, timestamp=1)
    path = tmp_path / "export.jsonl"
    export_chain(chain, path)
    pub = [key.public_key.to_pem().decode()]
    with pytest.raises(NotAllowed, match="--allow-files"):
        T.verify_receipts(ServerState(ServerConfig()), pub, path=str(path))
    allowed = ServerState(ServerConfig(allow_files=True))
    assert T.verify_receipts(allowed, pub, path=str(path))["ok"]
    with pytest.raises(InvalidInput, match="exactly one"):
        T.verify_receipts(allowed, pub, export="", path=str(path))
    with pytest.raises(InvalidInput, match="at least one public key"):
        T.verify_receipts(allowed, [], export="x")


def test_append_receipt_seals_signed_receipts_into_the_server_chain(state):
    a = T.append_receipt(state, {"decision": 3}, trace_id="t-1")
    b = T.append_receipt(state, [1, 2, 3])
    assert (a["seq"], b["seq"]) == (0, 1)
    assert b["receipt"]["prev_hash"] == a["receipt"]["entry_hash"]
    assert a["key_id"] == state.receipt_key.key_id
    assert state.chain.verify().ok
    with pytest.raises(InvalidInput, match="plain JSON"):
        T.append_receipt(state, {"x": float("nan")})
    assert len(state.chain) == 2


def test_append_receipt_persists_only_with_a_store(tmp_path):
    pem = Ed25519Key.generate().to_pem()
    cfg = ServerConfig(store=str(tmp_path / "s.db"), receipt_key=pem)
    s1 = ServerState(cfg)
    T.append_receipt(s1, {"n": 1})
    s1.close()
    s2 = ServerState(cfg)
    assert T.append_receipt(s2, {"n": 2})["seq"] == 1
    assert s2.chain.verify().ok
    s2.close()


def test_red_team_scan_builtin_targets_and_refusals(state):
    weak = T.red_team_scan(state, {"kind": "builtin", "name": "vulnerable"})
    strong = T.red_team_scan(state, "builtin:hardened")
    assert weak["risk_score"] == 0.0 and strong["risk_score"] == 1.0
    assert set(weak["critical_findings"]) >= {"RT-IDOR-BOLA", "RT-BFLA", "RT-DATA-EXFIL"}
    assert strong["a2a_evidence"]["metadata"]["redTeamReport"]["riskScore"] == 1.0
    with pytest.raises(InvalidInput, match="--allow-network"):
        T.red_team_scan(state, "http://127.0.0.1:9/agent")
    with pytest.raises(InvalidInput, match="--allow-import"):
        T.red_team_scan(state, "os:system")


def test_get_receipt_resolves_ids_from_the_server_chain(state):
    a = T.append_receipt(state, {"n": 1})
    b = T.append_receipt(state, {"n": 2})
    got = T.get_receipt(state, b["receipt"]["receipt_id"])
    assert got["seq"] == 1 and got["receipt"] == b["receipt"]
    assert T.get_receipt(state, a["receipt"]["receipt_id"])["seq"] == 0
    with pytest.raises(InvalidInput, match="no receipt"):
        T.get_receipt(state, "0" * 64)


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:9/v1",
    {"kind": "openai", "url": "http://10.1.2.3/v1"},
    "a2a+http://localhost:9/agent",
    {"kind": "mcp", "url": "http://169.254.169.254/mcp", "tool": "chat"},
])
def test_red_team_url_targets_must_be_public_even_with_network_allowed(target):
    state = ServerState(ServerConfig(allow_network=True))
    with pytest.raises(NotAllowed, match="not public"):
        T.red_team_scan(state, target)
    state.close()
