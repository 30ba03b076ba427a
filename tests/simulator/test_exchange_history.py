"""History reads: time windows (reference 1.11), paging, order, interest accrual, prefill."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.simulator.exchange_support import (
    CLOSE,
    DAY,
    HOUR,
    INTEREST,
    REBATE,
    REBATE_RECORDS,
    RECORDS,
    REPAY,
    Desk,
)

TEN_ASSETS = ("USDT", "USDC", "BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "DOT")


@pytest.fixture(scope="module")
def year() -> Desk:
    """A year of history, read-only in these tests."""
    return Desk(history_days=365)


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _interest(desk: Desk, **params: object) -> dict[str, Any]:
    return dict(desk.get(INTEREST, desk.credit(), **params))


def _stamps(rows: list[dict[str, Any]], key: str = "interestTimestamp") -> list[int]:
    return [r[key] for r in rows]


# -- interest-history windows ----------------------------------------------------------
def test_interest_history_defaults_to_the_last_seven_days(year: Desk) -> None:
    page = _interest(year, size=100)
    assert page["total"] == (7 * 24 + 1) * 2
    assert page["rows"][0]["interestTimestamp"] == year.now


def test_interest_history_with_only_a_start_time_runs_to_now(year: Desk) -> None:
    page = _interest(year, startTime=year.now - 10 * DAY)
    assert page["total"] == (10 * 24 + 1) * 2


def test_interest_history_with_an_old_start_time_reaches_back_thirty_days(year: Desk) -> None:
    page = _interest(year, startTime=year.now - 60 * DAY)
    assert page["total"] == (30 * 24 + 1) * 2


def test_interest_history_with_only_an_end_time_covers_the_seven_days_before(year: Desk) -> None:
    end = year.now - 50 * DAY
    page = _interest(year, endTime=end, size=100)
    assert page["total"] == (7 * 24 + 1) * 2
    assert page["rows"][0]["interestTimestamp"] == end


def test_interest_history_accepts_a_window_of_exactly_one_hundred_days(year: Desk) -> None:
    page = _interest(year, startTime=year.now - 100 * DAY, endTime=year.now)
    assert page["total"] == (100 * 24 + 1) * 2


def test_a_window_longer_than_one_hundred_days_is_refused(year: Desk) -> None:
    error = year.error("GET", INTEREST, year.credit(), startTime=year.now - 100 * DAY - 1,
                       endTime=year.now)
    assert (error.code, error.msg) == (-1127, "More than 2400 hours between startTime and "
                                              "endTime.")


def test_a_start_time_after_the_end_time_is_refused(year: Desk) -> None:
    error = year.error("GET", INTEREST, year.credit(), startTime=year.now,
                       endTime=year.now - 1)
    assert (error.code, error.msg) == (-3011, "Your input date is invalid.")


def test_a_start_time_in_the_future_finds_nothing(year: Desk) -> None:
    assert _interest(year, startTime=year.now + DAY) == {"total": 0, "rows": []}


def test_interest_history_filters_by_asset(year: Desk) -> None:
    page = _interest(year, asset="USDC", size=100)
    assert page["total"] == 7 * 24 + 1
    assert {r["assetName"] for r in page["rows"]} == {"USDC"}


def test_interest_rows_show_numbers_as_documented(year: Desk) -> None:
    row = _interest(year, size=1)["rows"][0]
    assert list(row) == ["groupId", "assetName", "principal", "interestRate", "interest",
                         "interestTimestamp"]
    assert row["groupId"] == 10001
    assert all(isinstance(row[k], Decimal) for k in ("principal", "interestRate", "interest"))
    assert row["interest"] == (row["principal"] * row["interestRate"]).quantize(
        Decimal("1E-8"), "ROUND_DOWN"
    )


def test_interest_history_is_newest_first_and_on_the_hour(year: Desk) -> None:
    rows = _interest(year, size=100)["rows"]
    stamps = _stamps(rows)
    assert stamps == sorted(stamps, reverse=True)
    assert all(s % HOUR == 0 for s in stamps)
    assert [r["assetName"] for r in rows[:2]] == ["USDC", "USDT"]


def test_pages_follow_each_other(year: Desk) -> None:
    whole = _interest(year, size=30)["rows"]
    pages = [_interest(year, size=10, current=n)["rows"] for n in (1, 2, 3)]
    assert pages[0] + pages[1] + pages[2] == whole


def test_a_page_past_the_end_is_empty_but_keeps_the_total(year: Desk) -> None:
    assert _interest(year, size=100, current=5) == {"total": 338, "rows": []}


def test_the_prefilled_principal_is_the_units_liability(year: Desk) -> None:
    row = _interest(year, asset="USDT", size=1)["rows"][0]
    assert (row["principal"], Decimal(0)) == year.owed("USDT")


def test_interest_history_can_read_another_unit_only_by_its_own_credit(year: Desk) -> None:
    page = year.get(INTEREST, year.credit(10002), size=1)
    assert page["rows"][0]["groupId"] == 10002
    error = year.error("GET", INTEREST, year.credit(10002), groupId=10001)
    assert (error.code, error.msg) == (-27001, "Loan group not found")


def test_interest_history_is_for_the_credit_account_only(year: Desk) -> None:
    assert year.error("GET", INTEREST, year.parent).code == -1002


# -- a year, read in 100-day windows ----------------------------------------------------
def _read_window(desk: Desk, start: int, end: int) -> list[tuple[int, str]]:
    """Every row of one window, page by page (100 a page)."""
    rows: list[tuple[int, str]] = []
    current = 1
    while True:
        page = _interest(desk, startTime=start, endTime=end, size=100, current=current)
        rows += [(r["interestTimestamp"], r["assetName"]) for r in page["rows"]]
        if current * 100 >= page["total"]:
            assert len(rows) == page["total"]
            return rows
        current += 1


def test_a_year_read_in_hundred_day_windows_has_every_row_exactly_once() -> None:
    desk = Desk(history_days=365, assets=TEN_ASSETS, units=3)
    seen: list[tuple[int, str]] = []
    start = desk.now - 365 * DAY
    while start < desk.now:
        end = min(start + 100 * DAY - 1, desk.now)
        rows = _read_window(desk, start, end)
        order = [(stamp, TEN_ASSETS.index(asset)) for stamp, asset in rows]
        assert order == sorted(order, reverse=True)
        seen += rows
        start = end + 1
    assert len(seen) == 365 * 24 * 10
    assert len(set(seen)) == len(seen)
    assert {stamp for stamp, _ in seen} == {desk.now - n * HOUR for n in range(365 * 24)}


def test_the_same_seed_prefills_the_same_history() -> None:
    first, second = Desk(history_days=30), Desk(history_days=30)
    for path, params in ((INTEREST, {"size": 50}), (RECORDS, {"type": "REPAY", "asset": "USDT"})):
        assert first.get(path, first.credit(), **params) == second.get(path, second.credit(),
                                                                        **params)


# -- live accrual ----------------------------------------------------------------------
def test_each_hour_boundary_accrues_one_interest_row_per_liability(desk: Desk) -> None:
    desk.borrow("1000")
    desk.borrow("500", asset="USDC")
    desk.advance(3 * 3600)
    rows = _interest(desk, asset="USDT")["rows"]
    assert _stamps(rows) == [desk.now, desk.now - HOUR, desk.now - 2 * HOUR]
    assert rows[0] == {"groupId": 10001, "assetName": "USDT", "principal": Decimal(1000),
                       "interestRate": Decimal("0.00000833"), "interest": Decimal("0.00833"),
                       "interestTimestamp": desk.now}
    assert _interest(desk)["total"] == 6


def test_accrued_interest_adds_to_the_liability(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(5 * 3600)
    assert desk.owed("USDT") == (Decimal(1000), Decimal("0.04165"))
    assert desk.details()["totalLiability"] == "1000.04165"


def test_nothing_accrues_before_the_next_hour_boundary(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(59 * 60)
    assert _interest(desk)["total"] == 0


def test_going_back_in_time_accrues_nothing(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(3600)
    desk.ex.advance_to(desk.now - 10 * HOUR)
    desk.ex.advance_to(desk.now)
    assert _interest(desk)["total"] == 1


def test_accrual_follows_the_principal_as_it_changes(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(3600)
    desk.borrow("1000")
    desk.advance(3600)
    assert [r["principal"] for r in _interest(desk)["rows"]] == [2000, 1000]


def test_a_unit_without_liability_accrues_nothing(desk: Desk) -> None:
    desk.advance(10 * 3600)
    assert _interest(desk) == {"total": 0, "rows": []}


def test_pages_run_across_changes_of_principal(desk: Desk) -> None:
    for _ in range(5):
        desk.borrow("1000")
        desk.advance(3600)
    whole = _interest(desk, size=100)["rows"]
    assert [r["principal"] for r in whole] == [5000, 4000, 3000, 2000, 1000]
    pages = [_interest(desk, size=2, current=n)["rows"] for n in (1, 2, 3)]
    assert pages[0] + pages[1] + pages[2] == whole


def test_a_long_jump_accrues_every_hour_passed(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(365 * 24 * 3600)
    assert desk.owed("USDT") == (Decimal(1000), Decimal("0.00833") * 365 * 24)
    page = _interest(desk, startTime=desk.now - 100 * DAY, endTime=desk.now)
    assert page["total"] == 100 * 24 + 1


def test_live_rows_continue_the_prefilled_ones_without_a_gap() -> None:
    desk = Desk(history_days=2)
    desk.advance(2 * 3600)
    rows = _interest(desk, asset="USDT", startTime=desk.now - 5 * HOUR)["rows"]
    assert _stamps(rows) == [desk.now - n * HOUR for n in range(6)]
    assert len({r["principal"] for r in rows}) == 1


# -- borrow-repay windows ----------------------------------------------------------------
def test_borrow_repay_defaults_to_the_last_seven_days(year: Desk) -> None:
    page = year.get(RECORDS, year.credit(), type="BORROW", size=100)
    assert page["total"] > 0
    assert all(year.now - 7 * DAY <= s <= year.now for s in _stamps(page["rows"], "timestamp"))


def test_borrow_repay_with_an_asset_reaches_back_thirty_days_from_the_end(year: Desk) -> None:
    end = year.now - DAY
    wide = year.get(RECORDS, year.credit(), type="BORROW", asset="USDT",
                    startTime=end - 90 * DAY, endTime=end, size=100)
    exact = year.get(RECORDS, year.credit(), type="BORROW", asset="USDT",
                     startTime=end - 30 * DAY, endTime=end, size=100)
    assert wide == exact
    assert wide["total"] > 0


def test_borrow_repay_without_an_asset_reaches_back_seven_days_from_the_end(year: Desk) -> None:
    end = year.now - 3 * DAY
    wide = year.get(RECORDS, year.credit(), type="BORROW", startTime=end - 60 * DAY,
                    endTime=end, size=100)
    exact = year.get(RECORDS, year.credit(), type="BORROW", startTime=end - 7 * DAY,
                     endTime=end, size=100)
    assert wide == exact


def test_borrow_repay_leaves_out_older_records_of_a_longer_window_without_error(
    year: Desk,
) -> None:
    end = year.now - DAY
    older = year.get(RECORDS, year.credit(), type="BORROW", asset="USDT",
                     startTime=end - 60 * DAY, endTime=end - 30 * DAY - 1, size=100)
    wide = year.get(RECORDS, year.credit(), type="BORROW", asset="USDT",
                    startTime=end - 60 * DAY, endTime=end, size=100)

    assert older["total"] > 0  # the 60 days asked for hold records before the last 30...
    assert wide["total"] > 0
    # ...yet the answer covers only the last 30 days, and says nothing about it.
    assert min(_stamps(wide["rows"], "timestamp")) >= end - 30 * DAY
    assert set(wide) == {"total", "rows"}


def test_borrow_repay_without_an_asset_leaves_out_records_older_than_seven_days(
    year: Desk,
) -> None:
    end = year.now
    older = year.get(RECORDS, year.credit(), type="BORROW", startTime=end - 14 * DAY,
                     endTime=end - 7 * DAY - 1, size=100)
    wide = year.get(RECORDS, year.credit(), type="BORROW", startTime=end - 14 * DAY,
                    endTime=end, size=100)

    assert older["total"] > 0
    assert min(_stamps(wide["rows"], "timestamp"), default=end) >= end - 7 * DAY


def test_borrow_repay_refuses_a_window_over_one_hundred_days(year: Desk) -> None:
    error = year.error("GET", RECORDS, year.credit(), type="BORROW",
                       startTime=year.now - 101 * DAY)
    assert error.code == -1127


def test_borrow_repay_rows_are_newest_first(year: Desk) -> None:
    rows = year.get(RECORDS, year.credit(), type="REPAY", asset="USDT",
                    startTime=year.now - 30 * DAY, size=100)["rows"]
    stamps = _stamps(rows, "timestamp")
    assert len(stamps) > 1
    assert stamps == sorted(stamps, reverse=True)


def test_the_records_of_a_closed_unit_can_be_read_by_its_group_id(desk: Desk) -> None:
    desk.borrow("10")
    desk.post(REPAY, desk.credit(), groupId=10001, assetName="USDT", amount="10")
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert desk.get(RECORDS, desk.credit(), type="BORROW") == {"total": 0, "rows": []}
    assert desk.get(RECORDS, desk.credit(), type="BORROW", groupId=10001)["total"] == 1


# -- interest rebate ---------------------------------------------------------------------
def test_the_rebate_balance_is_granted_minus_consumed(year: Desk) -> None:
    body = year.get(REBATE, year.parent)
    assert list(body) == ["asset", "balance", "totalGranted", "totalConsumed"]
    assert body["asset"] == "USDT"
    balance, granted, consumed = (Decimal(body[k]) for k in ("balance", "totalGranted",
                                                              "totalConsumed"))
    assert balance == granted - consumed
    assert granted > consumed > 0
    assert len(body["balance"].split(".")[1]) == 8


def test_without_history_the_rebate_balance_is_zero(desk: Desk) -> None:
    assert desk.get(REBATE, desk.parent) == {"asset": "USDT", "balance": "0.00000000",
                                             "totalGranted": "0.00000000",
                                             "totalConsumed": "0.00000000"}


def test_rebate_records_default_to_the_last_seven_days_newest_first(year: Desk) -> None:
    rows = year.get(REBATE_RECORDS, year.parent, size=100)["rows"]
    stamps = _stamps(rows, "createTime")
    assert rows
    assert stamps == sorted(stamps, reverse=True)
    assert min(stamps) >= year.now - 7 * DAY


def test_rebate_records_filter_by_type_code(year: Desk) -> None:
    start = year.now - 100 * DAY
    adds = year.get(REBATE_RECORDS, year.parent, type=0, startTime=start, size=100)["rows"]
    assert adds
    assert {r["type"] for r in adds} == {"ADD"}
    assert set(adds[0]) == {"type", "rebateAsset", "delta", "createTime"}
    assert Decimal(adds[0]["delta"]) > 0


def test_interest_offset_records_name_the_unit_and_the_liability(year: Desk) -> None:
    row = year.get(REBATE_RECORDS, year.parent, type=2, size=1)["rows"][0]
    assert list(row) == ["type", "groupId", "rebateAsset", "delta", "liabilityAsset",
                         "deductedInterest", "exchangeRate", "createTime"]
    assert row["type"] == "INTEREST_OFFSET"
    assert Decimal(row["delta"]) < 0
    assert Decimal(row["deductedInterest"]) == -Decimal(row["delta"]) * Decimal(
        row["exchangeRate"]
    )


def test_rebate_reads_are_for_the_parent_only(year: Desk) -> None:
    assert year.error("GET", REBATE, year.credit()).code == -1002
    assert year.error("GET", REBATE_RECORDS, year.credit()).code == -1002
