"""What goes on the wire: the signed bytes are the sent bytes, in the right place."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from binance_instloan import AsyncInstLoanClient
from tests._support import KEY, SECRET

LOAN = "/sapi/v1/margin/loan-group"


def _split_signature(payload: str) -> tuple[str, str]:
    signed, _, signature = payload.rpartition("&signature=")
    return signed, signature


def _expected(signed: str) -> str:
    return hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest()


async def test_get_sends_the_signed_query_string_unchanged(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/max-borrowable").respond(200, json={"maxBorrowableAmount": "1"})
    await client.get_max_borrowable(asset="USDT", group_id=7)
    request = route.calls.last.request
    raw = request.url.query.decode("ascii")
    signed, signature = _split_signature(raw)
    assert signature == _expected(signed)
    assert signed.startswith("groupId=7&assetName=USDT&recvWindow=5000&timestamp=")
    assert request.headers["X-MBX-APIKEY"] == KEY
    assert request.content == b""


async def test_post_sends_the_signed_form_body_unchanged(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").respond(
        200, json={"transactionId": 1, "amount": "100", "status": "success"}
    )
    await client.borrow(group_id=1, asset="USDT", amount=Decimal("1E+2"))
    request = route.calls.last.request
    body = request.content.decode("ascii")
    signed, signature = _split_signature(body)
    assert signature == _expected(signed)
    assert signed.startswith("groupId=1&assetName=USDT&amount=100&recvWindow=5000&timestamp=")
    assert request.url.query == b""
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


async def test_delete_sends_the_signed_form_body(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.delete(LOAN).respond(200, json={"groupId": 3, "status": "CLOSED"})
    await client.close_risk_unit(group_id=3)
    signed, signature = _split_signature(route.calls.last.request.content.decode())
    assert signed.startswith("groupId=3&")
    assert signature == _expected(signed)


@pytest.mark.parametrize(
    ("email", "encoded"),
    [
        ("desk+loan@example.com", "desk%2Bloan%40example.com"),
        ("a b&c=d%e@x.io", "a%20b%26c%3Dd%25e%40x.io"),
        ("交易@例子.com", "%E4%BA%A4%E6%98%93%40%E4%BE%8B%E5%AD%90.com"),
    ],
)
async def test_emails_are_percent_encoded_before_signing(
    api: respx.MockRouter, client: AsyncInstLoanClient, email: str, encoded: str
) -> None:
    route = api.post(f"{LOAN}/transfer-out").respond(200, json={})
    await client.transfer_out(asset="USDT", amount="1.5", sub_email=email)
    body = route.calls.last.request.content.decode("ascii")
    signed, signature = _split_signature(body)
    assert signed.startswith(f"subEmail={encoded}&asset=USDT&amount=1.5&")
    assert signature == _expected(signed)
    assert dict(parse_qsl(signed))["subEmail"] == email


async def test_every_attempt_is_signed_with_a_fresh_timestamp(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/ltv-details").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=[])]
    )

    async def brief_backoff(seconds: float) -> None:
        await asyncio.sleep(0.005)

    client._retry.sleep = brief_backoff
    await client.get_ltv_details()
    first, second = (c.request.url.query.decode() for c in route.calls)
    assert first != second
    for raw in (first, second):
        signed, signature = _split_signature(raw)
        assert signature == _expected(signed)


async def test_timestamp_follows_the_server_clock_offset(api: respx.MockRouter) -> None:
    offset_ms = 3_600_000
    api.get("/api/v3/time").mock(side_effect=lambda r: httpx.Response(
        200, json={"serverTime": int(time.time() * 1000) + offset_ms}))
    route = api.get(f"{LOAN}/ltv-details").respond(200, json=[])
    before_ms = time.time() * 1000
    async with AsyncInstLoanClient(KEY, SECRET) as client:
        await client.get_ltv_details()
    after_ms = time.time() * 1000
    sent = int(dict(parse_qsl(route.calls.last.request.url.query.decode()))["timestamp"])
    # Signed between the two readings, by a clock whose offset is off by at most the round trip
    # of its sync (itself between them): the bounds hold however slow the machine is.
    span = after_ms - before_ms
    assert before_ms + offset_ms - span - 1 <= sent <= after_ms + offset_ms + span + 1


async def test_clock_is_learned_once_for_many_calls(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.get(f"{LOAN}/ltv-details").respond(200, json=[])
    for _ in range(5):
        await client.get_ltv_details()
    assert api.routes[0].call_count == 1


async def test_httpx_request_log_never_shows_the_signature(
    api: respx.MockRouter, client: AsyncInstLoanClient, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(f"{LOAN}/ltv-details").respond(200, json=[])
    with caplog.at_level("DEBUG"):
        await client.get_ltv_details()
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("ltv-details" in line for line in lines)
    assert all("signature=<redacted>" in line for line in lines if "ltv-details" in line)
    assert not any(_expected("x")[:6] in line for line in lines)
