"""The exchange's records and their paged, newest-first queries.

Hourly interest rows are never stored one by one: a year of them for ten assets and three
units is 262,800 rows, and benchmarks stream far more. Between two changes of a unit's
liabilities every hour repeats the same rows, so the history keeps :class:`InterestRun` s
(assets, principals, rates, first and last hour) and computes any row from its index: a query
costs O(page size + runs in the window). The prefilled year is one run per unit; live accrual
adds one run per accrual step.

Every query's order is newest first; ties are broken by the opposite of the insertion order
(interest rows: by the asset's position in the exchange's asset list, last first).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs

from ._core import HOUR_MS, fixed8, java8, plain, q8
from ._params import Window

T = TypeVar("T")
LoanKind = Literal["BORROW", "REPAY"]
Page = tuple[int, list[Any]]


@attrs.frozen
class LoanRecord:
    """A borrow-repay row. ``type`` is BORROW, NORMAL_REPAY or FORCE_REPAY (reference 2.11)."""

    tran_id: int
    group_id: int
    asset: str
    amount: Decimal
    type: Literal["BORROW", "NORMAL_REPAY", "FORCE_REPAY"]
    status: Literal["CONFIRM", "FAILED"]
    timestamp: int
    principal: Decimal | None = None
    interest: Decimal | None = None

    @property
    def kind(self) -> LoanKind:
        return "BORROW" if self.type == "BORROW" else "REPAY"

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"tranId": self.tran_id, "assetName": self.asset,
                               "amount": self.amount}
        if self.principal is not None and self.interest is not None:
            row["principal"] = self.principal
            row["interest"] = self.interest
        row.update(status=self.status, type=self.type, timestamp=self.timestamp)
        return row


@attrs.frozen
class InterestRow:
    group_id: int
    asset: str
    principal: Decimal
    rate: Decimal
    interest: Decimal
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "groupId": self.group_id,
            "assetName": self.asset,
            "principal": self.principal,
            "interestRate": self.rate,
            "interest": self.interest,
            "interestTimestamp": self.timestamp,
        }


@attrs.frozen
class InterestRun:
    """One unit's hourly interest while its liabilities stay put: every hour in ``[first, last]``,
    one row per asset (in the exchange's asset order)."""

    group_id: int
    assets: tuple[str, ...]
    principal: tuple[Decimal, ...]
    rate: tuple[Decimal, ...]
    first_hour: int
    last_hour: int

    def page(self, asset: str | None, window: Window, offset: int, size: int) -> Page:
        """``(rows in the window, the rows from offset on, newest first)``."""
        if asset is None:
            picks = list(range(len(self.assets)))
        else:
            picks = [i for i, a in enumerate(self.assets) if a == asset]
        top = min(self.last_hour, window.end // HOUR_MS * HOUR_MS)
        bottom = max(self.first_hour, -(-window.start // HOUR_MS) * HOUR_MS)
        hours = (top - bottom) // HOUR_MS + 1 if top >= bottom else 0
        width = len(picks)
        total = hours * width
        rows: list[Any] = []
        for index in range(offset, min(total, offset + size)):
            i = picks[width - 1 - index % width]
            principal = self.principal[i]
            rows.append(
                InterestRow(
                    self.group_id, self.assets[i], principal, self.rate[i],
                    q8(principal * self.rate[i]), top - index // width * HOUR_MS,
                ).to_json()
            )
        return total, rows


@attrs.frozen
class Snapshot:
    email: str
    member_type: str
    wallet_type: str
    net_equity: Decimal
    maintain_margin: Decimal

    def to_json(self) -> dict[str, Any]:
        return {
            "subEmail": self.email,
            "memberType": self.member_type,
            "walletType": self.wallet_type,
            "netEquity": java8(self.net_equity),
            "maintainMargin": java8(self.maintain_margin),
        }


@attrs.frozen
class Transfer:
    time: int
    from_uid: int
    from_type: str
    to_uid: int
    to_type: str
    assets: tuple[tuple[str, Decimal], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "transferTime": self.time,
            "fromUid": self.from_uid,
            "fromAccountType": self.from_type,
            "toUid": self.to_uid,
            "toAccountType": self.to_type,
            "status": "CONFIRM",
            "assets": [{"assetName": a, "amount": plain(x)} for a, x in self.assets],
        }


@attrs.frozen
class Liquidation:
    liquidation_id: int
    group_id: int
    start_ms: int
    end_ms: int
    start_ltv: Decimal
    end_ltv: Decimal
    net_equity: Decimal
    maintenance: Decimal
    liability: Decimal
    snapshots: tuple[Snapshot, ...]
    liabilities: tuple[tuple[str, Decimal, Decimal], ...]
    transfers: tuple[Transfer, ...]

    def to_json(self) -> dict[str, Any]:
        owed = [{"assetName": a, "principal": java8(p), "interest": java8(i)}
                for a, p, i in self.liabilities]
        return {
            "groupId": self.group_id,
            # Bare numbers, as in the example; plain() keeps "1E+1"-style exponents out.
            "startLtv": Decimal(plain(self.start_ltv)),
            "endLtv": Decimal(plain(self.end_ltv)),
            "liquidationStartTime": self.start_ms,
            "liquidationEndTime": self.end_ms,
            "totalNetEquity": self.net_equity,
            "totalMaintenanceMargin": self.maintenance,
            "totalLiability": self.liability,
            "liquidationSnapshot": {
                "snapshots": [s.to_json() for s in self.snapshots],
                # The documented example shows one liability as an object, while the field
                # table says array: one liability is sent as the example, several as the table.
                "liabilities": owed[0] if len(owed) == 1 else owed,
            },
        }

    def transfers_json(self) -> dict[str, Any]:
        return {
            "liquidationId": self.liquidation_id,
            "liquidationTransferRecord": [t.to_json() for t in self.transfers],
        }


REBATE_TYPES = ("ADD", "DEDUCT", "INTEREST_OFFSET")


@attrs.frozen
class RebateRecord:
    type: Literal["ADD", "DEDUCT", "INTEREST_OFFSET"]
    delta: Decimal
    create_time: int
    group_id: int | None = None
    liability_asset: str | None = None
    deducted_interest: Decimal | None = None
    exchange_rate: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        row: dict[str, Any] = {"type": self.type}
        if self.group_id is not None:
            row["groupId"] = self.group_id
        row["rebateAsset"] = "USDT"
        row["delta"] = fixed8(self.delta)
        if self.liability_asset is not None:
            row["liabilityAsset"] = self.liability_asset
        if self.deducted_interest is not None:
            row["deductedInterest"] = fixed8(self.deducted_interest)
        if self.exchange_rate is not None:
            row["exchangeRate"] = fixed8(self.exchange_rate)
        row["createTime"] = self.create_time
        return row


def newest_first(items: Sequence[T], offset: int, size: int) -> list[T]:
    """Page ``offset:offset+size`` of ``items`` (oldest first) read newest first."""
    high = len(items) - offset
    if high <= 0:
        return []
    return list(reversed(items[max(0, high - size):high]))


def _in_window(items: Sequence[T], window: Window, key: Callable[[T], int]) -> Sequence[T]:
    low = bisect_left(items, window.start, key=key)
    high = bisect_right(items, window.end, key=key)
    return items[low:high]


class History:
    """Every record the exchange has written, indexed for the queries above."""

    def __init__(self) -> None:
        self._loans: dict[tuple[int, LoanKind], list[LoanRecord]] = {}
        self._runs: dict[int, list[InterestRun]] = {}
        self._liquidations: list[Liquidation] = []
        self._rebates: list[RebateRecord] = []

    # -- borrow / repay ---------------------------------------------------------------
    def add_loan(self, record: LoanRecord) -> None:
        rows = self._loans.setdefault((record.group_id, record.kind), [])
        insort(rows, record, key=lambda r: (r.timestamp, r.tran_id))

    def loans(self, group_id: int, kind: LoanKind, asset: str | None, window: Window,
              offset: int, size: int) -> Page:
        rows = _in_window(self._loans.get((group_id, kind), []), window, lambda r: r.timestamp)
        if asset is not None:
            rows = [r for r in rows if r.asset == asset]
        return len(rows), [r.to_json() for r in newest_first(rows, offset, size)]

    # -- interest ---------------------------------------------------------------------
    def add_interest(self, run: InterestRun) -> None:
        # Accrual only moves forward in time, so appending keeps the runs in order.
        self._runs.setdefault(run.group_id, []).append(run)

    def first_run(self, group_id: int) -> InterestRun | None:
        runs = self._runs.get(group_id)
        return runs[0] if runs else None

    def interest(self, group_id: int, asset: str | None, window: Window, offset: int,
                 size: int) -> Page:
        runs = self._runs.get(group_id, [])
        started = bisect_right(runs, window.end, key=lambda r: r.first_hour)
        total, rows = 0, list[Any]()
        for index in range(started - 1, -1, -1):
            run = runs[index]
            if run.last_hour < window.start:
                break
            count, taken = run.page(asset, window, offset, size - len(rows))
            total += count
            rows += taken
            offset = max(0, offset - count)
        return total, rows

    # -- liquidations -----------------------------------------------------------------
    def add_liquidation(self, liquidation: Liquidation) -> None:
        insort(self._liquidations, liquidation, key=lambda x: (x.start_ms, x.liquidation_id))

    def liquidations(self, group_id: int, window: Window, offset: int, size: int) -> Page:
        rows = [x for x in _in_window(self._liquidations, window, lambda x: x.start_ms)
                if x.group_id == group_id]
        return len(rows), [x.to_json() for x in newest_first(rows, offset, size)]

    def liquidation_transfers(self, group_ids: set[int], window: Window, offset: int,
                              size: int) -> Page:
        """Liquidations with transfers, by the time of their first transfer."""
        rows = sorted(
            (x for x in self._liquidations
             if x.group_id in group_ids and x.transfers and x.transfers[0].time in window),
            key=lambda x: (x.transfers[0].time, x.liquidation_id),
        )
        return len(rows), [x.transfers_json() for x in newest_first(rows, offset, size)]

    # -- interest rebate --------------------------------------------------------------
    def add_rebate(self, record: RebateRecord) -> None:
        insort(self._rebates, record, key=lambda r: r.create_time)

    def rebates(self, kind: str | None, window: Window, offset: int, size: int) -> Page:
        rows = [r for r in _in_window(self._rebates, window, lambda r: r.create_time)
                if kind is None or r.type == kind]
        return len(rows), [r.to_json() for r in newest_first(rows, offset, size)]

    def rebate_balance(self) -> tuple[Decimal, Decimal, Decimal]:
        """``(balance, totalGranted, totalConsumed)``: granted = ADDs, consumed = the rest."""
        granted = sum((r.delta for r in self._rebates if r.type == "ADD"), Decimal(0))
        consumed = -sum((r.delta for r in self._rebates if r.type != "ADD"), Decimal(0))
        return granted - consumed, granted, consumed
