"""A bogus ``serverTime`` is refused like a failed time fetch: retried, then a clear error."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import respx

from binance_instloan import APIConnectionError, AsyncInstLoanClient, RateLimiter, RateLimits
from tests._support import KEY, SECRET

LTV = "/sapi/v1/margin/loan-group/ltv-details"
DAY_MS = 86_400_000


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.mark.parametrize("server_time", [
    0, True, -5, 10**400, 1.7e12, "1700000000000", None, 4_200_000_000_000,
], ids=["zero", "bool", "negative", "10**400", "float", "string", "null", "year-2103"])
async def test_an_implausible_server_time_fails_the_call_with_a_clear_error(
    api: respx.MockRouter, client: AsyncInstLoanClient, server_time: Any,
) -> None:
    times = api.get("/api/v3/time").mock(
        return_value=httpx.Response(200, content=b'{"serverTime": %s}' % _json(server_time)))
    ltv = api.get(LTV).mock(return_value=httpx.Response(200, json=[]))

    with pytest.raises(APIConnectionError, match="implausible time") as caught:
        await client.get_ltv_details()

    assert caught.value.request_sent is False
    assert times.call_count == 4  # retried like any failed GET
    assert ltv.call_count == 0
    assert client.clock_offset_ms == 0.0


async def test_one_bogus_server_time_is_retried_and_the_call_goes_through(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    api.get("/api/v3/time").mock(side_effect=[
        httpx.Response(200, json={"serverTime": 0}),
        httpx.Response(200, json={"serverTime": now_ms()}),
    ])
    api.get(LTV).mock(return_value=httpx.Response(200, json=[]))

    assert await client.get_ltv_details() == []
    assert abs(client.clock_offset_ms) < 60_000


async def test_a_server_days_away_from_the_local_clock_is_followed(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    # A simulator replaying a past date, or a host whose clock is wrong: signing follows the
    # server's time whatever the offset.
    api.get("/api/v3/time").mock(
        return_value=httpx.Response(200, json={"serverTime": now_ms() - 200 * DAY_MS}))
    api.get(LTV).mock(return_value=httpx.Response(200, json=[]))

    assert await client.get_ltv_details() == []
    assert client.clock_offset_ms < -199 * DAY_MS


def _json(value: Any) -> bytes:
    if value is True:
        return b"true"
    if value is None:
        return b"null"
    if isinstance(value, str):
        return b'"%s"' % value.encode()
    return str(value).encode()


class RecordingLimiter(RateLimiter):
    """A limiter that notes the clock corrections the client reports."""

    def __init__(self) -> None:
        super().__init__(RateLimits(), now=time.time)
        self.moves: list[float] = []

    def clock_moved(self, seconds: float) -> None:
        self.moves.append(seconds)
        super().clock_moved(seconds)


async def test_a_resync_that_corrects_the_clock_tells_the_limiter_by_how_much(
    api: respx.MockRouter,
) -> None:
    ahead = {"ms": 0}
    api.get("/api/v3/time").mock(side_effect=lambda _: httpx.Response(
        200, json={"serverTime": now_ms() + ahead["ms"]}))
    api.get(LTV).mock(side_effect=[
        httpx.Response(200, json=[]),
        httpx.Response(400, json={"code": -1021, "msg": "Timestamp outside recvWindow."}),
        httpx.Response(200, json=[]),
    ])
    limiter = RecordingLimiter()
    async with AsyncInstLoanClient(KEY, SECRET, limiter=limiter) as client:
        await client.get_ltv_details()
        ahead["ms"] = 30_000
        await client.get_ltv_details()

    assert limiter.moves[-1] == pytest.approx(30.0, abs=1.0)
