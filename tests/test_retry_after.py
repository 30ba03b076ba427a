"""Retry-After, read defensively: both RFC 9110 forms, a floor, a ceiling, a default."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
import respx

from binance_instloan import AsyncInstLoanClient, RateLimiter, RateLimitError, RateLimits
from binance_instloan._response import retry_after_seconds
from binance_instloan._retry_after import (
    DEFAULT_PAUSE_SECONDS,
    MAX_PAUSE_SECONDS,
    pause_seconds,
    read_retry_after,
)
from tests._support import KEY, SECRET

LTV = "/sapi/v1/margin/loan-group/ltv-details"
NOW = 1_800_000_000.0
THREE_DAYS = 3 * 24 * 3600.0


def read(value: str) -> float | None:
    return read_retry_after(value, now=lambda: NOW)


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.fromtimestamp(NOW + seconds_from_now, UTC), usegmt=True)


def test_delay_seconds_are_read_as_seconds() -> None:
    assert read("600") == 600.0


def test_an_http_date_is_read_as_the_seconds_until_it() -> None:
    assert read(http_date(600)) == pytest.approx(600.0)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-5", "1e9", "soon", "", "0x10",
                                   "Thu, 31 Foo 2026 99:00:00 GMT"])
def test_an_unreadable_value_means_the_default(value: str) -> None:
    assert read(value) is None


@pytest.mark.parametrize("value", ["1000000000", "99999999999999999999999999999",
                                   http_date(10 * 365 * 86400)])
def test_a_pause_longer_than_binances_longest_ban_is_cut_to_three_days(value: str) -> None:
    assert read(value) == THREE_DAYS == MAX_PAUSE_SECONDS


@pytest.mark.parametrize("value", ["0", "1", "0.01", http_date(-60)])
def test_a_pause_is_never_shorter_than_the_default_pause(value: str) -> None:
    assert read(value) == DEFAULT_PAUSE_SECONDS


def test_a_missing_header_is_none() -> None:
    assert retry_after_seconds(httpx.Headers()) is None


def test_the_response_reader_applies_the_same_rule() -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": "1000000000"})) == THREE_DAYS


@pytest.mark.parametrize("given", [None, math.nan, -5.0, "soon", True])
def test_a_pause_given_no_usable_value_takes_the_default(given: object) -> None:
    assert pause_seconds(given, 120.0) == 120.0  # type: ignore[arg-type]


@pytest.mark.parametrize(("given", "expected"), [
    (math.inf, THREE_DAYS), (1e9, THREE_DAYS), (0.0, DEFAULT_PAUSE_SECONDS), (30.0, 30.0),
])
def test_a_pause_given_a_number_is_clamped(given: float, expected: float) -> None:
    assert pause_seconds(given, 120.0) == expected


async def test_a_client_told_to_wait_31_years_raises_with_a_three_day_retry_after(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    api.get(LTV).respond(429, headers={"Retry-After": "1000000000"},
                         json={"code": -1003, "msg": "Too much request weight used"})
    with pytest.raises(RateLimitError) as caught:
        await client.get_ltv_details()
    assert caught.value.retry_after == pytest.approx(THREE_DAYS, abs=1.0)


@pytest.mark.parametrize("value", ["-5", "nan"])
async def test_a_client_told_not_to_wait_still_waits_the_default_pause_before_resending(
    api: respx.MockRouter, value: str,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the limiter's clock jumps by what it sleeps
        slept.append(seconds)

    limiter = RateLimiter(RateLimits(), now=lambda: time.time() + sum(slept), sleep=sleep)
    route = api.get(LTV).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": value},
                       json={"code": -1003, "msg": "Too much request weight used"}),
        httpx.Response(200, json=[]),
    ])
    async with AsyncInstLoanClient(KEY, SECRET, limiter=limiter) as client:
        assert await client.get_ltv_details() == []

    assert route.call_count == 2
    assert sum(slept) == pytest.approx(DEFAULT_PAUSE_SECONDS, abs=0.5)
