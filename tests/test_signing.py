"""Payload encoding, decimal formatting and the HMAC, RSA and Ed25519 signers."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from binance_instloan import ConfigurationError
from binance_instloan._signing import (
    Ed25519Signer,
    HmacSigner,
    RsaSigner,
    encode_params,
    format_decimal,
    load_signer,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "signature_vectors.json").read_text(encoding="utf-8")
)
PASSWORD = "correct horse battery staple"


def pairs(vector: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in vector["params"]]


def pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, password: str | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def signature_bytes(signature: str) -> bytes:
    """What Binance does with the appended value: percent-decode, then base64-decode."""
    return base64.b64decode(unquote(signature), validate=True)


def verify_rsa(key: rsa.RSAPrivateKey, payload: str, signature: str) -> None:
    key.public_key().verify(
        signature_bytes(signature), payload.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def verify_ed25519(key: ed25519.Ed25519PrivateKey, payload: str, signature: str) -> None:
    key.public_key().verify(signature_bytes(signature), payload.encode())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed25519_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


# -- encode_params --------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["hmac"] + VECTORS["rsa"], ids=lambda v: v["name"])
def test_encoded_params_reproduce_the_documented_payloads(vector: dict[str, Any]) -> None:
    assert encode_params(pairs(vector)) == vector["payload"]


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("risk+desk@example.com", "risk%2Bdesk%40example.com"),
        ("two words", "two%20words"),
        ("a&b=c", "a%26b%3Dc"),
        ("100%", "100%25"),
        ("a/b", "a%2Fb"),
        ("café", "caf%C3%A9"),
        ("１２３", "%EF%BC%91%EF%BC%92%EF%BC%93"),
        ("🚀", "%F0%9F%9A%80"),
        ("", ""),
    ],
)
def test_reserved_and_non_ascii_characters_are_percent_encoded(value: str, encoded: str) -> None:
    assert encode_params([("subEmail", value)]) == f"subEmail={encoded}"


def test_unreserved_characters_stay_raw() -> None:
    unreserved = "ABCXYZabcxyz0123456789-_.~"
    assert encode_params([(unreserved, unreserved)]) == f"{unreserved}={unreserved}"


def test_names_are_encoded_too_and_order_is_kept() -> None:
    assert encode_params([("z key", "1"), ("a", "2")]) == "z%20key=1&a=2"


@given(st.text())
def test_any_value_encodes_to_unreserved_characters_and_upper_case_escapes(value: str) -> None:
    encoded = encode_params([("v", value)]).removeprefix("v=")
    assert re.fullmatch(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*", encoded)
    assert unquote(encoded, errors="strict") == value


@given(st.lists(st.tuples(st.text(min_size=1), st.text())))
def test_encoded_pairs_decode_back_to_the_same_pairs(params: list[tuple[str, str]]) -> None:
    decoded = parse_qsl(encode_params(params), keep_blank_values=True, errors="strict")
    assert decoded == params


# -- format_decimal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+2"), "100"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("1.50"), "1.50"),
        (Decimal("0E-8"), "0.00000000"),
        (Decimal("-1.5E-3"), "-0.0015"),
        (Decimal("-0"), "0"),
        (Decimal("123456789012345678901234567890.123456789"),
         "123456789012345678901234567890.123456789"),
        ("2.5e3", "2500"),
        ("0.10", "0.10"),
        (" 7 ", "7"),
        (42, "42"),
        (10**30, "1" + "0" * 30),
    ],
)
def test_decimals_are_written_positionally(value: Decimal | int | str, text: str) -> None:
    assert format_decimal(value) == text


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-Infinity"),
              "NaN", "inf", "1,5", "abc", ""],
)
def test_non_finite_or_malformed_numbers_are_refused(value: Decimal | str) -> None:
    with pytest.raises(ValueError):
        format_decimal(value)


@pytest.mark.parametrize("value", [1.5, True, None, [1]])
def test_floats_bools_and_other_types_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        format_decimal(value)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_formatted_decimals_have_no_exponent_and_keep_their_value(value: Decimal) -> None:
    text = format_decimal(value)
    assert "E" not in text.upper()
    assert Decimal(text) == value


# -- HMAC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["hmac"], ids=lambda v: v["name"])
def test_hmac_signs_the_documented_vectors_byte_for_byte(vector: dict[str, Any]) -> None:
    signer = HmacSigner(vector["secret"])
    assert signer.sign(encode_params(pairs(vector))) == vector["signature"]
    assert f"{vector['payload']}&signature={vector['signature']}" in vector["request"]


def test_hmac_signer_can_sign_many_payloads_in_any_order() -> None:
    first, second = VECTORS["hmac"]
    signer = HmacSigner(first["secret"])
    for _ in range(2):
        assert signer.sign(second["payload"]) == second["signature"]
        assert signer.sign(first["payload"]) == first["signature"]


def test_hmac_signer_reports_its_key_type() -> None:
    assert HmacSigner("secret").key_type == "HMAC"


@pytest.mark.parametrize("secret", ["", None, b"bytes"])
def test_hmac_signer_refuses_an_empty_or_non_string_secret(secret: Any) -> None:
    with pytest.raises(ConfigurationError):
        HmacSigner(secret)


# -- RSA and Ed25519 ------------------------------------------------------------------------------


class _CannedRsaKey:
    """Stands in for the unpublished key of the docs' RSA examples: returns their signature."""

    def __init__(self, signature: bytes) -> None:
        self.signature = signature
        self.key_size = 2048
        self.signed: list[bytes] = []

    def sign(self, data: bytes, pad: object, algorithm: object) -> bytes:
        self.signed.append(data)
        return self.signature


@pytest.mark.parametrize("vector", VECTORS["rsa"], ids=lambda v: v["name"])
def test_rsa_signature_is_percent_encoded_as_documented(
    vector: dict[str, Any], rsa_key: rsa.RSAPrivateKey
) -> None:
    # The docs publish no private key, so only the base64 -> percent-encoding step is checkable.
    signer = RsaSigner(rsa_key)
    canned = _CannedRsaKey(base64.b64decode(vector["signature"], validate=True))
    signer._key = canned  # type: ignore[assignment]
    assert signer.sign(encode_params(pairs(vector))) == vector["signature_percent_encoded"]
    assert canned.signed == [vector["payload"].encode()]


def test_rsa_signature_verifies_with_the_public_key(rsa_key: rsa.RSAPrivateKey) -> None:
    payload = encode_params([("email", "a+b@x.com"), ("amount", "1.5"), ("note", "é &=%")])
    signature = RsaSigner(rsa_key).sign(payload)
    verify_rsa(rsa_key, payload, signature)
    with pytest.raises(InvalidSignature):
        verify_rsa(rsa_key, payload + "0", signature)


def test_rsa_signature_uses_only_url_safe_characters(rsa_key: rsa.RSAPrivateKey) -> None:
    signatures = [RsaSigner(rsa_key).sign(f"timestamp={n}") for n in range(20)]
    assert all(re.fullmatch(r"(?:[A-Za-z0-9]|%2B|%2F|%3D)+", s) for s in signatures)
    assert any("%" in s for s in signatures)


def test_ed25519_signature_verifies_with_the_public_key(
    ed25519_key: ed25519.Ed25519PrivateKey,
) -> None:
    payload = encode_params([("symbol", "１２３４５６"), ("timestamp", "1668481559918")])
    signature = Ed25519Signer(ed25519_key).sign(payload)
    assert len(signature_bytes(signature)) == 64
    verify_ed25519(ed25519_key, payload, signature)
    with pytest.raises(InvalidSignature):
        verify_ed25519(ed25519_key, payload.replace("1668", "1669"), signature)


def test_signers_refuse_a_key_of_the_other_type(
    rsa_key: rsa.RSAPrivateKey, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    with pytest.raises(ConfigurationError):
        RsaSigner(ed25519_key)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Ed25519Signer(rsa_key)  # type: ignore[arg-type]


# -- load_signer ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["str", "bytes", "path", "str path"])
def test_load_signer_reads_an_rsa_pem_as_text_bytes_or_path(
    form: str, rsa_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    data = pem(rsa_key)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(data)
    forms: dict[str, str | bytes | Path] = {
        "str": data.decode(), "bytes": data, "path": key_file, "str path": str(key_file),
    }
    given_key = forms[form]
    signer = load_signer(api_secret=None, private_key=given_key, private_key_password=None)
    assert signer.key_type == "RSA"
    verify_rsa(rsa_key, "a=1", signer.sign("a=1"))


@pytest.mark.parametrize("form", ["str", "bytes", "path"])
def test_load_signer_reads_an_ed25519_pem_as_text_bytes_or_path(
    form: str, ed25519_key: ed25519.Ed25519PrivateKey, tmp_path: Path
) -> None:
    data = pem(ed25519_key)
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(data)
    forms: dict[str, str | bytes | Path] = {"str": data.decode(), "bytes": data, "path": key_file}
    given_key = forms[form]
    signer = load_signer(api_secret=None, private_key=given_key, private_key_password=None)
    assert signer.key_type == "ED25519"
    verify_ed25519(ed25519_key, "a=1", signer.sign("a=1"))


@pytest.mark.parametrize("password", [PASSWORD, PASSWORD.encode()])
def test_load_signer_decrypts_an_encrypted_pem_with_its_password(
    password: str | bytes, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    signer = load_signer(
        api_secret=None, private_key=pem(ed25519_key, PASSWORD), private_key_password=password
    )
    verify_ed25519(ed25519_key, "a=1", signer.sign("a=1"))


@pytest.mark.parametrize("password", [None, "wrong password"])
def test_load_signer_refuses_an_encrypted_pem_without_the_right_password(
    password: str | None, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    encrypted = pem(ed25519_key, PASSWORD)
    with pytest.raises(ConfigurationError) as caught:
        load_signer(api_secret=None, private_key=encrypted, private_key_password=password)
    assert "password" in str(caught.value)
    assert encrypted.decode() not in str(caught.value)


def test_load_signer_refuses_a_password_for_an_unencrypted_pem(
    ed25519_key: ed25519.Ed25519PrivateKey,
) -> None:
    with pytest.raises(ConfigurationError):
        load_signer(api_secret=None, private_key=pem(ed25519_key), private_key_password="x")


def test_load_signer_prefers_the_private_key_over_the_secret(
    ed25519_key: ed25519.Ed25519PrivateKey,
) -> None:
    signer = load_signer(
        api_secret="secret", private_key=pem(ed25519_key), private_key_password=None
    )
    assert signer.key_type == "ED25519"


def test_load_signer_uses_hmac_for_a_secret_alone() -> None:
    vector = VECTORS["hmac"][0]
    signer = load_signer(api_secret=vector["secret"], private_key=None, private_key_password=None)
    assert signer.key_type == "HMAC"
    assert signer.sign(vector["payload"]) == vector["signature"]


def test_load_signer_without_credentials_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="api_secret"):
        load_signer(api_secret=None, private_key=None, private_key_password=None)


def test_load_signer_refuses_other_key_types() -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ConfigurationError, match="RSA or Ed25519"):
        load_signer(api_secret=None, private_key=ec_pem, private_key_password=None)


def test_load_signer_refuses_a_public_key(ed25519_key: ed25519.Ed25519PrivateKey) -> None:
    public_pem = ed25519_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ConfigurationError, match="public key"):
        load_signer(api_secret=None, private_key=public_pem, private_key_password=None)


def test_load_signer_refuses_a_corrupt_pem() -> None:
    corrupt = b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigurationError):
        load_signer(api_secret=None, private_key=corrupt, private_key_password=None)


def test_missing_key_file_error_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigurationError, match=re.escape(str(missing))):
        load_signer(api_secret=None, private_key=missing, private_key_password=None)


def test_unreadable_key_string_is_not_echoed_in_the_error(
    ed25519_key: ed25519.Ed25519PrivateKey,
) -> None:
    # A PEM body pasted without its header must not end up in logs via the exception.
    body = "".join(pem(ed25519_key).decode().splitlines()[1:-1])
    with pytest.raises(ConfigurationError) as caught:
        load_signer(api_secret=None, private_key=body, private_key_password=None)
    assert body not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None


def test_missing_cryptography_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    key_pem = pem(ed25519_key)
    for name in [m for m in sys.modules if m == "cryptography" or m.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ConfigurationError, match=re.escape('pip install ".[crypto]"')):
        load_signer(api_secret=None, private_key=key_pem, private_key_password=None)


def test_importing_the_signing_module_does_not_import_cryptography() -> None:
    code = (
        "import sys, binance_instloan._signing as s; "
        "s.load_signer(api_secret='x', private_key=None, private_key_password=None).sign('a=1'); "
        "print('cryptography' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(__file__).parent.parent,
    )
    assert result.stdout.strip() == "False"


# -- secrecy --------------------------------------------------------------------------------------


def test_hmac_signer_repr_hides_the_secret() -> None:
    secret = VECTORS["hmac"][0]["secret"]
    signer = HmacSigner(secret)
    assert secret not in repr(signer)
    assert secret not in str(signer)
    assert "hidden" in repr(signer)


def test_key_signer_repr_hides_the_private_key(
    rsa_key: rsa.RSAPrivateKey, ed25519_key: ed25519.Ed25519PrivateKey
) -> None:
    for key, signer in ((rsa_key, RsaSigner(rsa_key)), (ed25519_key, Ed25519Signer(ed25519_key))):
        text = repr(signer) + str(signer)
        body_lines = pem(key).decode().splitlines()[1:-1]
        assert not any(line in text for line in body_lines)
        assert "hidden" in text
    assert str(rsa_key.private_numbers().d) not in repr(RsaSigner(rsa_key))
