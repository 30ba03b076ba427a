"""Shared fixtures: a respx-mocked Binance with a time endpoint, and clients bound to it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from binance_instloan import AsyncInstLoanClient, RateLimiter, RateLimits
from tests._support import BASE, KEY, SECRET


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A mocked api.binance.com whose /api/v3/time answers the real time."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/api/v3/time").mock(
            side_effect=lambda request: httpx.Response(
                200, json={"serverTime": int(time.time() * 1000)}
            )
        )
        yield router


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def client(api: respx.MockRouter) -> AsyncIterator[AsyncInstLoanClient]:
    """A client against the mock whose retry backoff does not really sleep."""
    async with AsyncInstLoanClient(KEY, SECRET, max_retries=3) as c:
        c._retry.sleep = _no_sleep
        yield c


@pytest.fixture
async def fast_pause_client(api: respx.MockRouter) -> AsyncIterator[AsyncInstLoanClient]:
    """A client against the mock whose 429/418 pauses pass at once.

    Every pause lasts at least 5 s (see ``_retry_after``); the limiter's clock jumps by
    whatever it sleeps, so a test that waits one out does not.
    """
    ahead = 0.0

    def now() -> float:
        return time.time() + ahead

    async def sleep(seconds: float) -> None:
        nonlocal ahead
        ahead += seconds

    limiter = RateLimiter(RateLimits(), now=now, sleep=sleep)
    async with AsyncInstLoanClient(KEY, SECRET, max_retries=3, limiter=limiter) as c:
        c._retry.sleep = _no_sleep
        yield c


@pytest.fixture
def fast_limits() -> RateLimits:
    return RateLimits(window_seconds=0.2)
