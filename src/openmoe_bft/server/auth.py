"""Bearer-token auth through the MCP SDK's own auth support.

:class:`StaticTokenVerifier` implements the SDK's ``TokenVerifier`` protocol; the
SDK's ``BearerAuthBackend`` / ``RequireAuthMiddleware`` then refuse requests without
the token with HTTP 401 (and a ``WWW-Authenticate`` header).
"""

from __future__ import annotations

import hmac
from typing import Any

__all__ = ["StaticTokenVerifier", "auth_settings"]


class StaticTokenVerifier:
    """Accept exactly one bearer token (compared in constant time)."""

    def __init__(self, token: str, *, client_id: str = "openmoe-bft-client") -> None:
        self._token = token.encode("utf-8")
        self._client_id = client_id

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        if hmac.compare_digest(token.encode("utf-8"), self._token):
            return AccessToken(token=token, client_id=self._client_id, scopes=[])
        return None

    def __repr__(self) -> str:  # never print the token
        return "StaticTokenVerifier(<token>)"


def auth_settings(url: str) -> Any:
    """``AuthSettings`` for a resource server that checks its own static token (no
    OAuth authorization server, no protected-resource metadata route)."""
    from mcp.server.auth.settings import AuthSettings

    return AuthSettings(issuer_url=url, resource_server_url=None,
                        validate_token_resource=False)
