"""The default, deterministic promotion steps (no LLM, no network).

* :class:`KeywordExtractor` (L0 → L1): each sentence of an event becomes a fact,
  kept as its content words (stop words and filler dropped, each word once);
  sentences such as "my city is Lyon", "I live in Lyon", "call me Ana", "I work at
  Acme" become *slot facts* with a ``key`` (``user.city``, ``user.location``,
  ``user.name``, ``user.employer``) so a newer value supersedes an older one.
  Identical facts get the same id, so repeating yourself adds provenance, not atoms.
* :class:`TopicClusterer` (L1 → L2): slot facts group by key; other facts by their
  most frequent shared content word in the batch. Groups of one are left alone.
* :class:`TraitAggregator` (L2 → L3): a slot scenario becomes the trait
  ``user.<slot> = <latest value>``; a topic scenario with enough facts becomes
  ``interest.<topic> = <its top keywords>``, confidence n / (n + 3).

All three are plain callables; any ``list -> list`` callable can replace them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from .text import STOPWORDS, content_words, words
from .types import Atom, MemoryEvent, PersonaTrait, Scenario, digest_id

__all__ = ["KeywordExtractor", "TopicClusterer", "TraitAggregator", "SLOT_PATTERNS"]

_SENTENCE = re.compile(r"[^.!?;\n]+")
#: (regex over a sentence's words joined by spaces, slot key or None to take the slot
#: from group 1). The value is the next words up to a stop word, at most 3.
SLOT_PATTERNS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"\bmy name is "), "user.name"),
    (re.compile(r"\bcall me "), "user.name"),
    (re.compile(r"\bi live in "), "user.location"),
    (re.compile(r"\bi (?:moved|relocated) to "), "user.location"),
    (re.compile(r"\bi work (?:at|for) "), "user.employer"),
    (re.compile(r"\bmy (?:favou?rite) ([a-z]+) is "), None),
    (re.compile(r"\bmy ([a-z]+) is "), None),
)

_MARKER_TEXT = ("remember important deadline always never must allergic allergy favourite "
                "favorite password birthday urgent critical prefer hate love")
_MARKERS = frozenset(_MARKER_TEXT.split())


@dataclass(frozen=True)
class KeywordExtractor:
    """L0 → L1 without a model (see the module docstring).

    Lossless for content words: every word of a sentence that is not a stop word
    ends up in some fact citing the event (a slot fact, plus a plain fact for the
    rest of the sentence when the slot did not use it all), so compacting the event
    loses no word recall could find. ``min_words``: a sentence with fewer content
    words yields no plain fact (raise it to drop short remarks; they then stay in L0
    only if the whole event yields nothing).
    """

    min_words: int = 1

    def __call__(self, events: Sequence[MemoryEvent]) -> list[Atom]:
        atoms: list[Atom] = []
        for ev in events:
            for sentence in _SENTENCE.findall(ev.content.casefold()):
                atoms += self._facts(ev, " ".join(words(sentence)))
        return atoms

    def _facts(self, ev: MemoryEvent, sentence: str) -> list[Atom]:
        if not sentence:
            return []
        salience = _salience(ev, sentence)
        out, used = self._slots(ev, sentence, salience)
        # keep the rest of the sentence when the slots did not use it all
        kept = [w for w in content_words(sentence) if w not in used]
        if kept and len(kept) >= self.min_words:
            text = " ".join(kept)
            out.append(Atom(digest_id("at", "", text), [ev.id], text, salience, ev.timestamp))
        return out

    def _slots(self, ev: MemoryEvent, sentence: str,
               salience: float) -> tuple[list[Atom], set[str]]:
        atoms: dict[str, Atom] = {}
        used: set[str] = set()
        for pattern, fixed in SLOT_PATTERNS:
            for m in pattern.finditer(sentence):
                value = _slot_words(sentence[m.end():])
                key = fixed if fixed is not None else "user." + m.group(1)
                if not value or key in atoms or (fixed is None and m.group(1) in STOPWORDS):
                    continue
                text = f"{key.replace('.', ' ').replace('_', ' ')} {value}"
                atoms[key] = Atom(digest_id("at", key, value), [ev.id], text,
                                  round(min(1.0, salience + 0.2), 3), ev.timestamp, key=key)
                used.update(m.group(0).split(), value.split())
        return list(atoms.values()), used


_SLOT_END_TEXT = "last next today yesterday tomorrow ago since week month year"
_SLOT_END = frozenset(_SLOT_END_TEXT.split())


def _slot_words(rest: str) -> str:
    out = []
    for w in rest.split():
        if w in STOPWORDS or w in _SLOT_END or len(out) == 3:
            break
        out.append(w)
    return " ".join(out)


def _salience(ev: MemoryEvent, sentence: str) -> float:
    ws = sentence.split()
    s = 0.3 + (0.1 if ev.role == "user" else 0.0)
    if any(w.isdigit() for w in ws):
        s += 0.1
    if any(w in _MARKERS for w in ws):
        s += 0.3
    return round(min(1.0, s), 3)


@dataclass(frozen=True)
class TopicClusterer:
    """L1 → L2 without a model (see the module docstring).

    ``max_keywords``: how many words a topic scenario's summary keeps.
    """

    max_keywords: int = 6

    def __call__(self, atoms: Sequence[Atom]) -> list[Scenario]:
        df: Counter[str] = Counter()
        per_atom: list[list[str]] = []
        for a in atoms:
            ws = content_words(a.text)
            per_atom.append(ws)
            df.update(ws)
        groups: dict[str, list[int]] = {}
        for i, a in enumerate(atoms):
            if a.key is not None:
                groups.setdefault(a.key, []).append(i)
                continue
            shared = [w for w in per_atom[i] if df[w] > 1]
            if shared:  # most frequent shared word; ties → first in the fact
                topic = max(shared, key=lambda w: df[w])
                groups.setdefault(topic, []).append(i)
        out = []
        for topic, idx in groups.items():
            members = [atoms[i] for i in idx]
            keyed = members[0].key is not None
            if not keyed and len(members) < 2:
                continue
            if keyed:
                latest = max(members, key=lambda a: a.timestamp)
                summary = f"{topic}: {_slot_value(latest)}"
            else:
                counts: Counter[str] = Counter()
                for i in idx:
                    counts.update(per_atom[i])
                del counts[topic]
                kws = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
                summary = f"{topic}: " + " ".join(kws[: self.max_keywords])
            out.append(Scenario(
                id=digest_id("sc", topic), atom_ids=[a.id for a in members],
                summary=summary.strip(), salience=max(a.salience for a in members),
                timestamp=max(a.timestamp for a in members), topic=topic,
            ))
        return out


def _slot_value(atom: Atom) -> str:
    prefix = (atom.key or "").replace(".", " ").replace("_", " ") + " "
    return atom.text[len(prefix):] if atom.text.startswith(prefix) else atom.text


@dataclass(frozen=True)
class TraitAggregator:
    """L2 → L3 without a model (see the module docstring).

    ``min_facts``: a topic scenario needs this many facts to become an interest;
    ``max_keywords``: how many of the scenario's keywords the interest keeps.
    """

    min_facts: int = 3
    max_keywords: int = 3

    def __call__(self, scenarios: Sequence[Scenario]) -> list[PersonaTrait]:
        traits = []
        for s in scenarios:
            if s.topic is None:
                continue
            n = len(s.atom_ids)
            _, _, rest = s.summary.partition(": ")
            if s.topic.startswith("user."):
                traits.append(PersonaTrait(s.topic, rest, round(n / (n + 1), 3), [s.id]))
            elif n >= self.min_facts:
                value = " ".join(rest.split()[: self.max_keywords])
                traits.append(PersonaTrait(f"interest.{s.topic}", value or s.topic,
                                           round(n / (n + 3), 3), [s.id]))
        return traits
