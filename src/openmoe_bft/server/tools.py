"""The MCP tools as plain functions over library calls (no ``mcp`` import here).

Each takes the :class:`~openmoe_bft.server.state.ServerState` first and returns a
JSON-ready dict. Bad input raises an :class:`~openmoe_bft.errors.OpenMoEBFTError`
(the MCP layer turns it into a tool error with the message). Anything that would
read a server-side file, fetch a URL or import code is refused with
:class:`NotAllowed` unless the operator enabled it in the config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInput, InvalidType

__all__ = [
    "NotAllowed",
    "bft_quorum",
    "evaluate_eu_ai_act",
    "validate_agent_card",
    "red_team_scan",
    "settle_votes",
    "robust_route",
    "verify_receipts",
    "append_receipt",
    "receipt_key_info",
    "mcp_attestation",
    "get_receipt",
]

_MAX_EXPORT_CHARS = 4 * 1024 * 1024


class NotAllowed(InvalidInput):
    """The call needs a capability (network, files, imports) the operator did not enable."""


def _mapping(value: Any, argument: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidType(f"expected a JSON object, got {type(value).__name__}", argument=argument)
    return value


# -- quorum, votes, routing ---------------------------------------------------------------

def bft_quorum(state: Any, num_nodes: int) -> dict[str, Any]:
    """Quorum arithmetic for ``num_nodes`` replicas (SPEC module 12)."""
    from ..bft.quorum import check_node_count, decision_threshold, quorum_size, tolerated_faults

    n = check_node_count(num_nodes, "num_nodes")
    f = tolerated_faults(n)
    return {"num_nodes": n, "tolerated_faults": f, "quorum_size": quorum_size(n),
            "decision_threshold": decision_threshold(n), "byzantine_safe": f >= 1}


def settle_votes(state: Any, session_id: str, total_nodes: int,
                 votes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Cast ``votes`` (``{"node_id", "value"}`` or ``{"node_id", "value_hash"}`` or
    ``{"node_id", "abstain": reason}``) into round ``session_id`` of the server's ledger,
    atomically, and return the round's settlement. Rounds persist across calls (and
    restarts, with a store), so replicas may vote from separate calls; a node voting two
    values is an equivocator and neither vote counts."""
    from ..bft import Ballot

    if isinstance(votes, (str, bytes)) or not isinstance(votes, Sequence):
        raise InvalidType("votes must be a list of objects", argument="votes")
    ballots = []
    for i, v in enumerate(votes):
        v = _mapping(v, f"votes[{i}]")
        unknown = set(v) - {"node_id", "value", "value_hash", "abstain"}
        if unknown:
            raise InvalidInput(f"unknown keys {sorted(unknown)}; use node_id with one of value, "
                               "value_hash or abstain", argument=f"votes[{i}]")
        given = [k for k in ("value", "value_hash", "abstain") if k in v]
        if len(given) != 1 or "node_id" not in v:
            raise InvalidInput("each vote needs node_id and exactly one of value, value_hash, "
                               "abstain", argument=f"votes[{i}]")
        if "abstain" in v:
            ballots.append(Ballot(v["node_id"], reason=str(v["abstain"])))
        elif "value" in v:
            ballots.append(Ballot(v["node_id"], value=v["value"]))
        else:
            ballots.append(Ballot(v["node_id"], value_hash=v["value_hash"]))
    ledger = state.ledger
    ledger.record(session_id, ballots, total_nodes=total_nodes)
    return ledger.settle(session_id).to_dict()


def robust_route(state: Any, scores: Any, f: int | None = None, method: str = "median",
                 k: int | None = None) -> dict[str, Any]:
    """Byzantine-robust fusion of replica score vectors; the winning expert(s)."""
    from ..aggregators import robust_route as _route
    from ..bft.quorum import tolerated_faults

    if not isinstance(method, str):
        raise InvalidType("method must be a rule name", argument="method")
    if isinstance(scores, (str, bytes)) or not isinstance(scores, Sequence):
        raise InvalidType("scores must be a list of per-replica score lists", argument="scores")
    winners = _route([list(r) if isinstance(r, Sequence) and not isinstance(r, str) else r
                      for r in scores], f=f, method=method, k=k)
    n = len(scores)
    return {"winner": winners, "method": method,
            "f": tolerated_faults(n) if f is None else f, "replicas": n, "k": k}


# -- compliance ---------------------------------------------------------------------------

def evaluate_eu_ai_act(state: Any, evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The 19 EU AI Act checks over an evidence document (dotted or nested keys)."""
    from ..eu_ai_act import evaluate

    return evaluate(_mapping(evidence, "evidence")).to_dict()


def validate_agent_card(state: Any, card: Any) -> dict[str, Any]:
    """Validate an A2A Agent Card given inline (a JSON object). An ``http(s)`` URL is
    fetched only when the operator enabled network access; file paths never are."""
    from ..a2a import validate_card

    if isinstance(card, str):
        if not card.lower().startswith(("http://", "https://")):
            raise InvalidInput("a card is a JSON object (or an http(s) URL when the server "
                               "allows network access)", argument="card")
        if not state.config.allow_network:
            raise NotAllowed("fetching cards by URL is disabled on this server (the operator "
                             "can enable it with --allow-network); send the card JSON inline",
                             argument="card")
        return validate_card(card, allow_private=False).to_dict()
    return validate_card(dict(_mapping(card, "card"))).to_dict()


def red_team_scan(state: Any, target: Any) -> dict[str, Any]:
    """Run the red-team strategies against ``target`` (``{"kind": "builtin", "name":
    "vulnerable"}`` or ``"builtin:hardened"``); URL and ``module:function`` targets only
    when the operator enabled network / import access."""
    from .. import red_team

    if not isinstance(target, (str, Mapping)):
        raise InvalidType(f"target must be an object or a string, got {type(target).__name__}",
                          argument="target")
    cfg = state.config
    try:
        resolved = red_team.resolve_target(target, allow_network=cfg.allow_network,
                                           allow_import=cfg.allow_import)
    except red_team.TargetRefused as exc:
        text = str(exc)
        arg = getattr(exc, "argument", None)
        if arg and text.startswith(f"{arg}: "):
            text = text[len(arg) + 2:]
        raise NotAllowed(f"{text} (the operator can enable it with --allow-network / "
                         "--allow-import)", argument="target") from None
    url = target.get("url") if isinstance(target, Mapping) else target
    if cfg.allow_network and isinstance(url, str) and "://" in url:
        _refuse_private(url.removeprefix("a2a+"))
    report = red_team.scan(resolved, timeout=cfg.red_team_timeout,
                           allow_network=cfg.allow_network, allow_import=cfg.allow_import)
    out = report.to_dict(attempts=False)
    out["a2a_evidence"] = red_team.to_a2a_evidence(report)
    return out


def _refuse_private(url: str) -> None:
    """A caller-named URL must be on the public internet: the server does not probe the
    operator's own network for whoever holds the token (as for agent-card fetches)."""
    from urllib.parse import urlsplit

    from ..a2a.fetch import check_public_host

    host = urlsplit(url).hostname
    if not host:
        raise InvalidInput(f"target URL {url[:200]!r} has no host", argument="target")
    try:
        check_public_host(host)
    except InvalidInput as exc:
        raise NotAllowed(f"red-team target {host!r} is not public ({exc}); scan your own "
                         "network's agents with the `openmoe-bft red-team scan` CLI instead",
                         argument="target") from None


# -- receipts -----------------------------------------------------------------------------

def receipt_key_info(state: Any) -> dict[str, Any]:
    """The server's receipt-signing public key (PEM) and key id."""
    key = state.receipt_key
    return {"algorithm": "ed25519", "key_id": key.key_id,
            "public_key_pem": key.public_key.to_pem().decode("ascii"),
            "public_key_hex": key.public_key.raw.hex()}


def append_receipt(state: Any, payload: Any, trace_id: str = "") -> dict[str, Any]:
    """Seal ``payload`` as the next receipt of the server's chain (persistent only when
    the operator configured a store) and return it with the signing key id."""
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"payload must be plain JSON: {exc}", argument="payload") from None
    receipt = state.append(payload, trace_id=trace_id)
    return {"receipt": receipt.to_dict(), "seq": len(state.chain) - 1,
            "key_id": state.receipt_key.key_id}


def get_receipt(state: Any, receipt_id: str) -> dict[str, Any]:
    """The receipt with ``receipt_id`` from the server's chain (e.g. a sealed x402
    payment named by an ``x402Receipt`` id), with its sequence number and key id."""
    if not isinstance(receipt_id, str) or not receipt_id:
        raise InvalidType("receipt_id must be a non-empty string", argument="receipt_id")
    for seq, receipt in enumerate(state.chain.iter_receipts()):
        if receipt.receipt_id == receipt_id:
            return {"receipt": receipt.to_dict(), "seq": seq, "key_id": state.receipt_key.key_id}
    raise InvalidInput(f"no receipt {receipt_id[:80]!r} in this server's chain",
                       argument="receipt_id")


def verify_receipts(state: Any, public_keys: Sequence[str], export: str | None = None,
                    path: str | None = None, require_sealed: bool = True) -> dict[str, Any]:
    """Verify a receipts export (JSON Lines text, inline) offline against public keys
    (PEM or 64 hex digits). ``path`` names a server-side file and is refused unless
    the operator enabled file access."""
    from ..receipts import load_verifier, verify_export

    if isinstance(public_keys, str) or not isinstance(public_keys, Sequence):
        raise InvalidType("public_keys must be a list of PEM / hex strings", argument="public_keys")
    if not public_keys:
        raise InvalidInput("give at least one public key (PEM or 64 hex digits)",
                           argument="public_keys")
    keys = []
    for i, k in enumerate(public_keys):
        if not isinstance(k, str):
            raise InvalidType("each public key is a string", argument=f"public_keys[{i}]")
        keys.append(load_verifier(k.encode("utf-8")))
    if (export is None) == (path is None):
        raise InvalidInput("give exactly one of export (the JSON Lines text) or path",
                           argument="export")
    if path is not None:
        if not state.config.allow_files:
            raise NotAllowed("reading server-side files is disabled on this server (the "
                             "operator can enable it with --allow-files); send the export "
                             "text inline as export", argument="path")
        return verify_export(path, keys, require_sealed=require_sealed).to_dict()
    if not isinstance(export, str):
        raise InvalidType("export is the JSON Lines text of a receipts export", argument="export")
    if len(export) > _MAX_EXPORT_CHARS:
        raise InvalidInput(f"export is larger than {_MAX_EXPORT_CHARS} characters",
                           argument="export")
    lines = export.encode("utf-8").splitlines(keepends=True)
    return verify_export(lines, keys, require_sealed=require_sealed).to_dict()


def mcp_attestation(state: Any, tools: Sequence[Mapping[str, Any]], *,
                    today: str | None = None) -> dict[str, Any]:
    """An ``mcpAttestation`` (expert #6) for this server's tools: the descriptors
    (name, input and output schema), their SHA-256 digest over RFC 8785 JSON
    (:func:`openmoe_bft.experts.mcp_digest`), who attested and when."""
    from datetime import datetime, timezone

    from ..experts import mcp_digest

    descriptors = [{"name": t["name"], "inputSchema": t.get("inputSchema"),
                    "outputSchema": t.get("outputSchema")} for t in tools]
    day = today or datetime.now(timezone.utc).date().isoformat()
    return {"tools": descriptors, "digest": mcp_digest(descriptors),
            "attestedBy": "openmoe-bft MCP server", "attestedOn": day}
