"""Targets: what a scan probes.

A target is anything with ``target_id``, ``canaries`` and an async
``send(messages, *, tools=(), session=None) -> TargetResponse``. Shipped here:

* :class:`CallableTarget` -- a Python callable, sync or async, taking the prompt
  (``fn(prompt) -> response``) or the conversation (``fn(messages)``, chosen when its
  first parameter is named ``messages``/``conversation``/``history``);
* :class:`OpenAIChatTarget` -- an OpenAI-compatible ``/v1/chat/completions`` endpoint
  (tool calls read from ``message.tool_calls``): ``httpx`` for ``https://`` and proxied
  URLs, the lean h11 client of :mod:`openmoe_bft.red_team.http11` for direct ``http://``;
* :class:`A2ATarget` (``[a2a]``) and :class:`MCPToolTarget` (``[mcp]``) in
  :mod:`openmoe_bft.red_team.remote`.

:func:`resolve_target` turns a spec (callable, ``"http(s)://..."``,
``"module:function"``, ``"builtin:vulnerable"``, or a JSON dict) into a target and can
refuse network or import targets (the MCP server does unless enabled).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

from .. import _json as safe_json
from ..errors import InvalidInput, InvalidType, MissingDependency, OpenMoEBFTError
from .types import Message, TargetResponse, ToolCall, ToolSpec

__all__ = [
    "Target",
    "TargetError",
    "TargetRefused",
    "CallableTarget",
    "OpenAIChatTarget",
    "resolve_target",
    "render_prompt",
    "session_message",
    "coerce_response",
]

MAX_RESPONSE_BYTES = 1 << 20


class TargetError(OpenMoEBFTError, RuntimeError):
    """A target failed to answer (HTTP error, bad payload, exception in the callable).

    ``retryable`` is true for failures worth retrying (5xx, 429, connection errors)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)


class TargetRefused(InvalidInput):
    """The target spec names a kind the caller did not allow (network or import)."""


@runtime_checkable
class Target(Protocol):
    target_id: str
    canaries: tuple[str, ...]

    async def send(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                   session: Mapping[str, Any] | None = None) -> TargetResponse: ...


def session_message(session: Mapping[str, Any] | None, tools: Sequence[ToolSpec]) -> str:
    """The application context a probe runs in, as one system message."""
    parts = []
    if session:
        owned = ", ".join(map(str, session.get("owned", ()))) or "nothing"
        parts.append(f"Session: user={session.get('user', 'anonymous')} "
                     f"role={session.get('role', 'user')} owns: {owned}.")
    if tools:
        parts.append("Tools: " + "; ".join(f"{t.name}: {t.description}" for t in tools)
                     + " To call a tool, answer with JSON {\"tool\": name, \"arguments\": {...}}.")
    return " ".join(parts)


def render_prompt(messages: Sequence[Message], session: Mapping[str, Any] | None = None,
                  tools: Sequence[ToolSpec] = ()) -> str:
    """A conversation as one prompt for ``prompt -> response`` callables: the last user
    message alone for a single turn, else a ``User:/Assistant:`` transcript."""
    head = session_message(session, tools)
    turns = [m for m in messages if m.role != "system"]
    if len(turns) == 1:
        body = turns[0].content
    else:
        body = "\n".join(f"{m.role.capitalize()}: {m.content}" for m in turns) + "\nAssistant:"
    return f"[{head}]\n{body}" if head else body


def _tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    calls = []
    for c in raw or ():
        if isinstance(c, ToolCall):
            calls.append(c)
            continue
        if not isinstance(c, Mapping):
            continue
        fn = c.get("function", c)
        name = fn.get("name") if isinstance(fn, Mapping) else None
        args = fn.get("arguments", {}) if isinstance(fn, Mapping) else {}
        if isinstance(args, str):
            try:
                args = safe_json.loads(args)
            except ValueError:
                args = {"_raw": args}
        if isinstance(name, str):
            calls.append(ToolCall(name, args if isinstance(args, Mapping) else {"_raw": args}))
    return tuple(calls)


def coerce_response(out: Any) -> TargetResponse:
    """What a callable returned, as a :class:`TargetResponse` (``str``; ``bytes``; a dict
    with ``content``/``text`` and ``tool_calls``; or a TargetResponse)."""
    if isinstance(out, TargetResponse):
        return out
    if isinstance(out, str):
        return TargetResponse(out)
    if isinstance(out, bytes):
        return TargetResponse(out.decode("utf-8", "replace"))
    if isinstance(out, Mapping):
        text = out.get("content", out.get("text", ""))
        return TargetResponse("" if text is None else str(text), _tool_calls(out.get("tool_calls")))
    raise TargetError(f"the target returned {type(out).__name__}, expected str, dict or "
                      "TargetResponse", retryable=False)


def _wants_messages(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].name in ("messages", "conversation", "history")


class CallableTarget:
    """A Python callable as a target (see the module docstring).

    ``mode``: ``"prompt"``, ``"messages"`` or ``"auto"`` (by the first parameter's
    name). A ``messages`` callable receives ``[{"role", "content"}, ...]`` with the
    session as a leading system message, and ``tools=`` (OpenAI tool dicts) when it
    accepts that keyword. Sync callables run in worker threads, so one that hangs
    costs a thread, not the scan.
    """

    def __init__(self, fn: Callable[..., Any], *, target_id: str | None = None,
                 mode: str = "auto", canaries: Sequence[str] = (),
                 system_prompt: str | None = None) -> None:
        if not callable(fn):
            raise InvalidType("a callable target must be callable", argument="target")
        if mode not in ("auto", "prompt", "messages"):
            raise InvalidInput("mode must be 'auto', 'prompt' or 'messages'", argument="mode")
        self.fn = fn
        self.mode = ("messages" if _wants_messages(fn) else "prompt") if mode == "auto" else mode
        self.target_id = target_id or f"callable:{getattr(fn, '__module__', '?')}." \
                                      f"{getattr(fn, '__qualname__', type(fn).__name__)}"
        self.canaries = tuple(canaries)
        self.system_prompt = system_prompt
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            type(fn).__call__) if not inspect.isroutine(fn) else inspect.iscoroutinefunction(fn)
        try:
            self._takes_tools = "tools" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            self._takes_tools = False
        self._pool: ThreadPoolExecutor | None = None

    def _args(self, messages: Sequence[Message], tools: Sequence[ToolSpec],
              session: Mapping[str, Any] | None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if self.mode == "prompt":
            return (render_prompt(messages, session, tools),), {}
        msgs = []
        if self.system_prompt:
            msgs.append({"role": "system", "content": self.system_prompt})
        head = session_message(session, tools if not self._takes_tools else ())
        if head:
            msgs.append({"role": "system", "content": head})
        msgs += [m.to_dict() for m in messages]
        kwargs = {"tools": [t.to_openai() for t in tools]} if self._takes_tools else {}
        return (msgs,), kwargs

    async def send(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                   session: Mapping[str, Any] | None = None) -> TargetResponse:
        args, kwargs = self._args(messages, tools, session)
        try:
            if self._is_async:
                out = await self.fn(*args, **kwargs)
            else:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=64,
                                                    thread_name_prefix="red-team-target")
                loop = asyncio.get_running_loop()
                out = await loop.run_in_executor(self._pool, lambda: self.fn(*args, **kwargs))
                if inspect.isawaitable(out):
                    out = await out
        except (TargetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # the target's own failure is data, not our crash
            raise TargetError(f"the target raised {type(exc).__name__}: {exc}") from exc
        return coerce_response(out)

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _httpx() -> Any:
    return MissingDependency.require("httpx", purpose="an OpenAI-compatible HTTP target",
                                     extra="red-team")


def _h11() -> Any:
    return MissingDependency.require("h11", purpose="an OpenAI-compatible HTTP target",
                                     extra="red-team")


TRANSPORTS = ("auto", "httpx", "h11")


def _proxied(url: str) -> bool:
    """Whether the environment (``HTTP_PROXY``/``ALL_PROXY``, less ``NO_PROXY``) sends
    ``url`` through a proxy, as httpx's ``trust_env`` would."""
    import urllib.request
    from urllib.parse import urlsplit

    proxies = urllib.request.getproxies()
    if not (proxies.get("http") or proxies.get("all")):
        return False
    host = urlsplit(url).hostname or ""
    return not urllib.request.proxy_bypass(host)


def _chat_url(url: str) -> str:
    base = url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        return base + "/chat/completions"
    return base + "/v1/chat/completions"


class OpenAIChatTarget:
    """An OpenAI-compatible chat-completions endpoint.

    ``url`` is the base (``http://host:8000``, ``.../v1``) or the full
    ``.../chat/completions`` URL; ``system_prompt`` is sent first when given (the
    application's prompt, where canaries can be planted); ``headers`` e.g.
    ``{"Authorization": "Bearer ..."}``. ``max_connections`` bounds the pool; the scan
    sets it to its concurrency.

    ``transport``: ``"httpx"``; ``"h11"`` (:class:`~openmoe_bft.red_team.http11.H11Pool`:
    plain ``http://`` only, no proxies; ~5x less CPU per request, which is what a scan at
    concurrency 32 against a fast local server is bound by); ``"auto"`` (default) picks
    ``h11`` for an ``http://`` URL the environment does not proxy and ``httpx`` otherwise.
    Both cap a response at 1 MiB and report failures as :class:`TargetError`.
    """

    def __init__(self, url: str, *, model: str = "default", headers: Mapping[str, str] | None = None,
                 system_prompt: str | None = None, canaries: Sequence[str] = (),
                 max_connections: int = 32, target_id: str | None = None,
                 extra_body: Mapping[str, Any] | None = None, transport: str = "auto") -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InvalidInput(f"an OpenAI-compatible target needs an http(s) URL, got {url!r}",
                               argument="url")
        if transport not in TRANSPORTS:
            raise InvalidInput(f"transport must be one of {', '.join(TRANSPORTS)}, got "
                               f"{transport!r}", argument="transport")
        self.url = _chat_url(url)
        if transport == "h11" and not self.url.startswith("http://"):
            raise InvalidInput("the h11 transport speaks plain http:// only; use "
                               "transport='httpx' (or 'auto') for https", argument="transport")
        if transport == "auto":
            transport = "h11" if self.url.startswith("http://") and not _proxied(self.url) \
                else "httpx"
        self.transport = transport
        self.model = model
        self.headers = dict(headers or {})
        self.system_prompt = system_prompt
        self.canaries = tuple(canaries)
        self.target_id = target_id or f"openai:{self.url}#{model}"
        self.max_connections = max_connections
        self.extra_body = dict(extra_body or {})
        self._clients: list[Any] = []
        self._pool: Any = None

    def configure_concurrency(self, workers: int) -> None:
        """Called by the engine before a scan: one connection per worker."""
        if not self._clients and self._pool is None:
            self.max_connections = max(1, int(workers))

    def _http(self) -> Any:
        """The client for the current engine worker. The pool is sharded (up to 8
        ``httpx.AsyncClient`` s sharing one SSL context): one pool serving 32 concurrent
        connections costs several times more CPU per request than 8 small ones."""
        if not self._clients:
            import ssl

            httpx = _httpx()
            shards = min(8, self.max_connections)
            per = -(-self.max_connections // shards)
            limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
            # one SSL context for every shard (loading CA paths costs ~20 ms); none for http
            ctx: Any = ssl.create_default_context() if self.url.startswith("https") else False
            self._clients = [httpx.AsyncClient(headers=self.headers, limits=limits, timeout=None,
                                               verify=ctx) for _ in range(shards)]
        from .engine import WORKER

        return self._clients[WORKER.get() % len(self._clients)]

    def body(self, messages: Sequence[Message], tools: Sequence[ToolSpec],
             session: Mapping[str, Any] | None) -> dict[str, Any]:
        msgs = []
        if self.system_prompt:
            msgs.append({"role": "system", "content": self.system_prompt})
        head = session_message(session, ())
        if head:
            msgs.append({"role": "system", "content": head})
        msgs += [m.to_dict() for m in messages]
        body: dict[str, Any] = {"model": self.model, "messages": msgs, "temperature": 0,
                                **self.extra_body}
        if tools:
            body["tools"] = [t.to_openai() for t in tools]
        return body

    async def send(self, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (),
                   session: Mapping[str, Any] | None = None) -> TargetResponse:
        body = self.body(messages, tools, session)
        if self.transport == "h11":
            status, raw = await self._send_h11(body)
        else:
            status, raw = await self._send_httpx(body)
        if status >= 400:
            raise TargetError(f"HTTP {status}: {raw[:200].decode('utf-8', 'replace')}",
                              retryable=status == 429 or status >= 500)
        try:
            data = safe_json.loads(raw)
            msg = data["choices"][0]["message"]
            content = msg.get("content") or ""
            if not isinstance(content, str):
                content = json.dumps(content)
            return TargetResponse(content, _tool_calls(msg.get("tool_calls")))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TargetError("not an OpenAI chat completion: "
                              f"{raw[:120].decode('utf-8', 'replace')!r}",
                              retryable=False) from exc

    async def _send_h11(self, body: dict[str, Any]) -> tuple[int, bytes]:
        h11 = _h11()
        from .http11 import H11Pool, ResponseTooLarge

        if self._pool is None:
            self._pool = H11Pool(self.url, headers=self.headers,
                                 max_connections=self.max_connections,
                                 max_body=MAX_RESPONSE_BYTES)
        try:
            return await self._pool.post(json.dumps(body).encode())
        except ResponseTooLarge as exc:
            raise TargetError(str(exc), retryable=False) from exc
        except (OSError, h11.ProtocolError) as exc:  # ConnectionError is an OSError
            raise TargetError(f"HTTP request failed: {type(exc).__name__}: {exc}") from exc

    async def _send_httpx(self, body: dict[str, Any]) -> tuple[int, bytes]:
        httpx = _httpx()
        try:
            async with self._http().stream("POST", self.url, json=body) as r:
                chunks, size = [], 0
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_RESPONSE_BYTES:
                        raise TargetError(f"response larger than {MAX_RESPONSE_BYTES} bytes",
                                          retryable=False)
                    chunks.append(chunk)
                return r.status_code, b"".join(chunks)
        except httpx.HTTPError as exc:
            raise TargetError(f"HTTP request failed: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()


def _import(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"cannot import target {ref!r}: {exc}", argument="target") from None
    if not callable(obj):
        raise InvalidType(f"target {ref!r} is not callable", argument="target")
    return obj


_KINDS = ("openai", "callable", "a2a", "mcp", "builtin")


def resolve_target(spec: Any, *, allow_network: bool = True, allow_import: bool = True) -> Any:
    """A target from ``spec`` (see the module docstring).

    Dict specs: ``{"kind": "openai", "url", "model"?, "headers"?, "system_prompt"?,
    "canaries"?, "transport"?}``, ``{"kind": "callable", "ref": "module:function"}``, ``{"kind":
    "a2a", "url"}``, ``{"kind": "mcp", "url", "tool", "argument"?}``, ``{"kind":
    "builtin", "name": "vulnerable"|"hardened"}``. Raises :class:`TargetRefused` for a
    network target when ``allow_network`` is false and for an import when
    ``allow_import`` is false.
    """
    if hasattr(spec, "send") and hasattr(spec, "target_id"):
        return spec
    if callable(spec):
        return CallableTarget(spec)
    if isinstance(spec, str):
        s = spec.strip()
        if s.startswith("builtin:"):
            return resolve_target({"kind": "builtin", "name": s.split(":", 1)[1]})
        if s.startswith(("http://", "https://")):
            return resolve_target({"kind": "openai", "url": s}, allow_network=allow_network)
        if s.startswith(("a2a+http://", "a2a+https://")):
            return resolve_target({"kind": "a2a", "url": s[4:]}, allow_network=allow_network)
        if ":" in s and not s.startswith(":"):
            return resolve_target({"kind": "callable", "ref": s}, allow_import=allow_import)
        raise InvalidInput(f"cannot tell what target {spec!r} is: use an http(s) URL, "
                           "'module:function', 'builtin:vulnerable' or a dict spec",
                           argument="target")
    if not isinstance(spec, Mapping):
        raise InvalidType(f"a target is a callable, a string or a dict, got "
                          f"{type(spec).__name__}", argument="target")
    kind = spec.get("kind", "openai" if "url" in spec else None)
    if kind not in _KINDS:
        raise InvalidInput(f"target kind {kind!r} is not one of {', '.join(_KINDS)}",
                           argument="target")
    canaries = tuple(spec.get("canaries", ()))
    if kind == "builtin":
        from .builtin import builtin_target

        return builtin_target(str(spec.get("name", "")))
    if kind == "callable":
        if not allow_import:
            raise TargetRefused("importing a module:function target is disabled here; the "
                                "operator must enable import targets", argument="target")
        ref = spec.get("ref") or spec.get("name")
        if not isinstance(ref, str) or ":" not in ref:
            raise InvalidInput("a callable target needs ref='module:function'", argument="target")
        return CallableTarget(_import(ref), target_id=f"callable:{ref}",
                              mode=spec.get("mode", "auto"), canaries=canaries,
                              system_prompt=spec.get("system_prompt"))
    if not allow_network:
        raise TargetRefused(f"{kind} targets reach the network, which is disabled here; the "
                            "operator must enable network targets", argument="target")
    url = spec.get("url")
    if not isinstance(url, str):
        raise InvalidInput(f"a {kind} target needs 'url'", argument="target")
    if kind == "openai":
        return OpenAIChatTarget(url, model=str(spec.get("model", "default")),
                                headers=spec.get("headers"), canaries=canaries,
                                system_prompt=spec.get("system_prompt"),
                                transport=str(spec.get("transport", "auto")))
    try:
        from . import remote
    except ImportError as exc:  # pragma: no cover - remote has no hard deps itself
        raise MissingDependency(str(exc)) from exc
    if kind == "a2a":
        return remote.A2ATarget(url, headers=spec.get("headers"), canaries=canaries)
    tool = spec.get("tool")
    if not isinstance(tool, str):
        raise InvalidInput("an mcp target needs 'tool' (the tool to call)", argument="target")
    return remote.MCPToolTarget(url, tool, argument=str(spec.get("argument", "prompt")),
                                canaries=canaries)
