"""Borrow, repay and max-borrowable, and the records they leave."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest

from tests.simulator.exchange_support import (
    BORROW,
    MAX_BORROWABLE,
    RECORDS,
    REPAY,
    TRANSFER,
    Desk,
)

_NOT_AUTHORIZED = (-1002, "You are not authorized to execute this request.")


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _repay(desk: Desk, amount: str, asset: str = "USDT", **extra: object) -> dict[str, object]:
    body = desk.post(REPAY, desk.credit(), groupId=10001, assetName=asset, amount=amount, **extra)
    return dict(body)


# -- borrow --------------------------------------------------------------------------
def test_a_borrow_answers_its_transaction_amount_and_status(desk: Desk) -> None:
    body = desk.borrow("1234.5")
    assert list(body) == ["transactionId", "amount", "status"]
    assert isinstance(body["transactionId"], int)
    assert (body["amount"], body["status"]) == (Decimal("1234.5"), "success")


def test_each_borrow_gets_a_new_transaction_id(desk: Desk) -> None:
    assert desk.borrow("1")["transactionId"] != desk.borrow("1")["transactionId"]


def test_a_borrow_raises_the_liability(desk: Desk) -> None:
    desk.borrow("1000")
    desk.borrow("0.5")
    assert desk.owed("USDT") == (Decimal("1000.5"), Decimal(0))


def test_borrowed_funds_land_in_the_credit_margin_wallet_so_net_equity_is_unchanged(
    desk: Desk,
) -> None:
    before = desk.details()["totalNetEquity"]
    desk.borrow("1000")
    assert desk.details()["totalNetEquity"] == before
    assert desk.post(TRANSFER, desk.credit(), asset="USDT", amount="1000") == {}


def test_a_borrow_lowers_the_max_borrowable_by_its_amount(desk: Desk) -> None:
    before = desk.max_borrowable()
    desk.borrow("1000")
    assert desk.max_borrowable() == before - 1000


def test_borrowing_the_whole_max_is_allowed(desk: Desk) -> None:
    desk.borrow(desk.max_borrowable())
    assert desk.max_borrowable() == 0


def test_borrowing_above_the_max_names_the_max_and_the_request(desk: Desk) -> None:
    maximum = desk.max_borrowable()
    request = maximum + Decimal("0.00000001")
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT",
                       amount=request)
    assert (error.code, error.msg) == (
        -27009,
        "The requested borrow amount exceeds the maximum allowed limit. Maximum borrowable for "
        f"asset USDT is {maximum.normalize():f}, but request {request.normalize():f}.",
    )
    assert desk.owed("USDT") == (Decimal(0), Decimal(0))


@pytest.mark.parametrize("role", ["parent", "collateral"])
def test_only_the_credit_account_borrows(desk: Desk, role: str) -> None:
    caller = desk.parent if role == "parent" else desk.collateral()
    error = desk.error("POST", BORROW, caller, groupId=10001, assetName="USDT", amount=1)
    assert (error.code, error.msg) == _NOT_AUTHORIZED


def test_a_credit_account_cannot_borrow_for_another_unit(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(10002), groupId=10001, assetName="USDT",
                       amount=1)
    assert error.code == -27010


def test_borrowing_for_an_unknown_unit_is_refused(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=4242, assetName="USDT", amount=1)
    assert (error.code, error.msg) == (-27001, "Loan group not found")


def test_an_asset_that_cannot_be_borrowed_is_refused(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="DOGE", amount=1)
    assert (error.code, error.msg) == (-27017, "The requested loan asset: DOGE is not supported.")


def test_the_asset_name_is_upper_cased(desk: Desk) -> None:
    desk.borrow("5", asset="usdc")
    assert desk.owed("USDC") == (Decimal(5), Decimal(0))


def test_more_than_eight_decimals_is_a_precision_error(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT",
                       amount="1.000000001")
    assert (error.code, error.msg) == (-27016, "Illegal asset quantity precision for asset USDT.")


def test_a_zero_amount_is_an_illegal_argument(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT", amount="0")
    assert error.code == -27000


# -- max-borrowable ----------------------------------------------------------------------
@pytest.mark.parametrize(("group_id", "ratio"), [(10001, "0.6"), (10002, "0.5")])
def test_max_borrowable_is_the_smaller_of_the_limit_and_the_ratio_room(
    desk: Desk, group_id: int, ratio: str
) -> None:
    desk.borrow("1000", group_id=group_id)
    unit = desk.details(group_id)
    equity = Decimal(unit["totalNetEquity"])
    liability = Decimal(unit["totalLiability"])
    limit = Decimal(unit["maxAllowedBorrowLimit"])
    expected = min(limit - liability, Decimal(ratio) * equity - liability)
    assert desk.max_borrowable(group_id=group_id) == expected.quantize(Decimal("1E-8"),
                                                                       ROUND_DOWN)


def test_max_borrowable_is_a_string_with_eight_decimals(desk: Desk) -> None:
    body = desk.get(MAX_BORROWABLE, desk.parent, groupId=10001, assetName="USDT")
    assert list(body) == ["maxBorrowableAmount"]
    assert isinstance(body["maxBorrowableAmount"], str)
    assert len(body["maxBorrowableAmount"].split(".")[1]) == 8


def test_max_borrowable_is_in_units_of_the_asset(desk: Desk) -> None:
    desk_btc = Desk(assets=("USDT", "BTC"))
    usdt = desk_btc.max_borrowable("USDT")
    btc = desk_btc.max_borrowable("BTC")
    assert btc == (usdt / 60000).quantize(Decimal("1E-8"), ROUND_DOWN)


def test_the_credit_account_may_omit_the_group_id(desk: Desk) -> None:
    body = desk.get(MAX_BORROWABLE, desk.credit(), assetName="usdt")
    assert Decimal(body["maxBorrowableAmount"]) == desk.max_borrowable()


def test_the_credit_account_gets_null_for_another_unit(desk: Desk) -> None:
    body = desk.get(MAX_BORROWABLE, desk.credit(), groupId=10002, assetName="USDT")
    assert body == {"maxBorrowableAmount": None}


def test_the_parent_must_name_the_unit(desk: Desk) -> None:
    error = desk.error("GET", MAX_BORROWABLE, desk.parent, assetName="USDT")
    assert error.code == -1102


def test_the_parent_gets_null_for_a_unit_it_does_not_own(desk: Desk) -> None:
    body = desk.get(MAX_BORROWABLE, desk.parent, groupId=777, assetName="USDT")
    assert body == {"maxBorrowableAmount": None}


def test_a_collateral_account_gets_null(desk: Desk) -> None:
    body = desk.get(MAX_BORROWABLE, desk.collateral(), groupId=10001, assetName="USDT")
    assert body == {"maxBorrowableAmount": None}


def test_max_borrowable_refuses_an_asset_that_cannot_be_borrowed(desk: Desk) -> None:
    error = desk.error("GET", MAX_BORROWABLE, desk.parent, groupId=10001, assetName="XYZ")
    assert error.code == -27017


# -- repay ---------------------------------------------------------------------------
def test_a_repay_answers_its_transaction_amount_and_source(desk: Desk) -> None:
    desk.borrow("100")
    body = _repay(desk, "40")
    assert list(body) == ["transactionId", "amount", "repayFrom"]
    assert (body["amount"], body["repayFrom"]) == (Decimal(40), "MARGIN")
    assert desk.owed("USDT") == (Decimal(60), Decimal(0))


def test_repaying_more_than_owed_repays_only_what_is_owed(desk: Desk) -> None:
    desk.borrow("100")
    assert _repay(desk, "500")["amount"] == 100
    assert desk.owed("USDT") == (Decimal(0), Decimal(0))
    assert desk.details()["liabilities"] == []


def test_repaying_more_than_available_repays_what_is_available(desk: Desk) -> None:
    desk.borrow("100000")
    spot = desk.wallet(desk.credit(), "SPOT")
    assert 0 < spot < 100000
    body = _repay(desk, "100000", repayFrom="SPOT")
    assert (body["amount"], body["repayFrom"]) == (spot, "SPOT")
    assert desk.wallet(desk.credit(), "SPOT") == 0
    assert desk.owed("USDT") == (100000 - spot, Decimal(0))


def test_repay_from_spot_leaves_the_margin_wallet_alone(desk: Desk) -> None:
    desk.borrow("10")
    margin_before = desk.wallet(desk.credit(), "PORTFOLIO_MARGIN")
    _repay(desk, "10", repayFrom="spot")
    assert desk.wallet(desk.credit(), "PORTFOLIO_MARGIN") == margin_before + 10


def test_interest_is_repaid_before_principal(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(2 * 3600)
    assert desk.owed("USDT") == (Decimal(1000), Decimal("0.01666"))
    _repay(desk, "0.01")
    assert desk.owed("USDT") == (Decimal(1000), Decimal("0.00666"))
    _repay(desk, "1")
    assert desk.owed("USDT") == (Decimal("999.00666"), Decimal(0))


def test_repaying_an_asset_not_owed_is_refused(desk: Desk) -> None:
    desk.borrow("10")
    error = desk.error("POST", REPAY, desk.credit(), groupId=10001, assetName="USDC", amount=1)
    assert (error.code, error.msg) == (-27011, "No liability found in the risk unit with GroupID "
                                               "10001.")


def test_repaying_with_an_empty_wallet_is_refused(desk: Desk) -> None:
    desk.borrow("100000")
    _repay(desk, "100000", repayFrom="SPOT")
    error = desk.error("POST", REPAY, desk.credit(), groupId=10001, assetName="USDT", amount=1,
                       repayFrom="SPOT")
    assert (error.code, error.msg) == (-27015, "Insufficient balance in balance for asset USDT.")


def test_only_the_credit_account_repays(desk: Desk) -> None:
    desk.borrow("10")
    error = desk.error("POST", REPAY, desk.parent, groupId=10001, assetName="USDT", amount=1)
    assert (error.code, error.msg) == _NOT_AUTHORIZED


# -- borrow-repay records ------------------------------------------------------------
def test_a_borrow_leaves_a_confirmed_borrow_record(desk: Desk) -> None:
    tran_id = desk.borrow("300")["transactionId"]
    assert desk.get(RECORDS, desk.credit(), type="BORROW") == {
        "total": 1,
        "rows": [{"tranId": tran_id, "assetName": "USDT", "amount": Decimal(300),
                  "status": "CONFIRM", "type": "BORROW", "timestamp": desk.now}],
    }


def test_a_repay_record_splits_principal_and_interest(desk: Desk) -> None:
    desk.borrow("1000")
    desk.advance(3600)
    tran_id = _repay(desk, "10")["transactionId"]
    assert desk.get(RECORDS, desk.credit(), type="REPAY")["rows"] == [{
        "tranId": tran_id, "assetName": "USDT", "amount": Decimal(10),
        "principal": Decimal("9.99167"), "interest": Decimal("0.00833"),
        "status": "CONFIRM", "type": "NORMAL_REPAY", "timestamp": desk.now,
    }]


def test_records_of_one_type_leave_out_the_other(desk: Desk) -> None:
    desk.borrow("10")
    _repay(desk, "10")
    assert [r["type"] for r in desk.get(RECORDS, desk.credit(), type="BORROW")["rows"]] == [
        "BORROW"
    ]
    assert [r["type"] for r in desk.get(RECORDS, desk.credit(), type="REPAY")["rows"]] == [
        "NORMAL_REPAY"
    ]


def test_records_can_be_filtered_by_asset(desk: Desk) -> None:
    desk.borrow("10", asset="USDT")
    desk.borrow("20", asset="USDC")
    rows = desk.get(RECORDS, desk.credit(), type="BORROW", asset="USDC")["rows"]
    assert [(r["assetName"], r["amount"]) for r in rows] == [("USDC", 20)]


def test_records_are_for_the_credit_account_only(desk: Desk) -> None:
    error = desk.error("GET", RECORDS, desk.parent, type="BORROW")
    assert (error.code, error.msg) == _NOT_AUTHORIZED


def test_records_need_a_type(desk: Desk) -> None:
    assert desk.error("GET", RECORDS, desk.credit()).code == -1102
