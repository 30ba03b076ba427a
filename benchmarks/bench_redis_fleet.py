"""How much of each rate window a fleet of processes sharing one RedisLimiter fills.

Eight processes (``tests/redis_fleet_worker.py``, the worker of the fleet tests), each with 50
tasks paging interest history, share one IP budget of 600 weight per 0.5 s window through
Redis, against one simulator served over TCP that counts weight as Binance does. Reported:
the fleet's use of each full window (from the used-weight headers of answers that came back in
the window their request was sent in), the simulator's busiest window, 429s and 418s, and the
wall time against the least the budget allows.

The test suite asserts only what load cannot change (no 429, no window over its limit, every
call answered); how full the windows are depends on how busy the machine is, so it is measured
here, not asserted there.

    python benchmarks/bench_redis_fleet.py [--url redis://...] [--processes 8] [--pages 3]

Redis comes from --url, else REDIS_URL, else a redis-server started here on a free loopback
port. Run by hand; not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
import uuid
from typing import Any, Final

from _common import REPO, Row, machine, median, print_rows
from bench_redis import redis_url

from binance_instloan.simulator import Simulator, serve

WORKER: Final = REPO / "tests" / "redis_fleet_worker.py"
HISTORY: Final = "IP:/sapi/v1/margin/loan-group/interest-history"
PAGE_WEIGHT: Final = 10
GOAL_SHARE: Final = 0.9


async def run_fleet(url: str, *, processes: int, tasks: int, pages: int, window: float,
                    limit: int) -> tuple[Simulator, list[dict[str, Any]], float]:
    sim = Simulator(seed=5, history_days=1, ip_weight_limit=limit, window_seconds=window)
    creds = sim.credentials("credit")
    async with serve(sim) as base_url:
        settings = {
            "base_url": base_url, "redis_url": url, "prefix": f"fleet{uuid.uuid4().hex[:8]}",
            "api_key": creds.api_key, "api_secret": creds.api_secret, "ip_label": "desk-1",
            "account": "credit-a", "tasks": tasks, "pages": pages, "ip_weight": limit,
            "window": window, "inflight_timeout": 2.0,
        }
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), json.dumps(settings),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )
            for _ in range(processes)
        ]
        for proc in procs:
            assert proc.stdout is not None
            if await asyncio.wait_for(proc.stdout.readline(), 120) != b"ready\n":
                raise RuntimeError("a fleet process failed to start")
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        outputs = await asyncio.gather(*(proc.communicate() for proc in procs))
        wall = time.perf_counter() - started
    reports = [json.loads(out) for out, _ in outputs if out.strip()]
    if len(reports) != processes:
        raise RuntimeError(f"{processes - len(reports)} fleet processes gave no report")
    return sim, reports, wall


def window_use(reports: list[dict[str, Any]], window: float) -> list[int]:
    """Weight Binance counted in each full window of the run, from the used-weight headers."""
    most: dict[int, int] = {}
    for report in reports:
        for sent, answered, used in report["samples"]:
            index = math.floor(sent / window)
            if used is not None and index == math.floor(answered / window):
                most[index] = max(most.get(index, 0), used)
    if not most:
        return []
    first, last = min(most), max(most)
    # The partial first window and the one after it are left out: the opening burst is still
    # in flight when the second begins, and the limiter rightly counts weight in flight against
    # a new window too (it could land there). The last window is partial as well.
    return [most.get(index, 0) for index in range(first + 2, last)]


def bench(url: str | None = None, *, processes: int = 8, tasks: int = 50, pages: int = 3,
          window: float = 0.5, limit: int = 600) -> list[Row]:
    """Rows for ``benchmarks/run.py`` (through ``bench_redis.py``)."""
    with redis_url(url) as resolved:
        sim, reports, wall = asyncio.run(run_fleet(
            resolved, processes=processes, tasks=tasks, pages=pages, window=window,
            limit=limit))
    case = (f"fleet: {processes} processes x {tasks} tasks x {pages} pages, "
            f"{limit} weight / {window:g} s")
    use = window_use(reports, window)
    shares = [u / limit for u in use]
    stats = sim.stats.get("/sapi/v1/margin/loan-group/interest-history")
    throttled = stats.throttled if stats else 0
    banned = stats.banned if stats else 0
    ok = sum(report["ok"] for report in reports)
    calls = processes * tasks * pages
    least = calls * PAGE_WEIGHT / limit * window
    rows = [
        Row("redis", f"{case}: weight per full window / limit",
            (f"median {median(shares):.0%}, lowest {min(shares):.0%} over {len(use)} windows: "
             + ", ".join(str(u) for u in use)) if use else "no full window",
            f"median >= {GOAL_SHARE:.0%}", bool(use) and median(shares) >= GOAL_SHARE),
        Row("redis", f"{case}: busiest window at the simulator",
            f"{sim.max_window_weight(HISTORY)} of {limit}", f"<= {limit}",
            sim.max_window_weight(HISTORY) <= limit),
        Row("redis", f"{case}: 429s / 418s received", f"{throttled} / {banned}", "0 / 0",
            throttled == 0 and banned == 0),
        Row("redis", f"{case}: calls answered", f"{ok} of {calls}", "all", ok == calls),
        Row("redis", f"{case}: wall / theoretical minimum",
            f"{wall:.2f} s / {least:.2f} s = {wall / least:.2f}"),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Redis URL (default: REDIS_URL or a server started here)")
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--pages", type=int, default=3, help="pages per task")
    parser.add_argument("--window", type=float, default=0.5, help="window length, seconds")
    parser.add_argument("--limit", type=int, default=600, help="weight per window")
    args = parser.parse_args()
    rows = bench(args.url, processes=args.processes, tasks=args.tasks, pages=args.pages,
                 window=args.window, limit=args.limit)
    print_rows(f"{machine()}\nRedisLimiter fleet ({sys.executable})", rows)


if __name__ == "__main__":
    main()
