"""Shared fixtures: a respx-mocked Binance with a time endpoint, and clients bound to it."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from hypothesis import HealthCheck, settings

from binance_instloan import AsyncInstLoanClient, RateLimits
from tests._fast_pause import fast_pause_limiter
from tests._redis import HOW_TO_GET_IT, SKIP_PREFIX
from tests._support import BASE, KEY, SECRET

# Started in the background by a non-interactive shell (`cmd &` in a script, nohup, some CI
# runners), a process inherits SIGINT ignored: Python then installs no KeyboardInterrupt
# handler, asyncio.run none either, and child processes keep ignoring it, so the Ctrl-C tests
# would fail for a reason that has nothing to do with the code. Give the run what a terminal
# gives it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Hypothesis's per-example deadline (200 ms) and its too_slow health check time the machine,
# not the code: on a busy machine they fail at random. Off for every run, as hypothesis's own
# CI profile has them (whatever else the loaded profile says is kept).
settings.register_profile(
    "load-proof", settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
)
settings.load_profile("load-proof")


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """A mocked api.binance.com whose /api/v3/time answers the real time."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/api/v3/time").mock(
            side_effect=lambda request: httpx.Response(
                200, json={"serverTime": int(time.time() * 1000)}
            )
        )
        yield router


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def client(api: respx.MockRouter) -> AsyncIterator[AsyncInstLoanClient]:
    """A client against the mock whose retry backoff does not really sleep."""
    async with AsyncInstLoanClient(KEY, SECRET, max_retries=3) as c:
        c._retry.sleep = _no_sleep
        yield c


@pytest.fixture
async def fast_pause_client(api: respx.MockRouter) -> AsyncIterator[AsyncInstLoanClient]:
    """A client against the mock whose 429/418 pauses pass at once.

    Every pause lasts at least 5 s (see ``_retry_after``); the limiter's clock jumps by
    whatever it sleeps, so a test that waits one out does not.
    """
    limiter = fast_pause_limiter()
    async with AsyncInstLoanClient(KEY, SECRET, max_retries=3, limiter=limiter) as c:
        c._retry.sleep = _no_sleep
        yield c


@pytest.fixture
def fast_limits() -> RateLimits:
    return RateLimits(window_seconds=0.2)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """One line that no one can miss when the Redis tests did not run: the outermost wrapper,
    so it comes after the short summary, just above the final count."""
    yield
    reasons: list[str] = []
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        if SKIP_PREFIX in reason:
            reasons.append(reason.partition(f"{SKIP_PREFIX}: ")[2])
    if reasons:
        why = "; ".join(dict.fromkeys(reasons))
        terminalreporter.write_line(
            f"{len(reasons)} Redis tests skipped: {why} — {HOW_TO_GET_IT}", yellow=True, bold=True,
        )
