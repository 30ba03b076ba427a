"""A limiter whose 429/418 pauses pass at once: its clock jumps by whatever it sleeps.

Every pause lasts at least 5 s (see ``binance_instloan._retry_after``); a test that only needs
the pause to happen, not to last, uses this instead of waiting it out.
"""

from __future__ import annotations

import time

from binance_instloan import RateLimiter, RateLimits


def fast_pause_limiter(limits: RateLimits | None = None) -> RateLimiter:
    ahead = 0.0

    def now() -> float:
        return time.time() + ahead

    async def sleep(seconds: float) -> None:
        nonlocal ahead
        ahead += seconds

    return RateLimiter(limits or RateLimits(), now=now, sleep=sleep)
