"""Build the MCP server (the SDK's ``MCPServer``, FastMCP's successor) and its ASGI app.

:func:`build_server` registers the tools; :func:`build_app` adds bearer auth (the
SDK's ``TokenVerifier`` support), the request-body limit, the optional x402 paywall and
two plain routes (``/healthz``, ``/receipt-key``). Neither does network or file
work: the store and keys are opened on first use (:class:`~.state.ServerState`).
"""


from collections.abc import Callable
from typing import Annotated, Any

from ..errors import MissingDependency, OpenMoEBFTError
from . import tools as T
from .config import ServerConfig
from .state import ServerState

__all__ = ["build_server", "build_app", "TOOL_NAMES"]

TOOL_NAMES = ("evaluate_eu_ai_act", "validate_agent_card", "red_team_scan", "bft_quorum",
              "settle_votes", "robust_route", "verify_receipts", "append_receipt", "receipt_key",
              "mcp_attestation", "get_receipt")


def _require_mcp() -> None:
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(
            "the MCP server needs the official MCP SDK: pip install 'openmoe-bft[mcp]'") from exc


def build_server(config: ServerConfig | None = None, *, state: ServerState | None = None) -> Any:
    """An ``MCPServer`` with the openmoe-bft tools (no network or file work)."""
    _require_mcp()
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import Field

    from .. import __version__
    from . import _schemas as S
    from .auth import StaticTokenVerifier, auth_settings

    config = (config or ServerConfig()).check()
    state = state or ServerState(config)
    auth_kw: dict[str, Any] = {}
    if config.token is not None:
        auth_kw = {"token_verifier": StaticTokenVerifier(config.token),
                   "auth": auth_settings(config.url)}
    server = MCPServer("openmoe-bft", version=__version__, log_level=config.log_level,
                       instructions="Byzantine-fault-tolerant consensus, robust routing, "
                                    "signed receipts and AI-safety compliance checks.",
                       **auth_kw)
    server.openmoe_state = state  # type: ignore[attr-defined]

    def run(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return fn(state, *args, **kw)
        except OpenMoEBFTError as exc:
            raise ToolError(exc.diagnostics()) from None

    ro = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(annotations=ro)
    async def bft_quorum(
        num_nodes: Annotated[int, Field(strict=True, ge=1, description="Number of replicas n.")],
    ) -> S.QuorumOut:
        """BFT quorum arithmetic for n replicas: f = (n-1)//3 tolerated faults, quorum 2f+1,
        decision threshold max(2f+1, n//2+1); byzantine_safe is true only when n >= 4."""
        return S.QuorumOut(**run(T.bft_quorum, num_nodes))

    @server.tool(annotations=ro)
    def evaluate_eu_ai_act(
        evidence: Annotated[dict[str, Any], Field(description=(
            "Evidence document: dotted keys like 'metadata.riskAssessment' or nested "
            "{'metadata': {...}}."))],
    ) -> S.ComplianceOut:
        """Run the 19 EU AI Act checks (Articles 9-15) over an evidence document."""
        return S.ComplianceOut(**run(T.evaluate_eu_ai_act, evidence))

    @server.tool(annotations=ro)
    def validate_agent_card(
        card: Annotated[dict[str, Any] | str, Field(description=(
            "The A2A Agent Card as a JSON object (an http(s) URL only when the server "
            "allows network access)."))],
    ) -> S.CardVerdictOut:
        """Validate an A2A Agent Card: EU AI Act checks over its metadata and coverage of
        the 14 safety experts' fields."""
        return S.CardVerdictOut(**run(T.validate_agent_card, card))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False))
    def red_team_scan(
        target: Annotated[dict[str, Any] | str, Field(description=(
            "What to probe: {'kind': 'builtin', 'name': 'vulnerable'} or 'builtin:hardened'; "
            "URL and module:function targets only when the operator enabled them."))],
    ) -> S.RedTeamOut:
        """Probe a target with the red-team strategies and score it (risk_score 1.0 = every
        probe defended)."""
        return S.RedTeamOut(**run(T.red_team_scan, target))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    def settle_votes(
        session_id: Annotated[str, Field(min_length=1, description="Voting round id.")],
        total_nodes: Annotated[int, Field(strict=True, ge=1, description="Replicas in the round.")],
        votes: Annotated[list[dict[str, Any]], Field(description=(
            "Ballots: {'node_id', 'value'} | {'node_id', 'value_hash'} | "
            "{'node_id', 'abstain': reason}."))],
    ) -> S.SettlementOut:
        """Cast votes into a round of the server's BFT ledger and return its settlement
        (agreed only with max(2f+1, n//2+1) matching votes; equivocators are flagged)."""
        return S.SettlementOut(**run(T.settle_votes, session_id, total_nodes, votes))

    @server.tool(annotations=ro)
    def robust_route(
        scores: Annotated[list[list[float]] | list[list[list[float]]], Field(description=(
            "Per-replica expert scores [replicas, experts] or [replicas, tokens, experts]."))],
        f: Annotated[int | None, Field(ge=0, description="Byzantine replicas to tolerate "
                                                         "(default (n-1)//3).")] = None,
        method: Annotated[str, Field(description=(
            "median, trimmed_mean, krum, multi_krum, geometric_median, bulyan."))] = "median",
        k: Annotated[int | None, Field(ge=1, description="Return the k best experts.")] = None,
    ) -> S.RouteOut:
        """Fuse replica score vectors with a Byzantine-robust rule; return the winner(s)."""
        return S.RouteOut(**run(T.robust_route, scores, f=f, method=method, k=k))

    @server.tool(annotations=ro)
    def verify_receipts(
        public_keys: Annotated[list[str], Field(description="Ed25519 public keys: PEM or 64 hex.")],
        export: Annotated[str | None, Field(description=(
            "The JSON Lines text of a receipts export."))] = None,
        path: Annotated[str | None, Field(description=(
            "A server-side export file (only when the operator enabled file access)."))] = None,
        require_sealed: bool = True,
    ) -> S.VerifyOut:
        """Verify a receipts export offline against public keys."""
        return S.VerifyOut(**run(T.verify_receipts, public_keys, export=export, path=path,
                                 require_sealed=require_sealed))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=False,
                                             open_world_hint=False))
    def append_receipt(
        payload: Annotated[Any, Field(description="Any JSON value to seal.")],
        trace_id: str = "",
    ) -> S.AppendOut:
        """Seal a payload as the next signed receipt of the server's audit chain."""
        return S.AppendOut(**run(T.append_receipt, payload, trace_id=trace_id))

    @server.tool(annotations=ro)
    def get_receipt(
        receipt_id: Annotated[str, Field(min_length=1, max_length=128, description=(
            "A receipt id (e.g. the x402Receipt id of a paid call)."))],
    ) -> S.AppendOut:
        """A receipt of the server's audit chain by id, to verify offline with receipt_key."""
        return S.AppendOut(**run(T.get_receipt, receipt_id))

    @server.tool(annotations=ro)
    async def receipt_key() -> S.KeyOut:
        """The server's receipt-signing public key (Ed25519), to verify its receipts."""
        return S.KeyOut(**run(T.receipt_key_info))

    @server.tool(annotations=ro)
    async def mcp_attestation() -> S.AttestationOut:
        """This server's MCP tool attestation (expert #6, metadata.mcpAttestation): the
        tool descriptors and their SHA-256 digest over RFC 8785 JSON."""
        listed = [t.model_dump(by_alias=True, mode="json", exclude_none=True)
                  for t in await server.list_tools()]
        return S.AttestationOut(**run(T.mcp_attestation, listed))

    from starlette.requests import Request
    from starlette.responses import JSONResponse

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    @server.custom_route("/receipt-key", methods=["GET"])
    async def receipt_key_route(request: Request) -> JSONResponse:
        return JSONResponse(T.receipt_key_info(state))

    return server


def build_app(config: ServerConfig | None = None, *, state: ServerState | None = None,
              facilitator: Any = None, server: Any = None) -> Any:
    """The Starlette app serving MCP over streamable HTTP at ``config.path``.

    With ``config.paywall`` set, priced tool calls go through the x402 paywall;
    ``facilitator`` settles them (default: :class:`~.paywall.LocalFacilitator`).
    """
    _require_mcp()
    from mcp.server.transport_security import RequestBodyLimitMiddleware
    from starlette.middleware import Middleware

    config = (config or ServerConfig()).check()
    state = state or ServerState(config)
    server = server or build_server(config, state=state)
    app = server.streamable_http_app(streamable_http_path=config.path,
                                     max_request_body_size=config.max_body_bytes,
                                     host=config.host)
    # The SDK's transport limits request bodies itself (max_request_body_size). The
    # paywall reads the body before the transport does, so it gets its own limit in
    # front. user_middleware runs outermost-first: both go after the SDK's auth
    # middleware, so an unauthenticated request never reaches the paywall.
    if config.paywall is not None:
        from .paywall import LocalFacilitator, Paywall, PaywallMiddleware

        app.user_middleware.append(Middleware(RequestBodyLimitMiddleware,
                                              max_body_size=config.max_body_bytes))

        paywall = Paywall(config.paywall, facilitator or LocalFacilitator(store=state.store_lazy),
                          seal=state.append)
        app.user_middleware.append(Middleware(PaywallMiddleware, paywall=paywall,
                                              path=config.path,
                                              require_auth=config.token is not None))
        app.state.paywall = paywall
    app.state.openmoe = state
    app.state.mcp_server = server
    return app
