"""Card signatures: JWS (RFC 7515, detached payload) over the RFC 8785 card."""

from __future__ import annotations

import base64
import json

import pytest
from _a2a_corpus import TODAY, card_with_fields, extension_card

pytest.importorskip("joserfc")

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402

from openmoe_bft.a2a import sign_card, signing_payload, validate_card, verify_signatures  # noqa: E402
from openmoe_bft.canonical import canonical_json  # noqa: E402
from openmoe_bft.receipts import Ed25519Key  # noqa: E402

ED = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
EC = ec.derive_private_key(123456789, ec.SECP256R1())


def v(card, **kw):
    return validate_card(card, today=TODAY, structure="builtin", **kw)


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_payload_is_the_canonical_card_without_signatures():
    card = sign_card(card_with_fields(), ED, kid="ed-1")
    assert signing_payload(card) == canonical_json(card_with_fields())
    header = json.loads(base64.urlsafe_b64decode(card["signatures"][0]["protected"] + "=="))
    assert header == {"alg": "EdDSA", "typ": "JOSE", "kid": "ed-1"}


@pytest.mark.parametrize("key,alg", [(ED, "EdDSA"), (EC, "ES256")])
def test_a_valid_signature_verifies_and_the_card_stays_compliant(key, alg):
    card = sign_card(extension_card(), key, kid="k1")
    verdict = v(card, key=key.public_key(), require_signature=True)
    assert [s.status for s in verdict.signatures] == ["valid"]
    assert verdict.signatures[0].alg == alg and verdict.signatures[0].key_source == "key"
    assert verdict.compliant is True and verdict.signatures_valid


def test_rs256_and_the_project_ed25519_key_work_too():
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert v(sign_card(card_with_fields(), r), key=r.public_key()).signatures[0].valid
    ours = Ed25519Key.from_raw(bytes(32))
    assert v(sign_card(card_with_fields(), ours), key=ours).signatures[0].valid


@pytest.mark.parametrize("change", [
    lambda c: c.update(name="Evil Twin"),
    lambda c: c["metadata"].update(hitlContact="mailto:attacker@example.com"),
    lambda c: c["supportedInterfaces"][0].update(url="https://attacker.example/a2a"),
    lambda c: c["skills"].pop(),
])
def test_a_tampered_card_is_invalid_and_never_compliant(change):
    card = sign_card(card_with_fields(), ED, kid="k1")
    change(card)
    verdict = v(card, key=ED.public_key())
    assert verdict.signatures[0].status == "invalid"
    assert verdict.compliant is False
    assert verdict.advisory[0].startswith("signature 0 is invalid")


def test_the_wrong_key_is_invalid():
    card = sign_card(card_with_fields(), ED)
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    assert v(card, key=other).signatures[0].status == "invalid"
    assert v(card, key=EC.public_key()).signatures[0].status == "invalid"  # wrong key type
    assert v(card, key=other).compliant is False


def test_kid_resolution_by_callable_and_mapping():
    card = sign_card(card_with_fields(), EC, kid="ec-2026")
    seen = []

    def resolve(kid):
        seen.append(kid)
        return EC.public_key() if kid == "ec-2026" else None

    assert v(card, resolve_key=resolve).signatures[0].key_source == "kid"
    assert seen == ["ec-2026"]
    jwk = {"kty": "EC", "crv": "P-256",
           **{k: v for k, v in _public_jwk(EC).items() if k in ("x", "y")}}
    assert v(card, resolve_key={"ec-2026": jwk}).signatures[0].valid


def _public_jwk(key):
    from joserfc.jwk import ECKey

    return ECKey.import_key(key.public_key()).as_dict()


def test_an_unknown_kid_is_unverifiable_not_invalid():
    card = sign_card(card_with_fields(), ED, kid="who-knows")
    verdict = v(card, resolve_key={"other": ED.public_key()})
    s = verdict.signatures[0]
    assert s.status == "unverifiable" and "who-knows" in s.reason
    assert verdict.compliant is True  # unverifiable is a warning ...
    assert any("cannot be verified" in a for a in verdict.advisory)
    assert v(card, require_signature=True).compliant is False  # ... unless one is required


def test_a_resolver_that_raises_is_unverifiable():
    card = sign_card(card_with_fields(), ED, kid="k")

    def boom(kid):
        raise RuntimeError("key server down")

    s = v(card, resolve_key=boom).signatures[0]
    assert s.status == "unverifiable" and "key server down" in s.reason


def test_an_embedded_jwk_proves_integrity_only():
    card = sign_card(card_with_fields(), EC, embed_jwk=True)
    verdict = v(card)
    s = verdict.signatures[0]
    assert s.valid and s.key_source == "jwk"
    assert any(f.code == "signature.self-asserted" for f in verdict.findings)
    assert v(card, trust_embedded_jwk=False).signatures[0].status == "unverifiable"
    card["description"] = "changed"
    assert v(card).signatures[0].status == "invalid"


def test_one_bad_signature_among_good_ones_makes_the_card_non_compliant():
    card = sign_card(card_with_fields(), ED, kid="a")
    card = sign_card(card, EC, kid="b")
    card["signatures"][1]["signature"] = card["signatures"][0]["signature"]
    keys = {"a": ED.public_key(), "b": EC.public_key()}
    verdict = v(card, resolve_key=keys)
    assert [s.status for s in verdict.signatures] == ["valid", "invalid"]
    assert verdict.compliant is False


@pytest.mark.parametrize("entry,status", [
    ({"protected": _b64({"alg": "none"}), "signature": ""}, "invalid"),
    ({"protected": "!!!", "signature": "abc"}, "invalid"),
    ({"protected": _b64(["alg"]), "signature": "abc"}, "invalid"),
    ({"protected": _b64({"kid": "k"}), "signature": "abc"}, "invalid"),
    ({"protected": _b64({"alg": "HS256", "kid": "k"}), "signature": "abc"}, "unverifiable"),
    ({"protected": _b64({"alg": "EdDSA", "crit": ["exp"]}), "signature": "abc"},
     "unverifiable"),
    ({"protected": _b64({"alg": "EdDSA"}), "signature": "@@@"}, "invalid"),
    ("not-an-object", "invalid"),
])
def test_malformed_signatures_end_in_a_status_not_an_exception(entry, status):
    card = card_with_fields()
    card["signatures"] = [entry]
    s = verify_signatures(card, key=ED.public_key())[0]
    assert s.status == status, s


def _drop_empty(x):
    if isinstance(x, dict):
        out = {k: c for k, val in x.items() if (c := _drop_empty(val)) is not None}
        return out or None
    if isinstance(x, list):
        out = [c for val in x if (c := _drop_empty(val)) is not None]
        return out or None
    return None if x == "" else x


def test_a_card_signed_over_the_sdk_form_without_empty_values_verifies():
    # a2a-sdk drops empty strings / lists / objects before canonicalising
    card = card_with_fields()
    card["iconUrl"] = ""
    card["capabilities"]["extensions"] = []
    trimmed = _drop_empty(card)
    assert "iconUrl" not in trimmed and "extensions" not in trimmed["capabilities"]
    signed = sign_card(trimmed, ED)
    card["signatures"] = signed["signatures"]
    assert v(card, key=ED.public_key()).signatures[0].valid


def test_a2a_sdk_signatures_verify_here():
    pytest.importorskip("jwt")
    types = pytest.importorskip("a2a.types")
    from a2a.utils.signing import create_agent_card_signer
    from google.protobuf.json_format import MessageToDict, ParseDict

    card = card_with_fields()
    del card["metadata"]  # not an A2A 1.0 field: the SDK's type drops it
    msg = ParseDict(card, types.AgentCard())
    signer = create_agent_card_signer(ED, {"alg": "EdDSA", "kid": "sdk", "typ": "JOSE"})
    signed = MessageToDict(signer(msg))
    assert v(signed, key=ED.public_key()).signatures[0].valid


def test_our_signatures_verify_with_a2a_sdk():
    pytest.importorskip("jwt")
    types = pytest.importorskip("a2a.types")
    from a2a.utils.signing import create_signature_verifier
    from google.protobuf.json_format import ParseDict

    card = card_with_fields()
    del card["metadata"]
    signed = sign_card(card, ED, kid="ours")
    verify = create_signature_verifier(lambda kid, jku: ED.public_key(), ["EdDSA"])
    verify(ParseDict(signed, types.AgentCard()))  # raises when no signature verifies


_SIGNED = sign_card(card_with_fields(), ED, kid="p")


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for k, x in node.items():
            if k != "signatures":
                yield from _paths(x, (*prefix, k))
    elif isinstance(node, list):
        for i, x in enumerate(node):
            yield from _paths(x, (*prefix, i))
    elif isinstance(node, str):
        yield prefix


_STRING_PATHS = list(_paths(_SIGNED))


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.sampled_from(_STRING_PATHS), st.text(min_size=1, max_size=3))
def test_any_changed_string_breaks_the_signature(path, extra):
    card = json.loads(json.dumps(_SIGNED))
    node = card
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = node[path[-1]] + extra
    s = verify_signatures(card, key=ED.public_key())[0]
    assert s.status == "invalid"
