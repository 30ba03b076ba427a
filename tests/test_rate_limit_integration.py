"""Many tasks on one client against a server that answers 429 whenever a window is over its limit."""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict

import httpx
import pytest

from binance_instloan import AsyncInstLoanClient, RateLimits

LOAN = "/sapi/v1/margin/loan-group"
WEIGHTS = {f"{LOAN}/interest-history": 10, f"{LOAN}/ltv-details": 200,
           "/sapi/v1/margin/loan-groups/closed": 1}


class StrictServer:
    """Counts weight per endpoint per window of the real clock, like Binance, and says 429 past it."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.used: dict[tuple[str, int], int] = defaultdict(int)
        self.rejected = 0
        self.served = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        now = time.time()
        if request.url.path == "/api/v3/time":
            return httpx.Response(200, json={"serverTime": int(now * 1000)})
        path = request.url.path
        key = (path, math.floor(now / self.window))
        if self.used[key] + WEIGHTS[path] > self.limit:
            self.rejected += 1
            return httpx.Response(429, headers={"Retry-After": "1"},
                                  json={"code": -1003, "msg": "Too much request weight used"})
        self.used[key] += WEIGHTS[path]
        self.served += 1
        headers = {"X-SAPI-USED-IP-WEIGHT-1M": str(self.used[key])}
        if path.endswith("ltv-details"):
            return httpx.Response(200, json=[], headers=headers)
        return httpx.Response(200, json={"total": 0, "rows": []}, headers=headers)


@pytest.mark.parametrize("backend_tasks", [300])
async def test_300_tasks_under_gather_never_see_a_429(backend_tasks: int) -> None:
    server = StrictServer(limit=1000, window=0.1)
    limits = RateLimits(ip_weight=1000, window_seconds=0.1)
    async with AsyncInstLoanClient("k" * 20, "s" * 20, base_url="http://127.0.0.1",
                                   transport=httpx.MockTransport(server),
                                   rate_limits=limits) as client:

        async def one(i: int) -> object:
            if i % 10 == 0:
                return await client.get_ltv_details()
            if i % 2:
                return await client.get_interest_history(size=100)
            return await client.get_closed_risk_units()

        results = await asyncio.gather(*(one(i) for i in range(backend_tasks)))
    assert len(results) == backend_tasks
    assert server.rejected == 0
    assert server.served == backend_tasks
    assert max(server.used.values()) <= 1000


async def test_used_weight_headers_reach_each_caller() -> None:
    server = StrictServer(limit=10_000, window=60)
    async with AsyncInstLoanClient("k" * 20, "s" * 20, base_url="http://127.0.0.1",
                                   transport=httpx.MockTransport(server)) as client:
        async def call() -> int | None:
            with client.capture_responses() as seen:
                await client.get_interest_history()
            assert len(seen) == 1
            return seen[0].used_weight

        weights = await asyncio.gather(*(call() for _ in range(5)))
    assert sorted(w for w in weights if w is not None) == [10, 20, 30, 40, 50]


async def test_rate_limit_state_reports_used_weight() -> None:
    server = StrictServer(limit=10_000, window=60)
    async with AsyncInstLoanClient("k" * 20, "s" * 20, base_url="http://127.0.0.1",
                                   transport=httpx.MockTransport(server)) as client:
        await client.get_interest_history()
        state = client.rate_limit_state()
    bucket = state.buckets[f"IP:{LOAN}/interest-history"]
    assert bucket.used >= 10
    assert bucket.limit == 12_000
