"""Agent Card signatures (A2A 1.0): JWS (RFC 7515) over the RFC 8785 canonical card.

What is signed: the card as a JSON object *without* its ``signatures`` member,
canonicalised with RFC 8785 (JCS). Each entry of ``signatures`` is a JWS in the
flattened form with a detached payload (RFC 7515 Appendix F): ``protected`` (the
base64url protected header, with at least ``alg``, usually ``kid``, optionally
``jwk``), ``signature`` (base64url) and an optional unprotected ``header``. The JWS
signing input is ``protected + "." + BASE64URL(JCS(card - signatures))``.

The Python ``a2a-sdk`` also drops empty strings, arrays and objects from the card
before canonicalising; a signature that does not verify over the card as published
is tried once more over that form, so cards signed with the SDK verify too.

Which key verifies a signature, in this order (explicit inputs, no hidden lookup,
and never a network fetch — a ``jku`` URL is not followed):

1. ``key`` — one key given by the caller, used for every signature;
2. ``resolve_key(kid)`` — a callable the caller supplies (or a mapping kid -> key);
   ``None`` means "unknown kid";
3. the ``jwk`` in the protected header, when ``trust_embedded_jwk`` (default True).
   Such a signature proves the card was not changed since it was signed by *that*
   key; it says nothing about who holds the key, and the result says so
   (``key_source == "jwk"``).

Each signature ends as ``valid``, ``invalid`` (malformed, ``alg: none``, a critical
header we do not understand, or the bytes do not verify: a tampered card or another
key) or ``unverifiable`` (no key for it, an algorithm not accepted, or the JOSE
library is not installed). Accepted algorithms: ``EdDSA`` / ``Ed25519`` (Ed25519),
``ES256``, ``ES384``, ``RS256``, ``PS256``.

JWS verification uses ``joserfc`` (the ``[a2a]`` extra).
"""

from __future__ import annotations

import base64
import binascii
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import _json as safe_json
from ..canonical import canonical_json
from ..errors import InvalidInput, InvalidType, MissingDependency

__all__ = [
    "ALGORITHMS",
    "KeyResolver",
    "SignatureResult",
    "sign_card",
    "signing_payload",
    "verify_signatures",
]

ALGORITHMS = ("EdDSA", "Ed25519", "ES256", "ES384", "RS256", "PS256")
"""JWS algorithms accepted on card signatures."""

KeyResolver = Callable[[str], Any]
"""``resolve_key(kid) -> key or None``."""

_SOURCES = {"key": "the given key", "kid": "the key resolved for its kid",
            "jwk": "the jwk in its protected header"}

VALID = "valid"
INVALID = "invalid"
UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class SignatureResult:
    """The outcome for one entry of the card's ``signatures``."""

    index: int
    status: str
    reason: str
    alg: str | None = None
    kid: str | None = None
    key_source: str | None = None  # "key", "kid", "jwk" or None

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "reason": self.reason,
                "alg": self.alg, "kid": self.kid, "key_source": self.key_source}


def _jose() -> Any:
    try:
        import joserfc.jwk
        import joserfc.jws
    except ImportError as exc:
        raise MissingDependency("card signatures need joserfc, in the [a2a] extra: "
                                "pip install 'openmoe-bft[a2a]'") from exc
    return joserfc


def _without_signatures(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "signatures"}


class _Slow(Exception):
    pass


_SAFE = 2**53


def _prep(v: Any, depth: int = 0) -> Any:
    """``v`` with integral floats as ints, checked to print as RFC 8785 through the
    standard JSON encoder; raises :class:`_Slow` for anything that would not (floats
    that Python prints with an exponent, astral key characters, deep nesting)."""
    t = type(v)
    if t is str or t is bool or v is None:
        return v
    if t is int:
        if -_SAFE < v < _SAFE:
            return v
        raise _Slow
    if t is float:
        if v.is_integer():
            if -_SAFE < v < _SAFE:
                return int(v)
            raise _Slow
        a = -v if v < 0 else v
        if 1e-4 <= a < 1e16:  # repr() prints these without an exponent, as ECMAScript does
            return v
        raise _Slow
    if depth > 64:
        raise _Slow
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str or (not k.isascii() and max(k) > "\uffff"):
                raise _Slow
            out[k] = _prep(x, depth + 1)
        return out
    if t is list or t is tuple:
        return [_prep(x, depth + 1) for x in v]
    raise _Slow


def jcs(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of a JSON value.

    The common case goes through the standard library's C encoder (sorted keys, no
    whitespace, UTF-8, and numbers that print the same in Python and ECMAScript — a
    property test checks byte parity with ``rfc8785``); the rest through
    :func:`openmoe_bft.canonical.canonical_json` (``rfc8785``).
    """
    try:
        prepared = _prep(value)
        return json.dumps(prepared, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (_Slow, UnicodeEncodeError, ValueError, RecursionError):
        return canonical_json(value)


def signing_payload(card: Mapping[str, Any]) -> bytes:
    """The bytes a card signature covers: RFC 8785 JSON of the card minus ``signatures``."""
    return jcs(_without_signatures(card))


def _clean_empty(v: Any) -> Any:
    """a2a-sdk's form: empty strings, arrays and objects removed, recursively."""
    if isinstance(v, Mapping):
        out = {k: c for k, x in v.items() if (c := _clean_empty(x)) is not None}
        return out or None
    if isinstance(v, (list, tuple)):
        items = [c for x in v if (c := _clean_empty(x)) is not None]
        return items or None
    if isinstance(v, str) and not v:
        return None
    return v


def _b64json(segment: str) -> Any:
    pad = "=" * (-len(segment) % 4)
    raw = base64.urlsafe_b64decode(segment + pad)
    return safe_json.loads(raw.decode("utf-8"))


def _as_jose_key(key: Any, alg: str | None = None) -> Any:
    """A joserfc key from: a joserfc key, a JWK dict, a ``cryptography`` key object, an
    openmoe_bft Ed25519 key, or PEM bytes/str."""
    joserfc = _jose()
    jwk = joserfc.jwk
    if isinstance(key, (jwk.OKPKey, jwk.ECKey, jwk.RSAKey, jwk.OctKey)):
        return key
    if isinstance(key, Mapping):
        return jwk.import_key(dict(key))
    raw = getattr(key, "raw", None)
    if raw is not None and type(key).__module__.startswith("openmoe_bft."):
        from cryptography.hazmat.primitives.asymmetric import ed25519

        data = raw() if callable(raw) else raw
        if type(key).__name__ == "Ed25519Key":
            return jwk.OKPKey.import_key(ed25519.Ed25519PrivateKey.from_private_bytes(data))
        return jwk.OKPKey.import_key(ed25519.Ed25519PublicKey.from_public_bytes(data))
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey,
                        ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return jwk.OKPKey.import_key(key)
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return jwk.ECKey.import_key(key)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return jwk.RSAKey.import_key(key)
    if isinstance(key, (bytes, str)):
        kty = {"EdDSA": "OKP", "Ed25519": "OKP", "ES256": "EC", "ES384": "EC",
               "RS256": "RSA", "PS256": "RSA"}.get(alg or "")
        return jwk.import_key(key, kty)  # type: ignore[arg-type]
    raise InvalidType(f"cannot use a {type(key).__name__} as a JWS key; pass a JWK dict, a "
                      "joserfc key, a cryptography key or PEM", argument="key")


def _resolve(resolve_key: Any, kid: str) -> Any:
    if isinstance(resolve_key, Mapping):
        return resolve_key.get(kid)
    return resolve_key(kid)


def verify_signatures(
    card: Mapping[str, Any],
    *,
    key: Any = None,
    resolve_key: KeyResolver | Mapping[str, Any] | None = None,
    trust_embedded_jwk: bool = True,
    algorithms: tuple[str, ...] = ALGORITHMS,
) -> tuple[SignatureResult, ...]:
    """Verify every entry of ``card["signatures"]`` (see the module docstring).

    Never raises on the card's content: a malformed entry is ``invalid``. Without
    ``joserfc`` every signature is ``unverifiable`` and the reason says what to install.
    """
    sigs = card.get("signatures")
    if not sigs or not isinstance(sigs, (list, tuple)):
        return ()
    try:
        joserfc = _jose()
    except MissingDependency as exc:
        return tuple(SignatureResult(i, UNVERIFIABLE, str(exc)) for i in range(len(sigs)))
    from joserfc.errors import BadSignatureError, JoseError

    payloads = _Payloads(card)
    results = []
    for i, sig in enumerate(sigs):
        results.append(_verify_one(i, sig, payloads, key, resolve_key, trust_embedded_jwk,
                                   algorithms, joserfc, BadSignatureError, JoseError))
    return tuple(results)


class _Payloads:
    """The candidate signed bytes, computed on first use: the card as published, then
    (only when a signature fails over that) a2a-sdk's form without empty values."""

    def __init__(self, card: Mapping[str, Any]) -> None:
        self._card = card
        self._exact: Any = _Payloads
        self._cleaned: Any = _Payloads

    def exact(self) -> bytes | None:
        if self._exact is _Payloads:
            try:
                self._exact = signing_payload(self._card)
            except (InvalidInput, RecursionError):
                self._exact = None
        return self._exact

    def cleaned(self) -> bytes | None:
        if self._cleaned is _Payloads:
            try:
                extra = jcs(_clean_empty(_without_signatures(self._card)) or {})
            except (InvalidInput, RecursionError):
                extra = None
            self._cleaned = None if extra == self.exact() else extra
        return self._cleaned

    def candidates(self) -> Any:
        exact = self.exact()
        if exact is not None:
            yield exact
        cleaned = self.cleaned()
        if cleaned is not None:
            yield cleaned


def _verify_one(i: int, sig: Any, payloads: _Payloads, key: Any, resolve_key: Any,
                trust_jwk: bool, algorithms: tuple[str, ...], joserfc: Any,
                bad_signature: type[Exception], jose_error: type[Exception]) -> SignatureResult:
    if not isinstance(sig, Mapping):
        return SignatureResult(i, INVALID, "not a JWS object")
    protected, signature = sig.get("protected"), sig.get("signature")
    if not isinstance(protected, str) or not isinstance(signature, str) or not protected:
        return SignatureResult(i, INVALID, "protected and signature must be base64url strings")
    try:
        header = _b64json(protected)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return SignatureResult(i, INVALID, "the protected header is not base64url JSON")
    if not isinstance(header, dict):
        return SignatureResult(i, INVALID, "the protected header is not a JSON object")
    alg = header.get("alg")
    unprotected = sig.get("header") if isinstance(sig.get("header"), Mapping) else {}
    kid = header.get("kid", unprotected.get("kid"))
    kid = kid if isinstance(kid, str) else None
    if not isinstance(alg, str):
        return SignatureResult(i, INVALID, "the protected header has no alg", None, kid)
    if alg.lower() == "none":
        return SignatureResult(i, INVALID, "alg 'none' is an unsigned card", alg, kid)
    crit = header.get("crit")
    if crit is not None:
        return SignatureResult(i, INVALID if not isinstance(crit, list) else UNVERIFIABLE,
                               f"critical header parameters {crit!r:.80} are not supported",
                               alg, kid)
    if alg not in algorithms:
        return SignatureResult(i, UNVERIFIABLE, f"algorithm {alg[:20]!r} is not accepted "
                               f"(accepted: {', '.join(algorithms)})", alg, kid)
    if payloads.exact() is None and payloads.cleaned() is None:
        return SignatureResult(i, INVALID, "the card has no RFC 8785 canonical form", alg, kid)

    chosen: Any = None
    source: str | None = None
    try:
        if key is not None:
            chosen, source = key, "key"
        elif resolve_key is not None and kid is not None:
            found = _resolve(resolve_key, kid)
            if found is not None:
                chosen, source = found, "kid"
        if chosen is None and trust_jwk and isinstance(header.get("jwk"), Mapping):
            jwk_dict = {k: v for k, v in header["jwk"].items() if k != "d"}
            chosen, source = jwk_dict, "jwk"
    except Exception as exc:  # the caller's resolver failed: no key, not a crash
        return SignatureResult(i, UNVERIFIABLE, f"resolving kid {kid!r} failed: "
                               f"{type(exc).__name__}: {exc}"[:300], alg, kid)
    if chosen is None:
        why = (f"no key for kid {kid!r}" if kid is not None else "no kid and no jwk") + \
              "; pass key= or resolve_key= (a jku URL is never fetched)"
        return SignatureResult(i, UNVERIFIABLE, why, alg, kid)
    try:
        jose_key = _as_jose_key(chosen, alg)
    except (InvalidType, jose_error, ValueError, TypeError) as exc:
        status = INVALID if source == "jwk" else UNVERIFIABLE
        return SignatureResult(i, status, f"unusable {source} key: {exc}"[:300], alg, kid,
                               source)
    compact = f"{protected}..{signature}"
    for payload in payloads.candidates():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # joserfc: "EdDSA is deprecated via RFC 9864"
                joserfc.jws.deserialize_compact(compact, jose_key, algorithms=[alg],
                                                payload=payload)
        except bad_signature:
            continue
        except (jose_error, ValueError, TypeError) as exc:
            return SignatureResult(i, INVALID, f"does not verify: {type(exc).__name__}: "
                                   f"{exc}"[:300], alg, kid, source)
        note = " (self-asserted jwk: proves integrity, not who signed)" if source == "jwk" \
            else ""
        return SignatureResult(i, VALID, f"{alg} signature verifies with {_SOURCES[source]}"
                               f"{note}", alg, kid, source)
    return SignatureResult(i, INVALID, "the signature does not match the card (the card was "
                           "changed after signing, or another key signed it)", alg, kid, source)


def sign_card(card: Mapping[str, Any], key: Any, *, alg: str | None = None,
              kid: str | None = None, embed_jwk: bool = False,
              header: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return a copy of ``card`` with one more JWS signature in ``signatures``.

    ``key`` is a private key (joserfc key, JWK dict, ``cryptography`` key or an
    :class:`~openmoe_bft.receipts.Ed25519Key`); ``alg`` defaults from the key type
    (``EdDSA``, ``ES256``, ``RS256``). ``embed_jwk`` puts the public key in the
    protected header. Needs the ``[a2a]`` extra.
    """
    joserfc = _jose()
    jose_key = _as_jose_key(key, alg)
    if alg is None:
        kty = jose_key.key_type
        alg = {"OKP": "EdDSA", "EC": "ES256", "RSA": "RS256"}.get(kty)
        if alg is None:
            raise InvalidInput(f"no default JWS algorithm for a {kty} key; pass alg=",
                               argument="alg")
    protected: dict[str, Any] = {"alg": alg, "typ": "JOSE"}
    if kid is not None:
        protected["kid"] = kid
    if embed_jwk:
        protected["jwk"] = jose_key.as_dict(private=False)
    payload = signing_payload(card)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc: "EdDSA is deprecated via RFC 9864"
        compact = joserfc.jws.serialize_compact(protected, payload, jose_key, algorithms=[alg])
    head, _, sig = compact.split(".")
    entry: dict[str, Any] = {"protected": head, "signature": sig}
    if header:
        entry["header"] = dict(header)
    out = dict(card)
    out["signatures"] = [*list(card.get("signatures") or []), entry]
    return out
