"""An LLM-backed extractor for any OpenAI-compatible chat-completions endpoint.

``OpenAIExtractor(base_url="http://localhost:8000/v1", model="...")`` is a plain
``list[MemoryEvent] -> list[Atom]`` callable, so ``memory.dream(extractor=...)``
uses it like the default. It sends the events in batches, numbered, and asks for
JSON ``{"facts": [{"event": <number>, "text": ..., "salience": 0..1, "key": ...}]}``;
the reply is validated (unknown event numbers, empty texts and malformed JSON are
refused, never guessed). Uses only the standard library (``urllib``); the API key
is passed explicitly, never read from the environment behind your back.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import _json as safe_json
from ..errors import InvalidInput, OpenMoEBFTError
from .text import words
from .types import Atom, MemoryEvent, digest_id

__all__ = ["ExtractionError", "OpenAIExtractor", "PROMPT"]

PROMPT = (
    "You distil conversation events into atomic facts for an agent's long-term memory. "
    "Each fact is one short, self-contained statement. Give a fact that fills a slot "
    "which can only have one value at a time (where the user lives, their name, their "
    "employer, a current preference) a \"key\" such as \"user.location\". Salience is 0..1: "
    "how much the fact matters later. Reply with JSON only: "
    '{"facts": [{"event": <event number>, "text": "...", "salience": 0.5, "key": null}]}'
)

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


class ExtractionError(OpenMoEBFTError, RuntimeError):
    """The model endpoint failed or replied with something that is not the facts asked for."""


@dataclass(frozen=True)
class OpenAIExtractor:
    """L0 → L1 with a chat model behind an OpenAI-compatible ``/chat/completions``."""

    base_url: str
    model: str
    api_key: str | None = None
    batch_size: int = 20
    timeout_s: float = 60.0
    temperature: float = 0.0
    prompt: str = PROMPT

    def __post_init__(self) -> None:
        if not isinstance(self.base_url, str) or not self.base_url.startswith(("http://",
                                                                               "https://")):
            raise InvalidInput(f"expected an http(s) URL, got {self.base_url!r}",
                               argument="base_url")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) \
                or self.batch_size < 1:
            raise InvalidInput(f"must be an int >= 1, got {self.batch_size!r}",
                               argument="batch_size")

    def __call__(self, events: Sequence[MemoryEvent]) -> list[Atom]:
        atoms: list[Atom] = []
        for i in range(0, len(events), self.batch_size):
            atoms += self._batch(list(events[i:i + self.batch_size]))
        return atoms

    def _batch(self, events: list[MemoryEvent]) -> list[Atom]:
        listing = "\n".join(f"[{n}] ({e.role}) {e.content}" for n, e in enumerate(events))
        reply = self._post({
            "model": self.model, "temperature": self.temperature,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "system", "content": self.prompt},
                         {"role": "user", "content": listing}],
        })
        try:
            content = reply["choices"][0]["message"]["content"]
            facts = safe_json.loads(_FENCE.sub("", content.strip()))["facts"]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ExtractionError(f"the model's reply is not {{\"facts\": [...]}} JSON "
                                  f"({type(exc).__name__}: {exc})") from None
        if not isinstance(facts, list):
            raise ExtractionError("'facts' in the model's reply is not a list")
        return [self._atom(f, events) for f in facts]

    def _atom(self, fact: Any, events: list[MemoryEvent]) -> Atom:
        if not isinstance(fact, dict):
            raise ExtractionError(f"a fact is not an object: {fact!r}")
        n, text = fact.get("event"), fact.get("text")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(events):
            raise ExtractionError(f"fact {fact!r} names no event of the batch (0..{len(events) - 1})")
        if not isinstance(text, str) or not words(text):
            raise ExtractionError(f"fact {fact!r} has no text")
        key = fact.get("key") or None
        if key is not None and not isinstance(key, str):
            raise ExtractionError(f"fact {fact!r} has a key that is not a string")
        sal = fact.get("salience", 0.5)
        sal = min(1.0, max(0.0, float(sal))) if isinstance(sal, (int, float)) else 0.5
        ev = events[n]
        norm = " ".join(words(text))
        return Atom(digest_id("at", key or "", norm), [ev.id], text.strip(), sal, ev.timestamp,
                    key=key)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.base_url.rstrip("/") + "/chat/completions",
                                     data=json.dumps(body).encode(), headers=headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310
                return safe_json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise ExtractionError(f"{self.base_url} answered HTTP {exc.code}: "
                                  f"{exc.read()[:200]!r}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ExtractionError(f"cannot reach {self.base_url}: {exc}") from None
