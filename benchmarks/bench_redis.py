"""What sharing the budget through Redis costs: round trips per request and added latency.

Each request takes one round trip to acquire (the acquire script, with the IP ban read in the
same pipeline) and a share of one to release: releases go in the background, and those that
pile up while one is in flight travel together. Budgets are set high so nothing waits for a
window; what is measured is the bookkeeping alone.

Cases:
  limiter, 1 task      acquire + release in a loop: the latency of acquire itself
  limiter, 50 tasks    the same from 50 concurrent tasks: round trips per request, throughput
  client, 1 task       signed GET interest-history to a simulator in a child process (TCP),
                       with the in-process RateLimiter, then with RedisLimiter
  client, 50 tasks     the same from 50 concurrent tasks

    python benchmarks/bench_redis.py [--url redis://127.0.0.1:6379/0] [--requests 2000]

Redis comes from --url, else REDIS_URL, else a redis-server started here on a free loopback
port. Run by hand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from _common import Row, machine, median, print_rows, sim_server
from redis.asyncio import Redis

from binance_instloan import AsyncInstLoanClient, RateLimiter, RateLimits
from binance_instloan._redis_limiter import RedisLimiter

BUCKET = "IP:/sapi/v1/margin/loan-group/interest-history"
# Nothing waits for a window: only the cost of keeping the books is measured.
ROOMY = RateLimits(ip_weight=10**9, uid_weight=10**9, api_weight=10**9, window_seconds=60.0)


class CountingRedis(Redis):
    """Counts round trips: each command sent alone and each pipeline sent."""

    round_trips = 0

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        self.round_trips += 1
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = super().pipeline(transaction, shard_hint)
        send = pipe.execute

        async def execute(raise_on_error: bool = True) -> Any:
            self.round_trips += 1
            return await send(raise_on_error=raise_on_error)

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe


@contextlib.contextmanager
def redis_url(url: str | None) -> Iterator[str]:
    url = url or os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("no Redis: pass --url, set REDIS_URL, or install redis-server")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


@contextlib.asynccontextmanager
async def redis_limiter(url: str) -> AsyncIterator[tuple[RedisLimiter, CountingRedis]]:
    client = CountingRedis.from_url(url)
    limiter = RedisLimiter(client, ip_label="bench", account="bench", limits=ROOMY,
                           key_prefix=f"bench{uuid.uuid4().hex[:8]}")
    try:
        yield limiter, client
    finally:
        await limiter.aclose()
        await client.aclose()


async def timed(n: int, tasks: int, one: Callable[[], Awaitable[Any]]) -> tuple[list[float], float]:
    """Per-call latencies (s) and the wall time of ``n`` calls spread over ``tasks`` tasks."""
    latencies: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n // tasks) for _ in range(tasks)))
    return latencies, time.perf_counter() - started


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)]


async def limiter_rows(url: str, n: int) -> list[Row]:
    rows: list[Row] = []
    local = RateLimiter(ROOMY, now=time.time)

    async def local_once() -> None:
        (await local.acquire(BUCKET, 10)).release(used_weight=None)

    for tasks in (1, 50):
        lat, _ = await timed(n, tasks, local_once)
        rows.append(Row("redis", f"limiter, {tasks} task(s), in-process RateLimiter",
                        f"acquire+release p50 {us(median(lat))}"))
        async with redis_limiter(url) as (limiter, client):

            async def redis_once(limiter: RedisLimiter = limiter) -> None:
                (await limiter.acquire(BUCKET, 10)).release(used_weight=None)

            await timed(100, tasks, redis_once)  # warm the pool and the script cache
            await limiter.flush()
            client.round_trips = 0
            lat, wall = await timed(n, tasks, redis_once)
            await limiter.flush()
            trips = client.round_trips / n
        rows.append(Row("redis", f"limiter, {tasks} task(s), RedisLimiter",
                        f"{trips:.2f} round trips/request; acquire+release p50 {us(median(lat))}, "
                        f"p99 {us(p99(lat))}; {n / wall:,.0f} requests/s"))
    return rows


async def client_rows(url: str, n: int) -> list[Row]:
    rows: list[Row] = []
    async with sim_server(history_days=2) as sim:
        for tasks in (1, 50):
            results: dict[str, tuple[float, float]] = {}
            for side in ("in-process", "redis"):
                async with contextlib.AsyncExitStack() as stack:
                    if side == "redis":
                        limiter, counter = await stack.enter_async_context(redis_limiter(url))
                        kwargs: dict[str, Any] = {"limiter": limiter}
                    else:
                        kwargs, counter = {"rate_limits": ROOMY}, None
                    client = await stack.enter_async_context(AsyncInstLoanClient(
                        sim.api_key, sim.api_secret, base_url=sim.base_url, **kwargs))

                    async def call(client: AsyncInstLoanClient = client) -> None:
                        await client.get_interest_history(size=100)

                    await timed(50, min(tasks, 50), call)  # warm up: clock sync, connections
                    if counter is not None:
                        await limiter.flush()
                        counter.round_trips = 0
                    lat, wall = await timed(n, tasks, call)
                    trips = ""
                    if counter is not None:
                        await limiter.flush()
                        trips = f"{counter.round_trips / n:.2f} round trips/request; "
                results[side] = (median(lat), wall)
                rows.append(Row("redis", f"client, {tasks} task(s), {side} limiter",
                                f"{trips}call p50 {us(median(lat))}, p99 {us(p99(lat))}; "
                                f"{n / wall:,.0f} calls/s"))
            if tasks == 1:
                added = results["redis"][0] - results["in-process"][0]
                rows.append(Row("redis", "client, 1 task, added by Redis",
                                f"{us(added)} per call at the median"))
            else:
                # With many tasks a call's latency is mostly its wait in the queue (Little's
                # law), so the cost shows as throughput instead.
                ratio = results["in-process"][1] / results["redis"][1]
                rows.append(Row("redis", f"client, {tasks} tasks, Redis vs in-process",
                                f"{ratio:.2f}x the calls/s"))
    return rows


async def run(url: str, requests: int) -> list[Row]:
    return await limiter_rows(url, requests) + await client_rows(url, max(requests // 4, 200))


def bench(url: str | None = None, requests: int = 2000) -> list[Row]:
    """Rows for ``benchmarks/run.py``, the fleet's use of the budget included."""
    import bench_redis_fleet  # imports this module's redis_url

    with redis_url(url) as resolved:
        return asyncio.run(run(resolved, requests)) + bench_redis_fleet.bench(resolved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Redis URL (default: REDIS_URL or a server started here)")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    rows = bench(args.url, args.requests)
    print_rows(f"{machine()}\nRedisLimiter ({sys.executable})", rows)


if __name__ == "__main__":
    main()
