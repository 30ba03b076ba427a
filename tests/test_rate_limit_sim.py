"""The client against the simulator's rate limits, with and without 418 bans on ``/sapi``.

Binance's pages conflict on whether ``/sapi/*`` ever bans (reference 1.7), so the client must
be right under both: the simulator's ``sapi_bans`` setting plays each side. Retry-After is in
whole seconds, so these tests wait about a second of real time for each pause they cause.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from binance_instloan import RateLimits
from binance_instloan.simulator import Simulator

LTV = "/sapi/v1/margin/loan-group/ltv-details"
WINDOW_START_S = 1_750_000_020.0  # a whole number of seconds: a window starts here
CALLS = 20  # ltv-details weighs 200: twice what the simulator below admits in a window
# The client is told Binance's real budget, so it sends what the tighter simulator refuses.
CLIENT_LIMITS = RateLimits(max_pause_seconds=30)


@pytest.mark.parametrize("sapi_bans", [True, False], ids=["sapi-bans", "sapi-429-only"])
async def test_client_waits_out_the_simulators_429s_and_bans_and_loses_no_call(
    sapi_bans: bool,
) -> None:
    # A 1-second window and ban keep the waits short; the first 429 bans when bans apply. The
    # server clock starts a window as the test starts, so the burst cannot straddle two.
    started = time.time()
    sim = Simulator(seed=3, clock=lambda: WINDOW_START_S + time.time() - started,
                    ip_weight_limit=10 * 200, window_seconds=1,
                    ban_after_violations=1, ban_seconds=1, sapi_bans=sapi_bans)
    async with sim.client(rate_limits=CLIENT_LIMITS) as client:
        results = await asyncio.gather(*(client.get_ltv_details() for _ in range(CALLS)))

    stats = sim.stats[LTV]
    assert len(results) == CALLS
    assert stats.throttled > 0
    assert (stats.banned > 0) is sapi_bans
    # Every refused attempt was tried again, and nothing else was sent.
    assert stats.requests == CALLS + stats.throttled + stats.banned
    assert stats.responses.get(200) == CALLS
