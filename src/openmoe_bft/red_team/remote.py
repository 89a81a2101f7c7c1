"""Targets that speak agent protocols: an A2A agent (``[a2a]``) and an MCP tool (``[mcp]``).

Both are stateless per probe: a multi-turn conversation is rendered into one prompt
(``User: ... / Assistant: ...``) with :func:`~openmoe_bft.red_team.targets.render_prompt`,
so concurrent probes never share server-side state. The SDKs are imported on first use.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInput, MissingDependency
from .targets import TargetError, render_prompt
from .types import Message, TargetResponse, ToolSpec

__all__ = ["A2ATarget", "MCPToolTarget"]


class A2ATarget:
    """An A2A agent at ``url`` (its agent card is fetched from the well-known path), sent
    one ``SendMessage`` per turn through the official ``a2a-sdk`` client; the answer is
    the text of the returned message, or of the task's artifacts and status message."""

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 canaries: Sequence[str] = (), target_id: str | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput(f"an A2A target needs an http(s) URL, got {url!r}", argument="url")
        self.url = url
        self.headers = dict(headers or {})
        self.canaries = tuple(canaries)
        self.target_id = target_id or f"a2a:{url}"
        self._client: Any = None
        self._http: Any = None
        self._lock: Any = None

    async def _get(self) -> Any:
        import asyncio

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # fetch the agent card once, not once per worker
            return await self._create()

    async def _create(self) -> Any:
        if self._client is None:
            try:
                import httpx
                from a2a.client import ClientConfig, ClientFactory
            except ImportError as exc:
                raise MissingDependency("A2A targets need the a2a extra: pip install "
                                        "'openmoe-bft[a2a]'") from exc
            self._http = httpx.AsyncClient(headers=self.headers, timeout=None)
            factory = ClientFactory(ClientConfig(streaming=False, httpx_client=self._http))
            try:
                self._client = await factory.create_from_url(self.url)
            except Exception as exc:
                raise TargetError(f"cannot reach the A2A agent card at {self.url}: "
                                  f"{type(exc).__name__}: {exc}") from exc
        return self._client

    async def send(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                   session: Mapping[str, Any] | None = None) -> TargetResponse:
        from a2a.types import Message as A2AMessage
        from a2a.types import Part, Role, SendMessageRequest

        client = await self._get()
        msg = A2AMessage(message_id=uuid.uuid4().hex, role=Role.ROLE_USER,
                         parts=[Part(text=render_prompt(messages, session, tools))])
        texts: list[str] = []
        try:
            async for resp in client.send_message(SendMessageRequest(message=msg)):
                texts += _texts(resp)
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(f"A2A call failed: {type(exc).__name__}: {exc}") from exc
        return TargetResponse("\n".join(texts))

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        self._client = self._http = self._lock = None


def _texts(resp: Any) -> list[str]:
    def parts(ps: Any) -> list[str]:
        return [p.text for p in ps if getattr(p, "text", "")]

    out: list[str] = []
    if resp.HasField("message"):
        out += parts(resp.message.parts)
    if resp.HasField("task"):
        for art in resp.task.artifacts:
            out += parts(art.parts)
        if resp.task.status.HasField("message"):
            out += parts(resp.task.status.message.parts)
    if resp.HasField("artifact_update"):
        out += parts(resp.artifact_update.artifact.parts)
    if resp.HasField("status_update") and resp.status_update.status.HasField("message"):
        out += parts(resp.status_update.status.message.parts)
    return out


class MCPToolTarget:
    """An MCP tool as a target: each turn calls ``tool`` with ``{argument: prompt}``
    over Streamable HTTP (``server`` a URL) or in-process (``server`` an ``MCPServer``
    instance, handy in tests); the answer is the tool result's text content. A tool
    error result (``isError``) is a target error."""

    def __init__(self, server: Any, tool: str, *, argument: str = "prompt",
                 canaries: Sequence[str] = (), target_id: str | None = None) -> None:
        if not isinstance(tool, str) or not tool:
            raise InvalidInput("an MCP target needs the tool name", argument="tool")
        self.server = server
        self.tool = tool
        self.argument = argument
        self.canaries = tuple(canaries)
        where = server if isinstance(server, str) else type(server).__name__
        self.target_id = target_id or f"mcp:{where}#{tool}"

    async def send(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                   session: Mapping[str, Any] | None = None) -> TargetResponse:
        try:
            from mcp import Client
        except ImportError as exc:
            raise MissingDependency("MCP targets need the mcp extra: pip install "
                                    "'openmoe-bft[mcp]'") from exc
        prompt = render_prompt(messages, session, tools)
        try:
            async with Client(self.server) as client:
                result = await client.call_tool(self.tool, {self.argument: prompt})
        except Exception as exc:
            raise TargetError(f"MCP call to {self.tool!r} failed: {type(exc).__name__}: "
                              f"{exc}") from exc
        text = "\n".join(getattr(c, "text", "") for c in result.content
                         if getattr(c, "type", "") == "text")
        if getattr(result, "is_error", False) or getattr(result, "isError", False):
            raise TargetError(f"the MCP tool returned an error: {text[:200]}", retryable=False)
        return TargetResponse(text)

    async def aclose(self) -> None:
        return None
