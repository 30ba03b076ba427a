"""The server clock: offset from the midpoint of the round trip, single flight, refresh, resync."""

from __future__ import annotations

import asyncio

import pytest

from binance_instloan._clock import ServerClock

START_WALL = 1_700_000_000.0


class FakeTime:
    """A wall clock and a monotonic clock that only move when told to."""

    def __init__(self) -> None:
        self.wall_now = START_WALL
        self.monotonic_now = 500.0

    def wall(self) -> float:
        return self.wall_now

    def monotonic(self) -> float:
        return self.monotonic_now

    def advance(self, seconds: float) -> None:
        self.wall_now += seconds
        self.monotonic_now += seconds


class FakeServer:
    """``GET /api/v3/time``: answers at the middle of a round trip of ``round_trip`` seconds."""

    def __init__(self, time: FakeTime, *, ahead_ms: float, round_trip: float = 0.2) -> None:
        self.time = time
        self.ahead_ms = ahead_ms
        self.round_trip = round_trip
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.error: Exception | None = None

    async def fetch(self) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        self.time.advance(self.round_trip / 2)
        server_ms = round(self.time.wall_now * 1000 + self.ahead_ms)
        self.time.advance(self.round_trip / 2)
        if self.error is not None:
            raise self.error
        return server_ms


def make_clock(*, ahead_ms: float = 500.0, round_trip: float = 0.2) -> tuple[
    ServerClock, FakeServer, FakeTime
]:
    time = FakeTime()
    server = FakeServer(time, ahead_ms=ahead_ms, round_trip=round_trip)
    clock = ServerClock(
        server.fetch, refresh_seconds=300.0, wall=time.wall, monotonic=time.monotonic
    )
    return clock, server, time


async def test_offset_is_server_time_minus_the_midpoint_of_the_round_trip() -> None:
    clock, _, time = make_clock(ahead_ms=500.0, round_trip=0.2)
    await clock.ensure_synced()
    assert clock.offset_ms == pytest.approx(500.0, abs=1e-3)
    assert time.wall_now == pytest.approx(START_WALL + 0.2)
    assert clock.now_ms() == int(START_WALL * 1000) + 200 + 500
    assert clock.now() == pytest.approx(START_WALL + 0.7)


async def test_uncertainty_is_half_the_round_trip_plus_the_server_time_resolution() -> None:
    clock, _, _ = make_clock(round_trip=0.3)
    await clock.ensure_synced()
    assert clock.uncertainty_ms == pytest.approx(150.0 + 1.0)


async def test_a_server_behind_us_gives_a_negative_offset() -> None:
    clock, _, time = make_clock(ahead_ms=-2500.0, round_trip=0.0)
    await clock.ensure_synced()
    assert clock.offset_ms == pytest.approx(-2500.0)
    assert clock.now_ms() == int(time.wall_now * 1000) - 2500


async def test_an_unsynced_clock_reads_local_time() -> None:
    clock, server, time = make_clock()
    assert not clock.synced
    assert clock.generation == 0
    assert clock.offset_ms == 0.0
    assert clock.now_ms() == int(time.wall_now * 1000)
    assert server.calls == 0


async def test_ensure_synced_fetches_once_for_many_concurrent_callers() -> None:
    clock, server, _ = make_clock()
    server.gate = asyncio.Event()
    callers = [asyncio.create_task(clock.ensure_synced()) for _ in range(50)]
    await asyncio.sleep(0)
    server.gate.set()
    await asyncio.gather(*callers)
    assert server.calls == 1
    assert clock.synced
    assert clock.generation == 1


async def test_ensure_synced_reuses_the_offset_until_the_refresh_period_ends() -> None:
    clock, server, time = make_clock()
    await clock.ensure_synced()
    time.advance(299.0)
    await clock.ensure_synced()
    assert server.calls == 1
    time.advance(1.0)
    await clock.ensure_synced()
    assert server.calls == 2
    assert clock.generation == 2


async def test_refresh_follows_the_monotonic_clock_not_the_wall_clock() -> None:
    clock, server, time = make_clock()
    await clock.ensure_synced()
    time.wall_now += 3600.0  # the wall clock was stepped; no time really passed
    await clock.ensure_synced()
    assert server.calls == 1


async def test_resync_after_minus_1021_fetches_once_for_a_burst_of_rejections() -> None:
    clock, server, _ = make_clock()
    await clock.ensure_synced()
    seen = clock.generation
    server.gate = asyncio.Event()
    rejected = [asyncio.create_task(clock.resync(seen)) for _ in range(50)]
    await asyncio.sleep(0)
    server.gate.set()
    await asyncio.gather(*rejected)
    assert server.calls == 2
    assert clock.generation == seen + 1


async def test_resync_with_a_stale_generation_reuses_a_completed_resync() -> None:
    clock, server, _ = make_clock()
    await clock.ensure_synced()
    seen = clock.generation
    await clock.resync(seen)
    await clock.resync(seen)
    assert server.calls == 2


async def test_resync_with_the_current_generation_or_none_always_fetches() -> None:
    clock, server, _ = make_clock()
    await clock.ensure_synced()
    await clock.resync(clock.generation)
    await clock.resync()
    assert server.calls == 3
    assert clock.generation == 3


async def test_resync_learns_the_new_offset() -> None:
    clock, server, _ = make_clock(ahead_ms=500.0)
    await clock.ensure_synced()
    server.ahead_ms = 1800.0
    await clock.resync(clock.generation)
    assert clock.offset_ms == pytest.approx(1800.0, abs=1e-3)


async def test_a_failed_fetch_propagates_and_keeps_the_previous_offset() -> None:
    clock, server, _ = make_clock(ahead_ms=500.0)
    await clock.ensure_synced()
    server.ahead_ms = 9000.0
    server.error = ConnectionError("time endpoint down")
    with pytest.raises(ConnectionError, match="time endpoint down"):
        await clock.resync(clock.generation)
    assert clock.offset_ms == pytest.approx(500.0, abs=1e-3)
    assert clock.generation == 1


async def test_after_a_failed_fetch_the_next_call_fetches_again() -> None:
    clock, server, _ = make_clock()
    server.error = ConnectionError("down")
    with pytest.raises(ConnectionError):
        await clock.ensure_synced()
    assert not clock.synced
    server.error = None
    await clock.ensure_synced()
    assert server.calls == 2
    assert clock.synced


async def test_every_caller_sharing_a_failed_fetch_sees_the_error() -> None:
    clock, server, _ = make_clock()
    server.gate = asyncio.Event()
    server.error = ConnectionError("down")
    callers = [asyncio.create_task(clock.ensure_synced()) for _ in range(5)]
    await asyncio.sleep(0)
    server.gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert server.calls == 1


async def test_a_cancelled_caller_does_not_cancel_the_fetch_others_wait_for() -> None:
    clock, server, _ = make_clock()
    server.gate = asyncio.Event()
    first = asyncio.create_task(clock.ensure_synced())
    second = asyncio.create_task(clock.ensure_synced())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    server.gate.set()
    await second
    assert first.cancelled()
    assert clock.synced
    assert server.calls == 1


async def test_a_wall_clock_stepped_back_during_the_fetch_gives_no_negative_uncertainty() -> None:
    time = FakeTime()

    async def fetch() -> int:
        time.wall_now -= 5.0
        return int(time.wall_now * 1000)

    clock = ServerClock(fetch, wall=time.wall, monotonic=time.monotonic)
    await clock.ensure_synced()
    assert clock.uncertainty_ms >= 0.0


def test_refresh_seconds_must_be_positive() -> None:
    async def fetch() -> int:
        return 0

    with pytest.raises(ValueError, match="refresh_seconds"):
        ServerClock(fetch, refresh_seconds=0)


async def test_a_sync_that_moves_the_clock_beyond_its_uncertainty_tells_the_listeners() -> None:
    clock, server, _ = make_clock(ahead_ms=500.0)
    moves: list[float] = []
    clock.on_adjust(moves.append)
    await clock.ensure_synced()
    server.ahead_ms = 2500.0
    await clock.resync()
    assert moves == [pytest.approx(0.5), pytest.approx(2.0)]


async def test_a_sync_within_the_uncertainty_tells_no_one() -> None:
    clock, server, _ = make_clock(ahead_ms=500.0, round_trip=0.2)
    await clock.ensure_synced()
    moves: list[float] = []
    clock.on_adjust(moves.append)
    server.ahead_ms = 550.0  # within the 100 ms + 100 ms the two syncs claim
    await clock.resync()
    assert moves == []
