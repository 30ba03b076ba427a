"""``on_redis_error="local"``: pacing one process alone while Redis is unreachable.

The process falls back to an in-process :class:`RateLimiter` on ``local_share`` of each
budget, treating the window in which Redis was lost as spent (what the others used in it is no
longer visible), and probes Redis every ``reconnect_after`` seconds until it answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable

from ._errors import InstLoanError
from ._limiter import Permit, RateLimiter, RateLimits

__all__ = ["LimiterUnavailableError", "LocalFallback", "local_limits"]

logger = logging.getLogger("binance_instloan")


class LimiterUnavailableError(InstLoanError):
    """The shared rate limiter (Redis) could not be reached, so the request was not sent.

    Raised only with ``on_redis_error="fail"``; ``"local"`` falls back to a local share of the
    budget instead.
    """

    request_sent = False


def local_limits(limits: RateLimits, share: float) -> RateLimits:
    """``share`` of each budget, at least 1; the window and pause ceiling unchanged."""
    return RateLimits(
        ip_weight=max(math.floor(limits.ip_weight * share), 1),
        uid_weight=max(math.floor(limits.uid_weight * share), 1),
        api_weight=max(math.floor(limits.api_weight * share), 1),
        window_seconds=limits.window_seconds, max_pause_seconds=limits.max_pause_seconds,
        enabled=limits.enabled,
    )


class LocalFallback:
    """The local limiter of one outage, and the probe that ends it."""

    __slots__ = ("_back", "_now", "_probe", "_seed_until", "_seeded", "_where", "limiter")

    def __init__(
        self,
        limits: RateLimits,
        *,
        where: str,
        now: Callable[[], float],
        uncertainty: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] | None,
        banned_until: float,
        paused: Iterable[tuple[str, float]],
    ) -> None:
        self._where = where
        self._now = now
        self.limiter = RateLimiter(limits, now=now, uncertainty=uncertainty, sleep=sleep)
        at = now()
        window = limits.window_seconds
        # What the others used in this window is no longer visible: treat it as spent.
        self._seed_until = (math.floor((at + uncertainty()) / window) + 1) * window
        self._seeded: set[str] = set()
        self._back: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probe: asyncio.Task[None] | None = None
        if banned_until > at:
            self.limiter.ban(banned_until - at)
        for bucket, until in paused:
            if until > at:
                self.limiter.pause_bucket(bucket, until - at)

    def start_probe(
        self, reconnect_after: float, ping: Callable[[], Awaitable[object]],
        on_back: Callable[[], None], errors: tuple[type[BaseException], ...],
    ) -> None:
        """Every ``reconnect_after`` s, ``ping()``; when it works, ``on_back()``, then wake
        the tasks still waiting here so that they ask Redis instead."""
        self._probe = asyncio.get_running_loop().create_task(
            self._probe_until_back(reconnect_after, ping, on_back, errors)
        )

    async def close(self) -> None:
        probe = self._probe
        if probe is not None and not probe.done():
            probe.cancel()
            try:
                await probe
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise

    async def acquire(self, bucket: str, weight: int) -> Permit | None:
        """A permit from the local limiter, or None if Redis came back while waiting for it."""
        local, back = self.limiter, self._back
        limit = local.limits.limit_for(bucket)
        if weight > limit and local.limits.enabled:
            raise LimiterUnavailableError(
                f"Redis at {self._where} is unreachable and weight {weight} exceeds this "
                f"process's local share of {bucket} ({limit}); nothing was sent"
            )
        if bucket not in self._seeded:
            self._seeded.add(bucket)
            if self._now() < self._seed_until and local.limits.enabled:
                seed = await local.acquire(bucket, 0)
                seed.release(used_weight=limit)
        # A task still waiting here when Redis is back must ask Redis instead: a permit from
        # the local limiter then would be invisible to the rest of the fleet.
        acquiring = asyncio.ensure_future(local.acquire(bucket, weight))
        try:
            await asyncio.wait((acquiring, back), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not acquiring.done():
                acquiring.cancel()
        if not acquiring.done() or acquiring.cancelled():
            return None  # cancelled above; the local limiter takes back what it granted
        return acquiring.result()

    async def _probe_until_back(
        self, reconnect_after: float, ping: Callable[[], Awaitable[object]],
        on_back: Callable[[], None], errors: tuple[type[BaseException], ...],
    ) -> None:
        while True:
            await asyncio.sleep(reconnect_after)
            try:
                await ping()
            except errors as exc:
                logger.debug("Redis at %s still unreachable: %s", self._where, exc)
                continue
            logger.warning("Redis at %s is back: sharing the budget again", self._where)
            on_back()
            if not self._back.done():
                self._back.set_result(None)
            return
