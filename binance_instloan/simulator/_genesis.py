"""The exchange's starting state, derived only from the seed, the settings and the start time.

Accounts: one parent; per risk unit one credit account (Portfolio Margin for odd units,
Cross Margin for even ones) and two collateral accounts; ``units + 3`` spare sub-accounts that
belong to no unit (the last one has no margin account) so edit-member has accounts to add.
Group ids count up from 10001. Prices are fixed (stablecoins 1, BTC 60000, ...; any other asset
gets a seeded price) and so are the hourly interest rates.

With ``history_days=N``, every unit starts owing every borrowable asset (about a quarter of its
net equity in all) and the history holds, for the N days before the start: the hourly interest
rows of every unit and asset (generated on demand, see :mod:`._history`), the original borrows,
a few borrow/repay pairs per week and some failed borrows, one force liquidation per unit with
its transfers and FORCE_REPAY row, and the parent's interest-rebate records (grants, one admin
deduction, daily interest offsets). Without history the units start with no liability.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

import attrs

from ._core import DAY_MS, HOUR_MS, ZERO, Account, Role, q8
from ._history import (
    History,
    InterestRun,
    Liquidation,
    LoanRecord,
    RebateRecord,
    Snapshot,
    Transfer,
)
from ._ledger import Holdings, Ledger, Member, Unit, WalletType

FIRST_GROUP_ID: Final = 10001
COLLATERALS_PER_UNIT: Final = 2
SPARES_BEYOND_UNITS: Final = 3
_DOMAIN: Final = "sim.instloan.test"
_KNOWN_PRICES: Final = {
    "USDT": "1", "USDC": "1", "FDUSD": "1", "BUSD": "1", "TUSD": "1", "DAI": "1", "U": "1",
    "BTC": "60000", "ETH": "3000", "BNB": "600", "SOL": "150", "XRP": "0.6", "DOGE": "0.15",
}
_KNOWN_RATES: Final = {"USDT": "0.00000833", "USDC": "0.00000790", "BTC": "0.00000250"}
_REBATE_GRANT: Final = Decimal(5000)
_REBATE_MONTHLY_GRANT: Final = Decimal(1000)
_REBATE_DEDUCTION: Final = Decimal(500)


@attrs.define
class Genesis:
    parent: Account
    accounts: dict[int, Account]
    ledger: Ledger
    units: dict[int, Unit]
    history: History
    rates: dict[str, Decimal]
    tran_ids: itertools.count[int]
    liquidation_ids: itertools.count[int]


def price_of(seed: int, asset: str) -> Decimal:
    known = _KNOWN_PRICES.get(asset)
    if known is not None:
        return Decimal(known)
    return Decimal(random.Random(f"{seed}:price:{asset}").randrange(10, 50_000)) / 100


def rate_of(seed: int, asset: str) -> Decimal:
    known = _KNOWN_RATES.get(asset)
    if known is not None:
        return Decimal(known)
    return Decimal(random.Random(f"{seed}:rate:{asset}").randrange(300, 1500)) / 10**8


def build(
    *, seed: int, units: int, assets: Sequence[str], history_days: int, now: int
) -> Genesis:
    rng = random.Random(seed)
    prices = {a: price_of(seed, a) for a in (*_KNOWN_PRICES, *assets)}
    world = Genesis(
        parent=Account(0, "", "parent", None),
        accounts={},
        ledger=Ledger(prices),
        units={},
        history=History(),
        rates={a: rate_of(seed, a) for a in assets},
        tran_ids=itertools.count(1_648_963_682 + rng.randrange(1_000_000)),
        liquidation_ids=itertools.count(50 + rng.randrange(50)),
    )
    tag = f"{rng.randrange(16**6):06x}"
    uids = itertools.count(1_000_255_000_000 + rng.randrange(900_000) * 1000)
    world.parent = _account(world, next(uids), f"parent.{tag}", "parent", None)
    start = now - history_days * DAY_MS
    created = start - DAY_MS
    for index in range(units):
        group_id = FIRST_GROUP_ID + index
        margin_type: WalletType = "PORTFOLIO_MARGIN" if index % 2 == 0 else "CROSS_MARGIN"
        credit = _account(world, next(uids), f"credit{index + 1}.{tag}", "credit", group_id)
        world.ledger.holdings[credit.uid] = Holdings(
            {"USDT": _amount(rng, 1_000, 10_000)},
            {"USDT": _amount(rng, 10_000, 50_000)},
            margin_type,
        )
        members = [Member(credit.uid, "CREDIT", True, True, created)]
        for k in range(COLLATERALS_PER_UNIT):
            name = f"collateral{index + 1}{'abcdefgh'[k]}.{tag}"
            collateral = _account(world, next(uids), name, "collateral", group_id)
            world.ledger.holdings[collateral.uid] = _collateral_holdings(rng, assets)
            members.append(Member(collateral.uid, "COLLATERAL", True, True, created))
        limit = Decimal(rng.choice((1_000_000, 2_000_000, 3_000_000)))
        world.units[group_id] = Unit(group_id, credit.uid, created, created, limit, members)
    for n in range(units + SPARES_BEYOND_UNITS):
        spare = _account(world, next(uids), f"spare{n + 1}.{tag}", "collateral", None)
        last = n == units + SPARES_BEYOND_UNITS - 1
        world.ledger.holdings[spare.uid] = Holdings(
            {"USDT": _amount(rng, 10_000, 100_000)},
            None if last else {"USDT": _amount(rng, 10_000, 100_000)},
            None if last else "CROSS_MARGIN",
        )
    if history_days > 0:
        _prefill(world, random.Random(f"{seed}:history"), list(assets), start, now)
    return world


def _account(world: Genesis, uid: int, name: str, role: Role, group_id: int | None) -> Account:
    account = Account(uid, f"{name}@{_DOMAIN}", role, group_id)
    world.accounts[uid] = account
    return account


def _amount(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low, high))


def _collateral_holdings(rng: random.Random, assets: Sequence[str]) -> Holdings:
    margin = {"USDT": _amount(rng, 100_000, 500_000)}
    if len(assets) > 1 and assets[1] != "USDT":
        margin[assets[1]] = _amount(rng, 10_000, 100_000)
    return Holdings(
        {"USDT": _amount(rng, 200_000, 800_000), "BTC": _amount(rng, 1, 10)},
        margin,
        "CROSS_MARGIN",
    )


def _prefill(world: Genesis, rng: random.Random, assets: list[str], start: int, now: int) -> None:
    ledger, history = world.ledger, world.history
    first_hour = start // HOUR_MS * HOUR_MS + HOUR_MS
    last_hour = now // HOUR_MS * HOUR_MS
    days = (now - start) // DAY_MS
    for index, unit in enumerate(world.units.values()):
        equity = ledger.totals(unit).net_equity
        share = equity / 4 / len(assets)
        credit_margin = ledger.holdings[unit.credit_uid].wallet("MARGIN")
        for n, asset in enumerate(assets):
            factor = Decimal(rng.randrange(50, 150)) / 100
            principal = q8(share * factor / ledger.price(asset))
            unit.principal[asset] = principal
            credit_margin[asset] = credit_margin.get(asset, ZERO) + principal
            history.add_loan(LoanRecord(next(world.tran_ids), unit.group_id, asset, principal,
                                        "BORROW", "CONFIRM", start + (n + 1) * 60_000))
        history.add_interest(InterestRun(
            unit.group_id, tuple(assets), tuple(unit.principal[a] for a in assets),
            tuple(world.rates[a] for a in assets), first_hour, last_hour,
        ))
        _daily_loans(world, rng, unit, assets, start, days)
        # The history runs up to now, so the unit's state is as of the last accrual, not its
        # creation a year ago (a fresh simulator's ltv showed a date a year stale).
        unit.updated_ms = last_hour
        _liquidation(world, rng, unit, assets[0], now - (2 + 30 * index) % days * DAY_MS)
    _rebates(world, start, days)


def _daily_loans(world: Genesis, rng: random.Random, unit: Unit, assets: list[str],
                 start: int, days: int) -> None:
    for day in range(1, days):
        if rng.random() >= 0.3:
            continue
        asset = rng.choice(assets)
        amount = q8(Decimal(rng.randrange(1_000, 50_000)) / world.ledger.price(asset))
        at = start + day * DAY_MS + rng.randrange(HOUR_MS, 12 * HOUR_MS)
        failed = rng.random() < 0.1
        world.history.add_loan(LoanRecord(next(world.tran_ids), unit.group_id, asset, amount,
                                          "BORROW", "FAILED" if failed else "CONFIRM", at))
        if failed:
            continue
        hours = rng.randrange(1, 10)
        interest = q8(amount * world.rates[asset] * hours)
        world.history.add_loan(LoanRecord(
            next(world.tran_ids), unit.group_id, asset, amount + interest, "NORMAL_REPAY",
            "CONFIRM", at + hours * HOUR_MS, principal=amount, interest=interest,
        ))


def _liquidation(world: Genesis, rng: random.Random, unit: Unit, asset: str, day: int) -> None:
    """A past liquidation of ``unit``: snapshot of today's wallets, transfers, FORCE_REPAY."""
    ledger = world.ledger
    at = day - 3 * HOUR_MS
    credit = world.accounts[unit.credit_uid]
    credit_type = ledger.holdings[credit.uid].margin_type or "CROSS_MARGIN"
    snapshots, transfers = [], []
    for n, member in enumerate(unit.members):
        email = world.accounts[member.uid].email
        for view in ledger.wallets(unit, member):
            snapshots.append(Snapshot(email, member.type, view.account_type, view.net_equity,
                                      view.maintain_margin))
        if member.type == "COLLATERAL":
            amount = q8(Decimal(rng.randrange(100_000, 2_000_000)) / 100 / ledger.price(asset))
            transfers.append(Transfer(at + n * 60_000, member.uid, "CROSS_MARGIN", credit.uid,
                                      credit_type, ((asset, amount),)))
    moved = sum((t.assets[0][1] for t in transfers), ZERO)
    interest = q8(moved / 100)
    totals = ledger.totals(unit)
    world.history.add_liquidation(Liquidation(
        next(world.liquidation_ids), unit.group_id, at, at + HOUR_MS,
        Decimal(rng.randrange(90, 100)) / 100, Decimal(rng.randrange(40, 70)) / 100,
        totals.net_equity, totals.maintenance, totals.liability + moved, tuple(snapshots),
        ((asset, unit.principal.get(asset, ZERO) + moved - interest, interest),), tuple(transfers),
    ))
    world.history.add_loan(LoanRecord(
        next(world.tran_ids), unit.group_id, asset, moved, "FORCE_REPAY", "CONFIRM",
        at + HOUR_MS, principal=moved - interest, interest=interest,
    ))


def _rebates(world: Genesis, start: int, days: int) -> None:
    history = world.history
    balance = _REBATE_GRANT
    history.add_rebate(RebateRecord("ADD", _REBATE_GRANT, start + HOUR_MS))
    for day in range(1, days):
        midnight = start + day * DAY_MS
        if day % 30 == 0:
            balance += _REBATE_MONTHLY_GRANT
            history.add_rebate(RebateRecord("ADD", _REBATE_MONTHLY_GRANT, midnight))
        if day == days // 2 and balance >= _REBATE_DEDUCTION:
            balance -= _REBATE_DEDUCTION
            history.add_rebate(RebateRecord("DEDUCT", -_REBATE_DEDUCTION, midnight + 1))
        for n, unit in enumerate(world.units.values()):
            run = history.first_run(unit.group_id)
            if run is None:
                continue
            asset = run.assets[0]
            # A tenth of a day's interest on the unit's first asset, while the balance lasts.
            daily = run.principal[0] * run.rate[0] * 24 / 10 * world.ledger.price(asset)
            offset = q8(min(daily, balance))
            if not offset:
                continue
            balance -= offset
            rate = q8(1 / world.ledger.price(asset))
            history.add_rebate(RebateRecord(
                "INTEREST_OFFSET", -offset, midnight + 2 * HOUR_MS + n, unit.group_id, asset,
                q8(offset * rate), rate,
            ))
