"""Fetching a published Agent Card over HTTP(S), bounded.

``fetch_card("https://agent.example")`` tries ``/.well-known/agent-card.json`` (A2A
1.0 and 0.3) and, on 404, the older ``/.well-known/agent.json``; a URL with a path is
fetched as given. Only ``http`` and ``https`` URLs are fetched. Limits: a connect /
read timeout per operation, an overall deadline for the whole body (a server that
sends a byte a second is cut off), at most ``max_redirects`` redirects, and at most
``max_bytes`` of body — the response is streamed and abandoned past the limit (a
``Content-Length`` over it is refused before reading). Uses ``httpx`` (``[a2a]``).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import InvalidInput, MissingDependency
from ._json import MAX_CARD_BYTES, parse_json_bytes

__all__ = ["CardFetchError", "FetchedCard", "WELL_KNOWN_PATHS", "fetch_card"]

WELL_KNOWN_PATHS = ("/.well-known/agent-card.json", "/.well-known/agent.json")


class CardFetchError(InvalidInput):
    """The card could not be fetched: network error, status, timeout, too large,
    too many redirects, or not JSON. ``url`` is the URL that failed."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message, argument="card")


@dataclass(frozen=True)
class FetchedCard:
    """A fetched card: the parsed JSON ``document``, the ``url`` it came from (after
    redirects), the HTTP ``status`` and the URLs ``tried``."""

    document: Any
    url: str
    status: int
    tried: tuple[str, ...]


def _httpx() -> Any:
    return MissingDependency.require("httpx", purpose="fetching a card by URL", extra="a2a")


def _candidates(url: str) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"only http and https URLs are fetched, got {parts.scheme!r}",
                           argument="card")
    if not parts.hostname:
        raise InvalidInput(f"URL {url[:200]!r} has no host", argument="card")
    if parts.path in ("", "/") and not parts.query:
        return [urlunsplit((parts.scheme, parts.netloc, p, "", "")) for p in WELL_KNOWN_PATHS]
    return [url]


def resolve_host(host: str) -> list[str]:
    """The addresses ``host`` resolves to (``socket.getaddrinfo``)."""
    return [str(info[4][0]) for info in socket.getaddrinfo(host, None)]


def check_public_host(host: str, resolve: Callable[[str], list[str]] = resolve_host) -> None:
    """Raise :class:`CardFetchError` unless every address ``host`` resolves to is public
    (not loopback, private, link-local, reserved, multicast or unspecified)."""
    try:
        addrs = resolve(host)
    except OSError as exc:
        raise CardFetchError(f"cannot resolve {host!r}: {exc}", url=host) from None
    for text in addrs:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved \
                or addr.is_multicast or addr.is_unspecified:
            raise CardFetchError(f"{host!r} resolves to the non-public address {addr}; "
                                 "pass allow_private=True to fetch it", url=host)


_check_public = check_public_host


def fetch_card(
    url: str,
    *,
    timeout: float = 5.0,
    deadline: float = 15.0,
    max_bytes: int = MAX_CARD_BYTES,
    max_redirects: int = 3,
    allow_private: bool = True,
    transport: Any = None,
    clock: Callable[[], float] = time.monotonic,
    resolve: Callable[[str], list[str]] = resolve_host,
) -> FetchedCard:
    """Fetch and parse an Agent Card (see the module docstring).

    ``timeout`` — seconds per connect / read / write; ``deadline`` — seconds for the
    whole fetch; ``allow_private`` — False refuses hosts that resolve to loopback,
    private or link-local addresses, for the URL and every redirect (use it when the
    URL comes from someone else; the check resolves the name before the request, so a
    DNS answer that changes in between is not caught). ``transport`` — an ``httpx`` transport (tests).
    Raises :class:`CardFetchError` (an :class:`~openmoe_bft.errors.InvalidInput`).
    """
    if not isinstance(url, str):
        raise InvalidInput(f"url must be a string, got {type(url).__name__}", argument="card")
    for name, v in (("timeout", timeout), ("deadline", deadline)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise InvalidInput(f"{name} must be a positive number, got {v!r}", argument=name)
    if isinstance(max_redirects, bool) or not isinstance(max_redirects, int) or max_redirects < 0:
        raise InvalidInput(f"max_redirects must be an int >= 0, got {max_redirects!r}",
                           argument="max_redirects")
    candidates = _candidates(url)
    httpx = _httpx()
    hooks: dict[str, list[Any]] = {}
    if not allow_private:
        def _public_only(request: Any) -> None:  # every request, redirects included
            _check_public(request.url.host, resolve)

        hooks["request"] = [_public_only]
    start = clock()
    tried: list[str] = []
    with httpx.Client(follow_redirects=True, max_redirects=max_redirects, transport=transport,
                      timeout=httpx.Timeout(timeout), event_hooks=hooks,
                      headers={"Accept": "application/json",
                               "Accept-Encoding": "identity"}) as client:
        for i, target in enumerate(candidates):
            tried.append(target)
            try:
                with client.stream("GET", target) as resp:
                    final = str(resp.url)
                    if urlsplit(final).scheme not in ("http", "https"):
                        raise CardFetchError(f"redirected to a non-http URL {final[:200]!r}",
                                             url=target)
                    if resp.status_code in (404, 410) and i + 1 < len(candidates):
                        continue
                    if resp.status_code != 200:
                        raise CardFetchError(f"GET {target} answered HTTP {resp.status_code}",
                                             url=target)
                    length = resp.headers.get("content-length")
                    if length is not None and length.isdigit() and int(length) > max_bytes:
                        raise CardFetchError(f"{target} announces {length} bytes, more than "
                                             f"the limit of {max_bytes}", url=target)
                    if resp.headers.get("content-encoding", "identity") not in ("identity", ""):
                        raise CardFetchError(f"{target} sent a compressed body "
                                             f"({resp.headers['content-encoding']}); "
                                             "only identity encoding is read", url=target)
                    body = bytearray()
                    for chunk in resp.iter_bytes():  # identity: the bytes as they arrive
                        body += chunk
                        if len(body) > max_bytes:
                            raise CardFetchError(f"{target} sent more than the limit of "
                                                 f"{max_bytes} bytes; cut off", url=target)
                        if clock() - start > deadline:
                            raise CardFetchError(f"{target} did not finish within {deadline} s",
                                                 url=target)
            except CardFetchError:
                raise
            except httpx.TooManyRedirects:
                raise CardFetchError(f"{target} redirected more than {max_redirects} times",
                                     url=target) from None
            except httpx.TimeoutException:
                raise CardFetchError(f"{target} timed out after {timeout} s", url=target) \
                    from None
            except httpx.HTTPError as exc:
                raise CardFetchError(f"cannot fetch {target}: {type(exc).__name__}: {exc}",
                                     url=target) from None
            doc = parse_json_bytes(bytes(body), source=target, max_bytes=max_bytes)
            return FetchedCard(document=doc, url=final, status=200, tried=tuple(tried))
    raise CardFetchError(f"no agent card at {' or '.join(tried)} (HTTP 404)", url=url)
