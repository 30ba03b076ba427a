"""Wallets, risk units and the risk arithmetic of the simulated exchange.

Binance does not publish its formulas, so the simulator uses simple, consistent ones built on
the definitions in reference 2.1 (all values in USDT at fixed prices, 8 decimals, cut down):

- a wallet's **net equity** is the value of its balances; the credit account's margin wallet
  also carries the unit's liabilities, so its net equity is ``value - total liability``;
- a wallet's **maintenance margin** is 0, except the credit margin wallet's:
  ``total liability * 5 %``;
- ``totalNetEquity`` / ``totalMaintenanceMargin`` sum the wallets a member enabled as collateral
  (``enableSpot`` / ``enableMargin``); the credit account always counts its margin wallet;
- ``totalLiability`` = the value of every asset's outstanding principal + interest;
- ``ltv`` = totalLiability / totalNetEquity (0 without liability; capped at 999 when the net
  equity is gone);
- the **borrow ratio** (the most LTV a borrow or a transfer-out may leave) depends on the credit
  account's margin mode: 0.6 for Portfolio Margin, 0.5 for Cross Margin;
- **max borrowable** of an asset = ``max(0, min(maxAllowedBorrowLimit - L, ratio * E - L)) /
  price``: borrowed funds land in the credit margin wallet, so a borrow leaves E unchanged;
- the unit's **max transfer-out** (``maxTransferOutAmount``, USDT) = ``E - L / ratio`` (all of E
  without liability), floored at 0; an account's max transfer-out of an asset is its margin
  wallet's balance of that asset; a transfer may move ``min(unit max / price, account max)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Final, Literal

import attrs

from ._core import ZERO, q8

WalletType = Literal["SPOT", "CROSS_MARGIN", "PORTFOLIO_MARGIN"]
MemberType = Literal["CREDIT", "COLLATERAL"]

MAINTENANCE_RATE: Final = Decimal("0.05")
LTV_CAP: Final = Decimal(999)
BORROW_RATIO: Final[Mapping[str, Decimal]] = {
    "PORTFOLIO_MARGIN": Decimal("0.6"),
    "CROSS_MARGIN": Decimal("0.5"),
}
NEW_MEMBER_WAIT_MS: Final = 120_000


@attrs.define
class Holdings:
    """One account's wallets: asset -> balance. ``margin`` is None without a margin account."""

    spot: dict[str, Decimal]
    margin: dict[str, Decimal] | None
    margin_type: WalletType | None

    def wallet(self, kind: Literal["SPOT", "MARGIN"]) -> dict[str, Decimal]:
        if kind == "SPOT":
            return self.spot
        if self.margin is None:
            raise KeyError("no margin account")
        return self.margin


@attrs.define
class Member:
    uid: int
    type: MemberType
    enable_spot: bool
    enable_margin: bool
    added_ms: int


@attrs.define
class Unit:
    """A risk unit (loan group): its members and its liabilities per asset."""

    group_id: int
    credit_uid: int
    created_ms: int
    updated_ms: int
    max_borrow_limit: Decimal
    members: list[Member]
    principal: dict[str, Decimal] = attrs.field(factory=dict)
    interest: dict[str, Decimal] = attrs.field(factory=dict)
    closed_ms: int | None = None

    @property
    def active(self) -> bool:
        return self.closed_ms is None

    def member(self, uid: int) -> Member | None:
        return next((m for m in self.members if m.uid == uid), None)

    def owed(self, asset: str) -> Decimal:
        return self.principal.get(asset, ZERO) + self.interest.get(asset, ZERO)

    def liabilities(self) -> Iterator[tuple[str, Decimal, Decimal]]:
        """``(asset, principal, interest)`` for every asset still owed."""
        for asset in sorted(set(self.principal) | set(self.interest)):
            principal = self.principal.get(asset, ZERO)
            interest = self.interest.get(asset, ZERO)
            if principal or interest:
                yield asset, principal, interest

    def newest_member_ms(self) -> int:
        return max(m.added_ms for m in self.members)


@attrs.frozen
class WalletView:
    account_type: WalletType
    net_equity: Decimal
    maintain_margin: Decimal
    counted: bool


@attrs.frozen
class Totals:
    net_equity: Decimal
    maintenance: Decimal
    liability: Decimal
    ltv: Decimal


class Ledger:
    """Every account's wallets plus the fixed prices that value them."""

    def __init__(self, prices: Mapping[str, Decimal]) -> None:
        self.prices = dict(prices)
        self.holdings: dict[int, Holdings] = {}

    def price(self, asset: str) -> Decimal:
        return self.prices.get(asset, ZERO)

    def value(self, balances: Mapping[str, Decimal]) -> Decimal:
        return sum((amount * self.price(asset) for asset, amount in balances.items()), ZERO)

    def liability_value(self, unit: Unit) -> Decimal:
        return q8(sum((self.price(a) * (p + i) for a, p, i in unit.liabilities()), ZERO))

    def wallets(self, unit: Unit, member: Member) -> list[WalletView]:
        holdings = self.holdings[member.uid]
        views = [WalletView("SPOT", q8(self.value(holdings.spot)), ZERO, member.enable_spot)]
        if holdings.margin is not None and holdings.margin_type is not None:
            equity = self.value(holdings.margin)
            maintenance = ZERO
            if member.type == "CREDIT":
                liability = self.liability_value(unit)
                equity -= liability
                maintenance = liability * MAINTENANCE_RATE
            views.append(
                WalletView(holdings.margin_type, q8(equity), q8(maintenance), member.enable_margin)
            )
        return views

    def totals(self, unit: Unit) -> Totals:
        equity = maintenance = ZERO
        for member in unit.members:
            for view in self.wallets(unit, member):
                if view.counted:
                    equity += view.net_equity
                    maintenance += view.maintain_margin
        liability = self.liability_value(unit)
        if not liability:
            ltv = ZERO
        elif equity <= 0:
            ltv = LTV_CAP
        else:
            ltv = min(LTV_CAP, q8(liability / equity))
        return Totals(equity, maintenance, liability, ltv)

    def borrow_ratio(self, unit: Unit) -> Decimal:
        margin_type = self.holdings[unit.credit_uid].margin_type
        return BORROW_RATIO.get(margin_type or "CROSS_MARGIN", BORROW_RATIO["CROSS_MARGIN"])

    def max_borrowable(self, unit: Unit, asset: str) -> Decimal:
        price = self.price(asset)
        if not price:
            return ZERO
        totals = self.totals(unit)
        room = min(
            unit.max_borrow_limit - totals.liability,
            self.borrow_ratio(unit) * totals.net_equity - totals.liability,
        )
        return q8(max(ZERO, room) / price)

    def unit_max_transfer_out(self, unit: Unit) -> Decimal:
        totals = self.totals(unit)
        keep = totals.liability / self.borrow_ratio(unit)
        return q8(max(ZERO, totals.net_equity - keep))

    def max_transfer_out(self, unit: Unit, uid: int, asset: str) -> Decimal:
        price = self.price(asset)
        margin = self.holdings[uid].margin
        if not price or margin is None:
            return ZERO
        return q8(min(self.unit_max_transfer_out(unit) / price, margin.get(asset, ZERO)))
