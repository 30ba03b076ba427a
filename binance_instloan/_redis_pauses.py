"""Sharing a 429 pause or a 418 ban (or a clock correction) with the fleet through Redis.

A pause is applied in this process at once; writing it to Redis for the other processes runs
in the background and is best effort: if Redis cannot take it, only this process pauses, and
nothing a hostile ``Retry-After`` can produce may kill the task that writes it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from ._redis_glue import Call, ScriptRunner
from ._redis_lua import PAUSE

__all__ = ["PauseSharer"]

logger = logging.getLogger("binance_instloan")


class PauseSharer:
    """Writes pauses (extend-only, with an expiry) to Redis in background tasks."""

    __slots__ = ("_runner", "_tasks", "_window_ms")

    def __init__(self, runner: ScriptRunner, window_ms: int) -> None:
        self._runner = runner
        self._window_ms = window_ms
        self._tasks: set[asyncio.Task[Any]] = set()

    def share(self, key: str, until: float, seconds: float) -> None:
        """Write "paused until ``until``" (server seconds) under ``key``, ``seconds`` from now.

        The caller clamps ``seconds`` (see ``_retry_after``); the key outlives the pause by one
        window, then Redis forgets it.
        """
        ttl_ms = math.ceil(seconds * 1000) + self._window_ms
        self.send([(PAUSE, (key,), (math.ceil(until * 1000), ttl_ms))], "a pause")

    def send(self, calls: list[Call], what: str) -> None:
        """Run ``calls`` in the background, best effort; ``what`` names them in the log."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside a loop: the pause still holds in this process
        task = loop.create_task(self._write(calls, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> list[asyncio.Task[Any]]:
        """The writes still on their way, for ``flush``."""
        return [t for t in self._tasks if not t.done()]

    async def _write(self, calls: list[Call], what: str) -> None:
        try:
            await self._runner.run(calls)
        except (self._runner.redis_error, OSError) as exc:
            logger.warning("could not share %s through Redis at %s (%s); only this process "
                           "knows it", what, self._runner.where, exc)
        except Exception:
            # Never "Task exception was never retrieved": this process pauses anyway.
            logger.exception("could not share %s through Redis at %s; only this process "
                             "knows it", what, self._runner.where)
