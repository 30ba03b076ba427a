"""Request signing: the percent-encoded payload and the HMAC, RSA and Ed25519 signers.

Binance signs the payload *after* percent-encoding it (reference 1.4 and 1.5), so the string
built by :func:`encode_params` is both what is signed and what is sent, byte for byte.

``cryptography`` is an optional extra: it is imported only when a private key is loaded, so an
HMAC-only install never needs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import quote

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "Ed25519Signer",
    "HmacSigner",
    "RsaSigner",
    "Signer",
    "encode_params",
    "format_decimal",
    "load_signer",
]

# RFC 3986 unreserved characters; quote() always keeps ASCII letters and digits raw.
_UNRESERVED: Final = "-_.~"
_PLAIN: Final = re.compile(r"[A-Za-z0-9\-_.~]*").fullmatch
_CRYPTO_MISSING: Final = (
    'RSA and Ed25519 keys need the cryptography package: pip install ".[crypto]"'
)


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """Join ``name=value`` pairs with ``&``, percent-encoding both sides (UTF-8, upper-case hex).

    Only ``A-Za-z0-9-_.~`` stay raw, so ``@`` becomes ``%40``, a space ``%20`` and ``+`` ``%2B``:
    the result reads the same to every server-side decoder, and is what gets signed and sent.
    """
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in params)


def _encode(text: str) -> str:
    # Most names and values (ids, assets, amounts, timestamps) need no escaping; checking that
    # first makes encoding about three times faster than calling quote() on everything.
    return text if _PLAIN(text) else quote(text, safe=_UNRESERVED)


def format_decimal(value: Decimal | int | str) -> str:
    """Write a number positionally, never in exponent form: ``Decimal("1E+2")`` -> ``"100"``.

    Trailing zeros that were given are kept (``"1.50"``); NaN and infinities raise ``ValueError``.
    ``float`` is refused (it cannot hold most decimal amounts exactly), and so is ``bool``.
    """
    if isinstance(value, bool | float):
        raise TypeError(f"expected Decimal, int or str, not {type(value).__name__}")
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    elif isinstance(value, Decimal):
        number = value
    else:
        raise TypeError(f"expected Decimal, int or str, not {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    if number.is_zero() and number.is_signed():
        # "-0" is a valid Decimal but not a sensible amount to put on the wire.
        number = number.copy_abs()
    return format(number, "f")


class Signer(Protocol):
    """Signs an encoded payload; the result is appended verbatim after ``signature=``."""

    @property
    def key_type(self) -> str:
        """``"HMAC"``, ``"RSA"`` or ``"ED25519"``."""
        ...

    def sign(self, payload: str) -> str: ...


def _percent_encoded_base64(raw: bytes) -> str:
    # base64 uses "+", "/" and "="; none of them may reach the query string raw.
    return quote(base64.b64encode(raw).decode("ascii"), safe="")


class HmacSigner:
    """HMAC-SHA256 with the API secret; the signature is lower-case hex."""

    __slots__ = ("_mac",)
    key_type: Final = "HMAC"

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("api_secret must be a non-empty string")
        # Keying HMAC costs two hash blocks; copying a keyed object per call skips that.
        self._mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)

    def sign(self, payload: str) -> str:
        mac = self._mac.copy()
        mac.update(payload.encode("utf-8"))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(secret=<hidden>)"


class RsaSigner:
    """RSASSA-PKCS1-v1_5 with SHA-256; the signature is base64, then percent-encoded."""

    __slots__ = ("_hash", "_key", "_padding")
    key_type: Final = "RSA"

    def __init__(self, private_key: RSAPrivateKey) -> None:
        try:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding, rsa
        except ImportError as exc:
            raise ConfigurationError(_CRYPTO_MISSING) from exc
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ConfigurationError(
                f"RsaSigner needs an RSA private key, not {type(private_key).__name__}"
            )
        self._key = private_key
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()

    def sign(self, payload: str) -> str:
        return _percent_encoded_base64(
            self._key.sign(payload.encode("utf-8"), self._padding, self._hash)
        )

    def __repr__(self) -> str:
        return f"RsaSigner(key_size={self._key.key_size}, private_key=<hidden>)"


class Ed25519Signer:
    """Ed25519; the signature is base64, then percent-encoded."""

    __slots__ = ("_key",)
    key_type: Final = "ED25519"

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        try:
            from cryptography.hazmat.primitives.asymmetric import ed25519
        except ImportError as exc:
            raise ConfigurationError(_CRYPTO_MISSING) from exc
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise ConfigurationError(
                f"Ed25519Signer needs an Ed25519 private key, not {type(private_key).__name__}"
            )
        self._key = private_key

    def sign(self, payload: str) -> str:
        return _percent_encoded_base64(self._key.sign(payload.encode("utf-8")))

    def __repr__(self) -> str:
        return "Ed25519Signer(private_key=<hidden>)"


def load_signer(
    *,
    api_secret: str | None,
    private_key: str | bytes | os.PathLike[str] | None,
    private_key_password: str | bytes | None,
) -> Signer:
    """Build the signer for the given credentials; a private key wins over a secret.

    ``private_key`` is PEM text, PEM bytes or the path of a PEM file (PKCS#8; the algorithm is
    read from the key). Raises :class:`ConfigurationError` when nothing usable is given.
    """
    if private_key is not None:
        return _signer_from_pem(_read_pem(private_key), private_key_password)
    if api_secret is not None:
        return HmacSigner(api_secret)
    raise ConfigurationError(
        "no signing credentials: pass api_secret (HMAC) or private_key (RSA or Ed25519 PEM)"
    )


def _read_pem(private_key: str | bytes | os.PathLike[str]) -> bytes:
    if isinstance(private_key, bytes):
        return private_key
    if isinstance(private_key, str):
        if "-----BEGIN" in private_key:
            return private_key.encode("utf-8")
        # Never echo a str we could not read: it may be key material missing its PEM header.
        description = "private_key (neither PEM text nor a readable file; value not shown)"
    elif isinstance(private_key, os.PathLike):
        description = f"private_key file {os.fspath(private_key)!r}"
    else:
        raise ConfigurationError(
            "private_key must be PEM text, PEM bytes or a path, "
            f"not {type(private_key).__name__}"
        )
    try:
        with open(private_key, "rb") as file:
            return file.read()
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL byte
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
    # Raised outside the handler so the OSError, whose text repeats the value, is not chained.
    raise ConfigurationError(f"cannot read {description}: {reason}")


def _signer_from_pem(pem: bytes, password: str | bytes | None) -> Signer:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError as exc:
        raise ConfigurationError(_CRYPTO_MISSING) from exc
    if b"-----BEGIN" not in pem:
        raise ConfigurationError("private_key is not PEM: no '-----BEGIN' header found")
    if b"PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
        raise ConfigurationError(
            "private_key holds a public key; pass the private key (Binance keeps the public one)"
        )
    secret = password.encode("utf-8") if isinstance(password, str) else password
    try:
        key = load_pem_private_key(pem, password=secret)
    except TypeError as exc:
        # cryptography's messages say only whether a password was expected; no key data.
        raise ConfigurationError(f"private_key password: {exc}") from None
    except ValueError:
        raise ConfigurationError(
            "cannot load private_key: not a PKCS#8 PEM private key, or the password is wrong"
        ) from None
    except Exception as exc:  # e.g. UnsupportedAlgorithm; its text is about the algorithm
        raise ConfigurationError(f"cannot load private_key: {type(exc).__name__}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        return RsaSigner(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Ed25519Signer(key)
    raise ConfigurationError(
        f"unsupported private key type {type(key).__name__}: Binance accepts RSA or Ed25519"
    )
