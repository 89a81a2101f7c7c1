"""Facilitators: who verifies and settles an x402 payment.

:class:`Facilitator` is the plug-in protocol (x402's ``verify`` / ``settle`` over its
``PaymentPayload`` / ``PaymentRequirements`` types). :class:`LocalFacilitator` does
both offline — for tests, demos and operators who settle in batches later:

* verify: scheme, network, asset, recipient, exact amount, validity window, the
  EIP-3009 signature recovered with ``eth-account`` (must be the ``from`` address),
  nonce never used before, and (optionally) the payer's balance;
* settle: verify again, then claim the nonce atomically (a SQLite primary key when a
  store is given, so a replay is refused across processes and restarts) and return
  a ``SettleResponse`` whose ``transaction`` is a local settlement id, not a chain tx.

Every refusal carries x402's reason code and a sentence saying what was wrong.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .eip3009 import (
    address_of,
    digest,
    recover_public_key,
    split_signature,
    verify_with_public_key,
)

__all__ = ["Facilitator", "LocalFacilitator", "REASONS"]

#: x402's reason codes (the ``exact`` EVM scheme's own strings) plus ``asset_mismatch``
REASONS = {
    "scheme": "unsupported_scheme",
    "network": "network_mismatch",
    "asset": "invalid_exact_evm_asset_mismatch",
    "payload": "invalid_exact_evm_payload",
    "recipient": "invalid_exact_evm_payload_recipient_mismatch",
    "amount": "invalid_exact_evm_payload_authorization_value_mismatch",
    "expired": "invalid_exact_evm_payload_authorization_valid_before",
    "not_yet_valid": "invalid_exact_evm_payload_authorization_valid_after",
    "signature": "invalid_exact_evm_payload_signature",
    "replay": "invalid_exact_evm_nonce_already_used",
    "balance": "invalid_exact_evm_insufficient_balance",
}
_MIGRATIONS = [
    """
    CREATE TABLE x402_nonces (
        network TEXT NOT NULL, asset TEXT NOT NULL, payer TEXT NOT NULL, nonce TEXT NOT NULL,
        amount TEXT NOT NULL, settled_at REAL NOT NULL,
        PRIMARY KEY (network, asset, payer, nonce))
    """,
]
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_NONCE = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT = re.compile(r"[0-9]{1,78}")
_EXPIRY_BUFFER_S = 6  # x402's exact scheme refuses authorizations expiring within 6 s


class Facilitator(Protocol):
    """Verifies and settles payments (x402 ``PaymentPayload`` against ``PaymentRequirements``)."""

    def verify(self, payload: Any, requirements: Any) -> Any: ...  # -> x402 VerifyResponse

    def settle(self, payload: Any, requirements: Any) -> Any: ...  # -> x402 SettleResponse


def _refuse(key: str, message: str, payer: str | None) -> Any:
    from x402 import VerifyResponse

    return VerifyResponse(is_valid=False, invalid_reason=REASONS[key], invalid_message=message,
                          payer=payer)


class LocalFacilitator:
    """Offline verification and settlement (see the module docstring).

    ``store`` — a :class:`~openmoe_bft.store.Store`, or a zero-argument callable returning
    one (or None) on first use; None keeps used nonces in memory. ``clock`` — seconds
    since the epoch. ``balances`` — payer address → atomic units available (None: not
    checked); settled amounts are debited from it.
    """

    def __init__(self, *, store: Any = None, clock: Callable[[], float] = time.time,
                 balances: Mapping[str, int] | None = None) -> None:
        self._store_src = store
        self._store: Any = None
        self._store_ready = False
        self._clock = clock
        self._balances = None if balances is None else {k.lower(): int(v)
                                                         for k, v in balances.items()}
        self._used: set[tuple[str, str, str, str]] = set()
        self._lock = threading.Lock()
        self._pubkeys: dict[str, bytes] = {}  # payer address -> recovered public key

    def _signed_by(self, auth: Mapping[str, Any], signature: str, requirements: Any) -> bool:
        """Did ``auth["from"]`` sign ``auth``? The first payment of a payer recovers its
        public key (pure-Python secp256k1, ~5 ms); later ones verify against it with
        OpenSSL (~0.1 ms)."""
        try:
            r, s, v = split_signature(signature)
            d = digest(auth, network=requirements.network, asset=requirements.asset,
                       name=requirements.extra.get("name", ""),
                       version=requirements.extra.get("version", ""))
            payer = auth["from"].lower()
            known = self._pubkeys.get(payer)
            if known is not None:
                return verify_with_public_key(known, d, r, s)
            pub = recover_public_key(d, r, s, v)
        except Exception:  # noqa: BLE001 - an unparsable signature is a bad signature
            return False
        if address_of(pub).lower() != payer:
            return False
        if len(self._pubkeys) < 100_000:
            self._pubkeys[payer] = pub
        return True

    # -- storage --------------------------------------------------------------------------
    def _nonce_store(self) -> Any:
        if not self._store_ready:
            src = self._store_src
            store = src() if callable(src) else src
            if store is not None:
                store.migrate("x402_nonces", _MIGRATIONS)
            self._store, self._store_ready = store, True
        return self._store

    def _is_used(self, key: tuple[str, str, str, str]) -> bool:
        store = self._nonce_store()
        if store is None:
            return key in self._used
        rows = store.query("SELECT 1 FROM x402_nonces WHERE network=? AND asset=? AND payer=? "
                           "AND nonce=?", key)
        return bool(rows)

    def _claim(self, key: tuple[str, str, str, str], amount: str) -> bool:
        """Mark the nonce used; False when it already was (atomic)."""
        import sqlite3

        store = self._nonce_store()
        if store is None:
            if key in self._used:
                return False
            self._used.add(key)
            return True
        try:
            with store.transaction() as cur:
                cur.execute("INSERT INTO x402_nonces (network, asset, payer, nonce, amount, "
                            "settled_at) VALUES (?,?,?,?,?,?)", (*key, amount, self._clock()))
        except sqlite3.IntegrityError:  # the primary key: already settled
            return False
        return True

    # -- verification ---------------------------------------------------------------------
    @staticmethod
    def _key(payload: Any, auth: Mapping[str, Any]) -> tuple[str, str, str, str]:
        return (str(payload.accepted.network), payload.accepted.asset.lower(),
                str(auth["from"]).lower(), str(auth["nonce"]).lower())

    def verify(self, payload: Any, requirements: Any) -> Any:
        from x402 import VerifyResponse

        body = payload.payload if isinstance(payload.payload, Mapping) else {}
        auth = body.get("authorization")
        payer = auth.get("from") if isinstance(auth, Mapping) else None
        payer = payer if isinstance(payer, str) else None
        acc = payload.accepted
        if payload.x402_version != 2 or acc.scheme != "exact" or requirements.scheme != "exact":
            return _refuse("scheme", f"only x402 v2 'exact' payments are accepted, got v"
                                     f"{payload.x402_version} {acc.scheme!r}", payer)
        if acc.network != requirements.network:
            return _refuse("network", f"paid on network {acc.network!r}, the price is on "
                                      f"{requirements.network!r}", payer)
        if acc.asset.lower() != requirements.asset.lower():
            return _refuse("asset", f"wrong asset: paid in {acc.asset}, the price is in "
                                    f"{requirements.asset}", payer)
        sig = body.get("signature")
        if not isinstance(auth, Mapping) or not isinstance(sig, str) or not (
                all(isinstance(auth.get(k), str) and _ADDRESS.fullmatch(auth[k])
                    for k in ("from", "to"))
                and all(isinstance(auth.get(k), str) and _UINT.fullmatch(auth[k])
                        for k in ("value", "validAfter", "validBefore"))
                and isinstance(auth.get("nonce"), str) and _NONCE.fullmatch(auth["nonce"])):
            return _refuse("payload", "malformed payload: expected {authorization: {from, to, "
                                      "value, validAfter, validBefore, nonce}, signature}", payer)
        if auth["to"].lower() != requirements.pay_to.lower():
            return _refuse("recipient", f"pays {auth['to']}, not the payee "
                                        f"{requirements.pay_to}", payer)
        value, price = int(auth["value"]), int(requirements.amount)
        if value != price:
            what = "underpaid" if value < price else "overpaid (the exact scheme needs the price)"
            return _refuse("amount", f"{what}: authorized {value}, the price is {price} atomic "
                                     "units", payer)
        now = self._clock()
        if int(auth["validBefore"]) < now + _EXPIRY_BUFFER_S:
            return _refuse("expired", f"expired: the authorization was valid before "
                                      f"{auth['validBefore']}, it is now {int(now)}", payer)
        if int(auth["validAfter"]) > now:
            return _refuse("not_yet_valid", f"not yet valid: valid after {auth['validAfter']}",
                           payer)
        if not self._signed_by(auth, sig, requirements):
            return _refuse("signature", "forged or corrupted signature: it was not made by "
                                        f"{auth['from']} over this authorization", payer)
        if self._is_used(self._key(payload, auth)):
            return _refuse("replay", f"replayed: nonce {auth['nonce'][:18]}… was already "
                                     "settled", payer)
        if self._balances is not None and self._balances.get(auth["from"].lower(), 0) < value:
            return _refuse("balance", f"insufficient balance for {value}", payer)
        return VerifyResponse(is_valid=True, payer=auth["from"])

    def settle(self, payload: Any, requirements: Any) -> Any:
        from x402 import SettleResponse

        with self._lock:
            checked = self.verify(payload, requirements)
            if not checked.is_valid:
                return SettleResponse(success=False, error_reason=checked.invalid_reason,
                                      error_message=checked.invalid_message, payer=checked.payer,
                                      transaction="", network=requirements.network)
            auth = payload.payload["authorization"]
            if not self._claim(self._key(payload, auth), auth["value"]):
                return SettleResponse(success=False, error_reason=REASONS["replay"],
                                      error_message="replayed: nonce already settled",
                                      payer=auth["from"], transaction="",
                                      network=requirements.network)
            if self._balances is not None:
                self._balances[auth["from"].lower()] -= int(auth["value"])
        tx = "local:" + hashlib.sha256(
            f"{requirements.network}|{requirements.asset}|{auth['from']}|{auth['nonce']}".lower()
            .encode()).hexdigest()
        return SettleResponse(success=True, payer=auth["from"], transaction=tx,
                              network=requirements.network, amount=auth["value"])
