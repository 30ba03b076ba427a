"""The budgets a fleet sharing one Redis key prefix must agree on.

Two processes that count into the same Redis keys with different limits each believe their own
numbers: the one with the larger budget spends what the other thinks is reserved, and Binance
answers 429. So the first process stores its limits beside the budget, and a process whose
limits differ refuses to run (before sending anything) instead of silently disagreeing.
"""

from __future__ import annotations

from ._errors import ConfigurationError
from ._limiter import RateLimits

__all__ = ["limits_mismatch", "limits_signature"]


def limits_signature(limits: RateLimits, window_ms: int) -> str:
    """What must be equal across the fleet, as stored in Redis."""
    return (
        f"ip_weight={limits.ip_weight} uid_weight={limits.uid_weight} "
        f"api_weight={limits.api_weight} window_ms={window_ms}"
    )


def limits_mismatch(stored: bytes | str, mine: str, *, where: str, key: str) -> ConfigurationError:
    """The error for a process whose limits disagree with the fleet's."""
    theirs = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
    return ConfigurationError(
        f"the fleet sharing {key} at {where} runs with {theirs}, but this RedisLimiter was "
        f"given {mine}; nothing was sent. Pass the same RateLimits to every process (or a "
        "different key_prefix for a separate budget)"
    )
