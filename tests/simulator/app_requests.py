"""Hand-built signed requests for the simulator's app-layer tests.

Deliberately not the client: the point is to check the simulator against the reference with
bytes we control, signed with nothing but ``hmac`` (or ``cryptography`` for RSA/Ed25519).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote, urlencode

import httpx

from binance_instloan.simulator import Credentials, Simulator

LTV = "/sapi/v1/margin/loan-group/ltv-details"
BORROW = "/sapi/v1/margin/loan-group/borrow"
ACTIVE = "/sapi/v1/margin/loan-groups/activated"
CLOSED = "/sapi/v1/margin/loan-groups/closed"
TIME = "/api/v3/time"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

Params = Sequence[tuple[str, str]]


def encode(params: Params) -> str:
    """Percent-encode as the reference asks: UTF-8, upper-case hex, a space as %20."""
    return urlencode(params, quote_via=quote, safe="")


def sign(creds: Credentials, payload: str) -> str:
    """The ``signature`` value to append, already percent-encoded where it is base64."""
    data = payload.encode("utf-8")
    if creds.api_secret is not None:
        return hmac.new(creds.api_secret.encode(), data, hashlib.sha256).hexdigest()
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    assert creds.private_key_pem is not None
    key = serialization.load_pem_private_key(creds.private_key_pem.encode(), password=None)
    if isinstance(key, Ed25519PrivateKey):
        raw = key.sign(data)
    else:
        assert isinstance(key, RSAPrivateKey)
        raw = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return quote(base64.b64encode(raw).decode(), safe="")


def with_timestamp(sim: Simulator, params: Params = ()) -> list[tuple[str, str]]:
    return [*params, ("timestamp", str(sim.now_ms()))]


async def signed_get(
    http: httpx.AsyncClient, sim: Simulator, creds: Credentials, path: str, params: Params = ()
) -> httpx.Response:
    query = encode(with_timestamp(sim, params))
    return await http.get(
        f"{path}?{query}&signature={sign(creds, query)}", headers={"X-MBX-APIKEY": creds.api_key}
    )


async def signed_post(
    http: httpx.AsyncClient, sim: Simulator, creds: Credentials, path: str, params: Params = ()
) -> httpx.Response:
    body = encode(with_timestamp(sim, params))
    return await http.post(
        path,
        content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )


async def get_raw(
    http: httpx.AsyncClient, path: str, query: str, api_key: str | None
) -> httpx.Response:
    """GET with exactly ``query`` on the wire (httpx leaves a pre-encoded query as it is)."""
    headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
    return await http.get(f"{path}?{query}" if query else path, headers=headers)


def code_of(response: httpx.Response) -> int:
    code = response.json()["code"]
    assert isinstance(code, int)
    return code
