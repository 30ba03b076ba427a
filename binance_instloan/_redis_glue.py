"""Running the Lua scripts of ``_redis_lua`` for :class:`~binance_instloan.RedisLimiter`.

Two concerns of the shared limiter that have nothing to do with admission itself:

- :class:`ScriptRunner` runs a batch of scripts in one round trip (EVALSHA, falling back to
  EVAL for a Redis that lost them after a restart or SCRIPT FLUSH);
- :class:`ReleaseQueue` batches the releases of permits, so that one usually rides along with
  the next acquisition instead of costing a round trip of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from ._redis_lua import RELEASE, Script

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["Call", "PendingRelease", "ReleaseQueue", "ScriptRunner", "describe"]

logger = logging.getLogger("binance_instloan")

# One script run: the script, its KEYS, its ARGV.
Call = tuple[Script, Sequence[str], Sequence[int | str]]
# (tag, member, weight, window, header) of a permit waiting to be released in Redis.
PendingRelease = tuple[str, str, int, int, int]

# How long a release waits for an acquire to ride along with before it travels alone.
_RELEASE_DELAY: Final = 0.002


class ScriptRunner:
    """Runs scripts against one Redis client; ``redis_error`` / ``no_script`` are redis-py's
    exception classes (imported lazily by the limiter, as redis is an optional extra)."""

    __slots__ = ("no_script", "redis", "redis_error", "where")

    def __init__(
        self, redis: Redis, *, redis_error: type[BaseException], no_script: type[BaseException],
    ) -> None:
        self.redis = redis
        self.redis_error = redis_error
        self.no_script = no_script
        self.where = describe(redis)

    async def run(self, calls: Sequence[Call], *, get: str | None = None) -> tuple[Any, list[Any]]:
        """Run the scripts in one round trip; with ``get``, GET that key in it too.

        A key under another hash tag (the IP's ban) cannot be read inside a bucket's script
        on Redis Cluster; it rides in the same round trip instead.
        """
        pipe = self.redis.pipeline(transaction=False)
        if get is not None:
            pipe.get(get)
        for script, keys, args in calls:
            pipe.evalsha(script.sha, len(keys), *keys, *args)
        results = await pipe.execute(raise_on_error=False)
        value = results.pop(0) if get is not None else None
        missing = [i for i, result in enumerate(results) if isinstance(result, self.no_script)]
        for result in (value, *results):
            if isinstance(result, BaseException) and not isinstance(result, self.no_script):
                raise result
        if missing:
            pipe = self.redis.pipeline(transaction=False)
            for i in missing:
                script, keys, args = calls[i]
                pipe.eval(script.source, len(keys), *keys, *args)
            for i, result in zip(missing, await pipe.execute(), strict=True):
                results[i] = result
        return value, results


class ReleaseQueue:
    """Releases waiting to reach Redis, sent with the next acquisition or within 2 ms."""

    __slots__ = ("_flush_timer", "_flusher", "_pending", "_runner", "_window_ms")

    def __init__(self, runner: ScriptRunner, window_ms: int) -> None:
        self._runner = runner
        self._window_ms = window_ms
        self._pending: list[PendingRelease] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flush_timer: asyncio.TimerHandle | None = None

    def put(self, release: PendingRelease, *, flush: bool) -> None:
        """Queue a release; unless ``flush`` is false (no loop may be running), send it soon."""
        self._pending.append(release)
        if not flush or self._flush_timer is not None or self.flushing():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # A short wait lets the next acquire carry the release in its own round trip; only
        # when none comes does the release cost one of its own.
        self._flush_timer = loop.call_later(_RELEASE_DELAY, self.schedule_flush)

    def take(self) -> list[Call]:
        """The queued releases as script calls, for an acquisition to carry; see :meth:`lost`."""
        batch, self._pending = self._pending, []
        return self.calls(batch)

    def flushing(self) -> bool:
        return self._flusher is not None and not self._flusher.done()

    def flusher(self) -> asyncio.Task[None] | None:
        return self._flusher

    def schedule_flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if not self._pending or self.flushing():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._flusher = loop.create_task(self._flush())

    async def _flush(self) -> None:
        # Releases that pile up while one round trip is out go together in the next one.
        while self._pending:
            calls = self.take()
            try:
                await self._runner.run(calls)
            except (self._runner.redis_error, OSError):
                self.lost(calls)

    def calls(self, batch: Sequence[PendingRelease]) -> list[Call]:
        return [
            (RELEASE, (f"{tag}:inflight", f"{tag}:inflight_weight", f"{tag}:w:{window}"),
             (member, weight, self._window_ms, seen))
            for tag, member, weight, window, seen in batch
        ]

    def lost(self, calls: Sequence[Call]) -> None:
        if calls:
            # Nothing to retry: Redis forgets these permits at their deadline.
            logger.warning("could not release %d permit(s) in Redis at %s; they stop counting "
                           "after inflight_timeout", len(calls), self._runner.where)


def describe(client: Redis) -> str:
    """Where the client connects, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{host}:{port}/{db}"
