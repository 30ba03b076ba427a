"""The client against the built-in simulator: in-process and over real TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from binance_instloan import (
    AsyncInstLoanClient,
    AuthenticationError,
    BorrowRepayType,
    RiskUnitError,
)
from binance_instloan.simulator import Simulator, serve


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=11, history_days=30)


@pytest.mark.parametrize("key_type", ["hmac", "rsa", "ed25519"])
async def test_every_key_type_is_accepted(sim: Simulator, key_type: str) -> None:
    async with sim.client(key_type=key_type) as client:
        [unit] = await client.get_ltv_details()
    assert unit.group_id == sim.group_ids[0]


async def test_borrow_then_repay_moves_the_liability(sim: Simulator) -> None:
    group = sim.group_ids[0]
    async with sim.client() as client:
        [before] = await client.get_ltv_details()
        headroom = await client.get_max_borrowable(asset="USDT")
        assert headroom.max_borrowable_amount is not None
        amount = (headroom.max_borrowable_amount / 10).quantize(Decimal("0.01"))
        borrowed = await client.borrow(group_id=group, asset="USDT", amount=amount)
        [after] = await client.get_ltv_details()
        repaid = await client.repay(group_id=group, asset="USDT", amount=amount)
        records = await client.get_borrow_repay_records(type=BorrowRepayType.BORROW,
                                                        asset="USDT")
    assert borrowed.amount == amount
    assert after.total_liability > before.total_liability
    assert repaid.amount <= amount
    assert any(r.amount == amount for r in records.rows)
    assert sim.execution_count(method="POST") == 2


async def test_borrow_above_the_max_is_refused_with_27009(sim: Simulator) -> None:
    async with sim.client() as client:
        headroom = await client.get_max_borrowable(asset="USDT")
        assert headroom.max_borrowable_amount is not None
        with pytest.raises(RiskUnitError) as caught:
            await client.borrow(group_id=sim.group_ids[0], asset="USDT",
                                amount=headroom.max_borrowable_amount + 1)
    assert caught.value.code == -27009
    assert sim.execution_count() == 0


async def test_emails_with_plus_and_at_sign_verify(sim: Simulator) -> None:
    async with sim.client(role="parent") as client:
        units = await client.get_active_risk_units()
        email = units[0].members[-1].email
        with pytest.raises(RiskUnitError):
            # Not a business success (no funds to move), but the signature must verify.
            await client.transfer_out(asset="USDT", amount="1000000000", sub_email=email)


async def test_wrong_secret_is_refused_with_1022(sim: Simulator) -> None:
    creds = sim.credentials()
    async with AsyncInstLoanClient(creds.api_key, "not-the-secret", base_url=sim.base_url,
                                   transport=sim.transport()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.get_ltv_details()
    assert caught.value.code == -1022


async def test_clock_skew_is_absorbed_by_relearning(sim: Simulator) -> None:
    async with sim.client(recv_window=1000) as client:
        await client.get_ltv_details()
        sim.skew_ms = 30_000  # the server's clock jumps half a minute
        [unit] = await client.get_ltv_details()
    assert unit.group_id == sim.group_ids[0]
    assert client.clock_offset_ms > 25_000


async def test_history_pages_come_newest_first(sim: Simulator) -> None:
    async with sim.client() as client:
        page = await client.get_interest_history(asset="USDT", size=100)
    stamps = [r.interest_timestamp for r in page.rows]
    assert stamps == sorted(stamps, reverse=True)
    assert page.total >= len(page.rows) > 0


async def test_close_with_liabilities_is_refused(sim: Simulator) -> None:
    async with sim.client() as client:
        with pytest.raises(RiskUnitError) as caught:
            await client.close_risk_unit(group_id=sim.group_ids[0])
    assert caught.value.code == -27018


@pytest.fixture
async def tcp_sim() -> AsyncIterator[tuple[Simulator, str]]:
    sim = Simulator(seed=3, history_days=10)
    async with serve(sim, host="127.0.0.1", port=0) as base_url:
        yield sim, base_url


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_over_tcp_on_each_backend(tcp_sim: tuple[Simulator, str], backend: str) -> None:
    sim, base_url = tcp_sim
    creds = sim.credentials()
    async with AsyncInstLoanClient(creds.api_key, creds.api_secret, base_url=base_url,
                                   backend=backend) as client:  # type: ignore[arg-type]
        [unit] = await client.get_ltv_details()
        page = await client.get_interest_history(size=100)
        result = await client.borrow(group_id=unit.group_id, asset="USDT", amount="10")
    assert page.rows
    assert result.amount == Decimal(10)
    assert sim.execution_count(method="POST") == 1


async def test_a_year_of_history_streams_into_pandas() -> None:
    import pandas as pd

    sim = Simulator(seed=2, history_days=365)
    start = sim.now_ms() - 365 * 86_400_000
    async with sim.client() as client:
        frame = await client.iter_interest_history(start_time=start, asset="USDT").to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) > 8000
    assert frame["interest_timestamp"].is_monotonic_decreasing
    assert isinstance(frame["interest"].iloc[0], Decimal)
