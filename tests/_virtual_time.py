"""Run an async test on an event loop whose clock is virtual.

``loop.time()`` only moves when every task is waiting: the loop then jumps straight to its
next timer instead of sleeping. ``asyncio.sleep(60)`` therefore returns at once in real time,
yet exactly 60 s later on the loop's clock, so code timed by the loop (or by a ``now``
derived from ``loop.time()``) is tested over many minutes in milliseconds::

    @virtual_time
    async def test_waits_a_minute() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(60)
        assert loop.time() - start == 60
"""

from __future__ import annotations

import asyncio
import functools
import selectors
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Divisible by every window length the tests use, and of the size of real UNIX timestamps, so
# float rounding behaves as it does against a real server clock.
EPOCH = 1_700_000_040.0
# How long to wait in real time when nothing is scheduled before calling it a deadlock.
_DEADLOCK_SECONDS = 2.0


class _VirtualSelector(selectors.BaseSelector):
    """Polls real file descriptors without blocking; a timeout advances the virtual clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop

    def register(
        self, fileobj: Any, events: int, data: Any = None
    ) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def select(
        self, timeout: float | None = None
    ) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            # No timer and no ready callback: only another thread could wake the loop.
            ready = self._real.select(_DEADLOCK_SECONDS)
            if not ready:
                raise RuntimeError("virtual time: every task is waiting and no timer is set")
            return ready
        self._loop.advance(timeout)
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual, starting at :data:`EPOCH`."""

    def __init__(self, start: float = EPOCH) -> None:
        self._virtual_now = start
        super().__init__(selector=_VirtualSelector(self))
        # The loop runs timers due before time() + resolution; at UNIX-sized times the default
        # (1 ns) is below a float's step, so a timer due exactly now would never run.
        self._clock_resolution = 1e-6

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._virtual_now += seconds


def virtual_time(test: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run the decorated coroutine function on a fresh :class:`VirtualTimeLoop`."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
            return runner.run(test(*args, **kwargs))

    return run


def loop_time() -> float:
    """The running loop's (virtual) time."""
    return asyncio.get_running_loop().time()


async def sleep_until(when: float) -> None:
    """Sleep until the running loop's clock reads ``when``."""
    await asyncio.sleep(max(when - loop_time(), 0.0))
