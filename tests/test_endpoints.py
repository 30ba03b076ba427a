"""Each endpoint sends the right method, path and parameters, and parses the documented example."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from binance_instloan import (
    AccountType,
    AsyncInstLoanClient,
    BorrowRepayType,
    MemberType,
    RebateType,
    RepayFrom,
    RiskUnitStatus,
    TransactionStatus,
)

EXAMPLES = Path(__file__).parent / "data" / "examples"
LOAN = "/sapi/v1/margin/loan-group"
SIGNED_EXTRAS = ("recvWindow", "timestamp", "signature")


def example(name: str) -> httpx.Response:
    """The documented example, served byte for byte (bare numbers stay exact)."""
    return httpx.Response(200, content=(EXAMPLES / f"{name}.json").read_bytes(),
                          headers={"Content-Type": "application/json"})


def sent(route: respx.Route) -> list[tuple[str, str]]:
    request = route.calls.last.request
    raw = request.url.query.decode() if request.method == "GET" else request.content.decode()
    return [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k not in SIGNED_EXTRAS]


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC).replace(
        microsecond=(value % 1000) * 1000)


async def test_get_ltv_details(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(f"{LOAN}/ltv-details").mock(return_value=example("ltv_details"))
    [unit] = await client.get_ltv_details(group_id=1)
    assert sent(route) == [("groupId", "1")]
    assert unit.group_id == 1
    assert unit.ltv == Decimal("0.592")
    assert unit.total_net_equity == Decimal("26.35196946")
    assert unit.max_allowed_borrow_limit == Decimal("16.32397222")
    assert unit.update_time == ms(1752137105623)
    assert unit.liabilities[0].principal == Decimal("15.30718771")
    assert unit.collateral_accounts[2].type is MemberType.CREDIT
    assert unit.collateral_accounts[2].wallets[1].account_type is AccountType.PORTFOLIO_MARGIN


async def test_get_ltv_details_without_group_sends_no_parameters(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/ltv-details").respond(200, json=[])
    assert await client.get_ltv_details() == []
    assert sent(route) == []


async def test_get_active_risk_units(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get("/sapi/v1/margin/loan-groups/activated").mock(
        return_value=example("active_risk_units"))
    units = await client.get_active_risk_units()
    assert sent(route) == []
    assert [u.group_id for u in units] == [10001, 10002]
    assert units[0].members[1].email == "1002@test.com"
    assert units[0].members[1].enable_spot is True
    assert units[0].create_time == ms(1747637956083)


async def test_get_closed_risk_units(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get("/sapi/v1/margin/loan-groups/closed").mock(
        return_value=example("closed_risk_units"))
    page = await client.get_closed_risk_units(current=2, size=100)
    assert sent(route) == [("current", "2"), ("size", "100")]
    assert page.total == 2
    assert page.rows[1].group_id == 73
    assert page.rows[1].enabled is False
    assert page.rows[1].close_time == ms(1753423516629)


async def test_get_force_liquidations(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(f"{LOAN}/force-liquidation").mock(return_value=example("force_liquidation"))
    start = datetime(2025, 5, 1, tzinfo=UTC)
    page = await client.get_force_liquidations(
        group_id=6, start_time=start, end_time=1748600000000, size=50)
    assert sent(route) == [("groupId", "6"), ("startTime", "1746057600000"),
                           ("endTime", "1748600000000"), ("current", "1"), ("size", "50")]
    row = page.rows[0]
    assert row.total_net_equity == Decimal("16671.5507973")
    assert row.start_ltv == Decimal(1)
    assert row.liquidation_snapshot.liabilities[0].interest == Decimal("5000.00000000")
    assert row.liquidation_snapshot.snapshots[0].maintain_margin == 0
    assert row.liquidation_snapshot.snapshots[2].wallet_type is AccountType.PORTFOLIO_MARGIN


async def test_get_force_liquidation_transfers(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/force-liquidation-transfer-record").mock(
        return_value=example("force_liquidation_transfer"))
    page = await client.get_force_liquidation_transfers(start_time=1765000000000)
    assert sent(route) == [("startTime", "1765000000000"), ("current", "1"), ("size", "10")]
    first = page.rows[0].liquidation_transfer_record[0]
    assert page.rows[0].liquidation_id == 56
    assert first.from_uid == 1000277033525
    assert first.assets[0].amount == Decimal("17750.6316")
    assert first.status is TransactionStatus.CONFIRM


async def test_get_borrow_repay_records(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(f"{LOAN}/borrow-repay").mock(return_value=example("borrow_repay"))
    page = await client.get_borrow_repay_records(
        type="REPAY", group_id=2, asset="USDT", start_time=1750000000000,
        end_time=1750400000000, current=1, size=100)
    assert sent(route) == [("type", "REPAY"), ("groupId", "2"), ("asset", "USDT"),
                           ("startTime", "1750000000000"), ("endTime", "1750400000000"),
                           ("current", "1"), ("size", "100")]
    assert page.rows[0].amount == Decimal(300)
    assert page.rows[1].status is TransactionStatus.FAILED
    assert page.rows[2].type is BorrowRepayType.REPAY
    assert page.rows[2].principal == Decimal(298)
    assert page.rows[0].principal is None


async def test_get_interest_history(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(f"{LOAN}/interest-history").mock(return_value=example("interest_history"))
    page = await client.get_interest_history(group_id=2, asset="USDC", size=100)
    assert sent(route) == [("groupId", "2"), ("asset", "USDC"), ("current", "1"), ("size", "100")]
    row = page.rows[0]
    assert row.principal == Decimal("851340.57601652")
    assert row.interest_rate == Decimal("0.00000833")
    assert str(row.interest_rate) == "0.00000833"
    assert row.interest == Decimal("7.09447643")
    assert row.interest_timestamp == ms(1746442800000)


async def test_get_max_borrowable_sends_asset_as_asset_name(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/max-borrowable").mock(return_value=example("max_borrowable"))
    result = await client.get_max_borrowable(asset="USDT", group_id=9)
    assert sent(route) == [("groupId", "9"), ("assetName", "USDT")]
    assert result.max_borrowable_amount == Decimal("12345.67890000")


async def test_get_interest_rebate_balance(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(f"{LOAN}/interest-rebate-balance").respond(
        200, json={"asset": "USDT", "balance": "10.5", "totalGranted": "20", "totalConsumed": "9.5"})
    balance = await client.get_interest_rebate_balance()
    assert sent(route) == []
    assert balance.balance == Decimal("10.5")
    assert balance.total_consumed == Decimal("9.5")


async def test_get_interest_rebate_records_sends_type_as_its_integer(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/interest-rebate-balance/records").mock(
        return_value=example("interest_rebate_records"))
    page = await client.get_interest_rebate_records(type=RebateType.INTEREST_OFFSET, size=3)
    assert sent(route) == [("type", "2"), ("current", "1"), ("size", "3")]
    assert page.total == 3
    offset = page.rows[2]
    assert offset.delta == Decimal("-50.12345678")
    assert offset.exchange_rate == Decimal("0.00001000")
    assert offset.group_id == 10005


async def test_borrow(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.post(f"{LOAN}/borrow").mock(return_value=example("borrow"))
    result = await client.borrow(group_id=10001, asset="USDT", amount=Decimal("123456.78"))
    assert sent(route) == [("groupId", "10001"), ("assetName", "USDT"), ("amount", "123456.78")]
    assert result.transaction_id == 12317283617
    assert result.amount == Decimal("123456.78")
    assert result.status == "success"


async def test_repay_with_repay_from(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.post(f"{LOAN}/repay").mock(return_value=example("repay"))
    result = await client.repay(group_id=10001, asset="USDC", amount="0.10",
                                repay_from=RepayFrom.SPOT)
    assert sent(route) == [("groupId", "10001"), ("assetName", "USDC"), ("amount", "0.10"),
                           ("repayFrom", "SPOT")]
    assert result.repay_from is RepayFrom.MARGIN
    assert result.amount == Decimal("123456.78")


async def test_repay_without_repay_from_sends_none(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/repay").mock(return_value=example("repay_without_repay_from"))
    result = await client.repay(group_id=1, asset="USDT", amount=5)
    assert sent(route) == [("groupId", "1"), ("assetName", "USDT"), ("amount", "5")]
    assert result.repay_from is None


async def test_add_collateral_account(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.post(f"{LOAN}/edit-member").mock(return_value=example("edit_member"))
    result = await client.add_collateral_account(
        group_id=10001, sub_email="coll+1@desk.io", enable_spot=True, enable_margin=False)
    assert sent(route) == [("groupId", "10001"), ("subEmail", "coll+1@desk.io"),
                           ("enableSpot", "TRUE"), ("enableMargin", "FALSE")]
    assert result.status == 0


async def test_close_risk_unit(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.delete(LOAN).mock(return_value=example("close_risk_unit"))
    result = await client.close_risk_unit(group_id=10001)
    assert route.calls.last.request.method == "DELETE"
    assert sent(route) == [("groupId", "10001")]
    assert result.status is RiskUnitStatus.CLOSED
    assert result.group_id == 10001


@pytest.mark.parametrize("body", [b"", b"{}"])
async def test_transfer_out_accepts_an_empty_or_empty_object_body(
    api: respx.MockRouter, client: AsyncInstLoanClient, body: bytes
) -> None:
    route = api.post(f"{LOAN}/transfer-out").respond(200, content=body)
    await client.transfer_out(asset="USDT", amount=Decimal("2.5"))
    assert sent(route) == [("asset", "USDT"), ("amount", "2.5")]


async def test_get_loan_groups_returns_decimal_safe_json(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get("/sapi/v1/margin/loan-groups").respond(
        200, content=b'[{"groupId": 5, "ltv": 0.1000000000000000055511}]')
    body = await client.get_loan_groups(group_id=5)
    assert sent(route) == [("groupId", "5")]
    assert body[0]["ltv"] == Decimal("0.1000000000000000055511")


async def test_get_loan_group(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.get(LOAN).respond(200, json={"groupId": 5})
    assert await client.get_loan_group() == {"groupId": 5}
    assert sent(route) == []


async def test_unknown_enum_values_and_fields_do_not_crash(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.get(f"{LOAN}/borrow-repay").respond(200, json={"total": "1", "rows": [{
        "tranId": 1, "assetName": "USDT", "amount": "1", "status": "SETTLING",
        "type": "AUTO_REPAY", "timestamp": 1750420899036, "brandNewField": {"x": 1}}]})
    page = await client.get_borrow_repay_records(type=BorrowRepayType.REPAY)
    assert page.rows[0].type == "AUTO_REPAY"
    assert page.rows[0].status == "SETTLING"
