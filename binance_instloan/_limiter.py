"""The weighted, FIFO rate limiter: window-aligned counters on the server's clock.

Binance counts weight per endpoint bucket in fixed windows aligned to its clock (reference
1.7). Each bucket here keeps a counter per window and admits a request only if every window it
could land in stays within the limit:

- a request admitted within the clock's uncertainty of a boundary may be counted by Binance on
  either side, so it is charged to both windows;
- a request still in flight when a window turns over may arrive in the new one, so everything
  in flight is charged to each new window until it is released;
- the used-weight header of a response raises the current window's count (another process on
  the same IP or account may have used budget), never lowers it.

Capacity in a window therefore only returns when the window turns (or when a granted permit is
given back unused), so waiters sleep on a loop timer until the next boundary; nothing polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

import attrs

from ._errors import ConfigurationError, IPBannedError, RateLimitError
from ._retry_after import DEFAULT_BAN_SECONDS, DEFAULT_PAUSE_SECONDS, pause_seconds

__all__ = [
    "DEFAULT_BAN_SECONDS",
    "DEFAULT_PAUSE_SECONDS",
    "BucketState",
    "LimiterState",
    "Permit",
    "RateLimiter",
    "RateLimits",
    "carried_weight",
    "until_next_window",
]

# Timers fire this long after a boundary so that float rounding at epoch-sized times can never
# leave a woken waiter still inside the old window (and re-arming a zero-length timer forever).
_WAKE_MARGIN: Final = 1e-4
_NEVER: Final = -math.inf
# A wait longer than this is logged at INFO: a call silent for 20 s looks hung.
WAIT_LOG_SECONDS: Final = 2.0

logger = logging.getLogger("binance_instloan")


def log_long_wait(
    announced: dict[str, float], bucket: str, weight: int, until: float, now: float, *,
    paused: bool,
) -> None:
    """Log at INFO, once per wait, a wait for ``bucket`` of ``WAIT_LOG_SECONDS`` or more.

    ``announced`` remembers the end of the last wait announced per bucket, so a queue that
    re-arms its timer for the same wait stays quiet.
    """
    if not WAIT_LOG_SECONDS <= until - now < math.inf or until <= announced.get(bucket, _NEVER):
        return
    announced[bucket] = until
    why = "paused after a 429/418" if paused else "used up"
    logger.info(
        "waiting %.0f s for rate budget (bucket %s %s, weight %d), until %s",
        until - now, bucket, why, weight,
        datetime.fromtimestamp(until, UTC).strftime("%H:%M:%SZ"),
        extra={"rate_budget_wait": until - now, "rate_budget_until": until},
    )


@attrs.frozen
class RateLimits:
    """The weight budgets the client paces itself to.

    ``ip_weight`` is the budget of each IP-limited endpoint, ``uid_weight`` of each UID-limited
    one, ``api_weight`` the shared ``/api/*`` budget (only the clock sync uses it), each per
    ``window_seconds``. A 429/418 pause longer than ``max_pause_seconds`` raises at once instead
    of waiting. ``enabled=False`` turns local pacing off; pauses from 429/418 still apply.
    """

    ip_weight: int = 12000
    uid_weight: int = 180000
    api_weight: int = 6000
    window_seconds: float = 60.0
    max_pause_seconds: float = 60.0
    enabled: bool = True

    def __attrs_post_init__(self) -> None:
        for name in ("ip_weight", "uid_weight", "api_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive int, not {value!r}")
        for name in ("window_seconds", "max_pause_seconds"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ConfigurationError(f"{name} must be a positive number, not {value!r}")
        if not isinstance(self.enabled, bool):
            raise ConfigurationError(f"enabled must be a bool, not {self.enabled!r}")

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No local pacing (for benchmarks); pauses after a 429 or 418 still apply."""
        return cls(enabled=False)

    def limit_for(self, bucket: str) -> int:
        """The budget of a bucket, from its prefix: ``IP:``, ``UID:`` or ``API:``."""
        prefix = bucket.partition(":")[0]
        if prefix == "IP":
            return self.ip_weight
        if prefix == "UID":
            return self.uid_weight
        if prefix == "API":
            return self.api_weight
        raise ConfigurationError(
            f"unknown rate-limit bucket {bucket!r}: expected an IP:, UID: or API: prefix"
        )


@attrs.frozen
class BucketState:
    """One bucket as seen by :meth:`RateLimiter.state`. Times are server-clock UNIX seconds.

    ``used`` is the weight counted in the current window (including what was still in flight
    when it began, and the server's used-weight header); ``in_flight`` the weight of permits not
    yet released; ``paused_until`` the end of a 429 pause, if one is running.
    """

    bucket: str
    limit: int
    used: int
    in_flight: int
    window_start: float
    paused_until: float | None


@attrs.frozen
class LimiterState:
    """A read-only snapshot of the limiter, for bots and logs."""

    buckets: Mapping[str, BucketState]
    banned_until: float | None


class Permit:
    """Admission of one request; :meth:`release` it when its response (or failure) is back."""

    __slots__ = ("_bucket", "_first_window", "_limiter", "_released", "weight")

    def __init__(
        self, limiter: RateLimiter | None, bucket: _Bucket | None, weight: int, first_window: int,
    ) -> None:
        self._limiter = limiter
        self._bucket = bucket
        self.weight = weight
        self._first_window = first_window
        # A permit of a disabled limiter counts nothing, so there is nothing to release.
        self._released = limiter is None

    def release(self, *, used_weight: int | None = None, may_still_arrive: bool = False) -> None:
        """Stop counting this request as in flight.

        ``used_weight`` is the response's ``X-SAPI-USED-*-WEIGHT-1M`` value, if any. With
        ``may_still_arrive`` (it failed without an answer, and may still be on its way to
        Binance), it keeps counting until the next window has begun, so that it is counted
        there too. Calling this again does nothing.
        """
        limiter, bucket = self._limiter, self._bucket
        if self._released or limiter is None or bucket is None:
            return
        self._released = True
        if may_still_arrive:
            limiter._release_later(bucket, self.weight)
        else:
            limiter._release(bucket, self.weight, used_weight, wake=True)

    def __del__(self) -> None:
        # A permit dropped without release (its holder vanished mid-request) must not count as
        # in flight forever. No waking here: this may run during garbage collection, outside
        # any loop callback, or after the loop has closed.
        limiter, bucket = self._limiter, self._bucket
        if self._released or limiter is None or bucket is None:
            return
        self._released = True
        with contextlib.suppress(Exception):  # nothing sensible to do about it in __del__
            limiter._release(bucket, self.weight, None, wake=False)

    def __repr__(self) -> str:
        name = self._bucket.name if self._bucket is not None else "unlimited"
        state = "released" if self._released else "in flight"
        return f"<Permit {name} weight={self.weight} {state}>"


class _Bucket:
    """Counters and the FIFO queue of one bucket."""

    __slots__ = (
        "counts",
        "horizon",
        "in_flight",
        "limit",
        "name",
        "paused_until",
        "timer",
        "timer_at",
        "waiters",
    )

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        # Weight charged to each recent window index (floor(server_time / window_seconds)).
        self.counts: dict[int, int] = {}
        # Every in-flight permit has been charged to each window up to this index.
        self.horizon = -(2**62)
        self.in_flight = 0
        self.paused_until: float = _NEVER
        self.waiters: deque[tuple[int, asyncio.Future[Permit]]] = deque()
        self.timer: asyncio.TimerHandle | asyncio.Task[None] | None = None
        self.timer_at = _NEVER


def _no_uncertainty() -> float:
    return 0.0


def pause_error(
    *,
    bucket: str,
    now: float,
    banned_until: float,
    paused_until: float,
    ceiling: float,
    ip: str = "the IP",
    consequence: str = "nothing is sent until it ends",
) -> RateLimitError | None:
    """The error a limiter raises at once when a ban or 429 pause outlasts ``ceiling``.

    Shared by every limiter backend so a ban reads the same wherever it is enforced.
    """
    if banned_until - now > ceiling:
        remaining = banned_until - now
        return IPBannedError(
            f"{ip} is banned for another {remaining:.0f} s (HTTP 418), longer than "
            f"max_pause_seconds={ceiling:g}; {consequence}",
            retry_after=remaining,
            until=banned_until,
        )
    if paused_until - now > ceiling:
        remaining = paused_until - now
        error = RateLimitError(
            f"{bucket} is paused for another {remaining:.0f} s after HTTP 429, longer "
            f"than max_pause_seconds={ceiling:g}; {consequence}",
            retry_after=remaining,
        )
        error.until = paused_until
        return error
    return None


def carried_weight(
    counts: Mapping[int, int], seconds: float, *, now: float, uncertainty: float, window: float,
) -> dict[int, int]:
    """Weight to add per window after the clock estimate moved by ``seconds``.

    ``counts`` is the weight counted per window index under the old estimate; each count may
    really lie anywhere from ``min(seconds, 0)`` to ``max(seconds, 0)`` (plus the uncertainty)
    away from where it was counted, so it is added to every other window it overlaps there,
    among the windows still in play around ``now``. The work depends on ``len(counts)`` and
    the uncertainty, never on ``seconds``.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
        math.isfinite(seconds) and seconds
    ):
        return {}
    lo_shift, hi_shift = min(seconds, 0.0) - uncertainty, max(seconds, 0.0) + uncertainty
    first = math.floor((now - uncertainty) / window) - 1
    last = math.floor((now + uncertainty) / window) + 1
    carry: dict[int, int] = {}
    for k, weight in counts.items():
        lo = max(math.floor((k * window + lo_shift) / window), first)
        hi = min(math.ceil(((k + 1) * window + hi_shift) / window) - 1, last)
        for j in range(lo, hi + 1):
            if j != k:
                carry[j] = carry.get(j, 0) + weight
    return carry


def until_next_window(now: float, uncertainty: float, window: float) -> float:
    """Seconds from ``now`` until the next window has begun even on the earliest clock the
    uncertainty allows: how long a request that may still arrive keeps counting."""
    next_start = (math.floor((now + uncertainty) / window) + 1) * window
    return max(next_start - uncertainty - now + _WAKE_MARGIN, _WAKE_MARGIN)


class RateLimiter:
    """Paces requests per bucket to a weight budget per window of the server's clock.

    ``now()`` returns server-clock seconds (``ServerClock.now``), ``uncertainty()`` how far it
    may be off, in seconds. Waiting uses loop timers, or ``sleep`` when one is given. Instances
    share nothing.
    """

    __slots__ = ("_announced", "_banned_until", "_buckets", "_limits", "_now", "_sleep",
                 "_uncertainty", "_window")

    def __init__(
        self,
        limits: RateLimits,
        *,
        now: Callable[[], float],
        uncertainty: Callable[[], float] = _no_uncertainty,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._limits = limits
        self._window = float(limits.window_seconds)
        self._now = now
        # The end of the last long wait logged per bucket: each wait is announced once.
        self._announced: dict[str, float] = {}
        self._uncertainty = uncertainty
        self._sleep = sleep
        self._buckets: dict[str, _Bucket] = {}
        self._banned_until: float = _NEVER

    def __repr__(self) -> str:
        return f"RateLimiter({self._limits!r}, buckets={len(self._buckets)})"

    @property
    def limits(self) -> RateLimits:
        return self._limits

    # -- the public operations ------------------------------------------------------------------

    async def acquire(self, bucket: str, weight: int) -> Permit:
        """Wait (FIFO within the bucket) until ``weight`` fits, then return its permit.

        Raises :class:`ConfigurationError` for a weight above the bucket's limit, and
        :class:`RateLimitError` / :class:`IPBannedError` at once when a 429 pause / 418 ban
        longer than ``max_pause_seconds`` is running.
        """
        b = self._buckets.get(bucket) or self._new_bucket(bucket)
        if weight > b.limit and self._limits.enabled:
            raise ConfigurationError(
                f"weight {weight} can never fit in {bucket}, whose limit is {b.limit} per "
                f"{self._window:g} s"
            )
        if weight < 0:
            raise ValueError(f"weight must be >= 0, not {weight}")
        now = self._now()
        if max(b.paused_until, self._banned_until) > now:
            error = self._pause_error(b, now)
            if error is not None:
                raise error
        elif not b.waiters:
            admitted = self._try_admit(b, weight, now)
            if isinstance(admitted, Permit):
                return admitted
        return await self._wait(b, weight)

    def pause_bucket(self, bucket: str, retry_after: float | None) -> None:
        """Admit nothing from ``bucket`` for ``retry_after`` seconds (after a 429).

        None or an unreadable value means the default pause; the pause is clamped between it
        and Binance's longest ban (3 days).
        """
        b = self._buckets.get(bucket) or self._new_bucket(bucket)
        seconds = pause_seconds(retry_after, DEFAULT_PAUSE_SECONDS)
        b.paused_until = max(b.paused_until, self._now() + seconds)
        if b.waiters:
            self._pump(b)

    def ban(self, retry_after: float | None) -> None:
        """Admit nothing from any bucket for ``retry_after`` seconds (after a 418).

        None or an unreadable value means Binance's shortest ban (2 minutes); clamped as for
        :meth:`pause_bucket`.
        """
        seconds = pause_seconds(retry_after, DEFAULT_BAN_SECONDS)
        self._banned_until = max(self._banned_until, self._now() + seconds)
        for b in self._buckets.values():
            if b.waiters:
                self._pump(b)

    def clock_moved(self, seconds: float) -> None:
        """Our estimate of the server clock was just corrected by ``seconds``.

        Weight counted before the correction was counted in windows of the wrong clock: it
        reached Binance up to ``seconds`` away from where it was counted (the server's clock
        may have moved before or after each request). It is charged to every window it may
        have reached, among the windows still in play, so a window can never get our full
        budget on top of it. The work depends on the number of windows kept, never on
        ``seconds``.
        """
        now = self._now()
        uncertainty = max(self._uncertainty(), 0.0)
        for b in self._buckets.values():
            carry = carried_weight(b.counts, seconds, now=now, uncertainty=uncertainty,
                                   window=self._window)
            self._roll(b, now, uncertainty)
            for j, weight in carry.items():
                b.counts[j] = b.counts.get(j, 0) + weight

    def state(self) -> LimiterState:
        """A snapshot: weight used in the current window, in flight and pauses, per bucket."""
        now = self._now()
        uncertainty = max(self._uncertainty(), 0.0)
        current = math.floor(now / self._window)
        buckets: dict[str, BucketState] = {}
        for name, b in self._buckets.items():
            self._roll(b, now, uncertainty)
            buckets[name] = BucketState(
                bucket=name,
                limit=b.limit,
                used=b.counts.get(current, 0),
                in_flight=b.in_flight,
                window_start=current * self._window,
                paused_until=b.paused_until if b.paused_until > now else None,
            )
        return LimiterState(
            buckets=MappingProxyType(buckets),
            banned_until=self._banned_until if self._banned_until > now else None,
        )

    # -- admission --------------------------------------------------------------------------------

    def _new_bucket(self, name: str) -> _Bucket:
        b = self._buckets[name] = _Bucket(name, self._limits.limit_for(name))
        return b

    def _roll(self, b: _Bucket, now: float, uncertainty: float) -> int:
        """Charge in-flight weight to every window it may now reach; return the horizon.

        The work is bounded by the clock's uncertainty, never by how far the clock moved.
        """
        horizon = math.floor((now + uncertainty) / self._window)
        if horizon > b.horizon:
            counts = b.counts
            oldest = math.floor((now - uncertainty) / self._window)
            if b.in_flight:
                for k in range(max(b.horizon + 1, oldest), horizon + 1):
                    counts[k] = counts.get(k, 0) + b.in_flight
            b.horizon = horizon
            for k in [k for k in counts if k < oldest - 1]:
                del counts[k]
        elif b.horizon > horizon + 1:
            # The clock moved back (a re-sync corrected it): admissions must not be charged
            # to every window up to where it was. What was counted there stays counted, and
            # in-flight weight is charged again as those windows come: both err on the safe
            # side.
            b.horizon = horizon
        return b.horizon

    def _try_admit(self, b: _Bucket, weight: int, now: float) -> Permit | float:
        """Admit now, or return the server time at which it is worth trying again.

        The caller has checked that no pause is running.
        """
        if not self._limits.enabled:
            return Permit(None, None, weight, 0)
        uncertainty = max(self._uncertainty(), 0.0)
        window = self._window
        last = self._roll(b, now, uncertainty)
        first = math.floor((now - uncertainty) / window)
        counts = b.counts
        room = b.limit - weight
        for k in range(first, last + 1):
            if counts.get(k, 0) > room:
                # Window k is full; it stops mattering once now - uncertainty has left it.
                return (k + 1) * window + uncertainty + _WAKE_MARGIN
        for k in range(first, last + 1):
            counts[k] = counts.get(k, 0) + weight
        b.in_flight += weight
        return Permit(self, b, weight, first)

    def _pause_error(self, b: _Bucket, now: float) -> RateLimitError | None:
        """The error to raise at once if the running pause is too long to wait out."""
        return pause_error(
            bucket=b.name, now=now, banned_until=self._banned_until,
            paused_until=b.paused_until, ceiling=self._limits.max_pause_seconds,
        )

    # -- waiting ----------------------------------------------------------------------------------

    async def _wait(self, b: _Bucket, weight: int) -> Permit:
        fut: asyncio.Future[Permit] = asyncio.get_running_loop().create_future()
        waiter = (weight, fut)
        b.waiters.append(waiter)
        if b.waiters[0] is waiter:
            self._pump(b)
        try:
            return await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                # Granted, but cancelled before it could be used: nothing was sent.
                self._give_back(fut.result())
            else:
                was_head = bool(b.waiters) and b.waiters[0] is waiter
                with contextlib.suppress(ValueError):
                    b.waiters.remove(waiter)
                if was_head or not b.waiters:
                    self._pump(b)
            raise

    def _log_wait(self, b: _Bucket, weight: int, until: float, now: float) -> None:
        """Say at INFO why the head of ``b`` waits and until when, once per long wait."""
        paused = max(b.paused_until, self._banned_until) > now
        log_long_wait(self._announced, b.name, weight, until, now, paused=paused)

    def _pump(self, b: _Bucket) -> None:
        """Admit waiters from the head of the queue while they fit; then arm a timer."""
        waiters = b.waiters
        now = self._now()
        while waiters:
            weight, fut = waiters[0]
            if fut.done():
                waiters.popleft()
                continue
            if max(b.paused_until, self._banned_until) > now:
                error = self._pause_error(b, now)
                if error is not None:
                    # Everyone queued would wait for this pause: all of them raise now.
                    self._fail_waiters(b, error, now)
                    break
                retry_at = max(b.paused_until, self._banned_until) + _WAKE_MARGIN
            else:
                admitted = self._try_admit(b, weight, now)
                if isinstance(admitted, Permit):
                    waiters.popleft()
                    fut.set_result(admitted)
                    continue
                retry_at = admitted
            self._log_wait(b, weight, retry_at, now)
            self._arm(b, retry_at, now, fut.get_loop())
            return
        self._disarm(b)

    def _fail_waiters(self, b: _Bucket, first: RateLimitError, now: float) -> None:
        error: RateLimitError | None = first
        while b.waiters:
            _, fut = b.waiters.popleft()
            if not fut.done():
                # One exception object each: a shared one would collect every task's traceback.
                fut.set_exception(error or first)
                error = self._pause_error(b, now)

    def _arm(self, b: _Bucket, when: float, now: float, loop: asyncio.AbstractEventLoop) -> None:
        if b.timer is not None:
            if b.timer_at <= when:
                return  # an earlier wake-up is due anyway; it re-arms
            self._disarm(b)
        delay = max(when - now, _WAKE_MARGIN)
        if self._sleep is None:
            b.timer = loop.call_later(delay, self._on_timer, b)
        else:
            b.timer = loop.create_task(self._sleep_then_pump(b, delay))
        b.timer_at = when

    def _disarm(self, b: _Bucket) -> None:
        if b.timer is not None:
            b.timer.cancel()
            b.timer = None
            b.timer_at = _NEVER

    def _on_timer(self, b: _Bucket) -> None:
        b.timer = None
        b.timer_at = _NEVER
        self._pump(b)

    async def _sleep_then_pump(self, b: _Bucket, delay: float) -> None:
        assert self._sleep is not None
        await self._sleep(delay)
        if b.timer is asyncio.current_task():
            self._on_timer(b)

    # -- release ----------------------------------------------------------------------------------

    def _release(self, b: _Bucket, weight: int, used_weight: int | None, *, wake: bool) -> None:
        now = self._now()
        uncertainty = max(self._uncertainty(), 0.0)
        self._roll(b, now, uncertainty)
        b.in_flight -= weight
        if used_weight:
            # The header is Binance's count for the window that served the response: ours,
            # unless it was served just across a boundary, so raise both sides if unsure.
            counts = b.counts
            for k in range(
                math.floor(now / self._window), math.floor((now + uncertainty) / self._window) + 1
            ):
                if used_weight > counts.get(k, 0):
                    counts[k] = used_weight
        if wake and b.waiters:
            self._pump(b)

    def _release_later(self, b: _Bucket, weight: int) -> None:
        """Release once the next window has begun (and been charged what is in flight)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._release(b, weight, None, wake=False)
            return
        delay = until_next_window(self._now(), max(self._uncertainty(), 0.0), self._window)
        loop.call_later(delay, functools.partial(self._release, b, weight, None, wake=True))

    def _give_back(self, permit: Permit) -> None:
        """Undo the charges of a permit that was granted but never used."""
        b = permit._bucket
        if permit._released or b is None:
            return
        permit._released = True
        counts = b.counts
        for k in [k for k in counts if permit._first_window <= k <= b.horizon]:
            counts[k] = max(counts[k] - permit.weight, 0)
        b.in_flight -= permit.weight
        if b.waiters:
            self._pump(b)
