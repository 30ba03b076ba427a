"""Scripted force liquidation, and the two endpoints that report liquidations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.simulator.exchange_support import (
    CLOSE,
    DAY,
    LIQUIDATION_TRANSFERS,
    LIQUIDATIONS,
    RECORDS,
    REPAY,
    Desk,
)


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _liquidations(desk: Desk, group_id: int = 10001, **params: object) -> dict[str, Any]:
    return dict(desk.get(LIQUIDATIONS, desk.credit(group_id), **params))


def _transfers(desk: Desk, group_id: int = 10001, **params: object) -> dict[str, Any]:
    return dict(desk.get(LIQUIDATION_TRANSFERS, desk.credit(group_id), **params))


def test_a_liquidation_repays_the_liabilities(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(3600)
    desk.ex.trigger_force_liquidation(10001)
    assert desk.details()["liabilities"] == []
    assert desk.details()["ltv"] == "0"


def test_a_liquidation_leaves_a_force_repay_record(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(3600)
    desk.ex.trigger_force_liquidation(10001)
    (row,) = desk.get(RECORDS, desk.credit(), type="REPAY")["rows"]
    assert (row["type"], row["status"], row["timestamp"]) == ("FORCE_REPAY", "CONFIRM", desk.now)
    assert (row["amount"], row["principal"], row["interest"]) == (
        Decimal("1000.00833"), Decimal(1000), Decimal("0.00833")
    )


def test_a_liquidation_pulls_collateral_into_the_credit_account(desk: Desk) -> None:
    collateral = desk.collateral()
    margin = desk.wallet(collateral, "CROSS_MARGIN")
    desk.borrow("1000")
    desk.ex.trigger_force_liquidation(10001)
    assert desk.wallet(collateral, "CROSS_MARGIN") == margin - 1000
    page = _transfers(desk)
    assert page["total"] == 1
    (liquidation,) = page["rows"]
    assert list(liquidation) == ["liquidationId", "liquidationTransferRecord"]
    assert liquidation["liquidationTransferRecord"] == [{
        "transferTime": desk.now, "fromUid": collateral.uid, "fromAccountType": "CROSS_MARGIN",
        "toUid": desk.credit().uid, "toAccountType": "PORTFOLIO_MARGIN", "status": "CONFIRM",
        "assets": [{"assetName": "USDT", "amount": "1000"}],
    }]


def test_the_credit_accounts_own_funds_cover_what_collateral_cannot(desk: Desk) -> None:
    desk.borrow("500000", asset="USDC")
    desk.ex.trigger_force_liquidation(10001)
    moved = [
        Decimal(asset["amount"])
        for record in _transfers(desk)["rows"][0]["liquidationTransferRecord"]
        for asset in record["assets"]
    ]
    assert 0 < sum(moved) < 500000
    assert desk.owed("USDC") == (Decimal(0), Decimal(0))


def test_the_liquidation_record_keeps_the_state_before_and_after(desk: Desk) -> None:
    desk.borrow("100000")
    before = desk.details()
    desk.ex.trigger_force_liquidation(10001)
    page = _liquidations(desk)
    assert page["total"] == 1
    (record,) = page["rows"]
    assert list(record) == [
        "groupId", "startLtv", "endLtv", "liquidationStartTime", "liquidationEndTime",
        "totalNetEquity", "totalMaintenanceMargin", "totalLiability", "liquidationSnapshot",
    ]
    assert record["groupId"] == 10001
    assert record["startLtv"] == Decimal(before["ltv"])
    assert record["endLtv"] == 0
    assert record["liquidationStartTime"] == record["liquidationEndTime"] == desk.now
    assert record["totalNetEquity"] == Decimal(before["totalNetEquity"])
    assert record["totalLiability"] == Decimal(100000)
    assert record["liquidationSnapshot"]["liabilities"] == {
        "assetName": "USDT", "principal": "100000.00000000", "interest": "0E-8",
    }


def test_the_snapshot_lists_every_wallet_of_every_member(desk: Desk) -> None:
    desk.borrow("100")
    desk.ex.trigger_force_liquidation(10001)
    snapshots = _liquidations(desk)["rows"][0]["liquidationSnapshot"]["snapshots"]
    assert [(s["subEmail"], s["memberType"], s["walletType"]) for s in snapshots] == [
        (desk.credit().email, "CREDIT", "SPOT"),
        (desk.credit().email, "CREDIT", "PORTFOLIO_MARGIN"),
        (desk.collateral().email, "COLLATERAL", "SPOT"),
        (desk.collateral().email, "COLLATERAL", "CROSS_MARGIN"),
        (desk.collateral(index=1).email, "COLLATERAL", "SPOT"),
        (desk.collateral(index=1).email, "COLLATERAL", "CROSS_MARGIN"),
    ]
    assert snapshots[2]["maintainMargin"] == "0E-8"
    assert snapshots[1]["maintainMargin"] == "5.00000000"


def test_several_liabilities_are_listed_as_an_array(desk: Desk) -> None:
    desk.borrow("100")
    desk.borrow("50", asset="USDC")
    desk.ex.trigger_force_liquidation(10001)
    liabilities = _liquidations(desk)["rows"][0]["liquidationSnapshot"]["liabilities"]
    assert [row["assetName"] for row in liabilities] == ["USDC", "USDT"]


def test_only_an_active_unit_can_be_liquidated(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    with pytest.raises(ValueError, match="10001"):
        desk.ex.trigger_force_liquidation(10001)
    with pytest.raises(ValueError, match="42"):
        desk.ex.trigger_force_liquidation(42)


def test_liquidations_are_listed_newest_first(desk: Desk) -> None:
    desk.borrow("100")
    desk.ex.trigger_force_liquidation(10001)
    desk.advance(60)
    desk.borrow("100")
    desk.ex.trigger_force_liquidation(10001)
    rows = _liquidations(desk)["rows"]
    assert [r["liquidationStartTime"] for r in rows] == [desk.now, desk.now - 60_000]
    ids = [r["liquidationId"] for r in _transfers(desk)["rows"]]
    assert ids == sorted(ids, reverse=True)


def test_the_liquidations_of_a_closed_unit_are_read_by_group_id(desk: Desk) -> None:
    desk.borrow("100")
    desk.ex.trigger_force_liquidation(10001)
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert _liquidations(desk)["total"] == 0
    assert _liquidations(desk, groupId=10001)["total"] == 1
    assert _transfers(desk)["total"] == 1


def test_another_units_liquidations_are_not_readable(desk: Desk) -> None:
    error = desk.error("GET", LIQUIDATIONS, desk.credit(10002), groupId=10001)
    assert error.code == -27001


@pytest.mark.parametrize("path", [LIQUIDATIONS, LIQUIDATION_TRANSFERS])
def test_liquidation_reads_are_for_the_credit_account_only(desk: Desk, path: str) -> None:
    assert desk.error("GET", path, desk.parent).code == -1002


def test_the_transfer_records_take_no_group_id(desk: Desk) -> None:
    assert desk.error("GET", LIQUIDATION_TRANSFERS, desk.credit(), groupId=10001).code == -1104


def test_the_prefilled_history_holds_a_liquidation_per_unit() -> None:
    desk = Desk(history_days=30)
    for group_id in desk.ex.group_ids:
        (record,) = _liquidations(desk, group_id)["rows"]
        assert record["groupId"] == group_id
        (transfers,) = _transfers(desk, group_id)["rows"]
        assert len(transfers["liquidationTransferRecord"]) == 2
        repays = desk.get(RECORDS, desk.credit(group_id), type="REPAY", size=100)["rows"]
        assert "FORCE_REPAY" in {r["type"] for r in repays}


def test_liquidation_windows_follow_section_1_11() -> None:
    desk = Desk(history_days=365)
    # The second unit's prefilled liquidation is 32 days old: outside the default 7 days.
    assert _liquidations(desk, 10002)["total"] == 0
    assert _transfers(desk, 10002)["total"] == 0
    since = desk.now - 40 * DAY
    assert _liquidations(desk, 10002, startTime=since)["total"] == 1
    assert _transfers(desk, 10002, startTime=since)["total"] == 1
    assert _liquidations(desk, 10002, endTime=desk.now - 30 * DAY)["total"] == 1
    error = desk.error("GET", LIQUIDATIONS, desk.credit(10002), startTime=desk.now - 101 * DAY)
    assert error.code == -1127


def test_a_repay_after_liquidation_finds_no_liability(desk: Desk) -> None:
    desk.borrow("100")
    desk.ex.trigger_force_liquidation(10001)
    error = desk.error("POST", REPAY, desk.credit(), groupId=10001, assetName="USDT", amount=1)
    assert error.code == -27011
