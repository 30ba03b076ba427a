"""Request-parameter checks, the way Binance's SAPI front end answers them.

Error codes used (reference 1.10):

- ``-1102`` a mandatory parameter is missing or empty;
- ``-1105`` an optional parameter was sent empty;
- ``-1104`` a parameter the endpoint does not take was sent ("Not all sent parameters were read");
- ``-1100`` a value has characters its type forbids (LONG, DECIMAL, asset names);
- ``-1130`` a well-formed value outside its range (``size`` 0 or above 100, ``current`` 0,
  unknown enum values such as ``type=LOAN``);
- ``-3011`` ``startTime`` after ``endTime`` when both are sent;
- ``-1127`` a time window longer than 100 days ("More than 2400 hours between startTime and
  endTime.", the margin API's wording for exactly this limit).

Time windows follow reference section 1.11; see :func:`window` and :func:`interest_window`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from ._core import DAY_MS, Account, SimError

PAGE_SIZE_DEFAULT: Final = 10
PAGE_SIZE_MAX: Final = 100
MAX_SPAN_MS: Final = 100 * DAY_MS
DEFAULT_SPAN_MS: Final = 7 * DAY_MS
INTEREST_REACH_MS: Final = 30 * DAY_MS

_LONG: Final = re.compile(r"[0-9]{1,20}")
_LONG_RANGE: Final = "^[0-9]{1,20}$"
_DECIMAL: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_DECIMAL_RANGE: Final = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_ASSET: Final = re.compile(r"[A-Za-z0-9]{1,20}")
_ASSET_RANGE: Final = "^[A-Za-z0-9]{1,20}$"


def _illegal(name: str, legal: str) -> SimError:
    return SimError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def invalid(name: str) -> SimError:
    return SimError(-1130, f"Data sent for parameter '{name}' is not valid.")


class Params:
    """Reads one request's parameters, remembering which were read so leftovers are refused."""

    __slots__ = ("_raw", "_read")

    def __init__(self, raw: Mapping[str, str]) -> None:
        self._raw = raw
        self._read: set[str] = set()

    def _get(self, name: str, mandatory: bool) -> str | None:
        self._read.add(name)
        value = self._raw.get(name)
        if value is None or value == "":
            if mandatory:
                raise SimError(
                    -1102,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                )
            if value == "":
                raise SimError(-1105, f"Parameter '{name}' was empty.")
        return value

    def long(self, name: str, *, mandatory: bool = False) -> int | None:
        value = self._get(name, mandatory)
        if value is None:
            return None
        if not _LONG.fullmatch(value):
            raise _illegal(name, _LONG_RANGE)
        return int(value)

    def _need(self, name: str) -> str:
        value = self._get(name, True)
        if value is None:  # pragma: no cover - _get raised already
            raise AssertionError(name)
        return value

    def require_long(self, name: str) -> int:
        value = self._need(name)
        if not _LONG.fullmatch(value):
            raise _illegal(name, _LONG_RANGE)
        return int(value)

    def amount(self, name: str = "amount") -> Decimal:
        value = self._need(name)
        if not _DECIMAL.fullmatch(value):
            raise _illegal(name, _DECIMAL_RANGE)
        return Decimal(value)

    def asset(self, name: str, *, mandatory: bool = False) -> str | None:
        """An asset name, upper-cased as Binance does (reference 2.13 says so of max-borrowable)."""
        value = self._get(name, mandatory)
        if value is None:
            return None
        if not _ASSET.fullmatch(value):
            raise _illegal(name, _ASSET_RANGE)
        return value.upper()

    def text(self, name: str, *, mandatory: bool = False) -> str | None:
        return self._get(name, mandatory)

    def choice(self, name: str, choices: tuple[str, ...], *, mandatory: bool = False) -> str | None:
        """One of ``choices``, matched case-insensitively and returned in the choices' spelling."""
        value = self._get(name, mandatory)
        if value is None:
            return None
        for choice in choices:
            if value.upper() == choice.upper():
                return choice
        raise invalid(name)

    def boolean(self, name: str) -> bool:
        return self.choice(name, ("TRUE", "FALSE"), mandatory=True) == "TRUE"

    def page(self) -> tuple[int, int]:
        """``(offset, size)`` from the 1-based ``current`` and ``size`` (default 10, max 100)."""
        current = self.long("current")
        size = self.long("size")
        current = 1 if current is None else current
        size = PAGE_SIZE_DEFAULT if size is None else size
        if current < 1:
            raise invalid("current")
        if not 1 <= size <= PAGE_SIZE_MAX:
            raise invalid("size")
        return (current - 1) * size, size

    def times(self) -> tuple[int | None, int | None]:
        return self.long("startTime"), self.long("endTime")

    def done(self) -> None:
        """Refuse parameters the endpoint did not read (sent but unknown)."""
        unread = set(self._raw) - self._read
        if unread:
            read = len(self._raw) - len(unread)
            raise SimError(
                -1104,
                f"Not all sent parameters were read; read '{read}' parameter(s) but was sent "
                f"'{len(self._raw)}'.",
            )


# An endpoint: (caller, its parameters, the exchange's now) -> the JSON-able body.
Handler = Callable[[Account, "Params", int], Any]


@attrs.frozen
class Window:
    """An inclusive ``[start, end]`` range of milliseconds."""

    start: int
    end: int

    def __contains__(self, ms: object) -> bool:
        return isinstance(ms, int) and self.start <= ms <= self.end


def _check(start: int, end: int) -> None:
    if start > end:
        raise SimError(-3011, "Your input date is invalid.")
    if end - start > MAX_SPAN_MS:
        raise SimError(-1127, "More than 2400 hours between startTime and endTime.")


def window(start: int | None, end: int | None, now: int) -> Window:
    """The force-liquidation / transfer-record / borrow-repay rule (reference 1.11).

    No times: the last 7 days; only startTime: up to now; only endTime: the 7 days before it.
    A sent pair must not run backwards, and no window may span more than 100 days.
    """
    if start is not None and end is not None:
        _check(start, end)
        return Window(start, end)
    if start is not None:
        # A startTime in the future gives an empty window: only an explicit pair can be
        # "backwards".
        if now - start > MAX_SPAN_MS:
            _check(start, now)
        return Window(start, now)
    if end is not None:
        return Window(end - DEFAULT_SPAN_MS, end)
    return Window(now - DEFAULT_SPAN_MS, now)


def interest_window(start: int | None, end: int | None, now: int) -> Window:
    """The interest-history rule: only startTime means ``[max(startTime, now - 30 d), now]``.

    A startTime in the future then gives an empty window rather than an error: the caller
    did not send a backwards pair, the rule derived one.
    """
    if start is not None and end is not None:
        _check(start, end)
        return Window(start, end)
    if start is not None:
        return Window(max(start, now - INTEREST_REACH_MS), now)
    if end is not None:
        return Window(end - DEFAULT_SPAN_MS, end)
    return Window(now - DEFAULT_SPAN_MS, now)
