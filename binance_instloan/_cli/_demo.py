"""``demo``: a short guided tour on the built-in simulator (no keys, no network).

LTV, a borrow and its repayment, a year of hourly interest for every unit and asset pulled
concurrently with ``asyncio.gather``, and how much of Binance's rate budget all that used.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

import attrs
from rich.console import Console

from .._client import AsyncInstLoanClient
from .._limiter import RateLimits
from .._models import RiskUnitDetails
from .._response import ResponseInfo
from ..simulator import Simulator
from ._output import display, table

DEMO_ASSET: Final = "USDT"
DEMO_AMOUNT: Final = Decimal("1000")
HISTORY_DAYS: Final = 365

Say = Callable[..., None]  # Console.print


@attrs.frozen
class Pulled:
    group_id: int
    asset: str
    rows: int
    interest: Decimal
    requests: int


async def run_demo(sim: Simulator, console: Console) -> None:
    say = console.print
    limits = RateLimits()
    say(f"[bold]binance-instloan demo[/]: the built-in simulator (seed {sim.seed}, "
        f"{len(sim.group_ids)} risk units, a year of hourly history), in-process: no API keys, "
        "no network. The demo always runs on the simulator.")
    say(f"Binance's real budgets apply: {limits.ip_weight:,} weight per minute for each "
        f"IP-limited endpoint, {limits.uid_weight:,} for each UID-limited one. The rate window "
        "is not scaled: the whole tour fits in one minute's budget.\n")
    async with sim.client("parent") as parent:
        # The capture follows this task and the tasks it starts, whichever client they use.
        with parent.capture_responses() as seen:
            details = await _units(parent, say)
            group = details[0].group_id
            await _borrow_and_repay(sim, group, say)
            assets = sorted({d.asset_name for u in details for d in u.liabilities})
            states = await _history(sim, assets or [DEMO_ASSET], say)
    say("[bold]4. Rate budget used[/] by the whole tour (from client.capture_responses())")
    say(table(None, ["endpoint", "budget", "calls", "weight sent", "used in window (header)",
                     "limit", "share"], _budget_rows(seen, limits)))
    for group_id, used, limit in states:
        say(f"   client of unit {group_id}: rate_limit_state() shows {used:,} of {limit:,} "
            "used in this window for interest-history (it follows the server's used-weight "
            "header, which counts every client on this IP)")
    say("\nNext: [bold]binance-instloan --sim ltv[/], [bold]binance-instloan --sim history "
        "interest --since 30d --format csv --output interest.csv[/], [bold]binance-instloan "
        "--sim watch-ltv --alert-above 0.25[/]. Drop --sim and set BINANCE_API_KEY and "
        "BINANCE_API_SECRET to use your own account.")


async def _units(parent: AsyncInstLoanClient, say: Say) -> list[RiskUnitDetails]:
    say("[bold]1. Risk units[/] (parent key: get_ltv_details(), GET ltv-details, weight 200)")
    details = await parent.get_ltv_details()
    say(table(None, ["group", "LTV", "liability", "net equity", "max transfer-out"], [
        [str(u.group_id), display(u.ltv), display(u.total_liability),
         display(u.total_net_equity), display(u.max_transfer_out_amount)] for u in details
    ]))
    return details


async def _borrow_and_repay(sim: Simulator, group: int, say: Say) -> None:
    say(f"[bold]2. Borrow and repay[/] {DEMO_AMOUNT} {DEMO_ASSET} in unit {group} (credit key; "
        "each POST weighs 3000 of its UID budget and is never re-sent blindly)")
    async with sim.client("credit", group) as credit:
        headroom = await credit.get_max_borrowable(asset=DEMO_ASSET, group_id=group)
        say(f"   max borrowable now: {display(headroom.max_borrowable_amount)} {DEMO_ASSET}")
        before = await _ltv(credit)
        borrowed = await credit.borrow(group_id=group, asset=DEMO_ASSET, amount=DEMO_AMOUNT)
        say(f"   borrow({DEMO_AMOUNT}): transaction {borrowed.transaction_id}, "
            f"{borrowed.status}; LTV {before} -> {await _ltv(credit)}")
        repaid = await credit.repay(group_id=group, asset=DEMO_ASSET, amount=DEMO_AMOUNT)
        say(f"   repay({DEMO_AMOUNT}): repaid {display(repaid.amount)} (transaction "
            f"{repaid.transaction_id}); LTV back to {await _ltv(credit)}\n")


async def _history(
    sim: Simulator, assets: Sequence[str], say: Say,
) -> list[tuple[int, int, int]]:
    units = sim.group_ids
    say(f"[bold]3. A year of interest history[/]: {len(units)} units x {len(assets)} assets at "
        "once with asyncio.gather over iter_interest_history() (one credit client per unit; "
        "each walk is cut into 100-day windows of 100-row pages)")
    since = datetime.now(UTC) - timedelta(days=HISTORY_DAYS)
    clients = {g: sim.client("credit", g) for g in units}
    started = time.perf_counter()
    try:
        pulled = await asyncio.gather(
            *(_pull(clients[g], g, a, since) for g in units for a in assets)
        )
        states = [
            (g, bucket.used, bucket.limit)
            for g, client in clients.items()
            for name, bucket in client.rate_limit_state().buckets.items()
            if name.endswith("/interest-history")
        ]
    finally:
        await asyncio.gather(*(c.aclose() for c in clients.values()))
    elapsed = time.perf_counter() - started
    say(table(None, ["group", "asset", "rows", "interest paid", "requests"], [
        [str(p.group_id), p.asset, f"{p.rows:,}", display(p.interest), f"{p.requests:,}"]
        for p in pulled
    ]))
    say(f"   {sum(p.rows for p in pulled):,} rows, "
        f"{sum(p.requests for p in pulled):,} requests, {elapsed:.2f} s\n")
    return states


async def _pull(client: AsyncInstLoanClient, group_id: int, asset: str, since: datetime) -> Pulled:
    rows, interest = 0, Decimal(0)
    iterator = client.iter_interest_history(start_time=since, group_id=group_id, asset=asset)
    async with iterator:
        async for record in iterator:
            rows += 1
            interest += record.interest
    return Pulled(group_id, asset, rows, interest, iterator.requests_made)


async def _ltv(client: AsyncInstLoanClient) -> str:
    units = await client.get_ltv_details()
    return display(units[0].ltv) if units else "-"


def _budget_rows(seen: Sequence[ResponseInfo], limits: RateLimits) -> list[list[str]]:
    by_endpoint: dict[tuple[str, str], list[ResponseInfo]] = defaultdict(list)
    for info in seen:
        by_endpoint[(info.method, info.path)].append(info)
    rows = []
    for (method, path), infos in by_endpoint.items():
        budget = infos[0].budget
        limit = limits.limit_for(f"{budget}:{path}")
        used = max((i.used_weight or 0) for i in infos)
        rows.append([
            f"{method} {path.rsplit('/', 1)[-1]}", budget, f"{len(infos):,}",
            f"{sum(i.weight for i in infos):,}", f"{used:,}", f"{limit:,}", f"{used / limit:.1%}",
        ])
    return rows
