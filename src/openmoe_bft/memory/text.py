"""Words, stop words, the lexical scorer and the token counters of the memory.

One tokenizer is used everywhere: :func:`words` (Unicode letters and digits,
case-folded; everything else separates). The FTS5 index stores text already split by
it, so "matches the query" means the same thing in SQLite and in
:func:`overlap_score`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import InvalidInput, InvalidType

__all__ = [
    "STOPWORDS",
    "TokenCounter",
    "char_tokens",
    "content_words",
    "overlap_score",
    "resolve_tokenizer",
    "tokenize",
    "word_tokens",
    "words",
]

TokenCounter = Callable[[str], int]

_WORD = re.compile(r"[^\W_]+")
_PIECE = re.compile(r"[^\W_]+|[^\w\s]|_")

#: English function words and conversational filler. They are indexed (a query made
#: only of them still works) but dropped from a query that has other words, and the
#: default extractor does not keep them in facts.
_STOPWORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just let lets me more most my myself now
    of off on once only or other our ours ourselves out over own same she should so some
    such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves ok okay yes yeah sure thanks
    thank please hello hi hey well oh really actually right got get go going think
    s t d ll m re ve can shall may might much many anything something everything said say
    says tell
    told noted understood see sounds good great fine
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def words(text: str) -> list[str]:
    """The case-folded words of ``text`` in order (Unicode letters and digits)."""
    if not isinstance(text, str):
        raise InvalidType(f"expected str, got {type(text).__name__}", argument="text")
    return _WORD.findall(text.casefold())


def tokenize(text: str) -> set[str]:
    """The set of :func:`words` of ``text`` (the seed's ``tokenize``)."""
    return set(words(text))


def content_words(text: str) -> list[str]:
    """:func:`words` minus :data:`STOPWORDS`, first occurrence of each, in order."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w not in STOPWORDS and w not in seen:
            seen[w] = None
    return list(seen)


def overlap_score(query: str, text: str) -> float:
    """|query words ∩ text words| / |query words|; 0.0 for a query with no words.

    The seed's lexical scorer, kept as the plain-Python baseline (the benchmark scans
    with it) and for plug-ins; :meth:`MemoryPyramid.recall` ranks with FTS5 BM25.
    """
    q = tokenize(query)
    if not q:
        return 0.0
    return len(q & tokenize(text)) / len(q)


def char_tokens(text: str) -> int:
    """The default "tokenizer": one token per character (exact, model-independent)."""
    return len(text)


def word_tokens(text: str) -> int:
    """Words and punctuation marks: ``\\w+`` runs plus every other non-space character.

    Close to what a BPE tokenizer gives for English prose (within ~30%), without a
    vocabulary file.
    """
    return len(_PIECE.findall(text))


_NAMED: dict[str, TokenCounter] = {"chars": char_tokens, "words": word_tokens}


def resolve_tokenizer(tokenizer: str | TokenCounter | None) -> tuple[str, TokenCounter]:
    """``None``/``"chars"``, ``"words"`` or a callable ``str -> int`` → (name, counter)."""
    if tokenizer is None:
        tokenizer = "chars"
    if isinstance(tokenizer, str):
        try:
            return tokenizer, _NAMED[tokenizer]
        except KeyError:
            raise InvalidInput(
                f"unknown tokenizer {tokenizer!r}: use 'chars', 'words' or a callable "
                "str -> int (e.g. lambda s: len(enc.encode(s)) for tiktoken)",
                argument="tokenizer",
            ) from None
    if callable(tokenizer):
        name = getattr(tokenizer, "__qualname__", None) or type(tokenizer).__qualname__
        module = getattr(tokenizer, "__module__", None) or ""
        return f"custom:{module}.{name}", tokenizer
    raise InvalidType(
        f"expected 'chars', 'words' or a callable, got {type(tokenizer).__name__}",
        argument="tokenizer",
    )
