"""EIP-3009 ``TransferWithAuthorization`` typed data (the x402 ``exact`` EVM scheme),
signed and recovered locally with ``eth-account`` — no chain, no RPC.

The typed data is exactly what x402's EVM client signs: domain ``{name, version,
chainId, verifyingContract = asset}``, message ``{from, to, value, validAfter,
validBefore, nonce}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from ...errors import InvalidInput

__all__ = ["chain_id_of", "typed_data", "sign_authorization", "recover_authorizer",
           "new_nonce"]

_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "TransferWithAuthorization": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "validAfter", "type": "uint256"},
        {"name": "validBefore", "type": "uint256"},
        {"name": "nonce", "type": "bytes32"},
    ],
}


def chain_id_of(network: str) -> int:
    """``"eip155:84532"`` → ``84532`` (CAIP-2)."""
    prefix, _, ref = str(network).partition(":")
    if prefix != "eip155" or not ref.isdigit():
        raise InvalidInput(f"not an EVM CAIP-2 network id: {network!r}", argument="network")
    return int(ref)


def new_nonce() -> str:
    """A random 32-byte EIP-3009 nonce as 0x-hex."""
    return "0x" + secrets.token_hex(32)


def typed_data(authorization: Mapping[str, Any], *, network: str, asset: str, name: str,
               version: str) -> dict[str, Any]:
    """The EIP-712 ``full_message`` for ``authorization`` (x402 wire dict: from, to, value,
    validAfter, validBefore, nonce; numbers as decimal strings)."""
    nonce = str(authorization["nonce"])
    raw_nonce = bytes.fromhex(nonce.removeprefix("0x"))
    if len(raw_nonce) != 32:
        raise InvalidInput("nonce must be 32 bytes of hex", argument="nonce")
    return {
        "types": _TYPES,
        "primaryType": "TransferWithAuthorization",
        "domain": {"name": name, "version": version, "chainId": chain_id_of(network),
                   "verifyingContract": asset},
        "message": {
            "from": authorization["from"],
            "to": authorization["to"],
            "value": int(authorization["value"]),
            "validAfter": int(authorization["validAfter"]),
            "validBefore": int(authorization["validBefore"]),
            "nonce": raw_nonce,
        },
    }


def sign_authorization(account: Any, authorization: Mapping[str, Any], **domain: Any) -> str:
    """Sign with an ``eth_account`` account; returns the 65-byte signature as 0x-hex."""
    signed = account.sign_typed_data(full_message=typed_data(authorization, **domain))
    sig = signed.signature.hex()
    return sig if sig.startswith("0x") else "0x" + sig


def recover_authorizer(authorization: Mapping[str, Any], signature: str, **domain: Any) -> str:
    """The address that signed ``authorization`` (raises ValueError when the signature
    cannot be parsed at all)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    message = encode_typed_data(full_message=typed_data(authorization, **domain))
    return str(Account.recover_message(message, signature=signature))


# -- fast verification: recover a payer's public key once, then verify with OpenSSL ---------

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def digest(authorization: Mapping[str, Any], **domain: Any) -> bytes:
    """The 32-byte EIP-712 digest that the payer signs."""
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    return bytes(_hash_eip191_message(encode_typed_data(
        full_message=typed_data(authorization, **domain))))


def split_signature(signature: str) -> tuple[int, int, int]:
    """``(r, s, v)`` with ``v`` in {0, 1}; raises ValueError for anything but a 65-byte
    signature with a low ``s`` (EIP-2; USDC's ``ECRecover`` refuses high ``s`` too)."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) != 65:
        raise ValueError(f"a signature is 65 bytes, got {len(raw)}")
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    v = v - 27 if v >= 27 else v
    if v not in (0, 1) or not (0 < r < _SECP256K1_N and 0 < s <= _SECP256K1_N // 2):
        raise ValueError("malformed or high-s signature")
    return r, s, v


def recover_public_key(msg_digest: bytes, r: int, s: int, v: int) -> bytes:
    """The 64-byte uncompressed public key that made ``(r, s, v)`` over ``msg_digest``."""
    from eth_keys import keys

    sig = keys.Signature(vrs=(v, r, s))
    return bytes(sig.recover_public_key_from_msg_hash(msg_digest).to_bytes())


def address_of(public_key: bytes) -> str:
    """The checksummed Ethereum address of a 64-byte public key."""
    from eth_utils import keccak, to_checksum_address

    return str(to_checksum_address(keccak(public_key)[12:]))


def verify_with_public_key(public_key: bytes, msg_digest: bytes, r: int, s: int) -> bool:
    """ECDSA-verify ``(r, s)`` over a prehashed digest with OpenSSL (``cryptography``)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + public_key)
    try:
        key.verify(utils.encode_dss_signature(r, s), msg_digest,
                   ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True
