"""The rate limiter, driven on a virtual clock: minutes of waiting take milliseconds."""

from __future__ import annotations

import asyncio
import gc
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable

import attrs
import pytest

from binance_instloan import (
    BucketState,
    ConfigurationError,
    IPBannedError,
    LimiterState,
    RateLimitError,
    RateLimits,
)
from binance_instloan._limiter import Permit, RateLimiter
from tests._virtual_time import EPOCH, loop_time, sleep_until, virtual_time

IP = "IP:/sapi/v1/margin/loan-group/ltv-details"
IP_OTHER = "IP:/sapi/v1/margin/loan-group/borrow-repay"
UID = "UID:/sapi/v1/margin/loan-group/borrow"
API = "API:/api"
MINUTE = 60.0


def make_limiter(
    limits: RateLimits | None = None,
    *,
    uncertainty: float = 0.0,
    now: Callable[[], float] = loop_time,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> RateLimiter:
    return RateLimiter(
        limits or RateLimits(), now=now, uncertainty=lambda: uncertainty, sleep=sleep
    )


async def use(limiter: RateLimiter, bucket: str, weight: int) -> None:
    """A request that comes back at once."""
    (await limiter.acquire(bucket, weight)).release()


async def admitted_at(limiter: RateLimiter, bucket: str, weight: int) -> float:
    """When a request of ``weight`` is admitted (it is released at once)."""
    permit = await limiter.acquire(bucket, weight)
    permit.release()
    return loop_time()


def at(seconds: float) -> object:
    """Matches the virtual time ``seconds`` after the start, to the millisecond."""
    return pytest.approx(EPOCH + seconds, abs=1e-3)


def window_of(t: float, window: float = MINUTE) -> int:
    return math.floor(t / window)


# -- the limit -----------------------------------------------------------------------------------


@virtual_time
async def test_requests_within_the_limit_are_admitted_without_waiting() -> None:
    limiter = make_limiter()
    permits = [await limiter.acquire(IP, 1000) for _ in range(12)]
    assert loop_time() == EPOCH
    assert limiter.state().buckets[IP].used == 12_000
    for permit in permits:
        permit.release()


@virtual_time
async def test_a_full_window_makes_the_next_request_wait_for_the_next_window() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 12_000)
    assert await admitted_at(limiter, IP, 1) == at(MINUTE)


@virtual_time
async def test_each_prefix_has_its_own_budget() -> None:
    limiter = make_limiter(RateLimits(ip_weight=10, uid_weight=20, api_weight=30))
    assert {b: limiter.state().buckets.get(b) for b in (IP, UID, API)} == dict.fromkeys(
        (IP, UID, API)
    )
    for bucket, limit in ((IP, 10), (UID, 20), (API, 30)):
        await use(limiter, bucket, limit)
        assert limiter.state().buckets[bucket].limit == limit
    assert loop_time() == EPOCH


@virtual_time
async def test_each_endpoint_bucket_is_limited_separately() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 12_000)
    await use(limiter, IP_OTHER, 12_000)
    assert loop_time() == EPOCH


@virtual_time
async def test_never_admits_more_than_the_limit_in_any_window_under_random_load() -> None:
    rng = random.Random(20260115)
    limit, window, uncertainty = 1000, 10.0, 0.4
    limiter = make_limiter(
        RateLimits(ip_weight=limit, window_seconds=window), uncertainty=uncertainty
    )
    spans: list[tuple[float, float, int]] = []

    async def client() -> None:
        for _ in range(25):
            await asyncio.sleep(rng.uniform(0.0, 4.0))
            weight = rng.choice((1, 10, 50, 100, 200, 500, 1000))
            permit = await limiter.acquire(IP, weight)
            admitted = loop_time()
            # Mostly quick answers, some slower than a whole window: many requests are still in
            # flight when a window turns over.
            if rng.random() < 0.8:
                await asyncio.sleep(rng.expovariate(1 / 0.5))
            else:
                await asyncio.sleep(rng.uniform(0.0, 2 * window))
            spans.append((admitted, loop_time(), weight))
            permit.release(used_weight=rng.choice((None, weight)))

    await asyncio.gather(*(client() for _ in range(60)))

    assert len(spans) == 60 * 25
    # Binance may count a request in any window between its admission and its response, on a
    # clock that may differ from ours by up to the uncertainty either way.
    for server_ahead_by in (-uncertainty, -0.1, 0.0, 0.25, uncertainty):
        per_window: Counter[int] = Counter()
        for admitted, released, weight in spans:
            first = window_of(admitted + server_ahead_by, window)
            last = window_of(released + server_ahead_by, window)
            for k in range(first, last + 1):
                per_window[k] += weight
        assert max(per_window.values()) <= limit
    # The limiter was the bottleneck, not the clients: windows were filled close to the limit.
    per_window_admitted = Counter(window_of(a, window) for a, _, _ in spans)
    assert len(per_window_admitted) < sum(w for _, _, w in spans) / limit * 1.5


@virtual_time
async def test_requests_in_flight_when_the_window_turns_count_in_the_new_window() -> None:
    limiter = make_limiter()
    slow = await limiter.acquire(IP, 12_000)
    await sleep_until(EPOCH + 61)  # still waiting for its response in the second window
    waiter = asyncio.create_task(admitted_at(limiter, IP, 1))
    await asyncio.sleep(5)
    assert not waiter.done()
    slow.release()
    # It may have reached Binance in the second window, so only the third has room.
    assert await waiter == at(2 * MINUTE)


@virtual_time
async def test_a_request_released_before_the_window_turns_does_not_count_in_the_next() -> None:
    limiter = make_limiter()
    slow = await limiter.acquire(IP, 12_000)
    await sleep_until(EPOCH + 59)
    slow.release()
    assert await admitted_at(limiter, IP, 12_000) == at(MINUTE)


@pytest.mark.parametrize(
    ("uncertainty", "expected_delay"), [(0.0, 0.0), (0.5, MINUTE - 0.1)],
    ids=["exact-clock", "uncertain-clock"],
)
def test_an_admission_within_the_uncertainty_of_a_boundary_counts_in_both_windows(
    uncertainty: float, expected_delay: float
) -> None:
    @virtual_time
    async def scenario() -> None:
        limiter = make_limiter(uncertainty=uncertainty)
        await sleep_until(EPOCH + 59.8)  # 0.2 s before the boundary
        await use(limiter, IP, 12_000)
        await sleep_until(EPOCH + 60.6)  # clearly in the next window, even on an uncertain clock
        asked = loop_time()
        assert await admitted_at(limiter, IP, 1) - asked == pytest.approx(expected_delay, abs=1e-3)

    scenario()


@virtual_time
async def test_just_after_a_boundary_the_previous_window_must_have_room_too() -> None:
    limiter = make_limiter(uncertainty=0.5)
    await use(limiter, IP, 12_000)
    await sleep_until(EPOCH + 60.2)  # our clock may be 0.5 s ahead: still the first window
    assert await admitted_at(limiter, IP, 1) == at(60.5)


# -- used-weight headers --------------------------------------------------------------------------


@virtual_time
async def test_a_used_weight_header_above_our_count_raises_it() -> None:
    limiter = make_limiter()
    (await limiter.acquire(IP, 10)).release(used_weight=11_500)  # another process used budget
    assert limiter.state().buckets[IP].used == 11_500
    await use(limiter, IP, 500)
    assert loop_time() == EPOCH
    assert await admitted_at(limiter, IP, 1) == at(MINUTE)


@virtual_time
async def test_a_used_weight_header_below_our_count_never_lowers_it() -> None:
    limiter = make_limiter()
    permits = [await limiter.acquire(IP, 100) for _ in range(3)]
    for permit in permits:
        permit.release(used_weight=5)
    assert limiter.state().buckets[IP].used == 300


# -- FIFO -----------------------------------------------------------------------------------------


@virtual_time
async def test_a_big_request_queued_first_is_not_overtaken_by_small_ones() -> None:
    limiter = make_limiter()
    await use(limiter, UID, 178_000)  # 2,000 left: not enough for a 3,000 borrow
    limiter_order: list[tuple[str, float]] = []

    async def request(name: str, weight: int) -> None:
        permit = await limiter.acquire(UID, weight)
        limiter_order.append((name, loop_time()))
        permit.release()

    borrow = asyncio.create_task(request("borrow", 3000))
    await asyncio.sleep(0)
    reads = []
    for i in range(100):  # a stream of small reads that would each fit right now
        reads.append(asyncio.create_task(request(f"read{i}", 10)))
        await asyncio.sleep(0.1)
    await asyncio.gather(borrow, *reads)

    assert limiter_order[0] == ("borrow", at(MINUTE))
    assert [name for name, _ in limiter_order[1:]] == [f"read{i}" for i in range(100)]


@virtual_time
async def test_waiters_are_admitted_in_arrival_order() -> None:
    limiter = make_limiter(RateLimits(ip_weight=10))
    await use(limiter, IP, 10)
    order: list[int] = []

    async def request(i: int) -> None:
        permit = await limiter.acquire(IP, 1 + i % 3)
        order.append(i)
        permit.release()

    await asyncio.gather(*(request(i) for i in range(30)))
    assert order == list(range(30))


# -- 429 and 418 ----------------------------------------------------------------------------------


@virtual_time
async def test_a_short_429_pause_is_waited_out() -> None:
    limiter = make_limiter()
    limiter.pause_bucket(IP, 7.0)
    assert await admitted_at(limiter, IP, 1) == at(7.0)


@virtual_time
async def test_a_429_pause_without_retry_after_lasts_a_few_seconds() -> None:
    limiter = make_limiter()
    limiter.pause_bucket(IP, None)
    assert await admitted_at(limiter, IP, 1) == at(5.0)


@virtual_time
async def test_a_429_pause_holds_back_every_task_already_waiting() -> None:
    limiter = make_limiter(RateLimits(ip_weight=100, window_seconds=1.0))
    await use(limiter, IP, 100)
    waiters = [asyncio.create_task(admitted_at(limiter, IP, 1)) for _ in range(20)]
    await asyncio.sleep(0.5)
    limiter.pause_bucket(IP, 10.0)
    times = await asyncio.gather(*waiters)
    assert min(times) >= EPOCH + 10.5


@virtual_time
async def test_a_429_pause_affects_only_its_bucket() -> None:
    limiter = make_limiter()
    limiter.pause_bucket(IP, 30.0)
    await use(limiter, IP_OTHER, 1)
    await use(limiter, UID, 1)
    assert loop_time() == EPOCH


@virtual_time
async def test_a_429_pause_longer_than_the_ceiling_raises_at_once() -> None:
    limiter = make_limiter(RateLimits(max_pause_seconds=60.0))
    limiter.pause_bucket(IP, 600.0)
    with pytest.raises(RateLimitError) as caught:
        await limiter.acquire(IP, 1)
    assert loop_time() == EPOCH
    assert not isinstance(caught.value, IPBannedError)
    assert caught.value.retry_after == pytest.approx(600.0)
    assert caught.value.until == at(600.0)


@virtual_time
async def test_a_shorter_429_never_shortens_a_running_pause() -> None:
    limiter = make_limiter()
    limiter.pause_bucket(IP, 30.0)
    limiter.pause_bucket(IP, 2.0)
    assert await admitted_at(limiter, IP, 1) == at(30.0)


@virtual_time
async def test_a_short_418_ban_pauses_every_bucket() -> None:
    limiter = make_limiter()
    limiter.ban(20.0)
    times = await asyncio.gather(*(admitted_at(limiter, b, 1) for b in (IP, UID, API)))
    assert times == [at(20.0)] * 3


@virtual_time
async def test_a_418_ban_longer_than_the_ceiling_raises_ip_banned_at_once() -> None:
    limiter = make_limiter()
    limiter.ban(7200.0)
    with pytest.raises(IPBannedError) as caught:
        await limiter.acquire(UID, 1)
    assert loop_time() == EPOCH
    assert caught.value.retry_after == pytest.approx(7200.0)
    assert caught.value.until == at(7200.0)


@virtual_time
async def test_a_418_without_retry_after_is_treated_as_the_shortest_ban() -> None:
    limiter = make_limiter(RateLimits(max_pause_seconds=300.0))
    limiter.ban(None)
    assert await admitted_at(limiter, IP, 1) == at(120.0)


@virtual_time
async def test_a_long_ban_fails_tasks_that_are_already_waiting_at_once() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 12_000)
    waiters = [asyncio.create_task(limiter.acquire(IP, 1)) for _ in range(3)]
    await asyncio.sleep(1.0)
    limiter.ban(3600.0)
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert loop_time() == at(1.0)
    assert all(isinstance(r, IPBannedError) for r in results)
    assert len({id(r) for r in results}) == 3


@virtual_time
async def test_the_ban_ends_and_requests_flow_again() -> None:
    limiter = make_limiter()
    limiter.ban(3600.0)
    with pytest.raises(IPBannedError):
        await limiter.acquire(IP, 1)
    await asyncio.sleep(3600.0)
    assert limiter.state().banned_until is None
    assert await admitted_at(limiter, IP, 1) == loop_time()


# -- cancellation ---------------------------------------------------------------------------------


@virtual_time
async def test_cancelling_the_waiting_head_lets_the_next_waiter_proceed() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 11_000)
    head = asyncio.create_task(limiter.acquire(IP, 3000))
    await asyncio.sleep(0)
    second = asyncio.create_task(admitted_at(limiter, IP, 10))
    await asyncio.sleep(1.0)
    assert not second.done()
    head.cancel()
    assert await second == at(1.0)
    assert head.cancelled()


@virtual_time
async def test_cancelled_waiters_leak_no_capacity() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 11_000)
    waiters = [asyncio.create_task(limiter.acquire(IP, 2000)) for _ in range(10)]
    await asyncio.sleep(1.0)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    state = limiter.state().buckets[IP]
    assert (state.used, state.in_flight) == (11_000, 0)
    await use(limiter, IP, 1000)
    assert loop_time() == at(1.0)


@virtual_time
async def test_a_permit_granted_to_a_task_cancelled_before_it_resumed_is_given_back() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 11_000)
    head = asyncio.create_task(limiter.acquire(IP, 3000))
    await asyncio.sleep(0)
    second = asyncio.create_task(limiter.acquire(IP, 1000))
    await asyncio.sleep(1.0)
    head.cancel()
    await asyncio.sleep(0)  # head leaves the queue; second is granted its permit...
    second.cancel()  # ...but is cancelled before it can use it
    with pytest.raises(asyncio.CancelledError):
        await second
    state = limiter.state().buckets[IP]
    assert (state.used, state.in_flight) == (11_000, 0)


@virtual_time
async def test_cancelling_the_last_waiter_stops_the_wake_up_timer() -> None:
    limiter = make_limiter(sleep=asyncio.sleep)
    await use(limiter, IP, 12_000)
    waiter = asyncio.create_task(limiter.acquire(IP, 1))
    await asyncio.sleep(1.0)
    assert len(asyncio.all_tasks()) == 3  # this test, the waiter, the limiter's timer
    waiter.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- permits --------------------------------------------------------------------------------------


@virtual_time
async def test_release_is_idempotent() -> None:
    limiter = make_limiter()
    first = await limiter.acquire(IP, 100)
    second = await limiter.acquire(IP, 100)
    first.release()
    first.release()
    assert limiter.state().buckets[IP].in_flight == 100
    second.release()


@virtual_time
async def test_a_permit_dropped_without_release_stops_counting_as_in_flight() -> None:
    limiter = make_limiter()
    permit: Permit | None = await limiter.acquire(IP, 100)
    assert limiter.state().buckets[IP].in_flight == 100
    del permit
    gc.collect()
    assert limiter.state().buckets[IP].in_flight == 0


@virtual_time
async def test_acquiring_free_capacity_completes_without_suspending() -> None:
    limiter = make_limiter()
    attempt = limiter.acquire(IP, 10)
    with pytest.raises(StopIteration) as done:
        attempt.send(None)
    assert isinstance(done.value.value, Permit)
    done.value.value.release()


@virtual_time
async def test_waiting_does_not_poll_the_clock() -> None:
    calls = 0

    def counting_now() -> float:
        nonlocal calls
        calls += 1
        return loop_time()

    limiter = make_limiter(now=counting_now)
    await use(limiter, IP, 12_000)
    calls = 0
    await use(limiter, IP, 1)
    assert loop_time() == at(MINUTE)
    assert calls <= 5


@virtual_time
async def test_waiting_uses_the_injected_sleep() -> None:
    slept: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(seconds)

    limiter = make_limiter(sleep=recording_sleep)
    await use(limiter, IP, 12_000)
    await asyncio.sleep(20.0)
    assert await admitted_at(limiter, IP, 1) == at(MINUTE)
    assert slept == [pytest.approx(40.0, abs=1e-3)]


# -- configuration --------------------------------------------------------------------------------


@virtual_time
async def test_a_weight_above_the_bucket_limit_is_refused_at_once() -> None:
    limiter = make_limiter()
    with pytest.raises(ConfigurationError, match="12000"):
        await limiter.acquire(IP, 12_001)
    assert limiter.state().buckets[IP].used == 0


@virtual_time
async def test_an_unknown_bucket_prefix_is_refused() -> None:
    limiter = make_limiter()
    with pytest.raises(ConfigurationError, match="prefix"):
        await limiter.acquire("/sapi/v1/margin/loan-group", 1)


@virtual_time
async def test_unlimited_mode_admits_everything_at_once() -> None:
    limiter = make_limiter(RateLimits.unlimited())
    permits = [await limiter.acquire(IP, 100_000) for _ in range(100)]
    assert loop_time() == EPOCH
    for permit in permits:
        permit.release()


@virtual_time
async def test_unlimited_mode_still_honours_pauses_and_bans() -> None:
    limiter = make_limiter(RateLimits.unlimited())
    limiter.pause_bucket(IP, 6.0)
    assert await admitted_at(limiter, IP, 1) == at(6.0)
    limiter.ban(3600.0)
    with pytest.raises(IPBannedError):
        await limiter.acquire(UID, 1)


def test_rate_limits_have_binance_defaults() -> None:
    limits = RateLimits()
    assert (limits.ip_weight, limits.uid_weight, limits.api_weight) == (12_000, 180_000, 6000)
    assert (limits.window_seconds, limits.max_pause_seconds, limits.enabled) == (60.0, 60.0, True)
    assert RateLimits.unlimited() == RateLimits(enabled=False)


@pytest.mark.parametrize(
    "bad",
    [
        {"ip_weight": 0},
        {"uid_weight": -1},
        {"api_weight": 1.5},
        {"ip_weight": True},
        {"window_seconds": 0},
        {"window_seconds": float("nan")},
        {"window_seconds": float("inf")},
        {"max_pause_seconds": -1.0},
        {"enabled": "yes"},
    ],
)
def test_rate_limits_refuse_non_positive_or_mistyped_values(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        RateLimits(**bad)  # type: ignore[arg-type]


# -- the state view -------------------------------------------------------------------------------


@virtual_time
async def test_state_reports_used_weight_in_flight_and_pauses() -> None:
    limiter = make_limiter()
    in_flight = await limiter.acquire(IP, 100)
    await use(limiter, IP, 50)
    await asyncio.sleep(1.0)
    limiter.pause_bucket(IP, 6.0)
    limiter.ban(30.0)
    assert limiter.state() == LimiterState(
        buckets={
            IP: BucketState(
                bucket=IP, limit=12_000, used=150, in_flight=100, window_start=EPOCH,
                paused_until=at(7.0),  # type: ignore[arg-type]
            )
        },
        banned_until=at(31.0),  # type: ignore[arg-type]
    )
    in_flight.release()


@virtual_time
async def test_state_forgets_pauses_that_ended_and_follows_the_window() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 100)
    limiter.pause_bucket(IP, 4.0)
    await asyncio.sleep(MINUTE)
    state = limiter.state().buckets[IP]
    assert (state.used, state.paused_until, state.window_start) == (0, None, EPOCH + MINUTE)


@virtual_time
async def test_state_is_a_read_only_snapshot() -> None:
    limiter = make_limiter()
    await use(limiter, IP, 100)
    state = limiter.state()
    with pytest.raises(TypeError):
        state.buckets[IP] = state.buckets[IP]  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        state.buckets[IP].used = 0  # type: ignore[misc]
    await use(limiter, IP, 100)
    assert state.buckets[IP].used == 100


@virtual_time
async def test_two_limiters_share_nothing() -> None:
    first, second = make_limiter(), make_limiter()
    await use(first, IP, 12_000)
    first.pause_bucket(UID, 30.0)
    first.ban(30.0)
    await use(second, IP, 12_000)
    await use(second, UID, 1)
    assert loop_time() == EPOCH
    assert second.state().banned_until is None
    assert first.state().buckets[IP].used == second.state().buckets[IP].used == 12_000


# -- hostile Retry-After values --------------------------------------------------------------------

THREE_DAYS = 3 * 24 * 3600.0


@pytest.mark.parametrize("retry_after", [1e9, math.inf])
@virtual_time
async def test_a_huge_or_infinite_429_pause_lasts_at_most_three_days(retry_after: float) -> None:
    limiter = make_limiter(RateLimits(max_pause_seconds=10 * THREE_DAYS))
    limiter.pause_bucket(IP, retry_after)
    assert await admitted_at(limiter, IP, 1) == at(THREE_DAYS)


@pytest.mark.parametrize("retry_after", [-5.0, math.nan, 0.0])
@virtual_time
async def test_a_negative_nan_or_zero_429_pause_still_waits_the_default_pause(
    retry_after: float,
) -> None:
    limiter = make_limiter()
    limiter.pause_bucket(IP, retry_after)
    assert await admitted_at(limiter, IP, 1) == at(5.0)


@virtual_time
async def test_an_infinite_ban_is_a_three_day_ban() -> None:
    limiter = make_limiter(RateLimits(max_pause_seconds=10 * THREE_DAYS))
    limiter.ban(math.inf)
    assert limiter.state().banned_until == at(THREE_DAYS)


@virtual_time
async def test_a_nan_ban_is_binances_shortest_ban() -> None:
    limiter = make_limiter(RateLimits(max_pause_seconds=600))
    limiter.ban(math.nan)
    assert limiter.state().banned_until == at(120.0)


# -- clock jumps -----------------------------------------------------------------------------------


@virtual_time
async def test_a_clock_jump_of_10_to_the_12_ms_keeps_only_a_few_window_counters() -> None:
    jump = 0.0
    limiter = make_limiter(now=lambda: loop_time() + jump, uncertainty=0.5)
    held = await limiter.acquire(IP, 10)
    for jump in (-1e9, 1e9, 0.0):  # 10**12 ms back, forward, and home again
        limiter.clock_moved(jump)
        await use(limiter, IP, 10)
        waiting = asyncio.create_task(limiter.acquire(IP, 12_000))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert len(limiter._buckets[IP].counts) <= 6
    held.release()
    assert len(limiter._buckets[IP].counts) <= 6


@virtual_time
async def test_weight_counted_before_a_clock_correction_counts_where_it_really_landed() -> None:
    # Binance's clock is 30 s ahead of what we learned: a request we count in our first
    # window lands in its second. Then a re-sync corrects our clock by those 30 s.
    server_ahead = 30.0
    offset = 0.0
    limiter = make_limiter(now=lambda: loop_time() + offset)
    landed: Counter[int] = Counter()

    async def request(weight: int) -> None:
        permit = await limiter.acquire(IP, weight)
        landed[window_of(loop_time() + server_ahead)] += weight
        permit.release()

    await sleep_until(EPOCH + 40)
    await request(6_000)
    offset = server_ahead
    limiter.clock_moved(server_ahead)
    for _ in range(24):
        await request(1_000)

    assert max(landed.values()) <= 12_000


@virtual_time
async def test_a_clock_corrected_backwards_keeps_counting_what_it_counted_ahead() -> None:
    server_behind = -30.0
    offset = 0.0
    limiter = make_limiter(now=lambda: loop_time() + offset)
    landed: Counter[int] = Counter()

    async def request(weight: int) -> None:
        permit = await limiter.acquire(IP, weight)
        landed[window_of(loop_time() + server_behind)] += weight
        permit.release()

    await sleep_until(EPOCH + 80)  # our second window, Binance's first
    await request(6_000)
    offset = server_behind
    limiter.clock_moved(server_behind)
    for _ in range(24):
        await request(1_000)

    assert max(landed.values()) <= 12_000


# -- requests that failed without an answer ------------------------------------------------------


@virtual_time
async def test_a_request_that_may_still_arrive_counts_in_the_next_window_too() -> None:
    limiter = make_limiter()
    await sleep_until(EPOCH + 59.9)
    lost = await limiter.acquire(IP, 12_000)
    lost.release(may_still_arrive=True)  # its answer was lost: it may land after the boundary
    await sleep_until(EPOCH + 60.1)
    assert await admitted_at(limiter, IP, 1) == at(2 * MINUTE)


@virtual_time
async def test_a_request_that_may_still_arrive_stops_counting_once_the_next_window_began() -> None:
    limiter = make_limiter()
    lost = await limiter.acquire(IP, 100)
    lost.release(may_still_arrive=True)
    assert limiter.state().buckets[IP].in_flight == 100
    await sleep_until(EPOCH + MINUTE + 0.01)
    assert limiter.state().buckets[IP].in_flight == 0
