"""Signatures as the simulator checks them: over the exact bytes received, which must be
percent-encoded (the 2026-01-15 rule) in whatever spelling an encoder produces."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from app_requests import (
    BORROW,
    FORM,
    LTV,
    code_of,
    encode,
    get_raw,
    sign,
    signed_get,
    signed_post,
    with_timestamp,
)

from binance_instloan.simulator import Credentials, Simulator

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "data" / "signature_vectors.json").read_text("utf-8")
)
ASCII_VECTOR = VECTORS["hmac"][0]
NON_ASCII_VECTOR = VECTORS["hmac"][1]
TRANSFER_OUT = "/sapi/v1/margin/loan-group/transfer-out"
RECORDS = "/sapi/v1/margin/loan-group/borrow-repay"
VECTOR_TIME_S = 1499827319.659  # the vectors' timestamp, 100 ms later
NOW_S = 1_750_000_020.0


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=11, clock=lambda: NOW_S)


@pytest.fixture
def vector_sim() -> Simulator:
    sim = Simulator(seed=11, clock=lambda: VECTOR_TIME_S)
    sim.register_hmac_key(sim.credit_email(), ASCII_VECTOR["api_key"], ASCII_VECTOR["secret"])
    return sim


async def _http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        yield client


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _http(sim):
        yield client


@pytest.fixture
async def vector_http(vector_sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _http(vector_sim):
        yield client


def _vector_creds() -> Credentials:
    return Credentials(ASCII_VECTOR["api_key"], api_secret=ASCII_VECTOR["secret"])


def _past_authentication(response: httpx.Response) -> bool:
    """The exchange itself answered: signature, key and timestamp were all accepted."""
    body = response.json()
    return body["code"] not in (-1022, -1021, -2014, -2015) and not any(
        name in body["msg"] for name in ("signature", "timestamp", "recvWindow")
    )


async def test_documented_hmac_request_passes_the_signature_check(
    vector_http: httpx.AsyncClient,
) -> None:
    query = f"{ASCII_VECTOR['payload']}&signature={ASCII_VECTOR['signature']}"

    response = await vector_http.post(
        f"{BORROW}?{query}", headers={"X-MBX-APIKEY": ASCII_VECTOR["api_key"]}
    )

    # The order parameters mean nothing to a loan endpoint, so the exchange refuses them, but
    # only after the front end accepted the documented signature.
    assert _past_authentication(response)


async def test_documented_non_ascii_request_passes_the_signature_check(
    vector_http: httpx.AsyncClient,
) -> None:
    query = f"{NON_ASCII_VECTOR['payload']}&signature={NON_ASCII_VECTOR['signature']}"

    response = await vector_http.post(
        f"{BORROW}?{query}", headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"]}
    )

    assert _past_authentication(response)


async def test_signing_the_unencoded_payload_is_rejected(
    vector_http: httpx.AsyncClient,
) -> None:
    unencoded_signature = sign(_vector_creds(), NON_ASCII_VECTOR["payload_before_encoding"])
    query = f"{NON_ASCII_VECTOR['payload']}&signature={unencoded_signature}"

    response = await vector_http.post(
        f"{BORROW}?{query}", headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"]}
    )

    assert response.status_code == 400
    assert response.json() == {"code": -1022, "msg": "Signature for this request is not valid."}


async def test_documented_key_calls_an_endpoint_signed_the_documented_way(
    vector_http: httpx.AsyncClient,
) -> None:
    query = "recvWindow=5000&timestamp=1499827319559"

    response = await get_raw(
        vector_http, LTV, f"{query}&signature={sign(_vector_creds(), query)}",
        ASCII_VECTOR["api_key"],
    )

    assert response.status_code == 200
    assert isinstance(response.json(), list)


async def test_hex_signature_is_accepted_in_upper_case(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    query = encode(with_timestamp(sim))

    response = await get_raw(http, LTV, f"{query}&signature={sign(creds, query).upper()}",
                             creds.api_key)

    assert response.status_code == 200


async def test_wrong_secret_is_rejected(sim: Simulator, http: httpx.AsyncClient) -> None:
    impostor = Credentials(sim.credentials().api_key, api_secret="not-the-secret")

    response = await signed_get(http, sim, impostor, LTV)

    assert code_of(response) == -1022


async def test_value_changed_after_signing_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    query = encode(with_timestamp(sim, [("groupId", str(sim.group_ids[0]))]))
    tampered = query.replace(f"groupId={sim.group_ids[0]}", "groupId=1")

    response = await get_raw(http, LTV, f"{tampered}&signature={sign(creds, query)}",
                             creds.api_key)

    assert code_of(response) == -1022


async def test_raw_at_sign_in_a_form_body_is_accepted_when_signed_as_sent(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials("parent")
    body = urlencode([("subEmail", sim.collateral_emails()[0]), ("asset", "USDT"),
                      ("amount", "1"), ("timestamp", str(sim.now_ms()))], safe="@")
    assert "@" in body

    response = await http.post(
        TRANSFER_OUT, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text


async def test_urlencode_body_like_the_references_python_sample_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials("parent")
    body = urlencode([("subEmail", sim.collateral_emails()[0]), ("asset", "USDT"),
                      ("amount", "1"), ("timestamp", str(sim.now_ms()))])

    response = await http.post(
        TRANSFER_OUT, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text


async def test_space_sent_as_plus_passes_the_signature_check(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    body = urlencode([("groupId", str(sim.group_ids[0])), ("assetName", "US DT"),
                      ("amount", "1"), ("timestamp", str(sim.now_ms()))])
    assert "US+DT" in body

    response = await http.post(
        BORROW, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    # Signed as sent, so only the exchange's own parameter check refuses the asset name.
    assert response.json() == {
        "code": -1100,
        "msg": "Illegal characters found in parameter 'assetName'; "
        "legal range is '^[A-Za-z0-9]{1,20}$'.",
    }


async def test_space_sent_as_plus_in_a_query_passes_the_signature_check(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    query = urlencode([("type", "BORROW"), ("asset", "US DT"), ("timestamp", str(sim.now_ms()))])

    response = await get_raw(http, RECORDS, f"{query}&signature={sign(creds, query)}",
                             creds.api_key)

    assert code_of(response) == -1100


async def test_lower_case_percent_escapes_pass_when_signed_as_sent(
    vector_http: httpx.AsyncClient,
) -> None:
    # The reference's Bash sample (rawurlencode) writes its escapes in lower-case hex.
    payload = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), NON_ASCII_VECTOR["payload"])
    assert "%ef%bc%91" in payload

    response = await vector_http.post(
        BORROW, content=f"{payload}&signature={sign(_vector_creds(), payload)}",
        headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM},
    )

    assert _past_authentication(response)


async def test_documented_vector_in_a_form_body_passes_the_signature_check(
    vector_http: httpx.AsyncClient,
) -> None:
    body = f"{NON_ASCII_VECTOR['payload']}&signature={NON_ASCII_VECTOR['signature']}"

    response = await vector_http.post(
        BORROW, content=body, headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM}
    )

    assert _past_authentication(response)


async def test_documented_vector_params_encoded_by_urlencode_pass_the_signature_check(
    vector_http: httpx.AsyncClient,
) -> None:
    body = urlencode([(name, value) for name, value in NON_ASCII_VECTOR["params"]])

    response = await vector_http.post(
        BORROW, content=f"{body}&signature={NON_ASCII_VECTOR['signature']}",
        headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM},
    )

    assert _past_authentication(response)


async def test_signing_the_unencoded_body_is_rejected(vector_http: httpx.AsyncClient) -> None:
    unencoded_signature = sign(_vector_creds(), NON_ASCII_VECTOR["payload_before_encoding"])

    response = await vector_http.post(
        BORROW, content=f"{NON_ASCII_VECTOR['payload']}&signature={unencoded_signature}",
        headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM},
    )

    assert response.status_code == 400
    assert response.json() == {"code": -1022, "msg": "Signature for this request is not valid."}


async def test_unencoded_non_ascii_body_is_rejected_even_when_signed_as_sent(
    vector_http: httpx.AsyncClient,
) -> None:
    unencoded = NON_ASCII_VECTOR["payload_before_encoding"]

    response = await vector_http.post(
        BORROW,
        content=f"{unencoded}&signature={sign(_vector_creds(), unencoded)}".encode(),
        headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM},
    )

    assert code_of(response) == -1022


async def test_at_sign_signed_before_it_was_encoded_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials("parent")
    params = [("subEmail", sim.collateral_emails()[0]), ("asset", "USDT"), ("amount", "1"),
              ("timestamp", str(sim.now_ms()))]
    before_encoding = "&".join(f"{name}={value}" for name, value in params)

    response = await http.post(
        TRANSFER_OUT, content=f"{encode(params)}&signature={sign(creds, before_encoding)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert code_of(response) == -1022
    assert sim.execution_count(TRANSFER_OUT) == 0


async def test_urlencode_body_signed_before_it_was_encoded_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials("parent")
    params = [("subEmail", sim.collateral_emails()[0]), ("asset", "USDT"), ("amount", "1"),
              ("timestamp", str(sim.now_ms()))]
    before_encoding = "&".join(f"{name}={value}" for name, value in params)
    body = urlencode(params)
    assert "%40" in body

    response = await http.post(
        TRANSFER_OUT, content=f"{body}&signature={sign(creds, before_encoding)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert code_of(response) == -1022
    assert sim.execution_count(TRANSFER_OUT) == 0


async def test_raw_space_is_rejected_even_when_signed_as_sent(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    body = f"groupId={sim.group_ids[0]}&assetName=US DT&amount=1&timestamp={sim.now_ms()}"

    response = await http.post(
        BORROW, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert code_of(response) == -1022


async def test_malformed_percent_escape_is_rejected_even_when_signed_as_sent(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    body = f"groupId={sim.group_ids[0]}&assetName=USDT%G1&amount=1&timestamp={sim.now_ms()}"

    response = await http.post(
        BORROW, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert code_of(response) == -1022


async def test_percent_encoded_at_sign_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_post(
        http, sim, sim.credentials("parent"), "/sapi/v1/margin/loan-group/transfer-out",
        [("subEmail", sim.collateral_emails()[0]), ("asset", "USDT"), ("amount", "1")],
    )

    assert response.status_code == 200, response.text


async def test_missing_signature_is_a_mandatory_parameter_error(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await get_raw(http, LTV, encode(with_timestamp(sim)), sim.credentials().api_key)

    assert response.json() == {
        "code": -1102,
        "msg": "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    }


async def test_payload_is_the_query_then_the_body_without_separator(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    query = encode([("groupId", str(sim.group_ids[0])), ("assetName", "USDT")])
    body = encode(with_timestamp(sim, [("amount", "1")]))

    response = await http.post(
        f"{BORROW}?{query}", content=f"{body}&signature={sign(creds, query + body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text


async def test_signature_may_travel_in_the_query_for_a_body_payload(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    body = encode(with_timestamp(sim, [("groupId", str(sim.group_ids[0])),
                                       ("assetName", "USDT"), ("amount", "1")]))

    response = await http.post(
        f"{BORROW}?signature={sign(creds, body)}", content=body,
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("key_type", ["rsa", "ed25519"])
async def test_asymmetric_keys_sign_requests(
    sim: Simulator, http: httpx.AsyncClient, key_type: Any
) -> None:
    creds = sim.credentials(key_type=key_type)
    assert creds.api_secret is None
    assert creds.private_key_pem is not None
    assert creds.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8

    response = await signed_get(http, sim, creds, LTV)

    assert response.status_code == 200, response.text


async def test_base64_signature_is_accepted_without_percent_encoding(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials(key_type="ed25519")
    for _ in range(20):  # until a signature holds '+' or '/', to prove they survive raw
        query = encode(with_timestamp(sim))
        encoded_signature = sign(creds, query)
        if "%2B" in encoded_signature or "%2F" in encoded_signature:
            break
        sim.advance(0.001)
    assert "%2B" in encoded_signature or "%2F" in encoded_signature
    raw_signature = encoded_signature.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")

    response = await get_raw(http, LTV, f"{query}&signature={raw_signature}", creds.api_key)

    assert response.status_code == 200, response.text


async def test_ed25519_signature_of_another_payload_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials(key_type="ed25519")
    query = encode(with_timestamp(sim))

    response = await get_raw(
        http, LTV, f"{query}&signature={sign(creds, query + 'x')}", creds.api_key
    )

    assert code_of(response) == -1022


async def test_signature_that_is_not_base64_is_rejected_for_rsa(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials(key_type="rsa")
    query = encode(with_timestamp(sim))

    response = await get_raw(http, LTV, f"{query}&signature=%21%21%21", creds.api_key)

    assert code_of(response) == -1022


async def test_registered_public_key_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    sim.register_public_key(sim.credit_email(), "MyOwnEd25519Key", public_pem)

    creds = Credentials("MyOwnEd25519Key", private_key_pem=private_pem)
    response = await signed_get(http, sim, creds, LTV)

    assert response.status_code == 200, response.text


async def test_signature_over_the_unencoded_payload_is_named_in_the_log(
    vector_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    unencoded_signature = sign(_vector_creds(), NON_ASCII_VECTOR["payload_before_encoding"])

    with caplog.at_level(logging.INFO, logger="binance_instloan.simulator"):
        await vector_http.post(
            BORROW, content=f"{NON_ASCII_VECTOR['payload']}&signature={unencoded_signature}",
            headers={"X-MBX-APIKEY": NON_ASCII_VECTOR["api_key"], **FORM},
        )

    assert "before percent-encoding" in caplog.text


async def test_the_references_python_ed25519_sample_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    creds = sim.credentials("parent", key_type="ed25519")
    assert creds.private_key_pem is not None
    private_key = serialization.load_pem_private_key(creds.private_key_pem.encode(), None)
    assert isinstance(private_key, Ed25519PrivateKey)
    params = {"subEmail": sim.collateral_emails()[0], "asset": "USDT", "amount": "1",
              "timestamp": str(sim.now_ms())}
    # As in the reference (1.4): urlencode, sign the ASCII bytes, base64, post as form data.
    payload = urlencode(params, encoding="UTF-8")
    params["signature"] = base64.b64encode(private_key.sign(payload.encode("ASCII"))).decode()

    response = await http.post(
        TRANSFER_OUT, content=urlencode(params),
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text
