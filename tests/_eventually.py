"""Wait for something to become true, however busy the machine is.

A fixed ``asyncio.sleep(0.05)`` before an assertion bets that the other tasks got that far in
50 ms, which a loaded machine loses. ``eventually`` polls the condition instead, and gives up
only after a deadline far beyond any scheduling delay, so a test waits exactly as long as it
must and fails only when the condition really never holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Generous: reached only when the condition never holds, i.e. when the test should fail.
DEADLINE_SECONDS = 30.0


async def eventually(
    condition: Callable[[], object], *, what: str = "", timeout: float = DEADLINE_SECONDS
) -> None:
    """Return once ``condition()`` is true; fail the test if it is still false after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout:g} s: {what or condition}")
        # Polls fast without spinning: other tasks run, and I/O callbacks get their turn.
        await asyncio.sleep(0.001)
