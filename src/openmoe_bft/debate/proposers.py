"""Ready-made proposers: an OpenAI-compatible chat-completions client (stdlib only).

::

    proposer = openai_proposer("http://localhost:8000/v1", model="llama-3",
                               question="Should expert 3 handle this token?")
    run_debate("d-1", {"llm": proposer, "rule": lambda t: ("yes", "rule says yes")})

The model sees the question, the transcript so far and the instruction to answer with
a first line ``POSITION: <short answer>``; :func:`parse_position` reads that line (the
position is stripped and lower-cased so that ``Yes`` and ``yes`` are one vote). A reply
without it raises, and the debate counts the proposer as abstaining for the round.
Any server that speaks ``POST {base_url}/chat/completions`` works (OpenAI, vLLM,
llama.cpp, Ollama's ``/v1``); no SDK is needed.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .. import _json as safe_json
from ..errors import InvalidInput, InvalidType, OpenMoEBFTError

__all__ = ["ProposerError", "openai_proposer", "parse_position", "render_prompt"]

_POSITION = re.compile(r"^\s*\**\s*POSITION\s*\**\s*[:=-]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
INSTRUCTION = ("Answer with a first line of the form 'POSITION: <short answer>', then argue "
               "for it in a few sentences. You may change your position after reading the "
               "others.")


class ProposerError(OpenMoEBFTError, RuntimeError):
    """A proposer could not produce a position (HTTP error, malformed reply)."""


def parse_position(content: str) -> tuple[str, str]:
    """``(position, message)`` from a reply whose first ``POSITION:`` line names it."""
    match = _POSITION.search(content)
    if match is None:
        raise ProposerError(f"the reply has no 'POSITION: ...' line: {content[:80]!r}")
    position = match.group(1).strip().strip("*").strip().rstrip(".").lower()
    if not position:
        raise ProposerError("the reply's POSITION line is empty")
    return position, content.strip()


def render_prompt(question: str, transcript: Sequence[tuple[Any, str]], me: str | None
                  ) -> str:
    lines = [f"Question: {question}", ""]
    if transcript:
        lines.append("Debate so far:")
        lines.extend(f"- {pid}{' (you)' if me is not None and str(pid) == me else ''}: {msg}"
                     for pid, msg in transcript)
    else:
        lines.append("You speak first.")
    lines += ["", INSTRUCTION]
    return "\n".join(lines)


def openai_proposer(
    base_url: str,
    *,
    model: str,
    question: str,
    name: str | None = None,
    api_key: str | None = None,
    system: str = "You are one voice in a structured debate. Be concise and decisive.",
    temperature: float = 0.0,
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
    parse: Callable[[str], tuple[Any, str]] = parse_position,
) -> Callable[[list[tuple[Any, str]]], tuple[Any, str]]:
    """A proposer backed by an OpenAI-compatible ``/chat/completions`` endpoint.

    ``base_url`` is the API root (``http://host:port/v1``); ``name`` is how the
    transcript marks this proposer's own earlier messages; ``timeout`` bounds the
    HTTP request (the debate's own ``timeout`` bounds the whole call). ``parse``
    turns the reply text into ``(position, message)``.
    """
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise InvalidInput(f"base_url must be an http(s) URL, got {base_url!r:.80}",
                           argument="base_url")
    for arg, value in (("model", model), ("question", question)):
        if not isinstance(value, str) or not value:
            raise InvalidType(f"{arg} must be a non-empty str", argument=arg)
    url = base_url.rstrip("/") + "/chat/completions"
    head = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        head["Authorization"] = f"Bearer {api_key}"
    head.update(headers or {})

    def propose(transcript: list[tuple[Any, str]]) -> tuple[Any, str]:
        body = {"model": model, "temperature": temperature, "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": render_prompt(question, transcript, name)}]}
        request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=head,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                reply = safe_json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise ProposerError(f"{url} answered HTTP {exc.code}: {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ProposerError(f"cannot reach {url}: {exc}") from exc
        except ValueError as exc:
            raise ProposerError(f"{url} did not answer JSON: {exc}") from exc
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ProposerError(f"{url} answered no choices[0].message.content") from exc
        if not isinstance(content, str):
            raise ProposerError("the reply's content is not text")
        return parse(content)

    propose.__name__ = f"openai_proposer[{model}]"
    return propose
