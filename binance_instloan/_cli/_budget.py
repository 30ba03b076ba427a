"""Measuring how long a command waited for rate budget, for the export progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable

from .._base_client import Limiter
from .._client import AsyncInstLoanClient
from .._limiter import LimiterState, Permit


class WaitMeter:
    """A limiter that delegates to another and measures the wall time during which at least
    one request was waiting for admission (overlapping waits count once)."""

    def __init__(self, inner: Limiter, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = inner
        self._clock = clock
        self._waiting = 0
        self._since = 0.0
        self._total = 0.0

    @classmethod
    def attach(cls, client: AsyncInstLoanClient) -> WaitMeter:
        """Put a meter in front of ``client``'s limiter (before its first request)."""
        # The client offers no hook for this; the CLI is part of the package, so it may
        # wrap the private attribute rather than widen the public API for a progress bar.
        meter = cls(client._limiter)
        client._limiter = meter
        return meter

    @property
    def seconds_waiting(self) -> float:
        running = self._clock() - self._since if self._waiting else 0.0
        return self._total + running

    async def acquire(self, bucket: str, weight: int) -> Permit:
        if self._waiting == 0:
            self._since = self._clock()
        self._waiting += 1
        try:
            return await self._inner.acquire(bucket, weight)
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._total += self._clock() - self._since

    def pause_bucket(self, bucket: str, retry_after: float | None) -> None:
        self._inner.pause_bucket(bucket, retry_after)

    def ban(self, retry_after: float | None) -> None:
        self._inner.ban(retry_after)

    def state(self) -> LimiterState:
        return self._inner.state()
