"""Start-up rules, import lightness, no I/O at build time, and the ``serve`` CLI."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from openmoe_bft.errors import InvalidInput
from openmoe_bft.server import ServerConfig, is_loopback
from openmoe_bft.server.cli import app, build_config

TOKEN = "x" * 24


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.1.2.3", True),
                                       ("localhost", True), ("::1", True), ("[::1]", True),
                                       ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
                                       ("example.com", False)])
def test_loopback_detection(host, loop):
    assert is_loopback(host) is loop


def test_non_loopback_needs_a_token():
    with pytest.raises(InvalidInput, match="non-loopback.*--token"):
        ServerConfig(host="0.0.0.0").check()
    assert ServerConfig(host="0.0.0.0", token=TOKEN).check().token == TOKEN
    assert ServerConfig().check().token is None


@pytest.mark.parametrize("kw", [{"token": "short"}, {"token": "has space in it 0123456"},
                                {"port": 70000}, {"port": True}, {"path": "mcp"},
                                {"max_body_bytes": 10}, {"red_team_timeout": 0}])
def test_bad_configs_are_refused(kw):
    with pytest.raises(InvalidInput):
        ServerConfig(**kw).check()


def test_token_from_the_environment():
    cfg = ServerConfig(host="0.0.0.0").with_env_token({"OPENMOE_BFT_TOKEN": TOKEN})
    assert cfg.check().token == TOKEN
    assert ServerConfig(token="y" * 20).with_env_token({"OPENMOE_BFT_TOKEN": TOKEN}).token == "y" * 20
    assert "secret" not in repr(ServerConfig(receipt_key=b"secret"))


def test_importing_the_server_package_imports_no_optional_dependency():
    code = ("import sys, openmoe_bft.server, openmoe_bft.server.paywall, openmoe_bft.server.tools;"
            "bad = [m for m in ('mcp', 'x402', 'eth_account', 'httpx2', 'uvicorn', 'starlette')"
            " if m in sys.modules]; print(bad); assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_building_the_app_does_no_file_or_network_work(tmp_path, monkeypatch):
    pytest.importorskip("mcp")
    import socket

    from openmoe_bft.server import PaywallConfig, build_app

    def no_network(*a, **k):
        raise AssertionError("network touched at build time")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    store = tmp_path / "server.db"
    cfg = ServerConfig(store=str(store), token=TOKEN,
                       paywall=PaywallConfig(pay_to="0x" + "12" * 20, prices={"bft_quorum": 1}))
    app = build_app(cfg)
    assert not store.exists() and list(tmp_path.iterdir()) == []
    assert app.state.openmoe._store is None
    app.state.openmoe.close()


def test_missing_mcp_raises_missing_dependency(monkeypatch):
    from openmoe_bft.errors import MissingDependency
    from openmoe_bft.server import app as server_app

    monkeypatch.setitem(sys.modules, "mcp.server.mcpserver", None)
    with pytest.raises(MissingDependency, match=r"openmoe-bft\[mcp\]"):
        server_app.build_server(ServerConfig())


runner = CliRunner()


def test_cli_refuses_a_public_host_without_a_token():
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0"], env={"OPENMOE_BFT_TOKEN": ""})
    assert r.exit_code == 2
    assert "non-loopback" in r.output


@pytest.mark.parametrize("args,needle", [
    (["--price", "bft_quorum=1"], "--pay-to"),
    (["--pay-to", "0x" + "12" * 20, "--price", "bft_quorum"], "TOOL=AMOUNT"),
    (["--pay-to", "nope", "--price", "bft_quorum=1"], "pay_to"),
    (["--token", "short"], "at least 16"),
])
def test_cli_bad_input_exits_2(args, needle):
    r = runner.invoke(app, ["serve", *args], env={"OPENMOE_BFT_TOKEN": ""})
    assert r.exit_code == 2
    assert needle in r.output


def test_build_config_reads_flags_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENMOE_BFT_TOKEN", TOKEN)
    cfg = build_config(host="0.0.0.0", pay_to="0x" + "12" * 20, price=["bft_quorum=10"],
                       consensus_price=20, allow_files=True, store=tmp_path / "s.db")
    assert cfg.token == TOKEN and cfg.allow_files and not cfg.allow_network
    assert cfg.paywall.prices == {"bft_quorum": 10, "settle_votes": 20, "robust_route": 20}
    assert cfg.store == str(tmp_path / "s.db") and not (tmp_path / "s.db").exists()


def test_missing_x402_raises_missing_dependency(monkeypatch):
    from openmoe_bft.errors import MissingDependency
    from openmoe_bft.server.paywall import LocalFacilitator, Paywall, PaywallConfig

    monkeypatch.setitem(sys.modules, "x402", None)
    with pytest.raises(MissingDependency, match=r"openmoe-bft\[x402\]"):
        Paywall(PaywallConfig(pay_to="0x" + "12" * 20), LocalFacilitator())
