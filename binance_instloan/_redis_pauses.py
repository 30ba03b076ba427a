"""Sharing a 429 pause or a 418 ban with the fleet through Redis.

A pause is applied in this process at once; writing it to Redis for the other processes runs
in the background and is best effort: if Redis cannot take it, only this process pauses, and
nothing a hostile ``Retry-After`` can produce may kill the task that writes it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from ._redis_glue import ScriptRunner
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
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # called outside a loop: the pause still holds in this process
        task = loop.create_task(self._write(key, until, seconds))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def pending(self) -> list[asyncio.Task[Any]]:
        """The writes still on their way, for ``flush``."""
        return [t for t in self._tasks if not t.done()]

    async def _write(self, key: str, until: float, seconds: float) -> None:
        try:
            ttl_ms = math.ceil(seconds * 1000) + self._window_ms
            await self._runner.run([(PAUSE, (key,), (math.ceil(until * 1000), ttl_ms))])
        except (self._runner.redis_error, OSError) as exc:
            logger.warning("could not share a pause through Redis at %s (%s); only this process "
                           "pauses", self._runner.where, exc)
        except Exception:
            # Never "Task exception was never retrieved": this process pauses anyway.
            logger.exception("could not share a pause through Redis at %s; only this process "
                             "pauses", self._runner.where)
