"""Signers and verifiers for receipts and tree heads.

Two schemes, one small interface (``algorithm``, ``key_id``, ``sign(bytes) -> hex``,
``verify(bytes, hex) -> bool``):

* :class:`HmacKey` — HMAC-SHA256 with a shared secret; verification is a
  constant-time compare. Anyone who can verify can also sign, so use it inside one
  trust domain.
* :class:`Ed25519Key` / :class:`Ed25519PublicKey` — Ed25519 via ``cryptography``
  (always installed). Receipts then verify on another machine with only the public
  key. This is the default whenever a private key is given.

Key ids name keys so a chain can rotate: every receipt and tree head records the
``key_id`` it was signed under, and verification looks the key up by that id in a
:class:`KeyRing`. An Ed25519 key id is ``"ed25519:" + first 16 hex digits of
SHA-256(raw public key)``; an HMAC key id is ``"hmac:" + first 16 hex digits of
HMAC(secret, "openmoe-bft/key-id")`` unless you name it.

The seed's helpers (``sign_hmac``, ``verify_hmac``, ``sign_ed25519``,
``verify_ed25519``) sign the ASCII hex entry hash, exactly as before.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..errors import InvalidInput, InvalidType

__all__ = [
    "Ed25519Key",
    "Ed25519PublicKey",
    "HmacKey",
    "KeyRing",
    "Signer",
    "Verifier",
    "as_signer",
    "as_verifier",
    "load_verifier",
    "sign_ed25519",
    "sign_hmac",
    "verify_ed25519",
    "verify_hmac",
]

HMAC = "hmac"
ED25519 = "ed25519"


@runtime_checkable
class Verifier(Protocol):
    algorithm: str
    key_id: str

    def verify(self, message: bytes, signature: str) -> bool: ...


@runtime_checkable
class Signer(Verifier, Protocol):
    def sign(self, message: bytes) -> str: ...

    def verifier(self) -> Verifier: ...


def _secret_bytes(secret: str | bytes | bytearray) -> bytes:
    if isinstance(secret, str):
        return secret.encode("utf-8")
    if isinstance(secret, (bytes, bytearray)):
        return bytes(secret)
    raise InvalidType(f"an HMAC secret is str or bytes, got {type(secret).__name__}", argument="key")


def _sig_bytes(signature: str) -> bytes | None:
    """Decode a lowercase hex signature; anything else (upper case too) is not one."""
    if not isinstance(signature, str) or signature != signature.lower():
        return None
    try:
        return bytes.fromhex(signature)
    except ValueError:
        return None


@dataclass(frozen=True, repr=False)
class HmacKey:
    """HMAC-SHA256 with a shared secret (str is UTF-8 encoded)."""

    secret: bytes
    key_id: str = ""
    algorithm: str = field(default=HMAC, init=False)

    def __init__(self, secret: str | bytes, key_id: str | None = None) -> None:
        raw = _secret_bytes(secret)
        if not raw:
            raise InvalidInput("an HMAC secret must not be empty", argument="key")
        object.__setattr__(self, "secret", raw)
        if key_id is None:
            key_id = "hmac:" + hmac.new(raw, b"openmoe-bft/key-id", hashlib.sha256).hexdigest()[:16]
        object.__setattr__(self, "key_id", _check_key_id(key_id))
        object.__setattr__(self, "algorithm", HMAC)

    @classmethod
    def generate(cls, key_id: str | None = None) -> HmacKey:
        return cls(os.urandom(32), key_id)

    def sign(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str) -> bool:
        if not isinstance(signature, str) or not signature.isascii():
            return False  # compare_digest refuses non-ASCII str: that is just a bad signature
        return hmac.compare_digest(self.sign(message), signature)

    def verifier(self) -> HmacKey:
        return self

    def __repr__(self) -> str:  # never print the secret
        return f"HmacKey(key_id={self.key_id!r})"


@dataclass(frozen=True)
class Ed25519PublicKey:
    """An Ed25519 verification key."""

    key: ed25519.Ed25519PublicKey = field(repr=False)
    key_id: str = ""
    algorithm: str = field(default=ED25519, init=False)

    def __init__(self, key: ed25519.Ed25519PublicKey, key_id: str | None = None) -> None:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise InvalidType(
                f"expected an Ed25519 public key, got {type(key).__name__}", argument="key"
            )
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "key_id", _check_key_id(key_id or _ed_key_id(key)))
        object.__setattr__(self, "algorithm", ED25519)

    @classmethod
    def from_raw(cls, raw: bytes, key_id: str | None = None) -> Ed25519PublicKey:
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != 32:
            raise InvalidInput("a raw Ed25519 public key is 32 bytes", argument="key")
        return cls(ed25519.Ed25519PublicKey.from_public_bytes(bytes(raw)), key_id)

    @classmethod
    def from_pem(cls, data: bytes | str, key_id: str | None = None) -> Ed25519PublicKey:
        data = data.encode() if isinstance(data, str) else data
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"not a PEM public key: {exc}", argument="key") from exc
        if not isinstance(key, ed25519.Ed25519PublicKey):
            raise InvalidInput(
                f"the PEM holds a {type(key).__name__}, not an Ed25519 key", argument="key"
            )
        return cls(key, key_id)

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def to_pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def verify(self, message: bytes, signature: str) -> bool:
        sig = _sig_bytes(signature)
        if sig is None or len(sig) != 64:
            return False
        try:
            self.key.verify(sig, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, repr=False)
class Ed25519Key:
    """An Ed25519 signing key (``generate()``, ``from_raw(seed32)``, ``from_pem``)."""

    key: ed25519.Ed25519PrivateKey
    key_id: str = ""
    algorithm: str = field(default=ED25519, init=False)

    def __init__(self, key: ed25519.Ed25519PrivateKey, key_id: str | None = None) -> None:
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidType(
                f"expected an Ed25519 private key, got {type(key).__name__}", argument="key"
            )
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "key_id", _check_key_id(key_id or _ed_key_id(key.public_key())))
        object.__setattr__(self, "algorithm", ED25519)

    @classmethod
    def generate(cls, key_id: str | None = None) -> Ed25519Key:
        return cls(ed25519.Ed25519PrivateKey.generate(), key_id)

    @classmethod
    def from_raw(cls, seed: bytes, key_id: str | None = None) -> Ed25519Key:
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise InvalidInput("a raw Ed25519 private key is a 32-byte seed", argument="key")
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(seed)), key_id)

    @classmethod
    def from_pem(
        cls, data: bytes | str, password: bytes | None = None, key_id: str | None = None
    ) -> Ed25519Key:
        data = data.encode() if isinstance(data, str) else data
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"not a PEM private key (or wrong password): {exc}", argument="key") from exc
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise InvalidInput(
                f"the PEM holds a {type(key).__name__}, not an Ed25519 key", argument="key"
            )
        return cls(key, key_id)

    def to_pem(self, password: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    @property
    def raw(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @property
    def public_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey(self.key.public_key(), self.key_id)

    def verifier(self) -> Ed25519PublicKey:
        return self.public_key

    def sign(self, message: bytes) -> str:
        return self.key.sign(message).hex()

    def verify(self, message: bytes, signature: str) -> bool:
        return self.public_key.verify(message, signature)

    def __repr__(self) -> str:
        return f"Ed25519Key(key_id={self.key_id!r})"


def _ed_key_id(public: ed25519.Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def _check_key_id(key_id: Any) -> str:
    if not isinstance(key_id, str) or not key_id or len(key_id) > 200:
        raise InvalidInput(f"a key id is a non-empty str of at most 200 chars, got {key_id!r}",
                           argument="key_id")
    return key_id


def as_signer(key: Any) -> Signer:
    """Normalise a ``signer=`` / ``signer_key=`` argument.

    A ``str`` or ``bytes`` is an HMAC secret (the seed's convention); a
    ``cryptography`` Ed25519 private key is wrapped; our key objects pass through.
    """
    if isinstance(key, (HmacKey, Ed25519Key)):
        return key
    if isinstance(key, (str, bytes, bytearray)):
        return HmacKey(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Key(key)
    if isinstance(key, Signer):
        return key
    raise InvalidType(
        "a signing key is a str/bytes HMAC secret, an Ed25519 private key (cryptography), "
        f"an HmacKey or an Ed25519Key; got {type(key).__name__}",
        argument="key",
    )


def as_verifier(key: Any) -> Verifier:
    """Normalise a verification key: anything :func:`as_signer` takes, plus public keys."""
    if isinstance(key, (Ed25519PublicKey, HmacKey)):
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Ed25519PublicKey(key)
    if isinstance(key, Ed25519Key):
        return key.public_key
    if isinstance(key, Verifier) and not hasattr(key, "sign"):
        return key
    return as_signer(key).verifier()


def load_verifier(data: bytes) -> Verifier:
    """Read a verification key from file contents: a PEM public (or private) key,
    or 64 hex digits of a raw Ed25519 public key."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        if b"PRIVATE KEY" in text.split(b"\n", 1)[0]:
            return Ed25519Key.from_pem(text).public_key
        return Ed25519PublicKey.from_pem(text)
    try:
        raw = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidInput(
            "a public key file holds a PEM key or 64 hex digits of a raw Ed25519 key", argument="key"
        )
    return Ed25519PublicKey.from_raw(raw)


class KeyRing:
    """Verification keys by key id — what a verifier trusts."""

    def __init__(self, keys: Iterable[Any] = ()) -> None:
        self._keys: dict[str, Verifier] = {}
        for key in keys:
            self.add(key)

    def add(self, key: Any) -> Verifier:
        v = as_verifier(key)
        known = self._keys.get(v.key_id)
        if known is not None and known is not v and known != v:
            raise InvalidInput(f"two different keys claim key id {v.key_id!r}", argument="keys")
        self._keys[v.key_id] = v
        return v

    def get(self, key_id: str) -> Verifier | None:
        return self._keys.get(key_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __iter__(self) -> Iterator[Verifier]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({sorted(self._keys)})"


# -- the seed's helpers ---------------------------------------------------------------
def sign_hmac(entry_hash: str, secret: str | bytes) -> str:
    """HMAC-SHA256 of the (hex) ``entry_hash`` under ``secret``; lowercase hex."""
    return hmac.new(_secret_bytes(secret), entry_hash.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_hmac(entry_hash: str, secret: str | bytes, signature: str) -> bool:
    """Constant-time check of :func:`sign_hmac`."""
    if not isinstance(signature, str) or not signature.isascii():
        return False
    return hmac.compare_digest(sign_hmac(entry_hash, secret), signature)


def sign_ed25519(entry_hash: str, private_key: bytes | ed25519.Ed25519PrivateKey | Ed25519Key) -> str:
    """Ed25519 signature (hex) over the (hex) ``entry_hash``.

    ``private_key`` is the 32-byte seed (as in the seed package), a ``cryptography``
    private key, or an :class:`Ed25519Key`.
    """
    if isinstance(private_key, (bytes, bytearray)):
        key = Ed25519Key.from_raw(private_key)
    elif isinstance(private_key, Ed25519Key):
        key = private_key
    else:
        key = Ed25519Key(private_key)
    return key.sign(entry_hash.encode("utf-8"))


def verify_ed25519(
    entry_hash: str, public_key: bytes | ed25519.Ed25519PublicKey | Ed25519PublicKey, signature: str
) -> bool:
    """Check :func:`sign_ed25519`; ``public_key`` is 32 raw bytes or a key object."""
    if isinstance(public_key, (bytes, bytearray)):
        key = Ed25519PublicKey.from_raw(public_key)
    elif isinstance(public_key, Ed25519PublicKey):
        key = public_key
    else:
        key = Ed25519PublicKey(public_key)
    return key.verify(entry_hash.encode("utf-8"), signature)
