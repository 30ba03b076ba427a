"""Binance's request-weight budgets (reference 1.7), on fixed windows of the simulator clock.

Each SAPI endpoint has its own budget: IP-limited ones per client IP, UID-limited ones per
account. ``/api/*`` shares one budget per IP. A request that would exceed its budget is refused
(429) and not charged; enough refusals to one IP inside one window ban it (418).

Whether ``/sapi/*`` bans at all is :attr:`Limits.sapi_bans`: the sources conflict (reference
1.7). The SAPI General Info template, which the reference takes as this product's rules
(1.0), describes 418 bans for every endpoint; the CAAS rate-limit page says ``/sapi/*`` always
answers 429 and bans apply to ``/api/*`` only. Banning is the default: a ban only ever follows
requests sent after 429s, so it cannot fail a bot that backs off, while skipping it would pass
one that does not. ``sapi_bans=False`` gives the CAAS page's behaviour: ``/sapi/*`` 429s are
neither counted towards a ban nor answered 418; ``/api/*`` still bans.
"""

from __future__ import annotations

import math

import attrs

from ._endpoints import Budget

Subject = str | int  # a client IP for IP/API budgets, a UID for UID budgets


@attrs.frozen
class Limits:
    ip: int = 12_000
    uid: int = 180_000
    api: int = 6_000
    window_seconds: float = 60.0
    enabled: bool = True
    ban_after_violations: int = 5
    ban_seconds: float = 120.0
    sapi_bans: bool = True

    def bans(self, path: str) -> bool:
        """Whether 429s on ``path`` count towards a ban, and a ban answers it with 418."""
        return self.sapi_bans or not path.startswith("/sapi/")

    def for_budget(self, budget: Budget) -> int:
        return {"IP": self.ip, "UID": self.uid, "API": self.api}[budget]


@attrs.frozen
class Admission:
    """The limiter's answer: admitted, or refused with how long to wait."""

    admitted: bool
    used: int
    retry_after: int = 0
    limit: int = 0


class RateLimiter:
    __slots__ = ("_bans", "_max_admitted", "_used", "_violations", "limits")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        # (bucket, subject) -> (window index, weight admitted in that window)
        self._used: dict[tuple[str, Subject], tuple[int, int]] = {}
        self._max_admitted: dict[str, int] = {}
        # ip -> (window index, 429s sent to it in that window)
        self._violations: dict[str, tuple[int, int]] = {}
        self._bans: dict[str, int] = {}  # ip -> banned until (ms)

    @property
    def window_ms(self) -> float:
        return self.limits.window_seconds * 1000.0

    def window_of(self, now_ms: int) -> int:
        return math.floor(now_ms / self.window_ms)

    def used(self, bucket: str, subject: Subject, now_ms: int) -> int:
        window, used = self._used.get((bucket, subject), (-1, 0))
        return used if window == self.window_of(now_ms) else 0

    def charge(
        self, bucket: str, budget: Budget, subject: Subject, weight: int, now_ms: int
    ) -> Admission:
        """Charge ``weight`` to the window of ``now_ms``, unless that would pass the limit."""
        window = self.window_of(now_ms)
        key = (bucket, subject)
        last_window, used = self._used.get(key, (window, 0))
        if last_window != window:
            used = 0
        limit = self.limits.for_budget(budget)
        if self.limits.enabled and used + weight > limit:
            window_end = (window + 1) * self.window_ms
            retry_after = max(1, math.ceil((window_end - now_ms) / 1000.0))
            return Admission(False, used, retry_after, limit)
        used += weight
        self._used[key] = (window, used)
        if used > self._max_admitted.get(bucket, 0):
            self._max_admitted[bucket] = used
        return Admission(True, used)

    def max_window_weight(self, bucket: str) -> int:
        return self._max_admitted.get(bucket, 0)

    def record_violation(self, ip: str, now_ms: int) -> None:
        """Count a 429 sent to ``ip``; enough of them in one window start a ban."""
        threshold = self.limits.ban_after_violations
        if threshold <= 0:
            return
        window = self.window_of(now_ms)
        last_window, count = self._violations.get(ip, (window, 0))
        count = count + 1 if last_window == window else 1
        self._violations[ip] = (window, count)
        if count >= threshold:
            self._bans[ip] = now_ms + round(self.limits.ban_seconds * 1000)
            del self._violations[ip]

    def banned_until(self, ip: str, now_ms: int) -> int | None:
        until = self._bans.get(ip)
        if until is None:
            return None
        if now_ms >= until:
            del self._bans[ip]
            return None
        return until

    def window_description(self) -> str:
        """The window as Binance words it in -1003 messages, e.g. ``1 MINUTE``."""
        seconds = self.limits.window_seconds
        if seconds % 60 == 0:
            minutes = int(seconds // 60)
            return f"{minutes} MINUTE" if minutes == 1 else f"{minutes} MINUTES"
        if seconds == int(seconds):
            return f"{int(seconds)} SECOND" if seconds == 1 else f"{int(seconds)} SECONDS"
        return f"{seconds:g} SECONDS"
