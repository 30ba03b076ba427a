"""One rate budget for a fleet of processes and machines, kept in Redis.

::

    limiter = RedisLimiter("redis://10.0.0.5:6379/0", ip_label="desk-1", account="credit-a")
    async with limiter, AsyncInstLoanClient(key, secret, limiter=limiter) as client:
        ...

Every process that sends from one egress IP passes the same ``ip_label``, and every process
that trades one Binance account the same ``account``: IP-limited buckets (and ``/api``) are
counted per label, UID-limited ones per account, exactly as Binance counts them (reference 1.7).

How it works:

- One atomic Lua script per acquisition checks and charges the window counters of the bucket,
  or answers when to try again. Requests within the clock's uncertainty of a boundary are
  charged to both windows, and a window nobody has counted yet starts with the weight still in
  flight fleet-wide, as the in-process limiter does.
- In each process, waiters queue locally (FIFO per bucket); only the head talks to Redis, and
  it sleeps exactly until the time Redis answered, so nothing polls.
- A 429 or 418 seen by any process is written to Redis and stops every process: a 429 pauses
  that bucket, a 418 every bucket of that IP label, until ``Retry-After``.
- The used-weight headers of responses raise the shared counter (never lower it), so traffic
  from outside the fleet slows the fleet down.

The parts: ``_redis_lua`` (the scripts), ``_redis_glue`` (running them, batching releases),
``_redis_pauses`` (sharing 429/418 pauses), ``_redis_fallback`` (``on_redis_error="local"``) and
``_redis_settings`` (the limits the fleet must agree on); this module admits requests.

What it assumes: windows are computed by each process from its own Binance-synced clock
(``bind_clock``; the client binds its ``ServerClock``), so every process must have synced with
Binance and the margin it adds is its own uncertainty; windows are aligned to server time, like
Binance's; machines need no synced clocks of their own and Redis's clock is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal

from ._errors import ClientClosedError, ConfigurationError, RateLimitError
from ._limiter import (
    BucketState,
    LimiterState,
    Permit,
    RateLimits,
    carried_weight,
    log_long_wait,
    pause_error,
    until_next_window,
)
from ._redis_fallback import LimiterUnavailableError, LocalFallback, local_limits
from ._redis_glue import Call, ReleaseQueue, ScriptRunner
from ._redis_lua import ACQUIRE, ADD, LIMITS, RAISE
from ._redis_pauses import PauseSharer
from ._redis_settings import limits_mismatch, limits_signature
from ._retry_after import (
    DEFAULT_BAN_SECONDS,
    DEFAULT_PAUSE_SECONDS,
    MAX_PAUSE_SECONDS,
    pause_seconds,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["LimiterUnavailableError", "RedisLimiter"]

logger = logging.getLogger("binance_instloan")

OnRedisError = Literal["fail", "local"]

# Sleeping this far past a boundary keeps float rounding from waking a waiter inside the old
# window.
_WAKE_MARGIN: Final = 1e-4
_NEVER: Final = -math.inf
_FORBIDDEN_IN_NAMES: Final = frozenset("{}")


class _Lane:
    """One bucket in this process: its FIFO queue and what Redis last said about it."""

    __slots__ = ("bucket", "in_flight", "limit", "lock", "mine", "nap", "paused_until", "tag",
                 "used", "window")

    def __init__(self, bucket: str, tag: str, limit: int) -> None:
        self.bucket = bucket
        self.tag = tag
        self.limit = limit
        # The head of the queue holds the lock: it alone talks to Redis for this bucket.
        self.lock = asyncio.Lock()
        self.nap: asyncio.Future[None] | None = None
        self.used = 0
        self.window = -1
        self.in_flight = 0
        self.paused_until: float = _NEVER
        # Weight this process charged per recent window index, for clock_moved.
        self.mine: dict[int, int] = {}


class _RedisPermit(Permit):
    """A permit counted in Redis; releasing it is sent there in the background."""

    __slots__ = ("_done", "_hi", "_lane", "_lo", "_member", "_owner")

    def __init__(
        self, owner: RedisLimiter, lane: _Lane, weight: int, member: str, lo: int, hi: int,
    ) -> None:
        # The base class's own bookkeeping stays inert: it has no local limiter to talk to.
        super().__init__(None, None, weight, lo)
        self._owner = owner
        self._lane = lane
        self._member = member
        self._lo = lo
        self._hi = hi
        self._done = False

    def release(self, *, used_weight: int | None = None, may_still_arrive: bool = False) -> None:
        if self._done:
            return
        self._done = True
        if may_still_arrive:
            self._owner._release_later(self)
        else:
            self._owner._release(self, used_weight, flush=True)

    def __del__(self) -> None:
        # Dropped without release: queue the release but start nothing (no loop may be running);
        # the next flush sends it, and Redis forgets the permit at its deadline anyway.
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            self._owner._release(self, None, flush=False)

    def __repr__(self) -> str:
        state = "released" if self._done else "in flight"
        return f"<Permit {self._lane.bucket} weight={self.weight} {state} (redis)>"


class RedisLimiter:
    """A :class:`~binance_instloan.Limiter` whose budget is shared through Redis.

    ``url_or_client`` is a ``redis://`` URL (the limiter then owns and closes the connection
    pool; connect and read time out after 1 s unless the URL says otherwise) or a
    ``redis.asyncio.Redis`` you own. ``ip_label`` names the egress IP, ``account`` the Binance
    account; ``limits`` are the budgets (default :class:`RateLimits`, Binance's).

    When Redis cannot be reached, ``on_redis_error="fail"`` raises
    :class:`LimiterUnavailableError` before anything is sent; ``"local"`` paces this process to
    ``local_share`` of each budget with an in-process :class:`RateLimiter` (choose at most
    1 / the number of processes), treating the window in which Redis was lost as spent, and
    goes back to Redis when a probe every ``reconnect_after`` seconds succeeds.

    ``now`` is the server clock in seconds; when omitted, the client binds its own
    (``bind_clock``). A permit whose process dies before releasing it stops counting after
    ``inflight_timeout`` seconds: keep it above the client's longest request (its default
    timeouts add up to 40 s). ``sleep`` is for tests that drive a virtual clock.
    """

    def __init__(
        self,
        url_or_client: str | Redis,
        *,
        ip_label: str,
        account: str,
        limits: RateLimits | None = None,
        on_redis_error: OnRedisError = "fail",
        local_share: float = 0.25,
        key_prefix: str = "binance_instloan",
        now: Callable[[], float] | None = None,
        inflight_timeout: float = 60.0,
        reconnect_after: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        try:
            import redis.asyncio as aioredis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError
            from redis.exceptions import NoScriptError, ReadOnlyError, RedisError
            from redis.exceptions import TimeoutError as RedisTimeoutError
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                'RedisLimiter needs redis-py: pip install ".[redis]"'
            ) from exc
        for name, value in (("ip_label", ip_label), ("account", account),
                            ("key_prefix", key_prefix)):
            if not isinstance(value, str) or not value or _FORBIDDEN_IN_NAMES & set(value):
                raise ConfigurationError(
                    f"{name} must be a non-empty string without braces, not {value!r}"
                )
        if on_redis_error not in ("fail", "local"):
            raise ConfigurationError(
                f"on_redis_error must be 'fail' or 'local', not {on_redis_error!r}"
            )
        if isinstance(local_share, bool) or not isinstance(local_share, int | float) or not (
            0 < local_share <= 1
        ):
            raise ConfigurationError(f"local_share must be in (0, 1], not {local_share!r}")
        for name, seconds in (("inflight_timeout", inflight_timeout),
                              ("reconnect_after", reconnect_after)):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not (
                0 < seconds < math.inf
            ):
                raise ConfigurationError(f"{name} must be positive seconds, not {seconds!r}")
        self._limits = limits if limits is not None else RateLimits()
        self._window_ms = round(self._limits.window_seconds * 1000)
        if self._window_ms < 1:
            raise ConfigurationError("RedisLimiter needs window_seconds of at least 1 ms")
        if isinstance(url_or_client, str):
            self._redis: Redis = aioredis.Redis.from_url(
                url_or_client, socket_connect_timeout=1.0, socket_timeout=1.0,
                # One quick retry reconnects a pooled connection that a Redis restart broke;
                # more would only delay falling back.
                retry=Retry(NoBackoff(), 1),
            )
            self._owns_redis = True
        else:
            self._redis = url_or_client
            self._owns_redis = False
        self._scripts = ScriptRunner(self._redis, redis_error=RedisError, no_script=NoScriptError)
        self._where = self._scripts.where
        # A replica promoted mid-failover answers READONLY: as unreachable as a closed port.
        self._unreachable: tuple[type[BaseException], ...] = (
            RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError,
        )
        self._redis_error: type[BaseException] = RedisError
        self._ip_label = ip_label
        self._account = account
        self._prefix = key_prefix
        self._ban_key = f"{{{key_prefix}:IP:{ip_label}}}:ban"
        self._limits_key = f"{{{key_prefix}}}:limits"
        self._signature = limits_signature(self._limits, self._window_ms)
        self._limits_agreed = False
        self._on_error: OnRedisError = on_redis_error
        self._local_share = float(local_share)
        self._inflight_ms = round(inflight_timeout * 1000)
        self._reconnect_after = float(reconnect_after)
        self._clock: Callable[[], float] = now if now is not None else time.time
        self._clock_given = now is not None
        self._uncertainty_fn: Callable[[], float] | None = None
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._announced: dict[str, float] = {}
        self._banned_until: float = _NEVER
        self._id = uuid.uuid4().hex[:16]
        self._seq = itertools.count(1)
        self._releases = ReleaseQueue(self._scripts, self._window_ms)
        self._pauses = PauseSharer(self._scripts, self._window_ms)
        self._fallback: LocalFallback | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"RedisLimiter({self._where}, ip_label={self._ip_label!r}, "
            f"account={self._account!r}, mode={self.mode!r})"
        )

    # -- configuration ----------------------------------------------------------------------------

    @property
    def limits(self) -> RateLimits:
        return self._limits

    @property
    def mode(self) -> Literal["redis", "local"]:
        """``"local"`` while Redis is unreachable and this process paces itself alone."""
        return "local" if self._fallback is not None else "redis"

    def bind_clock(
        self, now: Callable[[], float], uncertainty: Callable[[], float] | None = None,
    ) -> None:
        """Use ``now()`` (server-clock seconds) for windows, and ``uncertainty()`` (seconds)
        as the margin around boundaries. The client calls this with its ``ServerClock``; a
        ``now`` given to the constructor is kept."""
        if not self._clock_given:
            self._clock = now
        if uncertainty is not None:
            self._uncertainty_fn = uncertainty

    def _now(self) -> float:
        return self._clock()

    def _uncertainty(self) -> float:
        fn = self._uncertainty_fn
        return max(fn(), 0.0) if fn is not None else 0.0

    # -- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> RedisLimiter:
        await self.check_limits()
        return self

    async def check_limits(self) -> None:
        """Store this process's limits as the fleet's, or raise :class:`ConfigurationError`
        if the fleet sharing ``key_prefix`` already runs with different ones.

        ``async with`` calls it; every acquisition checks again, so a process that skips it
        still refuses before sending anything. An unreachable Redis is left to
        ``on_redis_error`` at the first acquisition.
        """
        with contextlib.suppress(self._redis_error, OSError):
            await self._check_limits()

    async def _check_limits(self) -> None:
        if not self._limits.enabled:
            return  # an unlimited process counts nothing: it cannot overspend the fleet
        _, (stored,) = await self._scripts.run([self._limits_call()])
        if stored not in (self._signature, self._signature.encode()):
            raise limits_mismatch(stored, self._signature, where=self._where,
                                  key=self._limits_key)
        self._limits_agreed = True

    def _limits_call(self) -> Call:
        return (LIMITS, (self._limits_key,),
                (self._signature, self._inflight_ms + 2 * self._window_ms))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send the releases still queued, stop probing, and close a pool this limiter opened."""
        if self._closed:
            return
        self._closed = True
        if self._fallback is not None:
            await self._fallback.close()
        await self.flush()
        if self._owns_redis:
            await self._redis.aclose()

    async def flush(self) -> None:
        """Wait until the releases and pauses queued by this process reached Redis (or failed)."""
        self._releases.schedule_flush()
        tasks = [t for t in (self._releases.flusher(), *self._pauses.pending())
                 if t is not None and not t.done()]
        if tasks:
            # asyncio.wait, unlike gather, leaves the writes running if the caller is cancelled.
            await asyncio.wait(tasks)

    # -- the Limiter protocol ---------------------------------------------------------------------

    async def acquire(self, bucket: str, weight: int) -> Permit:
        """Wait (FIFO within the bucket, fleet-wide budget) until ``weight`` fits.

        Raises :class:`ConfigurationError` for a weight above the bucket's limit,
        :class:`RateLimitError` / :class:`IPBannedError` at once when a 429 pause / 418 ban
        longer than ``max_pause_seconds`` is running anywhere in the fleet, and
        :class:`LimiterUnavailableError` when Redis is unreachable and ``on_redis_error`` is
        ``"fail"``.
        """
        if self._closed:
            raise ClientClosedError("this RedisLimiter is closed")
        lane = self._lanes.get(bucket) or self._new_lane(bucket)
        if weight > lane.limit and self._limits.enabled:
            raise ConfigurationError(
                f"weight {weight} can never fit in {bucket}, whose limit is {lane.limit} per "
                f"{self._limits.window_seconds:g} s"
            )
        if weight < 0:
            raise ValueError(f"weight must be >= 0, not {weight}")
        async with lane.lock:
            while True:
                now = self._now()
                paused_until = max(lane.paused_until, self._banned_until)
                if paused_until > now:
                    error = self._pause_error(lane, now)
                    if error is not None:
                        raise error
                    log_long_wait(self._announced, bucket, weight, paused_until, now, paused=True)
                    await self._nap(lane, paused_until - now + _WAKE_MARGIN)
                    continue
                if self._fallback is not None:
                    local_permit = await self._fallback.acquire(lane.bucket, weight)
                    if local_permit is not None:
                        return local_permit
                    continue
                answer = await self._ask(lane, weight, now)
                if isinstance(answer, Permit):
                    return answer
                if answer is not None:
                    now = self._now()
                    log_long_wait(self._announced, bucket, weight, answer, now, paused=False)
                    await self._nap(lane, answer - now + _WAKE_MARGIN)

    def pause_bucket(self, bucket: str, retry_after: float | None) -> None:
        """Stop ``bucket`` fleet-wide for ``retry_after`` seconds (after a 429), clamped
        like :meth:`RateLimiter.pause_bucket <binance_instloan.RateLimiter.pause_bucket>`."""
        lane = self._lanes.get(bucket) or self._new_lane(bucket)
        seconds = pause_seconds(retry_after, DEFAULT_PAUSE_SECONDS)
        until = self._now() + seconds
        lane.paused_until = max(lane.paused_until, until)
        if self._fallback is not None:
            self._fallback.limiter.pause_bucket(bucket, seconds)
        self._wake(lane)
        self._pauses.share(f"{lane.tag}:pause", until, seconds)

    def ban(self, retry_after: float | None) -> None:
        """Stop every bucket of this IP label fleet-wide for ``retry_after`` s (after a 418).

        Clamped like :meth:`pause_bucket`, so the key written to Redis expires within 3 days.
        """
        seconds = pause_seconds(retry_after, DEFAULT_BAN_SECONDS)
        until = self._now() + seconds
        self._banned_until = max(self._banned_until, until)
        if self._fallback is not None:
            self._fallback.limiter.ban(seconds)
        for lane in self._lanes.values():
            self._wake(lane)
        self._pauses.share(self._ban_key, until, seconds)

    def clock_moved(self, seconds: float) -> None:
        """This process's server clock was just corrected by ``seconds`` (the client calls
        this after a re-sync): the weight it charged under the old estimate is also charged,
        fleet-wide, to every window it may really have landed in (see
        :meth:`RateLimiter.clock_moved <binance_instloan.RateLimiter.clock_moved>`)."""
        if self._fallback is not None:
            self._fallback.limiter.clock_moved(seconds)
        now, uncertainty = self._now(), self._uncertainty()
        calls: list[Call] = []
        for lane in self._lanes.values():
            carry = carried_weight(lane.mine, seconds, now=now, uncertainty=uncertainty,
                                   window=self._window_ms / 1000)
            if carry:
                keys = (f"{lane.tag}:inflight_weight", *(f"{lane.tag}:w:{k}" for k in carry))
                calls.append((ADD, keys, (self._window_ms, *carry.values())))
        if calls:
            self._pauses.send(calls, "weight counted before a clock correction")

    def state(self) -> LimiterState:
        """What this process last learned from Redis (or its local limiter, while local)."""
        if self._fallback is not None:
            return self._fallback.limiter.state()
        now = self._now()
        window = math.floor(now * 1000) // self._window_ms
        buckets = {
            name: BucketState(
                bucket=name,
                limit=lane.limit,
                used=lane.used if lane.window == window else 0,
                in_flight=lane.in_flight,
                window_start=window * self._window_ms / 1000,
                paused_until=lane.paused_until if lane.paused_until > now else None,
            )
            for name, lane in self._lanes.items()
        }
        return LimiterState(
            buckets=MappingProxyType(buckets),
            banned_until=self._banned_until if self._banned_until > now else None,
        )

    # -- talking to Redis -------------------------------------------------------------------------

    def _new_lane(self, bucket: str) -> _Lane:
        limit = self._limits.limit_for(bucket)
        kind, _, path = bucket.partition(":")
        owner = self._account if kind == "UID" else self._ip_label
        lane = self._lanes[bucket] = _Lane(bucket, f"{{{self._prefix}:{kind}:{owner}:{path}}}",
                                           limit)
        return lane

    async def _ask(self, lane: _Lane, weight: int, now: float) -> Permit | float | None:
        """One round trip: a permit, the server time to try again at, or None to look again."""
        if not self._limits_agreed:
            # Once per process, before its first charge: a process that disagrees with the
            # fleet must not count anything with its own numbers.
            try:
                await self._check_limits()
            except self._unreachable as exc:
                await self._unreachable_now(exc)
                return None
        now_ms = math.floor(now * 1000)
        margin_ms = math.ceil(self._uncertainty() * 1000)
        wms = self._window_ms
        lo, hi = (now_ms - margin_ms) // wms, (now_ms + margin_ms) // wms
        tag = lane.tag
        member = f"{self._id}-{next(self._seq)}:{weight}"
        keys = (f"{tag}:inflight", f"{tag}:inflight_weight", f"{tag}:pause", f"{tag}:w:{lo}",
                f"{tag}:w:{hi}", f"{tag}:w:{hi + 1}")
        limit = lane.limit if self._limits.enabled else -1
        args = (now_ms, wms, lo, hi, limit, weight, margin_ms, member,
                now_ms + self._inflight_ms, self._inflight_ms + 2 * wms)
        # The call runs as its own task so that a caller cancelled mid-flight cannot lose a
        # permit Redis granted: the callback gives it back.
        task = asyncio.ensure_future(self._run_acquire(keys, args))
        try:
            ban_raw, stored, answer = await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(lambda t: self._abandon(t, lane, member, weight, lo, limit))
            raise
        except self._unreachable as exc:
            await self._unreachable_now(exc)
            return None
        except self._redis_error as exc:
            raise LimiterUnavailableError(
                f"the shared rate limiter at {self._where} failed: {type(exc).__name__}: {exc}; "
                "nothing was sent"
            ) from exc
        code = int(answer[0])
        if stored is not None and stored not in (self._signature, self._signature.encode()):
            if code == 0 and limit >= 0:
                self._releases.put((tag, member, weight, lo, -1), flush=True)
            raise limits_mismatch(stored, self._signature, where=self._where,
                                  key=self._limits_key)
        # Another process (perhaps an older version) may have written any pause: none is
        # believed beyond Binance's longest ban.
        latest_ms = now_ms + MAX_PAUSE_SECONDS * 1000
        banned_until_ms = min(int(ban_raw), latest_ms) if ban_raw else 0
        if banned_until_ms > now_ms:
            self._banned_until = max(self._banned_until, banned_until_ms / 1000)
            if code == 0 and limit >= 0:
                self._releases.put((tag, member, weight, lo, -1), flush=True)
            return None
        if code == 2:
            lane.paused_until = max(lane.paused_until, min(int(answer[1]), latest_ms) / 1000)
            return None
        lane.used, lane.window = int(answer[-1]), now_ms // wms
        if code == 1:
            return int(answer[1]) / 1000
        if limit < 0:
            return Permit(None, None, weight, lo)
        lane.in_flight += weight
        mine = lane.mine
        for k in [k for k in mine if k < lo - 1]:
            del mine[k]
        for k in range(lo, hi + 1):
            mine[k] = mine.get(k, 0) + weight
        return _RedisPermit(self, lane, weight, member, lo, hi)

    async def _run_acquire(
        self, keys: Sequence[str], args: Sequence[int | str],
    ) -> tuple[bytes | None, Any, list[Any]]:
        # Releases queued meanwhile ride along (and run first, so the in-flight weight they
        # free is already gone when the acquire script looks). The fleet's limits are checked
        # in the same round trip.
        releases = self._releases.take()
        check = [self._limits_call()] if self._limits.enabled else []
        calls = [*check, *releases, (ACQUIRE, keys, args)]
        try:
            ban_raw, results = await self._scripts.run(calls, get=self._ban_key)
        except BaseException:
            self._releases.lost(releases)
            raise
        return ban_raw, results[0] if check else None, list(results[-1])

    def _abandon(
        self, task: asyncio.Task[tuple[bytes | None, Any, list[Any]]], lane: _Lane, member: str,
        weight: int, lo: int, limit: int,
    ) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        _, _, answer = task.result()
        if int(answer[0]) == 0 and limit >= 0:
            # Granted to a caller that was cancelled before it could send: stop counting it
            # as in flight. Its charge to the window stays, since a header may already have
            # raised the counter past it.
            self._releases.put((lane.tag, member, weight, lo, -1), flush=True)

    # -- releases ---------------------------------------------------------------------------------

    def _release_later(self, permit: _RedisPermit) -> None:
        """Release once the window after this one has begun: the request may still arrive,
        and a window nobody counted yet starts with the weight in flight."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._release(permit, None, flush=False)
            return
        delay = until_next_window(self._now(), self._uncertainty(), self._window_ms / 1000)
        loop.call_later(delay, lambda: self._release(permit, None, flush=True))

    def _release(self, permit: _RedisPermit, used_weight: int | None, *, flush: bool) -> None:
        lane = permit._lane
        lane.in_flight -= permit.weight
        now_ms = math.floor(self._now() * 1000)
        window = now_ms // self._window_ms
        seen = -1
        # The header is Binance's count for the window that served the response; it is surely
        # this one only if the request was admitted and answered inside it.
        if used_weight is not None and permit._lo == permit._hi == window:
            seen = used_weight
            if lane.window == window:
                lane.used = max(lane.used, used_weight)
        self._releases.put((lane.tag, permit._member, permit.weight, window, seen), flush=flush)

    # -- pauses -----------------------------------------------------------------------------------

    def _pause_error(self, lane: _Lane, now: float) -> RateLimitError | None:
        return pause_error(
            bucket=lane.bucket, now=now, banned_until=self._banned_until,
            paused_until=lane.paused_until, ceiling=self._limits.max_pause_seconds,
            ip=f"the IP {self._ip_label!r}",
            consequence="no process of the fleet sends until it ends",
        )

    # -- waiting ----------------------------------------------------------------------------------

    async def _nap(self, lane: _Lane, seconds: float) -> None:
        """Sleep as the head of the queue; a new pause or ban wakes it early."""
        seconds = max(seconds, 0.0)
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        lane.nap = wake
        timer = loop.call_later(seconds, _resolve, wake)
        try:
            await wake
        finally:
            timer.cancel()
            lane.nap = None

    def _wake(self, lane: _Lane) -> None:
        if lane.nap is not None:
            _resolve(lane.nap)

    # -- without Redis ----------------------------------------------------------------------------

    async def _unreachable_now(self, exc: BaseException) -> None:
        if self._on_error == "fail":
            raise LimiterUnavailableError(
                f"the shared rate limiter at {self._where} is unreachable "
                f"({type(exc).__name__}: {exc}); nothing was sent. Pass "
                "on_redis_error='local' to fall back to a share of the budget"
            ) from exc
        if self._fallback is not None:
            return
        logger.warning("Redis at %s is unreachable (%s): pacing this process to %g of the "
                       "budget until it is back", self._where, exc, self._local_share)
        self._fallback = LocalFallback(
            local_limits(self._limits, self._local_share), where=self._where, now=self._now,
            uncertainty=self._uncertainty, sleep=self._sleep, banned_until=self._banned_until,
            paused=[(lane.bucket, lane.paused_until) for lane in self._lanes.values()],
        )
        self._fallback.start_probe(self._reconnect_after, self._try_return, self._returned,
                                   (self._redis_error, OSError))

    async def _try_return(self) -> None:
        await self._redis.ping()
        await self._claim_return()

    def _returned(self) -> None:
        self._fallback = None

    async def _claim_return(self) -> None:
        """Mark the windows of the next ``reconnect_after`` seconds as spent in Redis.

        Other processes may still be pacing themselves locally until their own probe succeeds
        (within ``reconnect_after``); until then their use is invisible to Redis.
        """
        now = self._now()
        margin = self._uncertainty()
        wms = self._window_ms
        first = math.floor((now - margin) * 1000) // wms
        last = math.floor((now + self._reconnect_after + margin) * 1000) // wms
        calls = [
            (RAISE, tuple(f"{lane.tag}:w:{k}" for k in range(first, last + 1)), (lane.limit, wms))
            for lane in self._lanes.values()
        ]
        if calls:
            await self._scripts.run(calls)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
