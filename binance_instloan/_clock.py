"""The server clock: local wall time plus an offset learned from ``GET /api/v3/time``.

Binance rejects a signed request whose ``timestamp`` is more than ``recvWindow`` behind its own
clock or 1 s ahead of it (-1021, reference 1.6), and counts rate limits in windows aligned to
its clock (1.7). Both need the server's time, not ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

__all__ = ["ServerClock", "check_server_time"]

# serverTime is a whole number of milliseconds, so it may lag the true server time by up to 1 ms.
_SERVER_TIME_RESOLUTION_MS: Final = 1.0
# A plausible serverTime: after Binance's API launched, before 2100 (both in ms). Its distance
# from this machine's clock is not judged: signing follows the server whatever the offset, and a
# simulator replaying a past date (a fixed virtual clock) is as legitimate as a skewed host.
_EARLIEST_MS: Final = 1_483_228_800_000  # 2017-01-01
_LATEST_MS: Final = 4_102_444_800_000  # 2100-01-01


def check_server_time(value: object) -> str | None:
    """Why ``value`` is not a believable ``serverTime``, or None when it is.

    The answer moves every rate-limit window and every signed timestamp, so a bool, a float,
    or a time before 2017 or after 2100 is refused.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return f"serverTime must be an integer of milliseconds, not {type(value).__name__}"
    if not _EARLIEST_MS <= value < _LATEST_MS:
        return "serverTime is outside 2017..2100"
    return None


class ServerClock:
    """Server time estimated as local wall time plus a learned offset.

    The offset is ``serverTime`` minus the midpoint of the local wall time taken just before and
    just after the fetch; its error is at most half the round trip (plus the 1 ms resolution
    of ``serverTime``), reported as :attr:`uncertainty_ms`.
    """

    __slots__ = (
        "_fetch",
        "_generation",
        "_inflight",
        "_listeners",
        "_monotonic",
        "_offset_ms",
        "_refresh_seconds",
        "_synced_at",
        "_uncertainty_ms",
        "_wall",
    )

    def __init__(
        self,
        fetch_server_time: Callable[[], Awaitable[int]],
        *,
        refresh_seconds: float = 300.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not refresh_seconds > 0:
            raise ValueError(f"refresh_seconds must be positive, not {refresh_seconds!r}")
        self._fetch = fetch_server_time
        self._refresh_seconds = refresh_seconds
        self._wall = wall
        self._monotonic = monotonic
        self._offset_ms = 0.0
        self._uncertainty_ms = 0.0
        self._synced_at: float | None = None
        self._generation = 0
        self._inflight: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[float], None]] = []

    def __repr__(self) -> str:
        return (
            f"ServerClock(offset_ms={self._offset_ms:.1f}, "
            f"uncertainty_ms={self._uncertainty_ms:.1f}, generation={self._generation})"
        )

    @property
    def offset_ms(self) -> float:
        """Server time minus local wall time, in milliseconds (0 until the first sync)."""
        return self._offset_ms

    @property
    def uncertainty_ms(self) -> float:
        """How far :meth:`now_ms` may be from the server's clock, in milliseconds."""
        return self._uncertainty_ms

    @property
    def synced(self) -> bool:
        return self._synced_at is not None

    @property
    def generation(self) -> int:
        """Counts successful syncs; pass the value seen when signing to :meth:`resync`."""
        return self._generation

    def now_ms(self) -> int:
        """The server's current time in milliseconds, for the ``timestamp`` parameter."""
        return round(self._wall() * 1000.0 + self._offset_ms)

    def now(self) -> float:
        """The server's current time in seconds, for aligning rate-limit windows."""
        return self._wall() + self._offset_ms / 1000.0

    def on_adjust(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(seconds)`` whenever a sync moves :meth:`now` by more than the
        uncertainty claimed before and after it (the rate limiter re-homes what it counted)."""
        self._listeners.append(listener)

    async def ensure_synced(self) -> None:
        """Learn the offset if it was never learned or is older than ``refresh_seconds``."""
        synced_at = self._synced_at
        if synced_at is not None and self._monotonic() - synced_at < self._refresh_seconds:
            return
        await self._sync()

    async def resync(self, stale_generation: int | None = None) -> None:
        """Re-learn the offset after a -1021.

        With ``stale_generation`` (the :attr:`generation` seen when the rejected request was
        signed), a sync completed since then is reused instead of fetching again, so a burst of
        tasks rejected together causes one fetch.
        """
        if stale_generation is not None and stale_generation != self._generation:
            return
        await self._sync()

    async def _sync(self) -> None:
        # Single flight: every caller awaits the same fetch. It runs as its own task, shielded,
        # so a caller that is cancelled does not cancel the fetch the others are waiting for.
        task = self._inflight
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch_and_learn())
            self._inflight = task
            task.add_done_callback(self._fetch_done)
        await asyncio.shield(task)

    def _fetch_done(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            # Mark a failure as seen even when every waiter was cancelled; the waiters that are
            # still there get it through the shield.
            task.exception()

    async def _fetch_and_learn(self) -> None:
        before = self._wall()
        server_ms = await self._fetch()
        after = self._wall()
        # A wall clock stepped backwards during the fetch would give a negative round trip.
        half_round_trip_ms = max(after - before, 0.0) * 500.0
        old_offset_ms, old_uncertainty_ms = self._offset_ms, self._uncertainty_ms
        self._offset_ms = float(server_ms) - (before + after) * 500.0
        self._uncertainty_ms = half_round_trip_ms + _SERVER_TIME_RESOLUTION_MS
        self._synced_at = self._monotonic()
        self._generation += 1
        moved_ms = self._offset_ms - old_offset_ms
        if abs(moved_ms) > old_uncertainty_ms + self._uncertainty_ms:
            for listener in self._listeners:
                listener(moved_ms / 1000.0)
