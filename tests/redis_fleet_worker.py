"""One process of the fleet in ``tests/test_redis_limiter.py``.

Many tasks pull interest-history pages from a simulator served over TCP, through a client whose
limiter is a :class:`RedisLimiter` shared with the other processes::

    python tests/redis_fleet_worker.py '{"base_url": "http://127.0.0.1:8123", ...}'

It prints ``ready`` once its client exists, waits for a line on stdin (so the whole fleet starts
together), and prints one JSON line when done: calls that succeeded, every response's status,
errors, ``[admitted_at, answered_at, used_weight]`` per call (wall-clock seconds), and how often
the limiter fell back to local pacing and came back to Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from contextvars import ContextVar
from typing import Any

from binance_instloan import AsyncInstLoanClient, InstLoanError, RateLimits
from binance_instloan._limiter import Permit
from binance_instloan._redis_limiter import RedisLimiter

# When the limiter let this task's request go (the task's own context, so no races).
ADMITTED: ContextVar[float] = ContextVar("admitted", default=0.0)


class ModeChanges(logging.Handler):
    """Counts the limiter's warnings about leaving Redis and coming back to it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "is unreachable" in message:
            self.seen["to_local"] += 1
        elif "is back" in message:
            self.seen["to_redis"] += 1


class TimedLimiter(RedisLimiter):
    async def acquire(self, bucket: str, weight: int) -> Permit:
        permit = await super().acquire(bucket, weight)
        ADMITTED.set(time.time())
        return permit


async def main(config: dict[str, Any]) -> dict[str, Any]:
    limits = RateLimits(ip_weight=config["ip_weight"], window_seconds=config["window"],
                        max_pause_seconds=config.get("max_pause", 60.0))
    limiter = TimedLimiter(
        config["redis_url"], ip_label=config["ip_label"], account=config["account"],
        limits=limits, key_prefix=config["prefix"],
        on_redis_error=config.get("on_redis_error", "fail"),
        local_share=config.get("local_share", 0.25),
        inflight_timeout=config.get("inflight_timeout", 60.0),
        reconnect_after=config.get("reconnect_after", 1.0),
    )
    statuses: Counter[int] = Counter()
    samples: list[tuple[float, float, int | None]] = []
    errors: list[str] = []
    changes = ModeChanges()
    logging.getLogger("binance_instloan").addHandler(changes)
    ok = 0
    async with limiter, AsyncInstLoanClient(
        config["api_key"], config["api_secret"], base_url=config["base_url"], limiter=limiter,
        rate_limits=limits,
    ) as client:
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

        async def pull(task: int) -> None:
            nonlocal ok
            for page in range(1, config["pages"] + 1):
                try:
                    with client.capture_responses() as seen:
                        await client.get_interest_history(current=page, size=100)
                    ok += 1
                except InstLoanError as exc:
                    errors.append(f"task {task}: {type(exc).__name__}: {exc}")
                samples.append((ADMITTED.get(), time.time(), seen[-1].used_weight if seen else None))
                statuses.update(info.status_code for info in seen)

        await asyncio.gather(*(pull(task) for task in range(config["tasks"])))
    return {"ok": ok, "statuses": statuses, "errors": errors[:20], "samples": samples,
            "mode_changes": changes.seen, "mode_at_end": limiter.mode}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))), flush=True)
