"""The retry policy: which failures are tried again, how often, and after how long.

One predicate decides, knowing the HTTP method and whether the request could have executed:

- GET: connection failures, timeouts, 5xx and the transient codes are retried with
  exponential backoff and jitter, at most ``max_retries`` times.
- POST/DELETE: only what provably did not execute is retried: a connection that failed
  before the request was sent, 429/-1003 and 418 (after the pause, which the limiter
  enforces), and -1021 (after re-learning the clock). Anything that may have executed has
  already been turned into ``OutcomeUnknownError`` by the transport and is never retried.

Rate-limit answers do not use up ``max_retries`` (nothing executed), but are capped so a
misbehaving server cannot keep a call alive forever; -1021 is re-sent once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, Literal, TypeVar

import attrs
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_exponential,
    wait_random,
)

from ._errors import (
    APIConnectionError,
    APIStatusError,
    InstLoanError,
    RateLimitError,
    ServerError,
)

logger = logging.getLogger("binance_instloan")

T = TypeVar("T")
Reason = Literal["rate_limit", "clock", "transient"]

MAX_RATE_LIMIT_RETRIES: Final = 5
MAX_CLOCK_RETRIES: Final = 1
# Codes that say "nothing happened, try again" (or, for a GET, "unknown", which is harmless).
_TRANSIENT_GET_CODES: Final = frozenset({-1000, -1001, -1004, -1006, -1007, -1008})


def retry_reason(exc: BaseException, *, is_write: bool) -> Reason | None:
    """Why ``exc`` may be retried, or None when it must be raised."""
    if isinstance(exc, RateLimitError):
        return "rate_limit"
    if isinstance(exc, APIStatusError):
        if exc.code == -1021:
            return "clock"
        if is_write:
            return None
        if isinstance(exc, ServerError) or exc.code in _TRANSIENT_GET_CODES:
            return "transient"
        return None
    if isinstance(exc, APIConnectionError):
        if not is_write or not exc.request_sent:
            return "transient"
        return None
    return None


class GiveUp(Exception):
    """Carries an error that must be raised at once, whatever its type says.

    The limiter raises ``RateLimitError`` when a pause is longer than the ceiling: that one is
    a decision not to wait, not an answer from Binance to retry.
    """

    def __init__(self, error: InstLoanError) -> None:
        super().__init__(str(error))
        self.error = error


@attrs.define
class _Budget:
    is_write: bool
    max_retries: int
    counts: dict[str, int] = attrs.Factory(dict)

    def exhausted(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        reason = retry_reason(exc, is_write=self.is_write) if exc else None
        if reason is None:
            return True
        used = self.counts[reason] = self.counts.get(reason, 0) + 1
        limit = {
            "rate_limit": MAX_RATE_LIMIT_RETRIES,
            "clock": MAX_CLOCK_RETRIES,
            "transient": self.max_retries,
        }[reason]
        return used > limit


# Exponential backoff with jitter: 0.25 s, 0.5 s, 1 s ... capped at 8 s, plus up to 0.25 s.
_backoff = wait_exponential(multiplier=0.25, max=8.0) + wait_random(0, 0.25)


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, RateLimitError) or (isinstance(exc, APIStatusError) and exc.code == -1021):
        return 0.0  # the limiter holds the pause; a fresh timestamp is all -1021 needs
    return float(_backoff(state))


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    sleep = state.next_action.sleep if state.next_action else 0.0
    logger.debug("retrying after %s (attempt %d, sleeping %.2f s)", _describe(exc),
                 state.attempt_number, sleep)


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code} code {exc.code}"
    return type(exc).__name__


@attrs.define
class RetryPolicy:
    """Runs one call's attempts; ``sleep`` is injectable so tests never wait."""

    max_retries: int
    sleep: Callable[[float], Awaitable[None]]

    async def run(self, attempt: Callable[[], Awaitable[T]], *, is_write: bool) -> T:
        # Most calls succeed at once: building tenacity's machinery for them costs ~25 us a
        # call, so it is built only after a first failure that may be retried.
        try:
            return await attempt()
        except GiveUp as give_up:
            raise give_up.error from give_up.error.__cause__
        except InstLoanError as exc:
            if retry_reason(exc, is_write=is_write) is None:
                raise
            first_failure: InstLoanError | None = exc

        async def replay_then_attempt() -> T:
            # Tenacity sees the first failure as attempt 1: same budget, waits and logging.
            nonlocal first_failure
            if first_failure is not None:
                failure, first_failure = first_failure, None
                raise failure
            return await attempt()

        return await self._run_retrying(replay_then_attempt, is_write=is_write)

    async def _run_retrying(self, attempt: Callable[[], Awaitable[T]], *, is_write: bool) -> T:
        budget = _Budget(is_write=is_write, max_retries=self.max_retries)
        retrying = AsyncRetrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, InstLoanError)
                and retry_reason(e, is_write=is_write) is not None
            ),
            stop=budget.exhausted,
            wait=_wait,
            sleep=self.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return await retrying(attempt)
        except GiveUp as give_up:
            raise give_up.error from give_up.error.__cause__
