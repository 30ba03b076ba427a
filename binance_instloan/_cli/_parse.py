"""Parsing command-line values: amounts as Decimal, points in time, resume positions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from .._validation import AMOUNT_MAX_DIGITS, PLAIN_DECIMAL, amount

_RELATIVE: Final = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhdw])", re.IGNORECASE)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class ValueProblem(ValueError):
    """A command-line value that cannot be used; the message says what is accepted."""


class AmountOutOfRange(ValueProblem):
    """A plain decimal that Binance would refuse (-1100): too many digits."""


def parse_amount(text: str) -> Decimal:
    """A positive plain ASCII decimal amount, exactly as typed (never through float)."""
    # The SDK's own rule for amount strings (Decimal() would also take "1e3", "1_000", "+5"
    # or non-ASCII digits, and "1e3" would borrow 1000), checked here first so that the
    # CLI can tell a typo (usage error) from an amount Binance refuses (exit 5).
    if not PLAIN_DECIMAL.fullmatch(text):
        raise ValueProblem(
            f"{text!r} is not a decimal number: type ASCII digits with at most one '.', "
            "like 100 or 0.5 (no sign, exponent, '_' or ',')"
        )
    whole, _, fraction = text.partition(".")
    if max(len(whole), len(fraction)) > AMOUNT_MAX_DIGITS:
        raise AmountOutOfRange(
            f"amount {text!r} has more than {AMOUNT_MAX_DIGITS} digits before or after the "
            "point, which Binance refuses"
        )
    value = Decimal(text)
    if value <= 0:
        raise ValueProblem(f"{text!r} must be a positive amount")
    return value


def wire_amount(value: Decimal) -> str:
    """The amount exactly as the client will send it."""
    return amount(value)


def parse_time(text: str, *, now: Callable[[], datetime] | None = None) -> datetime:
    """A point in time: an ISO date or date-time (UTC unless it names a zone), ``now``, or an
    age such as ``365d``, ``12h``, ``30m``, ``2w`` (that long before now)."""
    value = text.strip()
    current = (now or _utc_now)()
    if value.lower() == "now":
        return current
    relative = _RELATIVE.fullmatch(value)
    if relative:
        seconds = float(relative["n"]) * _UNIT_SECONDS[relative["unit"].lower()]
        try:
            return _in_range(text, current - timedelta(seconds=seconds))
        except OverflowError:
            raise ValueProblem(f"{text!r} is too long ago: {_RANGE}") from None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueProblem(
            f"{text!r} is not a time: use an ISO date (2025-01-31), a date-time "
            "(2025-01-31T12:00, UTC unless a zone is given), now, or an age like 2w, 365d, "
            "12h, 30m, 90s"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _in_range(text, moment)


# Binance opened in 2017; a time before that (or a typo like 99999d) can only be a mistake,
# and the client would refuse it in words meant for programmers.
_EARLIEST: Final = datetime(2017, 1, 1, tzinfo=UTC)
_RANGE: Final = "give a time from 2017-01-01 (Binance's start) on"


def _in_range(text: str, moment: datetime) -> datetime:
    if moment < _EARLIEST:
        raise ValueProblem(f"{text!r} is {moment:%Y-%m-%d}, before any Binance record: {_RANGE}")
    return moment


def _utc_now() -> datetime:
    return datetime.now(UTC)
