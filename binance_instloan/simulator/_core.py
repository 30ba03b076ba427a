"""Small shared pieces of the simulated exchange: errors, accounts, money formatting.

Written from the API reference, like the rest of the simulator: nothing here comes from the
client's private modules, so a mistake in the client is not silently shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final, Literal

import attrs

HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000
Q8: Final = Decimal("0.00000001")
ZERO: Final = Decimal(0)

Role = Literal["parent", "credit", "collateral"]


class SimError(Exception):
    """A Binance error answer: ``{"code": code, "msg": msg}`` with HTTP ``status``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status


@attrs.frozen
class Account:
    """A Binance account known to the simulator; ``group_id`` is its active risk unit."""

    uid: int
    email: str
    role: Role
    group_id: int | None


@attrs.frozen
class Execution:
    """One request that changed the exchange's state (kept so tests can count them)."""

    method: str
    path: str
    params: Mapping[str, str]
    uid: int
    at_ms: int
    result: Any


def q8(value: Decimal) -> Decimal:
    """Cut to Binance's 8 decimal places; rounding down never creates money."""
    return value.quantize(Q8, rounding=ROUND_DOWN)


def plain(value: Decimal) -> str:
    """The compact string the ltv-details example uses: ``"26.35196946"``, ``"0"``."""
    text = format(q8(value).normalize(), "f")
    return "0" if text in ("-0", "0.00000000") else text


def fixed8(value: Decimal) -> str:
    """Always eight decimals, as max-borrowable and the rebate records show them."""
    return format(q8(value), "f")


def java8(value: Decimal) -> str:
    """Java ``BigDecimal.toString`` at scale 8, as the liquidation snapshots show (``"0E-8"``)."""
    return str(q8(value))


def unauthorized() -> SimError:
    return SimError(-1002, "You are not authorized to execute this request.", 401)


def require_role(caller: Account, *roles: Role) -> None:
    if caller.role not in roles:
        raise unauthorized()


def illegal_argument() -> SimError:
    return SimError(-27000, "Illegal argument or invalid input.")


def group_not_found() -> SimError:
    return SimError(-27001, "Loan group not found")
