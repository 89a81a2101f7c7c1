"""Structure of an Agent Card against the A2A specification (1.0, and 0.3 cards).

:func:`check_structure` is the built-in check: plain Python over the JSON object,
fast (it is on the ``validate_card`` hot path) and always available. It knows the
A2A 1.0 ``AgentCard`` (``name``, ``description``, ``version``,
``supportedInterfaces[]`` with ``url`` / ``protocolBinding`` / ``protocolVersion``,
``capabilities``, ``defaultInputModes`` / ``defaultOutputModes``, ``skills[]`` with
``id`` / ``name`` / ``description`` / ``tags``, ``securitySchemes``,
``securityRequirements``, ``signatures``, ``provider``, ...) and the 0.3 card, which
had a top-level ``url`` (and ``preferredTransport``, ``additionalInterfaces``).

Each finding is an :class:`Issue` with a severity:

``error``    a field present with the wrong type, or a key that imitates a known
             key with look-alike Unicode (``metаdata`` with a Cyrillic ``а``);
             the card is never compliant;
``missing``  a field the spec requires is absent or empty;
``warning``  something legal but worth fixing (an unknown field, a 0.3 card, an
             unknown protocol binding, a non-https URL).

:func:`check_with_sdk` cross-checks the card with ``a2a-sdk``'s own types (the
``[a2a]`` extra): the protobuf ``AgentCard`` of A2A 1.0 (``ParseDict`` plus the
``REQUIRED`` field behaviours of the proto), or the SDK's pydantic 0.3 model.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import MissingDependency

__all__ = [
    "A2A_0_3",
    "A2A_1_0",
    "BARE",
    "KNOWN_BINDINGS",
    "Issue",
    "StructureReport",
    "check_structure",
    "check_with_sdk",
    "confusable_skeleton",
    "sdk_available",
]

A2A_1_0 = "1.0"
A2A_0_3 = "0.3"
BARE = "bare"
"""A card with neither ``supportedInterfaces`` nor a top-level ``url``: an evidence
document in card form (the seed's ``AgentCard(name=..., metadata=...)``). Its missing
A2A fields are reported in ``structure`` but not as advisories."""

KNOWN_BINDINGS = frozenset({"JSONRPC", "GRPC", "HTTP+JSON"})

_CARD_1_0 = frozenset({
    "name", "description", "supportedInterfaces", "provider", "version", "documentationUrl",
    "capabilities", "securitySchemes", "securityRequirements", "defaultInputModes",
    "defaultOutputModes", "skills", "signatures", "iconUrl",
})
_CARD_0_3_ONLY = frozenset({
    "url", "preferredTransport", "additionalInterfaces", "protocolVersion", "security",
    "supportsAuthenticatedExtendedCard",
})
_OURS = frozenset({"metadata"})  # the seed's evidence bag (not an A2A field)
_ALL_KNOWN = _CARD_1_0 | _CARD_0_3_ONLY | _OURS
_REQUIRED_1_0 = ("name", "description", "supportedInterfaces", "version", "capabilities",
                 "defaultInputModes", "defaultOutputModes", "skills")
_REQUIRED_0_3 = ("name", "description", "url", "version", "capabilities",
                 "defaultInputModes", "defaultOutputModes", "skills")
_STRINGS = ("name", "description", "version", "documentationUrl", "iconUrl", "url",
            "preferredTransport", "protocolVersion")
_STRING_LISTS = ("defaultInputModes", "defaultOutputModes")
_SCHEME_KINDS_1_0 = frozenset({"apiKeySecurityScheme", "httpAuthSecurityScheme",
                               "oauth2SecurityScheme", "openIdConnectSecurityScheme",
                               "mtlsSecurityScheme"})
_SCHEME_TYPES_0_3 = frozenset({"apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"})

# Latin look-alikes from other scripts (Unicode confusables.txt, the letters that
# matter for ASCII field names); NFKC already folds full-width and compatibility forms.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ӏ": "l", "ո": "n", "ս": "u",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "У": "y", "Х": "x", "І": "i", "Ј": "j", "Ѕ": "s",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h",
    "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y",
    "Χ": "x", "ı": "i", "ℓ": "l",
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
    "\u00ad": None,
})


def confusable_skeleton(key: str) -> str:
    """``key`` folded for look-alike comparison: NFKC, homoglyphs to Latin, invisible
    characters removed, case-folded. Two keys with the same skeleton look the same."""
    return unicodedata.normalize("NFKC", key).translate(_HOMOGLYPHS).casefold()


@dataclass(frozen=True)
class Issue:
    """One structural finding: ``severity`` (``error`` / ``missing`` / ``warning``),
    the JSON ``path`` (``skills[2].tags``) and a human ``message``."""

    severity: str
    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class StructureReport:
    """The structure check's result: the card's A2A ``version`` (``"1.0"``, ``"0.3"``
    or ``"bare"``), its ``issues``, and whether the SDK cross-check ran (``sdk``)."""

    version: str
    issues: tuple[Issue, ...] = ()
    sdk: bool = False

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def missing(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "missing")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def ok(self) -> bool:
        """No errors and nothing required missing."""
        return not any(i.severity in ("error", "missing") for i in self.issues)

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "ok": self.ok, "sdk": self.sdk,
                "issues": [i.to_dict() for i in self.issues]}


def _tname(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return type(v).__name__


def card_version(doc: Mapping[str, Any]) -> str:
    """``"1.0"`` when the card has ``supportedInterfaces``, ``"0.3"`` when it has a
    top-level ``url`` or ``protocolVersion`` instead, else ``"bare"``."""
    if "supportedInterfaces" in doc:
        return A2A_1_0
    if "url" in doc or "protocolVersion" in doc or "preferredTransport" in doc:
        return A2A_0_3
    return BARE


class _Checker:
    __slots__ = ("issues",)

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, severity: str, path: str, message: str) -> None:
        self.issues.append(Issue(severity, path, message))

    def wrong(self, path: str, want: str, value: Any) -> None:
        self.add("error", path, f"{path} must be {want}, got {_tname(value)}")

    def string(self, obj: Mapping[str, Any], key: str, path: str, required: bool) -> None:
        v = obj.get(key)
        if v is None:
            if required:
                self.add("missing", f"{path}.{key}", f"{path}.{key} is required")
        elif type(v) is not str:
            self.wrong(f"{path}.{key}", "a string", v)
        elif required and not v:
            self.add("missing", f"{path}.{key}", f"{path}.{key} must not be empty")

    def strings(self, v: Any, path: str) -> None:
        if type(v) is not list and type(v) is not tuple:
            self.wrong(path, "an array of strings", v)
            return
        for i, s in enumerate(v):
            if type(s) is not str:
                self.wrong(f"{path}[{i}]", "a string", s)
                return

    def url(self, v: Any, path: str) -> None:
        if type(v) is str and v and not v.startswith("https://"):
            if v.startswith("http://"):
                self.add("warning", path, f"{path} is plain http; A2A agents should use https "
                         "in production")
            elif "://" not in v:
                self.add("error", path, f"{path} is not an absolute URL: {v[:80]!r}")


@lru_cache(maxsize=32)
def skeletons(known: frozenset[str]) -> dict[str, str]:
    """``{skeleton: key}`` for a set of known keys (cached)."""
    return {confusable_skeleton(k): k for k in known}


def _look_alikes(keys: Iterable[str], known: frozenset[str]) -> dict[str, str]:
    """Keys (not exactly known) whose skeleton equals a known key's: key -> known."""
    skel = skeletons(known)
    out = {}
    for k in keys:
        if type(k) is str and not k.isascii():
            hit = skel.get(confusable_skeleton(k))
            if hit is not None and hit != k:
                out[k] = hit
    return out


def _describe(key: str) -> str:
    odd = [c for c in key if not c.isascii()]
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in odd[:3])
    return f"{key!r} ({names})"


def look_alike_issues(obj: Mapping[str, Any], known: frozenset[str], path: str) -> list[Issue]:
    """Errors for keys of ``obj`` that imitate one of ``known`` with look-alike Unicode."""
    return [Issue("error", f"{path}.{k}" if path else k,
                  f"key {_describe(k)} imitates {hit!r} with look-alike characters; "
                  f"use the exact ASCII key {hit!r}")
            for k, hit in _look_alikes(obj.keys(), known).items()]


def check_structure(doc: Mapping[str, Any], *, strict: bool = False) -> StructureReport:
    """Check an Agent Card JSON object against A2A 1.0 (or 0.3). Never raises on content.

    ``strict`` — hold a ``bare`` card (no interfaces, no url) to the 1.0 required fields too.
    """
    c = _Checker()
    version = card_version(doc)
    # keys that imitate a known key (checked first: they explain a "missing" field)
    c.issues.extend(look_alike_issues(doc, _ALL_KNOWN, ""))
    for k in doc:
        if k not in _ALL_KNOWN and not any(i.path == k for i in c.issues):
            c.add("warning", k, f"unknown field {k[:60]!r} (not in A2A 1.0 or 0.3)")
    for key in _STRINGS:
        c.string(doc, key, "card", False)
    for key in _STRING_LISTS:
        if doc.get(key) is not None:
            c.strings(doc[key], f"card.{key}")
    required = _REQUIRED_1_0 if (version == A2A_1_0 or (strict and version == BARE)) \
        else _REQUIRED_0_3 if version == A2A_0_3 else ()
    for key in required:
        v = doc.get(key)
        if v is None or (type(v) in (str, list, tuple) and not v):
            c.add("missing", f"card.{key}",
                  f"card.{key} is required by A2A {'0.3' if version == A2A_0_3 else '1.0'}")
    if version == A2A_0_3:
        c.add("warning", "card.url", "an A2A 0.3 card (top-level url): migrate to A2A 1.0 "
              "supportedInterfaces [{url, protocolBinding, protocolVersion}]")
        c.url(doc.get("url"), "card.url")

    ifaces = doc.get("supportedInterfaces")
    if ifaces is not None:
        if type(ifaces) is not list and type(ifaces) is not tuple:
            c.wrong("card.supportedInterfaces", "an array of interfaces", ifaces)
        else:
            for i, iface in enumerate(ifaces):
                p = f"card.supportedInterfaces[{i}]"
                if not isinstance(iface, Mapping):
                    c.wrong(p, "an object", iface)
                    continue
                for key in ("url", "protocolBinding", "protocolVersion"):
                    c.string(iface, key, p, True)
                c.string(iface, "tenant", p, False)
                c.url(iface.get("url"), f"{p}.url")
                b = iface.get("protocolBinding")
                if type(b) is str and b and b not in KNOWN_BINDINGS:
                    c.add("warning", f"{p}.protocolBinding",
                          f"{p}.protocolBinding {b[:40]!r} is not one of "
                          f"{sorted(KNOWN_BINDINGS)} (custom bindings are allowed)")
    extra_ifaces = doc.get("additionalInterfaces")
    if extra_ifaces is not None and type(extra_ifaces) is not list:
        c.wrong("card.additionalInterfaces", "an array", extra_ifaces)

    caps = doc.get("capabilities")
    if caps is not None:
        if not isinstance(caps, Mapping):
            c.wrong("card.capabilities", "an object", caps)
        else:
            for key in ("streaming", "pushNotifications", "extendedAgentCard",
                        "stateTransitionHistory"):
                v = caps.get(key)
                if v is not None and type(v) is not bool:
                    c.wrong(f"card.capabilities.{key}", "a boolean", v)
            exts = caps.get("extensions")
            if exts is not None:
                if type(exts) is not list and type(exts) is not tuple:
                    c.wrong("card.capabilities.extensions", "an array", exts)
                else:
                    for i, ext in enumerate(exts):
                        p = f"card.capabilities.extensions[{i}]"
                        if not isinstance(ext, Mapping):
                            c.wrong(p, "an object", ext)
                            continue
                        c.string(ext, "uri", p, True)
                        c.string(ext, "description", p, False)
                        if ext.get("required") is not None and type(ext["required"]) is not bool:
                            c.wrong(f"{p}.required", "a boolean", ext["required"])
                        if ext.get("params") is not None and not isinstance(ext["params"],
                                                                            Mapping):
                            c.wrong(f"{p}.params", "an object", ext["params"])

    provider = doc.get("provider")
    if provider is not None:
        if not isinstance(provider, Mapping):
            c.wrong("card.provider", "an object", provider)
        else:
            c.string(provider, "organization", "card.provider", True)
            c.string(provider, "url", "card.provider", version == A2A_1_0)

    skills = doc.get("skills")
    if skills is not None:
        if type(skills) is not list and type(skills) is not tuple:
            c.wrong("card.skills", "an array of skills", skills)
        else:
            for i, skill in enumerate(skills):
                p = f"card.skills[{i}]"
                if not isinstance(skill, Mapping):
                    c.wrong(p, "an object", skill)
                    continue
                for key in ("id", "name", "description"):
                    c.string(skill, key, p, True)
                tags = skill.get("tags")
                if tags is None:
                    c.add("missing", f"{p}.tags", f"{p}.tags is required")
                else:
                    c.strings(tags, f"{p}.tags")
                for key in ("examples", "inputModes", "outputModes"):
                    if skill.get(key) is not None:
                        c.strings(skill[key], f"{p}.{key}")

    schemes = doc.get("securitySchemes")
    if schemes is not None:
        if not isinstance(schemes, Mapping):
            c.wrong("card.securitySchemes", "an object", schemes)
        else:
            for name, scheme in schemes.items():
                p = f"card.securitySchemes.{name[:40]}"
                if not isinstance(scheme, Mapping):
                    c.wrong(p, "an object", scheme)
                    continue
                kinds = [k for k in scheme if k in _SCHEME_KINDS_1_0]
                if len(kinds) == 1:
                    if not isinstance(scheme[kinds[0]], Mapping):
                        c.wrong(f"{p}.{kinds[0]}", "an object", scheme[kinds[0]])
                elif len(kinds) > 1:
                    c.add("error", p, f"{p} sets {len(kinds)} scheme kinds; A2A 1.0 allows "
                          "exactly one")
                elif scheme.get("type") in _SCHEME_TYPES_0_3:
                    if version == A2A_1_0:
                        c.add("warning", p, f"{p} uses the 0.3 form {{type: ...}}; A2A 1.0 "
                              "wraps it, e.g. {httpAuthSecurityScheme: {scheme: 'bearer'}}")
                else:
                    c.add("error", p, f"{p} is not a security scheme (expected one of "
                          f"{sorted(_SCHEME_KINDS_1_0)})")
    for key in ("securityRequirements", "security"):
        reqs = doc.get(key)
        if reqs is not None:
            if type(reqs) is not list and type(reqs) is not tuple:
                c.wrong(f"card.{key}", "an array of objects", reqs)
            else:
                for i, r in enumerate(reqs):
                    if not isinstance(r, Mapping):
                        c.wrong(f"card.{key}[{i}]", "an object", r)

    sigs = doc.get("signatures")
    if sigs is not None:
        if type(sigs) is not list and type(sigs) is not tuple:
            c.wrong("card.signatures", "an array of JWS signatures", sigs)
        else:
            for i, sig in enumerate(sigs):
                p = f"card.signatures[{i}]"
                if not isinstance(sig, Mapping):
                    c.wrong(p, "an object", sig)
                    continue
                c.string(sig, "protected", p, True)
                c.string(sig, "signature", p, True)
                if sig.get("header") is not None and not isinstance(sig["header"], Mapping):
                    c.wrong(f"{p}.header", "an object", sig["header"])

    md = doc.get("metadata")
    if md is not None and not isinstance(md, Mapping):
        c.wrong("card.metadata", "an object", md)
    return StructureReport(version=version, issues=tuple(c.issues))


# ── a2a-sdk cross-check ─────────────────────────────────────────────────────────────


@lru_cache(maxsize=1)
def sdk_available() -> bool:
    """True when ``a2a-sdk`` (the ``[a2a]`` extra) can be imported (asked once)."""
    try:
        _require_sdk()
    except MissingDependency:
        return False
    return True


def _require_sdk() -> Any:
    try:
        from a2a import types as a2a_types
    except ImportError as exc:
        raise MissingDependency(
            "checking a card with a2a-sdk's types needs the [a2a] extra: "
            "pip install 'openmoe-bft[a2a]'") from exc
    card = getattr(a2a_types, "AgentCard", None)
    if card is None or not hasattr(card, "DESCRIPTOR") or \
            "supported_interfaces" not in card.DESCRIPTOR.fields_by_name:
        raise MissingDependency("the installed a2a-sdk predates A2A 1.0 (no protobuf AgentCard "
                                "with supportedInterfaces): pip install 'a2a-sdk>=1.0'")
    return a2a_types


def _proto_required(msg: Any, path: str, out: list[Issue]) -> None:
    """REQUIRED field behaviours (google.api.field_behavior) of a parsed proto, recursively."""
    from google.api import field_behavior_pb2

    required = field_behavior_pb2.REQUIRED
    ext = field_behavior_pb2.field_behavior
    for fd in msg.DESCRIPTOR.fields:
        value = getattr(msg, fd.name)
        is_repeated = getattr(fd, "is_repeated", None)
        repeated = is_repeated if is_repeated is not None else fd.label == fd.LABEL_REPEATED
        if required in fd.GetOptions().Extensions[ext]:
            if repeated:
                empty = len(value) == 0
            elif fd.message_type is not None:
                empty = not msg.HasField(fd.name)
            else:
                empty = value == fd.default_value
            if empty:
                out.append(Issue("missing", f"{path}.{fd.json_name}",
                                 f"a2a-sdk: {path}.{fd.json_name} is REQUIRED"))
        if fd.message_type is None or fd.message_type.GetOptions().map_entry:
            continue
        if fd.message_type.full_name.startswith("google.protobuf."):
            continue
        if repeated:
            for i, item in enumerate(value):
                _proto_required(item, f"{path}.{fd.json_name}[{i}]", out)
        elif msg.HasField(fd.name):
            _proto_required(value, f"{path}.{fd.json_name}", out)


def check_with_sdk(doc: Mapping[str, Any], version: str) -> list[Issue]:
    """Parse the card with a2a-sdk's types; problems as :class:`Issue` s.

    A2A 1.0 (and bare) cards are parsed into the SDK's protobuf ``AgentCard``
    (``google.protobuf.json_format.ParseDict``; ``metadata`` and other non-A2A fields
    are left out) and its ``REQUIRED`` fields are checked; 0.3 cards go through the
    SDK's pydantic 0.3 model. Raises :class:`~openmoe_bft.errors.MissingDependency`
    without the ``[a2a]`` extra.
    """
    a2a_types = _require_sdk()
    issues: list[Issue] = []
    if version == A2A_0_3:
        try:
            from a2a.compat.v0_3.types import AgentCard as AgentCard03
        except ImportError:  # an SDK without the 0.3 compatibility layer
            return issues
        from pydantic import ValidationError

        body = {k: v for k, v in doc.items() if k not in _OURS}
        try:
            AgentCard03.model_validate(body)
        except ValidationError as exc:
            for err in exc.errors()[:20]:
                loc = ".".join(str(x) for x in err.get("loc", ()))
                sev = "missing" if err.get("type") == "missing" else "error"
                issues.append(Issue(sev, f"card.{loc}", f"a2a-sdk (0.3): card.{loc}: "
                                    f"{err.get('msg', 'invalid')}"))
        return issues
    from google.protobuf import json_format

    body = {k: v for k, v in doc.items() if k in _CARD_1_0}
    msg = a2a_types.AgentCard()
    try:
        json_format.ParseDict(body, msg, ignore_unknown_fields=True, max_recursion_depth=100)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        issues.append(Issue("error", "card", f"a2a-sdk: not an A2A 1.0 AgentCard: {text}"))
        return issues
    if version == A2A_1_0:
        _proto_required(msg, "card", issues)
    return issues
