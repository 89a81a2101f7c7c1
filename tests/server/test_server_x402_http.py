"""The x402 paywall over HTTP against a subprocess server: an unpaid call gets HTTP 402
with payment requirements; a paid call (a locally generated key signing real EIP-3009
payloads) succeeds and its sealed receipt validates as expert #5's ``x402Receipt``;
underpaid, wrong-asset, expired, replayed and forged payments are refused with the
reason."""

import time

import anyio
import httpx
import pytest

pytest.importorskip("mcp")
pytest.importorskip("x402")
eth_account = pytest.importorskip("eth_account")

from _mcp_harness import mcp_session, server_process  # noqa: E402
from x402.http import (  # noqa: E402
    decode_payment_required_header,
    encode_payment_signature_header,
)

from openmoe_bft.experts import by_id  # noqa: E402
from openmoe_bft.receipts import load_verifier  # noqa: E402
from openmoe_bft.server.paywall import REASONS, PaywallConfig, X402Auth, sign_payment  # noqa: E402

Account = eth_account.Account
TOKEN = "paywall-token-0123456789abcdef"
PAYER = Account.create()
PAYEE = Account.create().address
CFG = PaywallConfig(pay_to=PAYEE, prices={"bft_quorum": 1000}, consensus_price=5000)


@pytest.fixture(scope="module")
def url():
    with server_process("--token", TOKEN, "--pay-to", PAYEE, "--price", "bft_quorum=1000",
                        "--consensus-price", "5000") as u:
        yield u


class FixedPayment(X402Auth):
    """Sends one pre-built payment header with every request (to test refusals)."""

    def __init__(self, payload):
        super().__init__(None, token=TOKEN)
        self.header = encode_payment_signature_header(payload)

    def auth_flow(self, request):
        request.headers["PAYMENT-SIGNATURE"] = self.header
        yield from super().auth_flow(request)


def call(url, auth, name="bft_quorum", args=None):
    from mcp.shared.exceptions import MCPError

    async def main():
        async with mcp_session(url, auth=auth) as s:
            try:
                return await s.call_tool(name, args or {"num_nodes": 4})
            except MCPError as exc:
                return exc
    return anyio.run(main)


def test_unpaid_call_gets_http_402_with_requirements(url):
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                              "params": {"name": "settle_votes", "arguments": {}}},
                   headers={"Authorization": f"Bearer {TOKEN}",
                            "Accept": "application/json, text/event-stream"}, timeout=10)
    assert r.status_code == 402
    required = decode_payment_required_header(r.headers["payment-required"])
    (req,) = required.accepts
    assert (req.scheme, req.network, req.amount, req.pay_to) == (
        "exact", CFG.network, "5000", PAYEE)
    body = r.json()
    assert body["id"] == 7 and body["error"]["code"] == 402
    assert body["error"]["data"]["accepts"][0]["amount"] == "5000"


def test_unpaid_call_without_the_token_is_401_not_402(url):
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "bft_quorum", "arguments": {}}}, timeout=10)
    assert r.status_code == 401


def test_the_sdk_client_sees_a_402_error_and_free_tools_stay_free(url):
    err = call(url, X402Auth(None, token=TOKEN))
    assert err.error.code == 402 and "payment required" in err.error.message
    assert err.error.data["accepts"][0]["amount"] == "1000"
    free = call(url, X402Auth(None, token=TOKEN), "evaluate_eu_ai_act", {"evidence": {}})
    assert not free.is_error


def test_a_paid_call_runs_and_its_receipt_is_an_x402receipt(url):
    auth = X402Auth(PAYER, token=TOKEN)
    res = call(url, auth, "robust_route", {"scores": [[1, 0]] * 4})
    assert not res.is_error and res.structured_content["winner"] == 0
    (settled,) = auth.settlements
    assert settled.success and settled.amount == "5000" and settled.payer == PAYER.address
    receipt = settled.extra["x402Receipt"]
    assert receipt["receipt_id"] == settled.extra["receiptId"]
    assert receipt["payload"]["tool"] == "robust_route"
    key = httpx.get(url.rsplit("/mcp", 1)[0] + "/receipt-key", timeout=5).json()
    verdict = by_id(5).validate(receipt, keys=[load_verifier(key["public_key_pem"].encode())])
    assert verdict.status == "valid", verdict.reason
    # the id alone resolves to the same sealed receipt on the server
    looked_up = call(url, X402Auth(None, token=TOKEN), "get_receipt",
                     {"receipt_id": settled.extra["receiptId"]})
    assert looked_up.structured_content["receipt"] == receipt


def test_over_budget_is_not_paid(url):
    auth = X402Auth(PAYER, token=TOKEN, max_amount=999)
    err = call(url, auth)
    assert err.error.code == 402 and auth.settlements == []


def refused(url, payload, name="bft_quorum", args=None):
    err = call(url, FixedPayment(payload), name, args)
    assert err.error.code == 402, err
    return err.error.message


def test_refusals_say_why(url):
    req = CFG.requirements("bft_quorum")
    under = sign_payment(PAYER, req, amount=999)
    assert "underpaid" in refused(url, under) and REASONS["amount"] in refused(url, under)
    wrong = sign_payment(PAYER, req.model_copy(update={"asset": "0x" + "ab" * 20}))
    assert "wrong asset" in refused(url, wrong)
    expired = sign_payment(PAYER, req, clock=lambda: time.time() - 7200, valid_for=60)
    assert "expired" in refused(url, expired)
    other = sign_payment(Account.create(), req)
    auth = dict(other.payload["authorization"], **{"from": PAYER.address})
    forged = other.model_copy(update={"payload": {**other.payload, "authorization": auth}})
    assert "forged" in refused(url, forged)
    good = sign_payment(PAYER, req)
    ok = call(url, FixedPayment(good))
    assert not ok.is_error and ok.structured_content["num_nodes"] == 4
    assert "replayed" in refused(url, good)
    # a payment for one tool's price cannot buy a dearer tool
    assert "underpaid" in refused(url, sign_payment(PAYER, req), "settle_votes",
                                  {"session_id": "s", "total_nodes": 4, "votes": []})


def test_malformed_payment_headers_are_402(url):
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                              "params": {"name": "bft_quorum", "arguments": {}}},
                   headers={"Authorization": f"Bearer {TOKEN}", "PAYMENT-SIGNATURE": "@@@",
                            "Accept": "application/json, text/event-stream"}, timeout=10)
    assert r.status_code == 402 and "malformed payment" in r.json()["error"]["message"]


def test_payment_in_the_x402_mcp_meta_field_is_accepted(url):
    payload = sign_payment(PAYER, CFG.requirements("bft_quorum"))

    async def main():
        async with mcp_session(url, auth=X402Auth(None, token=TOKEN)) as s:
            meta = {"x402/payment": payload.model_dump(by_alias=True, mode="json")}
            return await s.call_tool("bft_quorum", {"num_nodes": 10}, meta=meta)
    res = anyio.run(main)
    assert not res.is_error and res.structured_content["tolerated_faults"] == 3


def test_the_paywall_reads_bounded_bodies_only(url):
    big = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bft_quorum",' \
          b'"arguments":{"pad":"' + b"x" * (2 * 1024 * 1024) + b'"}}}'
    r = httpx.post(url, content=big, timeout=30, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})
    assert r.status_code == 413


def test_prepaid_calls_after_the_first_402_take_one_round_trip(url):
    auth = X402Auth(PAYER, token=TOKEN)
    seen = []

    class Counting(X402Auth):
        def auth_flow(self, request):
            flow = auth.auth_flow(request)
            req = next(flow)
            while True:
                response = yield req
                seen.append(response.status_code)
                try:
                    req = flow.send(response)
                except StopIteration:
                    return

    async def main():
        async with mcp_session(url, auth=Counting()) as s:
            for n in (4, 5, 6):
                res = await s.call_tool("bft_quorum", {"num_nodes": n})
                assert not res.is_error
    anyio.run(main)
    assert seen.count(402) == 1 and len(auth.settlements) == 3


@pytest.mark.parametrize("body,needle", [
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"receipt_key",'
     b'"name":"bft_quorum","arguments":{"num_nodes":4}}}', "repeats a key"),
    (b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bft_quorum"},'
     b'"params":{"name":"receipt_key"}}', "repeats a key"),
    (b'[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"bft_quorum",'
     b'"arguments":{"num_nodes":4}}}]', "batch"),
])
def test_ambiguous_bodies_are_refused_not_guessed(url, body, needle):
    r = httpx.post(url, content=body, timeout=10, headers={
        "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})
    assert r.status_code == 400 and needle in r.json()["error"]["message"]


def test_deeply_nested_body_is_refused_and_the_server_stays_up(url):
    # The paywall imports eth_account, which raises the recursion limit to 100,000; a
    # plain json.loads of this body would then overflow the C stack and kill the server.
    deep = "[" * 400_000 + "]" * 400_000
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    r = httpx.post(url, content=deep, headers=headers, timeout=30)
    assert 400 <= r.status_code < 500
    health = httpx.get(url.rsplit("/", 1)[0] + "/healthz", timeout=10)
    assert health.status_code == 200
