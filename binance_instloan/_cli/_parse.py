"""Parsing command-line values: amounts as Decimal, points in time, resume positions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

_RELATIVE: Final = re.compile(r"(?P<n>\d+(?:\.\d+)?)(?P<unit>[smhdw])", re.IGNORECASE)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class ValueProblem(ValueError):
    """A command-line value that cannot be used; the message says what is accepted."""


def parse_amount(text: str) -> Decimal:
    """A positive decimal amount, exactly as typed (never through float)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueProblem(f"{text!r} is not a decimal number (e.g. 100 or 0.5)") from None
    if not value.is_finite() or value <= 0:
        raise ValueProblem(f"{text!r} must be a positive amount")
    return value


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
        return current - timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueProblem(
            f"{text!r} is not a time: use an ISO date (2025-01-31), a date-time "
            "(2025-01-31T12:00, UTC unless a zone is given) or an age like 365d, 12h, 30m"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _utc_now() -> datetime:
    return datetime.now(UTC)
