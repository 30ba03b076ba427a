"""How long a 429 or 418 stops us: ``Retry-After`` read defensively.

The header drives a pause of the whole client (and, through ``RedisLimiter``, of a fleet), so
nothing read from it is trusted as is (RFC 9110 10.2.3: delay-seconds or an HTTP-date):

- anything unreadable (``nan``, ``-5``, ``inf``, garbage, a bad date) means the default pause;
- a pause is never shorter than :data:`DEFAULT_PAUSE_SECONDS`: sending again at once after a
  429 is how an IP gets banned;
- a pause is never longer than Binance's longest ban, 3 days (reference 1.7): a larger value
  is a broken proxy or server, and must not stop the client (or the fleet) for decades.

Whether a pause is waited out or raised is still up to ``max_pause_seconds``.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable
from typing import Final

__all__ = [
    "DEFAULT_BAN_SECONDS",
    "DEFAULT_PAUSE_SECONDS",
    "MAX_PAUSE_SECONDS",
    "pause_seconds",
    "read_retry_after",
]

# A 429 without Retry-After: "a few seconds".
DEFAULT_PAUSE_SECONDS: Final = 5.0
# A 418 without Retry-After: Binance's shortest ban is 2 minutes (reference 1.7).
DEFAULT_BAN_SECONDS: Final = 120.0
# Binance's longest ban (reference 1.7).
MAX_PAUSE_SECONDS: Final = 3 * 24 * 3600.0

# delay-seconds is 1*DIGIT; a fraction is tolerated, a sign or an exponent is not.
_DELAY_SECONDS: Final = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,30})?")


def read_retry_after(
    value: str | None, *, now: Callable[[], float] = time.time,
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, clamped; None when absent or unreadable.

    An HTTP-date is measured against ``now()`` (local wall-clock seconds).
    """
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            return None  # RFC 9110 dates are GMT; one without a zone is not one of them
        seconds = when.timestamp() - now()
    return _clamp(seconds)


def pause_seconds(retry_after: float | None, default: float) -> float:
    """The pause to apply for a ``retry_after`` already read (or passed in by a caller).

    None, NaN, or a negative value mean ``default``; the result lies between
    :data:`DEFAULT_PAUSE_SECONDS` and :data:`MAX_PAUSE_SECONDS`.
    """
    if (
        retry_after is None
        or isinstance(retry_after, bool)
        or not isinstance(retry_after, int | float)
        or math.isnan(retry_after)
        or retry_after < 0
    ):
        return _clamp(default)
    return _clamp(float(retry_after))


def _clamp(seconds: float) -> float:
    if math.isnan(seconds):
        return DEFAULT_PAUSE_SECONDS
    return min(max(seconds, DEFAULT_PAUSE_SECONDS), MAX_PAUSE_SECONDS)
