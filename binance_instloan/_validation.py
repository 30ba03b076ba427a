"""Checks run on every argument before anything is sent.

Each function returns the value as it goes on the wire (a ``str``) or raises an error that
names the parameter: ``InvalidParameterTypeError`` (a ``TypeError``) for a wrong type,
``InvalidParameterError`` (a ``ValueError``) for a bad value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from ._constants import DAY_MS, PAGE_SIZE_MAX
from ._errors import InvalidParameterError, InvalidParameterTypeError
from ._types import AmountLike, TimeLike

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)
_MIN_MS: Final = 0
_MAX_MS: Final = 32503680000000  # year 3000: anything later is a unit mistake (µs, ns)
# groupId, current and size are LONG in the docs: a Java long, so a larger value cannot be an id.
MAX_LONG: Final = 2**63 - 1
# Binance's legal amount, ^([0-9]{1,20})(\.[0-9]{1,20})?$: at most 20 digits either side.
AMOUNT_MAX_DIGITS: Final = 20
# The plain ASCII decimals an amount string may be; Decimal() also takes "1_000", "+5", " 5",
# "1e3" and non-ASCII digits, none of which a desk means to send.
PLAIN_DECIMAL: Final = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def _type_name(value: object) -> str:
    return type(value).__name__


def integer(name: str, value: object, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterTypeError(name, f"must be an int, not {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(name, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(name, f"must be <= {maximum}, got {value}")
    return value


def group_id(value: object, name: str = "group_id") -> str:
    return str(integer(name, value, minimum=1, maximum=MAX_LONG))


def page(current: object, size: object) -> list[tuple[str, str]]:
    return [
        ("current", str(integer("current", current, minimum=1, maximum=MAX_LONG))),
        ("size", str(integer("size", size, minimum=1, maximum=PAGE_SIZE_MAX))),
    ]


def text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidParameterTypeError(name, f"must be a str, not {_type_name(value)}")
    if not value.strip():
        raise InvalidParameterError(name, "must not be empty")
    if value != value.strip():
        raise InvalidParameterError(name, f"has leading or trailing spaces: {value!r}")
    return value


def asset(value: object, name: str = "asset") -> str:
    return text(name, value)


def email(value: object, name: str) -> str:
    value = text(name, value)
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise InvalidParameterError(name, f"is not an e-mail address: {value!r}")
    return value


def flag(name: str, value: object) -> str:
    if not isinstance(value, bool):
        raise InvalidParameterTypeError(name, f"must be a bool, not {_type_name(value)}")
    return "TRUE" if value else "FALSE"


def amount(value: object, name: str = "amount") -> str:
    """A positive amount, written positionally (``Decimal("1E+2")`` is sent as ``100``).

    Refused unless the written form is Binance's legal one: at most 20 digits before and
    after the point. The size is checked before anything is formatted, so ``Decimal("1E+9999")``
    costs nothing (formatting it would allocate its 10,000 digits).
    """
    if isinstance(value, float):
        raise InvalidParameterTypeError(
            name, "must be a Decimal, int or str, not float (a float cannot hold most decimal "
            "amounts exactly: pass Decimal('0.1') or '0.1')"
        )
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidParameterTypeError(
            name, f"must be a Decimal, int or str, not {_type_name(value)}"
        )
    if isinstance(value, str):
        if len(value) > 2 * AMOUNT_MAX_DIGITS + 1 or not PLAIN_DECIMAL.fullmatch(value):
            raise InvalidParameterError(
                name, f"must be a plain decimal such as '12.5' (ASCII digits and one point, at "
                f"most {AMOUNT_MAX_DIGITS} digits either side), not {_short(value)}"
            )
        number = Decimal(value)
    elif isinstance(value, int):
        if value >= 10**AMOUNT_MAX_DIGITS:
            raise InvalidParameterError(
                name, f"has more than {AMOUNT_MAX_DIGITS} integer digits, more than Binance accepts"
            )
        number = Decimal(value)
    else:
        number = value
    if not number.is_finite():
        raise InvalidParameterError(name, f"must be finite, got {_short(value)}")
    if number <= 0:
        raise InvalidParameterError(name, f"must be positive, got {_short(value)}")
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if number.adjusted() >= AMOUNT_MAX_DIGITS:
        raise InvalidParameterError(
            name, f"has more than {AMOUNT_MAX_DIGITS} integer digits, more than Binance "
            f"accepts: {_short(value)}"
        )
    if isinstance(exponent, int) and exponent < -AMOUNT_MAX_DIGITS:
        raise InvalidParameterError(
            name, f"has {-exponent} decimal places; Binance accepts at most "
            f"{AMOUNT_MAX_DIGITS}: {_short(value)}"
        )
    return format(number, "f")


def _short(value: object) -> str:
    # A Decimal's repr is small whatever its exponent; a long string is cut.
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def amount_decimal(value: AmountLike, name: str = "amount") -> Decimal:
    return Decimal(amount(value, name))


def timestamp_ms(name: str, value: object) -> int:
    """UNIX milliseconds from an aware ``datetime`` or an ``int``; naive datetimes refused."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidParameterError(
                name, "is a naive datetime; pass an aware one, e.g. datetime.now(timezone.utc)"
            )
        ms = (value - _EPOCH) // _ONE_MS
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterTypeError(
            name, f"must be an aware datetime or int milliseconds, not {_type_name(value)}"
        )
    else:
        ms = value
    if not _MIN_MS <= ms <= _MAX_MS:
        raise InvalidParameterError(name, f"is not a millisecond UNIX time: {value!r}")
    return ms


def time_range(
    start_time: TimeLike | None,
    end_time: TimeLike | None,
    *,
    max_span_days: int | None,
    start_name: str = "start_time",
    end_name: str = "end_time",
    binance_narrows: bool = False,
) -> list[tuple[str, str]]:
    """Validate a time range; return the ``startTime``/``endTime`` parameters that were given.

    ``binance_narrows``: Binance would not refuse a longer range but silently answer for only
    the last ``max_span_days`` before the end (borrow-repay, reference 2.11); we still refuse
    it, since a page missing records without notice is worse than an error, and say so.
    """
    params: list[tuple[str, str]] = []
    start = timestamp_ms(start_name, start_time) if start_time is not None else None
    end = timestamp_ms(end_name, end_time) if end_time is not None else None
    if start is not None and end is not None:
        if start > end:
            raise InvalidParameterError(start_name, f"{start_name} must not be after {end_name}")
        if max_span_days is not None and end - start > max_span_days * DAY_MS:
            if binance_narrows:
                raise InvalidParameterError(
                    end_name, f"the range is longer than {max_span_days} days: Binance would "
                    f"answer for only the {max_span_days} days before {end_name}, silently "
                    "leaving out older records, so it is refused here (the iter_* methods "
                    "split long ranges for you)"
                )
            raise InvalidParameterError(
                end_name, f"the range is longer than {max_span_days} days, the most Binance "
                "accepts for this endpoint (the iter_* methods split long ranges for you)"
            )
    if start is not None:
        params.append(("startTime", str(start)))
    if end is not None:
        params.append(("endTime", str(end)))
    return params
