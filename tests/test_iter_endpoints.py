"""Each ``iter_*`` method: its filters, its window rule, its rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from binance_instloan import AsyncInstLoanClient, RebateType
from binance_instloan._models import (
    ClosedRiskUnit,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateRecord,
)
from tests._fake_history import (
    DAY_MS,
    ENDPOINTS,
    FakeBinance,
    borrow_repay_row,
    closed_unit_row,
    interest_row,
    liquidation_row,
    rebate_row,
    transfer_row,
)

END = 1_750_000_000_000
START = END - 365 * DAY_MS


@pytest.fixture
def fake() -> FakeBinance:
    return FakeBinance()


@pytest.fixture
async def client(fake: FakeBinance) -> AsyncIterator[AsyncInstLoanClient]:
    async with fake.client() as c:
        yield c


def spans(fake: FakeBinance) -> list[int]:
    return [end - start for start, end in (seen.window for seen in fake.requests)]


async def test_interest_history_sends_its_filters_on_every_page(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for t in range(END, START, -DAY_MS):
        fake.add("interest", t, interest_row(t, asset="USDC", group_id=7))
        fake.add("interest", t, interest_row(t, asset="USDT", group_id=7))

    rows = await client.iter_interest_history(
        start_time=START, end_time=END, asset="USDC", group_id=7
    ).collect()

    assert {row.asset_name for row in rows} == {"USDC"}
    assert len(rows) == 365
    assert {(s.params["asset"], s.params["groupId"]) for s in fake.requests} == {("USDC", "7")}


async def test_borrow_repay_windows_are_7_days_without_asset(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    it = client.iter_borrow_repay_records(type="BORROW", start_time=START, end_time=END)
    await it.collect()

    assert it.windows_total == len(fake.requests) == 53
    assert max(spans(fake)) <= 7 * DAY_MS
    assert fake.rejected_400 == 0


async def test_borrow_repay_windows_are_30_days_with_asset(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    it = client.iter_borrow_repay_records(type="REPAY", asset="USDT", start_time=START,
                                          end_time=END)
    await it.collect()

    assert it.windows_total == len(fake.requests) == 13
    assert max(spans(fake)) <= 30 * DAY_MS
    assert {s.params["type"] for s in fake.requests} == {"REPAY"}


async def test_borrow_repay_repay_walk_returns_every_kind_of_repayment(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    fake.add("borrow_repay", END - 3, borrow_repay_row(END - 3, type="BORROW"))
    fake.add("borrow_repay", END - 2, borrow_repay_row(END - 2, type="NORMAL_REPAY"))
    fake.add("borrow_repay", END - 1, borrow_repay_row(END - 1, type="FORCE_REPAY"))

    rows = await client.iter_borrow_repay_records(
        type="REPAY", start_time=END - DAY_MS, end_time=END
    ).collect()

    assert [row.type for row in rows] == ["FORCE_REPAY", "NORMAL_REPAY"]
    assert rows[0].principal == Decimal("298")


async def test_force_liquidations_walk_100_day_windows_for_one_unit(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for t in range(END, START, -10 * DAY_MS):
        fake.add("liquidations", t, liquidation_row(t))

    rows = await client.iter_force_liquidations(
        start_time=START, end_time=END, group_id=6
    ).collect()

    assert len(rows) == 37 and all(isinstance(row, ForceLiquidation) for row in rows)
    assert rows == sorted(rows, key=lambda row: row.liquidation_start_time, reverse=True)
    assert {s.params["groupId"] for s in fake.requests} == {"6"}
    assert len(fake.requests) == 4 and max(spans(fake)) <= 100 * DAY_MS


async def test_force_liquidation_transfers_walk_100_day_windows(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for liquidation_id, t in enumerate(range(END, START, -30 * DAY_MS)):
        fake.add("transfers", t, transfer_row(t, liquidation_id=liquidation_id))

    rows = await client.iter_force_liquidation_transfers(start_time=START, end_time=END).collect()

    assert [row.liquidation_id for row in rows] == list(range(13))
    assert all(isinstance(row, ForceLiquidationTransfer) for row in rows)
    assert len(fake.requests) == 4 and "groupId" not in fake.requests[0].params


async def test_closed_risk_units_are_paged_without_a_time_range(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for group_id in range(1, 251):
        fake.add("closed", END + group_id, closed_unit_row(group_id, END + group_id))

    rows = await client.iter_closed_risk_units().collect()

    assert [row.group_id for row in rows] == list(range(250, 0, -1))
    assert all(isinstance(row, ClosedRiskUnit) for row in rows)
    assert [s.page for s in fake.requests] == [1, 2, 3]
    assert not any("startTime" in s.params or "endTime" in s.params for s in fake.requests)


async def test_rebate_records_are_one_window_with_start_time_optional(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for t in range(END, END - 3 * 365 * DAY_MS, -DAY_MS):
        fake.add("rebates", t, rebate_row(t))

    it = client.iter_interest_rebate_records(end_time=END)
    rows = await it.collect()

    assert it.windows_total == 1 and len(rows) == 3 * 365
    assert all(isinstance(row, InterestRebateRecord) for row in rows)
    assert {s.params.get("startTime") for s in fake.requests} == {None}
    assert {s.params["endTime"] for s in fake.requests} == {str(END)}


async def test_rebate_records_send_the_type_as_its_code(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    fake.add("rebates", END - 2, rebate_row(END - 2, type="ADD"))
    fake.add("rebates", END - 1, rebate_row(END - 1, type="INTEREST_OFFSET", delta="-1"))

    rows = await client.iter_interest_rebate_records(
        type=RebateType.INTEREST_OFFSET, start_time=datetime(2025, 1, 1, tzinfo=UTC),
        end_time=END,
    ).collect()

    assert [row.delta for row in rows] == [Decimal("-1")]
    assert fake.requests[0].params["type"] == "2"
    assert fake.requests[0].params["startTime"] == "1735689600000"


async def test_aware_datetimes_are_accepted_as_the_range(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    await client.iter_interest_history(
        start_time=datetime(2025, 6, 1, tzinfo=UTC), end_time=datetime(2025, 6, 2, tzinfo=UTC)
    ).collect()

    assert fake.requests[0].window == (1748736000000, 1748822400000)


# -- the fake itself is strict: a walk that broke the rules would fail ------------------------


async def _raw(fake: FakeBinance, endpoint: str, **params: str | int) -> httpx.Response:
    async with httpx.AsyncClient(transport=fake.transport, base_url="http://127.0.0.1") as http:
        query = {**params, "timestamp": 1, "signature": "x"}
        return await http.get(ENDPOINTS[endpoint][0], params=query)


@pytest.mark.parametrize(
    ("endpoint", "params", "code"),
    [
        ("interest", {"startTime": 0, "endTime": 100 * DAY_MS + 1}, -1127),
        ("borrow_repay", {"type": "BORROW", "startTime": 0, "endTime": 7 * DAY_MS + 1}, -1127),
        ("borrow_repay", {"type": "BORROW", "asset": "USDT", "startTime": 0,
                          "endTime": 30 * DAY_MS + 1}, -1127),
        ("closed", {"size": 101}, -1130),
    ],
)
async def test_the_fake_answers_binance_errors_when_limits_are_broken(
    endpoint: str, params: dict[str, str | int], code: int
) -> None:
    response = await _raw(FakeBinance(), endpoint, **params)

    assert response.status_code == 400
    assert response.json()["code"] == code


async def test_the_fake_answers_429_past_the_window_weight() -> None:
    fake = FakeBinance(ip_weight=25)
    answers = [(await _raw(fake, "interest", startTime=0, endTime=1)).status_code
               for _ in range(3)]

    assert answers == [200, 200, 429]
