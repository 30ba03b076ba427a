"""A desk to drive the simulated exchange directly (no HTTP), for the exchange-model tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from binance_instloan.simulator._exchange import Account, Exchange, SimError

# 2026-01-01 00:00:00 UTC: on an hour boundary, so accrual arithmetic stays readable.
START_MS = 1_767_225_600_000
HOUR = 3_600_000
DAY = 86_400_000

_G = "/sapi/v1/margin/loan-group"
LTV = f"{_G}/ltv-details"
CLOSE = _G
LOAN_GROUP = _G
EDIT = f"{_G}/edit-member"
ACTIVE = "/sapi/v1/margin/loan-groups/activated"
CLOSED = "/sapi/v1/margin/loan-groups/closed"
LOAN_GROUPS = "/sapi/v1/margin/loan-groups"
LIQUIDATIONS = f"{_G}/force-liquidation"
TRANSFER = f"{_G}/transfer-out"
LIQUIDATION_TRANSFERS = f"{_G}/force-liquidation-transfer-record"
BORROW = f"{_G}/borrow"
REPAY = f"{_G}/repay"
RECORDS = f"{_G}/borrow-repay"
INTEREST = f"{_G}/interest-history"
MAX_BORROWABLE = f"{_G}/max-borrowable"
REBATE = f"{_G}/interest-rebate-balance"
REBATE_RECORDS = f"{_G}/interest-rebate-balance/records"


class Clock:
    """The exchange's clock, moved by hand."""

    def __init__(self, ms: int = START_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


class Desk:
    """An exchange plus its clock, with one-line calls as each role."""

    def __init__(self, *, seed: int = 7, units: int = 3,
                 assets: Sequence[str] = ("USDT", "USDC"), history_days: int = 0) -> None:
        self.clock = Clock()
        self.ex = Exchange(seed=seed, units=units, assets=assets, history_days=history_days,
                           now_ms=self.clock)

    @property
    def now(self) -> int:
        return self.clock.ms

    @property
    def parent(self) -> Account:
        return self.ex.parent

    def credit(self, group_id: int = 10001) -> Account:
        return self.ex.credit_account(group_id)

    def collateral(self, group_id: int = 10001, index: int = 0) -> Account:
        return self.ex.collateral_accounts(group_id)[index]

    def spares(self) -> list[Account]:
        return [a for a in self.ex.accounts.values()
                if a.role == "collateral" and a.group_id is None]

    def advance(self, seconds: float) -> None:
        """Move the clock and let the exchange accrue, as the app does before each call."""
        self.clock.ms += int(seconds * 1000)
        self.ex.advance_to(self.clock.ms)

    def call(self, method: str, path: str, who: Account, **params: object) -> Any:
        return self.ex.handle(method, path, who, {k: str(v) for k, v in params.items()})

    def get(self, path: str, who: Account, **params: object) -> Any:
        return self.call("GET", path, who, **params)

    def post(self, path: str, who: Account, **params: object) -> Any:
        return self.call("POST", path, who, **params)

    def delete(self, path: str, who: Account, **params: object) -> Any:
        return self.call("DELETE", path, who, **params)

    def error(self, method: str, path: str, who: Account, **params: object) -> SimError:
        with pytest.raises(SimError) as info:
            self.call(method, path, who, **params)
        return info.value

    # -- frequent reads -------------------------------------------------------------
    def details(self, group_id: int = 10001) -> dict[str, Any]:
        (unit,) = self.get(LTV, self.parent, groupId=group_id)
        return dict(unit)

    def max_borrowable(self, asset: str = "USDT", group_id: int = 10001) -> Decimal:
        body = self.get(MAX_BORROWABLE, self.parent, groupId=group_id, assetName=asset)
        return Decimal(body["maxBorrowableAmount"])

    def wallet(self, account: Account, account_type: str, group_id: int = 10001) -> Decimal:
        """A wallet's net equity as ltv-details reports it."""
        for member in self.details(group_id)["collateralAccounts"]:
            if member["email"] == account.email:
                for wallet in member["wallets"]:
                    if wallet["accountType"] == account_type:
                        return Decimal(wallet["netEquity"])
        raise KeyError((account.email, account_type))

    def owed(self, asset: str = "USDT", group_id: int = 10001) -> tuple[Decimal, Decimal]:
        """``(principal, interest)`` of one asset from ltv-details (zeros when not owed)."""
        for row in self.details(group_id)["liabilities"]:
            if row["assetName"] == asset:
                return Decimal(row["principal"]), Decimal(row["interest"])
        return Decimal(0), Decimal(0)

    def borrow(self, amount: str | Decimal, asset: str = "USDT", group_id: int = 10001) -> Any:
        return self.post(BORROW, self.credit(group_id), groupId=group_id, assetName=asset,
                         amount=amount)
