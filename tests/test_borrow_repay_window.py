"""Borrow/repay ranges: the client refuses what Binance would silently narrow (reference 2.11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from binance_instloan import InvalidParameterError
from binance_instloan.simulator import Simulator

RECORDS = "/sapi/v1/margin/loan-group/borrow-repay"
END = datetime(2026, 1, 1, tzinfo=UTC)


async def test_a_range_over_30_days_with_an_asset_is_refused_naming_the_narrowing() -> None:
    sim = Simulator(seed=5)
    async with sim.client() as client:
        with pytest.raises(InvalidParameterError) as caught:
            await client.get_borrow_repay_records(
                type="BORROW", asset="USDT", start_time=END - timedelta(days=31), end_time=END
            )

    assert "Binance would answer for only the 30 days before end_time" in str(caught.value)
    assert "silently" in str(caught.value)
    assert RECORDS not in sim.stats


async def test_a_range_over_7_days_without_an_asset_is_refused_naming_the_narrowing() -> None:
    sim = Simulator(seed=5)
    async with sim.client() as client:
        with pytest.raises(InvalidParameterError,
                           match="Binance would answer for only the 7 days before end_time"):
            await client.get_borrow_repay_records(
                type="REPAY", start_time=END - timedelta(days=8), end_time=END
            )

    assert RECORDS not in sim.stats


async def test_other_history_ranges_keep_the_plain_limit_message() -> None:
    sim = Simulator(seed=5)
    async with sim.client() as client:
        with pytest.raises(InvalidParameterError, match="the most Binance accepts"):
            await client.get_interest_history(start_time=END - timedelta(days=101),
                                              end_time=END)
