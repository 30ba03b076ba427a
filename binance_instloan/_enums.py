"""String-valued enumerations (``StrEnum``) of the Institutional Loan API.

Response fields that hold one of these are typed ``X | str``: a value Binance adds later is
kept as its plain string instead of failing the whole response.
"""

from __future__ import annotations

import enum

__all__ = [
    "AccountType",
    "BorrowRepayType",
    "MemberType",
    "RebateType",
    "RepayFrom",
    "RiskUnitStatus",
    "TransactionStatus",
]


class AccountType(enum.StrEnum):
    """Wallet (account) type of a risk-unit member."""

    SPOT = "SPOT"
    CROSS_MARGIN = "CROSS_MARGIN"
    PORTFOLIO_MARGIN = "PORTFOLIO_MARGIN"
    ISOLATED_MARGIN = "ISOLATED_MARGIN"


class MemberType(enum.StrEnum):
    """Role of a sub-account inside a risk unit."""

    CREDIT = "CREDIT"
    COLLATERAL = "COLLATERAL"


class BorrowRepayType(enum.StrEnum):
    """Kind of a borrow/repay record; the request side takes only BORROW or REPAY."""

    BORROW = "BORROW"
    REPAY = "REPAY"
    NORMAL_REPAY = "NORMAL_REPAY"
    FORCE_REPAY = "FORCE_REPAY"


class TransactionStatus(enum.StrEnum):
    """Status of a borrow, repay or liquidation transfer."""

    CONFIRM = "CONFIRM"
    FAILED = "FAILED"
    PENDING = "PENDING"


class RebateType(enum.StrEnum):
    """Kind of an interest-rebate balance change."""

    ADD = "ADD"
    DEDUCT = "DEDUCT"
    INTEREST_OFFSET = "INTEREST_OFFSET"

    @property
    def request_code(self) -> int:
        """The INT the records request takes for this type (the response sends the name)."""
        if self is RebateType.ADD:
            return 0
        if self is RebateType.DEDUCT:
            return 1
        return 2


class RepayFrom(enum.StrEnum):
    """Wallet of the credit account a repayment is taken from."""

    MARGIN = "MARGIN"
    SPOT = "SPOT"


class RiskUnitStatus(enum.StrEnum):
    """Status returned when a risk unit is closed."""

    CLOSED = "CLOSED"
