"""Constants and helpers shared by the tests."""

import time

from binance_instloan import RateLimiter, RateLimits

BASE = "https://api.binance.com"
KEY = "test-api-key-0123456789"
SECRET = "test-secret-abcdefghijklmnopqrstuvwxyz"


def fast_forward_limiter() -> RateLimiter:
    """A limiter whose 429/418 pauses pass at once: its clock jumps by whatever it sleeps.

    Every pause lasts at least 5 s (see ``_retry_after``); tests that wait one out should not.
    """
    ahead = 0.0

    def now() -> float:
        return time.time() + ahead

    async def sleep(seconds: float) -> None:
        nonlocal ahead
        ahead += seconds

    return RateLimiter(RateLimits(), now=now, sleep=sleep)
