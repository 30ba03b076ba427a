"""RedisLimiter against a real redis-server on loopback: one budget for many processes.

The server comes from ``REDIS_URL`` or, when ``redis-server`` is installed, is started here on a
free loopback port. Without either the tests skip, except under CI (``CI=true``) where they
fail. Most tests drive a virtual clock, so "the next window" costs no real time; the fleet
tests at the end run real processes against one simulator served over TCP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from binance_instloan import (
    ConfigurationError,
    IPBannedError,
    RateLimitError,
    RateLimits,
)
from binance_instloan._redis_limiter import LimiterUnavailableError, RedisLimiter
from binance_instloan.simulator import Simulator, serve
from tests._eventually import DEADLINE_SECONDS, eventually
from tests._redis import REDIS_SERVER, redis_missing

HISTORY = "IP:/sapi/v1/margin/loan-group/interest-history"
LTV = "IP:/sapi/v1/margin/loan-group/ltv-details"
BORROW = "UID:/sapi/v1/margin/loan-group/borrow"
WORKER = Path(__file__).with_name("redis_fleet_worker.py")
# A window-aligned start: 10 s into a 60 s window.
T0 = 1_800_000_000.0 + 10.0


# -- a redis-server to test against -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisProcess:
    """A redis-server this test owns, on a loopback port it keeps across restarts."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self._proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.1):
                    return
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.005)

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None


def _own_redis() -> Iterator[RedisProcess]:
    if REDIS_SERVER is None:
        redis_missing("redis-server not found")
    server = RedisProcess()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    yield from (server.url for server in _own_redis())


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A server of this test's own, for the tests that stop and restart it."""
    yield from _own_redis()


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError) as exc:
        await client.aclose()
        redis_missing(f"no Redis at {redis_url}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    """Keys of one test never meet another's, even on a shared server."""
    return f"t{uuid.uuid4().hex[:10]}"


class VirtualClock:
    """A server clock that only moves when a limiter sleeps on it.

    Before moving, it lets the limiters send what they queued (releases, pauses), as real time
    would.
    """

    def __init__(self, start: float = T0) -> None:
        self.t = start
        self.slept: list[float] = []
        self.limiters: list[RedisLimiter] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        for limiter in self.limiters:
            await limiter.flush()
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def fleet(
    redis_url: str, prefix: str, clock: VirtualClock, admin: aioredis.Redis,
) -> AsyncIterator[Callable[..., RedisLimiter]]:
    """Makes limiters that stand for separate processes: they share only Redis."""
    made: list[RedisLimiter] = []

    def make(ip_label: str = "desk-1", account: str = "credit-a", **kwargs: Any) -> RedisLimiter:
        kwargs.setdefault("limits", RateLimits(ip_weight=100, uid_weight=1000))
        kwargs.setdefault("now", clock.now)
        kwargs.setdefault("sleep", clock.sleep)
        limiter = RedisLimiter(redis_url, ip_label=ip_label, account=account, key_prefix=prefix,
                               **kwargs)
        made.append(limiter)
        clock.limiters.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.aclose()


async def take(limiter: RedisLimiter, bucket: str, weight: int, times: int = 1,
               used_weight: int | None = None) -> None:
    """Acquire and release like a request that got its answer."""
    for _ in range(times):
        permit = await limiter.acquire(bucket, weight)
        permit.release(used_weight=used_weight)


async def fits_now(limiter: RedisLimiter, clock: VirtualClock, bucket: str, weight: int) -> bool:
    """Whether ``weight`` is admitted without waiting for a later window."""
    start = clock.t
    permit = await limiter.acquire(bucket, weight)
    permit.release()
    return clock.t == start


# -- one budget ---------------------------------------------------------------------------------


async def test_admits_until_the_window_is_full_then_sleeps_exactly_until_the_next(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    limiter = fleet()
    await take(limiter, HISTORY, 10, times=10)
    assert clock.slept == []
    await take(limiter, HISTORY, 10)
    assert clock.slept == [pytest.approx(50.0, abs=1e-3)]


async def test_processes_share_one_budget(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first, second = fleet(), fleet()
    await take(first, HISTORY, 10, times=6)
    await take(second, HISTORY, 10, times=4)
    assert not await fits_now(second, clock, HISTORY, 10)


async def test_ip_buckets_are_counted_per_label_and_uid_buckets_per_account(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    desk1 = fleet(ip_label="desk-1", account="credit-a")
    desk2_same_account = fleet(ip_label="desk-2", account="credit-a")
    desk1_other_account = fleet(ip_label="desk-1", account="credit-b")
    await take(desk1, HISTORY, 100)
    await take(desk1, BORROW, 1000)
    assert await fits_now(desk2_same_account, clock, HISTORY, 100)
    assert await fits_now(desk1_other_account, clock, BORROW, 1000)
    assert not await fits_now(desk2_same_account, clock, BORROW, 1000)


async def test_weight_above_the_limit_is_refused_at_once(
    fleet: Callable[..., RedisLimiter],
) -> None:
    with pytest.raises(ConfigurationError, match="can never fit"):
        await fleet().acquire(HISTORY, 101)


async def test_a_big_weight_queued_first_is_not_overtaken(
    fleet: Callable[..., RedisLimiter],
) -> None:
    limiter = fleet()
    await take(limiter, HISTORY, 60)
    order: list[str] = []

    async def request(name: str, weight: int) -> None:
        await take(limiter, HISTORY, weight)
        order.append(name)

    await asyncio.gather(request("big", 80), *(request(f"small{i}", 10) for i in range(3)))
    assert order == ["big", "small0", "small1", "small2"]


async def test_waiting_tasks_queue_locally_and_only_the_head_asks_redis(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock, admin: aioredis.Redis,
) -> None:
    limiter = fleet()
    await admin.config_resetstat()
    await asyncio.gather(*(take(limiter, HISTORY, 10) for _ in range(30)))
    # Only the acquire script runs ZRANGEBYSCORE (to expire dead permits), once per run: 30
    # admissions, and one "wait until the next window" answer for each window that filled up.
    stats = await admin.info("commandstats")
    assert stats["cmdstat_zrangebyscore"]["calls"] == 32
    assert len(clock.slept) == 2


async def test_cancelling_the_waiting_head_lets_the_next_task_proceed(
    fleet: Callable[..., RedisLimiter],
) -> None:
    napping: list[float] = []

    async def nap_until_cancelled(seconds: float) -> None:
        napping.append(seconds)
        await asyncio.Event().wait()

    limiter = fleet(sleep=nap_until_cancelled)
    await take(limiter, HISTORY, 100)
    head = asyncio.create_task(limiter.acquire(HISTORY, 10))
    follower = asyncio.create_task(limiter.acquire(HISTORY, 10))
    await eventually(lambda: len(napping) == 1, what="the head naps")
    head.cancel()
    # The follower becomes the head: it asks Redis and then naps until the next window.
    await eventually(lambda: len(napping) == 2, what="the follower naps")
    follower.cancel()
    await asyncio.gather(head, follower, return_exceptions=True)


async def test_a_permit_granted_to_a_cancelled_caller_stops_counting_as_in_flight(
    fleet: Callable[..., RedisLimiter], admin: aioredis.Redis, prefix: str,
) -> None:
    limiter = fleet()
    await take(limiter, LTV, 1)  # the fleet's limits are checked once, before the first charge
    task = asyncio.create_task(limiter.acquire(HISTORY, 10))
    await asyncio.sleep(0)  # the acquire script is on its way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    key = f"{{{prefix}:IP:desk-1:/sapi/v1/margin/loan-group/interest-history}}:inflight_weight"
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        await limiter.flush()
        if await admin.get(key) == "0":
            break
        await asyncio.sleep(0.01)
    assert await admin.get(key) == "0"


# -- windows and in-flight weight ---------------------------------------------------------------


async def test_weight_in_flight_when_a_window_begins_counts_in_it(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first, second = fleet(), fleet()
    clock.t = T0 + 49.0
    slow = await first.acquire(HISTORY, 30)  # still in flight when the next window starts
    clock.t = T0 + 51.0
    await take(second, HISTORY, 10)
    assert second.state().buckets[HISTORY].used == 40
    slow.release()


async def test_requests_within_the_clock_uncertainty_of_a_boundary_count_in_both_windows(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    limiter = fleet()
    limiter.bind_clock(clock.now, uncertainty=lambda: 0.5)
    clock.t = T0 + 49.8  # 0.2 s before the boundary
    await take(limiter, HISTORY, 70)
    clock.t = T0 + 50.6  # past the boundary and its margin
    assert not await fits_now(limiter, clock, HISTORY, 40)


async def test_a_dead_process_stops_counting_after_inflight_timeout(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    dead = fleet(inflight_timeout=100.0)
    survivor = fleet()
    held = await dead.acquire(HISTORY, 100)  # its process dies: never released
    await take(survivor, HISTORY, 10)
    # Full at 10 s, then the next window starts with the dead permit in flight; the one after
    # starts after its deadline (10 + 100 s), empty.
    assert clock.slept == [pytest.approx(50.0, abs=1e-3), pytest.approx(60.0, abs=1e-3)]
    assert held.weight == 100


async def test_window_keys_share_the_bucket_hash_tag_and_expire_after_two_windows(
    fleet: Callable[..., RedisLimiter], admin: aioredis.Redis, prefix: str,
) -> None:
    limiter = fleet()
    permits = [await limiter.acquire(HISTORY, 10), await limiter.acquire(BORROW, 10)]
    keys = sorted([key async for key in admin.scan_iter(f"{{{prefix}:*")])
    window = math.floor(T0 / 60)
    assert keys == [
        f"{{{prefix}:IP:desk-1:/sapi/v1/margin/loan-group/interest-history}}:inflight",
        f"{{{prefix}:IP:desk-1:/sapi/v1/margin/loan-group/interest-history}}:inflight_weight",
        f"{{{prefix}:IP:desk-1:/sapi/v1/margin/loan-group/interest-history}}:w:{window}",
        f"{{{prefix}:UID:credit-a:/sapi/v1/margin/loan-group/borrow}}:inflight",
        f"{{{prefix}:UID:credit-a:/sapi/v1/margin/loan-group/borrow}}:inflight_weight",
        f"{{{prefix}:UID:credit-a:/sapi/v1/margin/loan-group/borrow}}:w:{window}",
    ]
    ttl = await admin.pttl(keys[2])
    assert 119_000 < ttl <= 120_000
    for permit in permits:
        permit.release()


async def test_a_script_flushed_from_redis_is_sent_again_with_eval(
    fleet: Callable[..., RedisLimiter], admin: aioredis.Redis,
) -> None:
    limiter = fleet()
    await admin.script_flush()
    permit = await limiter.acquire(HISTORY, 10)
    await admin.script_flush()
    permit.release(used_weight=70)
    await limiter.flush()
    await take(limiter, HISTORY, 10)
    assert limiter.state().buckets[HISTORY].used == 80


# -- what Binance said --------------------------------------------------------------------------


async def test_the_used_weight_header_raises_the_shared_counter(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first, second = fleet(), fleet()
    await take(first, HISTORY, 10, used_weight=80)  # someone outside the fleet used 70
    await first.flush()
    await take(second, HISTORY, 10, times=2)
    assert not await fits_now(second, clock, HISTORY, 10)


async def test_the_used_weight_header_never_lowers_the_counter(
    fleet: Callable[..., RedisLimiter],
) -> None:
    first, second = fleet(), fleet()
    await take(first, HISTORY, 50)
    await take(first, HISTORY, 10, used_weight=10)
    await first.flush()
    await take(second, HISTORY, 1)
    assert second.state().buckets[HISTORY].used == 61


async def test_a_429_in_one_process_pauses_that_bucket_in_every_process(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first, second = fleet(), fleet()
    first.pause_bucket(HISTORY, 5.0)
    await first.flush()
    await take(second, HISTORY, 10)
    assert clock.slept == [pytest.approx(5.0, abs=1e-3)]
    await take(second, LTV, 10)  # other buckets carry on
    assert len(clock.slept) == 1


async def test_a_long_wait_for_the_fleets_budget_is_logged_at_info(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = fleet(), fleet()
    first.pause_bucket(HISTORY, 30.0)
    await first.flush()
    with caplog.at_level(logging.INFO, logger="binance_instloan"):
        await take(second, HISTORY, 10)
    (record,) = [r for r in caplog.records if hasattr(r, "rate_budget_wait")]
    assert record.levelno == logging.INFO
    assert record.rate_budget_wait == pytest.approx(30.0, abs=0.01)
    assert "paused after a 429/418" in record.getMessage()


async def test_a_pause_longer_than_max_pause_seconds_raises_at_once(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first, second = fleet(), fleet()
    first.pause_bucket(HISTORY, 120.0)
    await first.flush()
    with pytest.raises(RateLimitError) as caught:
        await second.acquire(HISTORY, 10)
    assert not isinstance(caught.value, IPBannedError)
    assert caught.value.retry_after == pytest.approx(120.0, abs=0.01)
    assert caught.value.until == pytest.approx(T0 + 120.0, abs=0.01)
    assert clock.slept == []


async def test_a_418_bans_every_bucket_of_that_ip_label_in_every_process(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    banned = fleet(ip_label="desk-1")
    same_ip = fleet(ip_label="desk-1", account="credit-b")
    other_ip = fleet(ip_label="desk-2")
    banned.ban(300.0)
    await banned.flush()
    for bucket in (HISTORY, BORROW):
        with pytest.raises(IPBannedError) as caught:
            await same_ip.acquire(bucket, 10)
        assert caught.value.retry_after == pytest.approx(300.0, abs=0.01)
        assert caught.value.until == pytest.approx(T0 + 300.0, abs=0.01)
    assert same_ip.state().banned_until == pytest.approx(T0 + 300.0, abs=0.01)
    assert await fits_now(other_ip, clock, HISTORY, 10)


async def test_a_ban_wakes_waiting_tasks_so_they_raise_at_once(
    fleet: Callable[..., RedisLimiter],
) -> None:
    limiter = fleet(sleep=None)
    await take(limiter, HISTORY, 100)
    waiters = [asyncio.create_task(limiter.acquire(HISTORY, 10)) for _ in range(3)]
    await asyncio.sleep(0.05)  # the head naps until the window ends, 50 s from now
    limiter.ban(600.0)
    # Well short of the 50 s nap, yet beyond any delay a busy machine adds.
    results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 30.0)
    assert all(isinstance(result, IPBannedError) for result in results)


async def test_disabled_limits_still_honour_pauses_from_the_fleet(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first = fleet(limits=RateLimits.unlimited())
    second = fleet(limits=RateLimits.unlimited())
    await take(second, HISTORY, 10_000, times=3)
    assert clock.slept == []
    first.pause_bucket(HISTORY, 600.0)
    await first.flush()
    with pytest.raises(RateLimitError):
        await second.acquire(HISTORY, 10)


async def test_state_shows_what_redis_answered(
    fleet: Callable[..., RedisLimiter],
) -> None:
    limiter = fleet()
    permit = await limiter.acquire(HISTORY, 30)
    limiter.pause_bucket(LTV, 5.0)
    state = limiter.state()
    assert state.buckets[HISTORY].used == 30
    assert state.buckets[HISTORY].in_flight == 30
    assert state.buckets[HISTORY].limit == 100
    assert state.buckets[HISTORY].window_start == math.floor(T0 / 60) * 60
    assert state.buckets[LTV].paused_until == pytest.approx(T0 + 5.0)
    permit.release()
    assert limiter.state().buckets[HISTORY].in_flight == 0


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"ip_label": "desk{1}"},
    {"account": ""},
    {"on_redis_error": "ignore"},
    {"local_share": 0},
    {"local_share": 1.5},
    {"inflight_timeout": 0},
    {"limits": RateLimits(window_seconds=0.0001)},
])
def test_unusable_settings_are_refused(kwargs: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"ip_label": "desk-1", "account": "credit-a", **kwargs}
    with pytest.raises(ConfigurationError):
        RedisLimiter("redis://127.0.0.1:1/0", **settings)


async def test_bind_clock_aligns_windows_to_the_server_clock(
    redis_url: str, prefix: str, clock: VirtualClock, admin: aioredis.Redis,
) -> None:
    async with RedisLimiter(redis_url, ip_label="desk-1", account="credit-a",
                            key_prefix=prefix) as limiter:
        limiter.bind_clock(clock.now)
        await take(limiter, HISTORY, 10)
    keys = [key async for key in admin.scan_iter(f"{{{prefix}:*:w:*")]
    assert keys == [f"{{{prefix}:IP:desk-1:/sapi/v1/margin/loan-group/interest-history}}"
                    f":w:{math.floor(T0 / 60)}"]


# -- Redis unreachable --------------------------------------------------------------------------


def _closed_port_url() -> str:
    return f"redis://127.0.0.1:{_free_port()}/0"


async def test_unreachable_redis_with_fail_raises_before_anything_is_sent() -> None:
    sim = Simulator(seed=1)
    limiter = RedisLimiter(_closed_port_url(), ip_label="desk-1", account="credit-a")
    async with limiter, sim.client(limiter=limiter) as client:
        with pytest.raises(LimiterUnavailableError, match=r"unreachable.*nothing was sent"):
            await client.get_interest_history()
    assert sim.stats == {}


async def test_unreachable_redis_with_local_paces_to_a_local_share_of_the_budget(
    clock: VirtualClock,
) -> None:
    limiter = RedisLimiter(
        _closed_port_url(), ip_label="desk-1", account="credit-a", on_redis_error="local",
        local_share=0.25, limits=RateLimits(ip_weight=100), now=clock.now, sleep=clock.sleep,
    )
    async with limiter:
        await take(limiter, HISTORY, 10)
        assert limiter.mode == "local"
        # What the fleet used in the window Redis was lost in is unknown: treated as spent.
        assert clock.slept == [pytest.approx(50.0, abs=1e-3)]
        await take(limiter, HISTORY, 10)
        assert len(clock.slept) == 1
        await take(limiter, HISTORY, 10)  # 30 > 25, the local share
        assert len(clock.slept) == 2


async def test_local_fallback_returns_to_redis_when_it_is_back(
    own_redis: RedisProcess, clock: VirtualClock, prefix: str,
) -> None:
    limiter = RedisLimiter(
        own_redis.url, ip_label="desk-1", account="credit-a", on_redis_error="local",
        limits=RateLimits(ip_weight=100), key_prefix=prefix, now=clock.now, sleep=clock.sleep,
        reconnect_after=0.02,
    )
    async with limiter:
        await take(limiter, HISTORY, 10)
        own_redis.kill()
        await take(limiter, HISTORY, 10)
        assert limiter.mode == "local"
        own_redis.start()
        await eventually(lambda: limiter.mode == "redis", what="the probe finds Redis back")
        # Processes still pacing themselves locally are invisible to Redis until their own
        # probe succeeds, so the window of the return counts as spent.
        slept = len(clock.slept)
        await take(limiter, HISTORY, 10)
        assert len(clock.slept) == slept + 1
        assert limiter.mode == "redis"


# -- with the client ----------------------------------------------------------------------------


async def test_a_client_charges_the_shared_budget_through_redis(
    redis_url: str, prefix: str,
) -> None:
    sim = Simulator(seed=1)
    limiter = RedisLimiter(redis_url, ip_label="desk-1", account="credit-a", key_prefix=prefix,
                           now=lambda: T0)
    async with limiter, sim.client(limiter=limiter) as client:
        for _ in range(3):
            await client.get_interest_history()
    async with RedisLimiter(redis_url, ip_label="desk-1", account="credit-a",
                            key_prefix=prefix, now=lambda: T0) as other_process:
        await take(other_process, HISTORY, 1)
        assert other_process.state().buckets[HISTORY].used == 31


async def test_a_429_answered_to_one_client_stops_the_other_processes(
    redis_url: str, prefix: str,
) -> None:
    # The simulator's budget is smaller than the one the fleet was told: it answers 429.
    sim = Simulator(seed=1, ip_weight_limit=20, window_seconds=3600)
    limits = RateLimits(ip_weight=1000, window_seconds=3600, max_pause_seconds=0.5)
    limiter = RedisLimiter(redis_url, ip_label="desk-1", account="credit-a", key_prefix=prefix,
                           limits=limits)
    async with limiter, sim.client(limiter=limiter) as client:
        await client.get_interest_history()
        await client.get_interest_history()
        with pytest.raises(RateLimitError):
            await client.get_interest_history()
    assert sim.stats["/sapi/v1/margin/loan-group/interest-history"].throttled == 1
    async with RedisLimiter(redis_url, ip_label="desk-1", account="credit-a", limits=limits,
                            key_prefix=prefix) as other_process:
        with pytest.raises(RateLimitError, match="paused"):
            await other_process.acquire(HISTORY, 10)


async def test_a_client_feeds_its_binance_synced_clock_to_the_limiter(
    redis_url: str, prefix: str, admin: aioredis.Redis,
) -> None:
    sim = Simulator(seed=1)
    sim.skew_ms = 3_600_000  # Binance's clock runs an hour ahead of this machine
    limiter = RedisLimiter(redis_url, ip_label="desk-1", account="credit-a", key_prefix=prefix)
    async with limiter, sim.client(limiter=limiter) as client:
        await client.get_interest_history()
    server_window = math.floor(sim.now_ms() / 60_000)
    keys = [key async for key in admin.scan_iter(f"{{{prefix}:IP:*:w:*")]
    assert [int(key.rsplit(":", 1)[1]) for key in keys] in ([server_window],
                                                           [server_window - 1])


# -- a fleet of processes -------------------------------------------------------------------------

FLEET = 8
TASKS = 50
WINDOW = 0.5
FLEET_LIMIT = 600  # weight per window; 10 a page: 120 pages a second for the whole fleet


async def _run_fleet(
    redis_url: str, prefix: str, *, pages: int, during: Callable[[list[Any]], Awaitable[None]]
    | None = None, **config: Any,
) -> tuple[Simulator, list[dict[str, Any] | None], list[int]]:
    sim = Simulator(seed=5, history_days=1, ip_weight_limit=FLEET_LIMIT, window_seconds=WINDOW)
    creds = sim.credentials("credit")
    async with serve(sim) as base_url:
        settings = {
            "base_url": base_url, "redis_url": redis_url, "prefix": prefix,
            "api_key": creds.api_key, "api_secret": creds.api_secret, "ip_label": "desk-1",
            "account": "credit-a", "tasks": TASKS, "pages": pages, "ip_weight": FLEET_LIMIT,
            # The simulator answers in milliseconds: a killed process's permits need not
            # count for the default minute.
            "window": WINDOW, "inflight_timeout": 2.0, **config,
        }
        root = str(WORKER.parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [root, os.environ.get("PYTHONPATH")]))}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), json.dumps(settings),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )
            for _ in range(FLEET)
        ]
        for proc in procs:
            assert proc.stdout is not None
            assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"ready\n"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        if during is not None:
            await during(procs)
        outputs = await asyncio.wait_for(
            asyncio.gather(*(proc.communicate() for proc in procs)), 120
        )
    reports = [json.loads(out) if out.strip() else None for out, _ in outputs]
    return sim, reports, [proc.returncode or 0 for proc in procs]


async def test_a_fleet_of_processes_shares_one_budget_without_a_single_429(
    redis_url: str, prefix: str,
) -> None:
    # Only what load cannot change is asserted here; how much of each window the fleet fills
    # depends on the machine, and benchmarks/bench_redis_fleet.py reports it.
    sim, reports, codes = await _run_fleet(redis_url, prefix, pages=1)
    assert codes == [0] * FLEET
    assert all(report is not None and report["ok"] == TASKS for report in reports)
    stats = sim.stats["/sapi/v1/margin/loan-group/interest-history"]
    assert stats.throttled == 0 and stats.banned == 0
    assert sim.max_window_weight(HISTORY) <= FLEET_LIMIT


async def test_a_process_killed_mid_run_leaves_the_others_running(
    redis_url: str, prefix: str,
) -> None:
    async def kill_one(procs: list[Any]) -> None:
        await asyncio.sleep(1.5 * WINDOW)
        procs[0].send_signal(signal.SIGKILL)

    sim, reports, codes = await _run_fleet(redis_url, prefix, pages=1, during=kill_one)
    assert codes[0] == -signal.SIGKILL
    assert codes[1:] == [0] * (FLEET - 1)
    assert all(report is not None and report["ok"] == TASKS for report in reports[1:])
    stats = sim.stats["/sapi/v1/margin/loan-group/interest-history"]
    assert stats.throttled == 0 and stats.banned == 0


async def test_redis_restarted_mid_run_causes_no_ban_with_local_fallback(
    own_redis: RedisProcess, prefix: str,
) -> None:
    async def restart_redis(procs: list[Any]) -> None:
        await asyncio.sleep(1.5 * WINDOW)
        own_redis.kill()
        await asyncio.sleep(1.2 * WINDOW)  # over a window boundary: the fleet notices
        own_redis.start()

    sim, reports, codes = await _run_fleet(
        own_redis.url, prefix, pages=1, during=restart_redis, on_redis_error="local",
        local_share=1 / FLEET, reconnect_after=0.1,
    )
    assert codes == [0] * FLEET
    assert all(report is not None and report["ok"] == TASKS for report in reports)
    changes = [report["mode_changes"] for report in reports if report]
    assert sum(change.get("to_local", 0) for change in changes) > 0
    assert all(change.get("to_local", 0) == change.get("to_redis", 0) for change in changes)
    assert all(report["mode_at_end"] == "redis" for report in reports if report)
    stats = sim.stats["/sapi/v1/margin/loan-group/interest-history"]
    assert stats.banned == 0
    assert stats.throttled == 0


# -- hostile Retry-After values -----------------------------------------------------------------

THREE_DAYS = 3 * 24 * 3600.0


@pytest.mark.parametrize("retry_after", [1e9, math.inf])
async def test_a_huge_or_infinite_ban_expires_from_redis_within_three_days(
    fleet: Callable[..., RedisLimiter], admin: aioredis.Redis, prefix: str, retry_after: float,
) -> None:
    banned, later = fleet(), fleet()
    banned.ban(retry_after)
    await banned.flush()
    ttl_ms = await admin.pttl(f"{{{prefix}:IP:desk-1}}:ban")
    assert 0 < ttl_ms <= (THREE_DAYS + 60) * 1000
    with pytest.raises(IPBannedError) as caught:
        await later.acquire(HISTORY, 10)
    assert caught.value.retry_after == pytest.approx(THREE_DAYS, abs=0.01)


@pytest.mark.parametrize("retry_after", [math.nan, -5.0, math.inf])
async def test_sharing_a_hostile_pause_never_kills_the_background_task(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock, retry_after: float,
) -> None:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: unhandled.append(context))
    first, second = fleet(), fleet()
    first.pause_bucket(HISTORY, retry_after)
    tasks = set(first._pauses.pending())
    await first.flush()
    assert all(t.done() and t.exception() is None for t in tasks)
    assert unhandled == []
    expected = THREE_DAYS if retry_after == math.inf else 5.0
    if expected <= RateLimits().max_pause_seconds:
        await take(second, HISTORY, 10)  # waits the pause out, fleet-wide
        assert clock.slept == [pytest.approx(expected, abs=1e-3)]
    else:
        with pytest.raises(RateLimitError):
            await second.acquire(HISTORY, 10)


# -- fleet settings -----------------------------------------------------------------------------


async def test_a_process_whose_limits_disagree_with_the_fleet_refuses_to_start(
    fleet: Callable[..., RedisLimiter],
) -> None:
    first = fleet(limits=RateLimits(ip_weight=100, window_seconds=60))
    await take(first, HISTORY, 10)
    other = fleet(limits=RateLimits(ip_weight=100, window_seconds=30))
    with pytest.raises(ConfigurationError, match="window_ms=60000"):
        async with other:
            pass


async def test_a_disagreeing_process_that_skips_async_with_refuses_before_sending(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    first = fleet(limits=RateLimits(ip_weight=100, window_seconds=60))
    await take(first, HISTORY, 10)
    other = fleet(limits=RateLimits(ip_weight=500, window_seconds=60))
    with pytest.raises(ConfigurationError, match="ip_weight=100"):
        await other.acquire(HISTORY, 10)
    await other.flush()
    # Nothing it tried is left counting against the fleet.
    await take(first, HISTORY, 90)
    assert clock.slept == []


async def test_processes_with_the_same_limits_share_the_budget(
    fleet: Callable[..., RedisLimiter],
) -> None:
    first, second = fleet(), fleet()
    async with first, second:
        await take(first, HISTORY, 10)
        await take(second, HISTORY, 10)
        assert second.state().buckets[HISTORY].used == 20


# -- clock corrections --------------------------------------------------------------------------


async def test_weight_counted_before_a_clock_correction_counts_fleet_wide_where_it_landed(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
) -> None:
    # The server is 30 s ahead of what the first process learned: the 60 it takes at what it
    # thinks is 50 s into a window really land 20 s into the next one, where the second
    # process (whose clock is right) is counting.
    behind = 30.0
    offset = -behind
    late = fleet(now=lambda: clock.t + offset)
    right = fleet()
    clock.t = T0 + 40 + behind
    await take(late, HISTORY, 60)
    offset = 0.0
    late.clock_moved(behind)  # a re-sync learns the truth
    await late.flush()
    assert not await fits_now(right, clock, HISTORY, 50)


async def test_a_31_year_ban_left_in_redis_by_an_older_process_is_believed_for_three_days(
    fleet: Callable[..., RedisLimiter], admin: aioredis.Redis, prefix: str,
) -> None:
    await admin.set(f"{{{prefix}:IP:desk-1}}:ban", str(int((T0 + 1e9) * 1000)))
    limiter = fleet()
    with pytest.raises(IPBannedError) as caught:
        await limiter.acquire(HISTORY, 10)
    assert caught.value.retry_after == pytest.approx(THREE_DAYS, abs=0.01)


# -- requests that failed without an answer ------------------------------------------------------


@pytest.mark.parametrize(("may_still_arrive", "fits_at_next_window"), [(True, False), (False, True)],
                         ids=["answer-lost", "answered"])
async def test_a_request_that_may_still_arrive_counts_fleet_wide_in_the_next_window(
    fleet: Callable[..., RedisLimiter], clock: VirtualClock,
    may_still_arrive: bool, fits_at_next_window: bool,
) -> None:
    first, second = fleet(), fleet()
    lost = await first.acquire(HISTORY, 100)  # the whole IP budget of this window
    lost.release(may_still_arrive=may_still_arrive)
    await first.flush()
    clock.t = (T0 // 60 + 1) * 60 + 0.5  # early in the next window
    assert await fits_now(second, clock, HISTORY, 1) is fits_at_next_window
