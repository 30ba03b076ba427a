"""API keys registered per account, and signature verification (reference 1.4).

HMAC keys are derived from the seed so a simulator restarted with the same seed accepts the same
credentials. RSA and Ed25519 key pairs need ``cryptography`` (the ``crypto`` extra) and are
generated on first use; only the public half stays on the "exchange" side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
import string
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

KeyType = Literal["hmac", "rsa", "ed25519"]
KEY_TYPES: Final[tuple[KeyType, ...]] = ("hmac", "rsa", "ed25519")
_ALNUM: Final = string.ascii_letters + string.digits


@attrs.frozen
class Credentials:
    """What a user needs to call the simulator: an API key and either a secret or a private key."""

    api_key: str
    api_secret: str | None = attrs.field(default=None, repr=False)
    private_key_pem: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class RegisteredKey:
    """The exchange's view of one API key: whose it is and how to check its signatures."""

    api_key: str
    uid: int
    key_type: KeyType
    secret: bytes | None = attrs.field(default=None, repr=False)
    public_key: Ed25519PublicKey | RSAPublicKey | None = attrs.field(default=None, repr=False)

    def verify(self, payload: bytes, signature: str) -> bool:
        """True when ``signature`` (already percent-decoded) signs ``payload`` with this key."""
        if self.key_type == "hmac":
            assert self.secret is not None
            expected = hmac.new(self.secret, payload, hashlib.sha256).hexdigest()
            # Binance documents the hex signature as case-insensitive.
            return hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8"))
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        return _verify_public(self.public_key, raw, payload)


def _verify_public(public_key: Any, signature: bytes, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        if isinstance(public_key, Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            public_key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


class KeyRing:
    """Every API key the simulator accepts, by key string."""

    __slots__ = ("_by_key", "_issued", "_seed")

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._by_key: dict[str, RegisteredKey] = {}
        # One credential set per (uid, key type), so repeated calls hand out the same key.
        self._issued: dict[tuple[int, KeyType], Credentials] = {}

    def get(self, api_key: str) -> RegisteredKey | None:
        return self._by_key.get(api_key)

    def issue(self, uid: int, key_type: KeyType) -> Credentials:
        """The credentials of ``uid`` for ``key_type``, created and registered on first use."""
        issued = self._issued.get((uid, key_type))
        if issued is not None:
            return issued
        if key_type not in KEY_TYPES:
            raise ValueError(f"key_type must be one of {KEY_TYPES}, not {key_type!r}")
        rng = random.Random(f"binance-instloan-sim:{self._seed}:{uid}:{key_type}")
        api_key = "".join(rng.choices(_ALNUM, k=64))
        if key_type == "hmac":
            secret = "".join(rng.choices(_ALNUM, k=64))
            self.register_hmac(uid, api_key, secret)
            creds = Credentials(api_key, api_secret=secret)
        else:
            private_pem, public_pem = _generate_key_pair(key_type)
            self.register_public(uid, api_key, public_pem)
            creds = Credentials(api_key, private_key_pem=private_pem)
        self._issued[(uid, key_type)] = creds
        return creds

    def register_hmac(self, uid: int, api_key: str, secret: str) -> None:
        self._add(RegisteredKey(api_key, uid, "hmac", secret=secret.encode("utf-8")))

    def register_public(self, uid: int, api_key: str, public_key_pem: str) -> None:
        """Register an uploaded RSA or Ed25519 public key (PEM) under ``api_key``."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        public_key = load_pem_public_key(public_key_pem.encode("ascii"))
        if isinstance(public_key, Ed25519PublicKey):
            key_type: KeyType = "ed25519"
        elif isinstance(public_key, RSAPublicKey):
            key_type = "rsa"
        else:
            raise ValueError("only RSA and Ed25519 public keys are supported")
        self._add(RegisteredKey(api_key, uid, key_type, public_key=public_key))

    def _add(self, key: RegisteredKey) -> None:
        existing = self._by_key.get(key.api_key)
        if existing is not None and existing.uid != key.uid:
            raise ValueError("this API key is already registered for another account")
        self._by_key[key.api_key] = key


def _generate_key_pair(key_type: KeyType) -> tuple[str, str]:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            'RSA and Ed25519 keys need the crypto extra: pip install ".[crypto]"'
        ) from exc
    private_key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    if key_type == "ed25519":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,  # the only format Binance accepts (reference 1.4)
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return private_pem, public_pem
