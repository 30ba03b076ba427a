"""transfer-out: margin to spot of the same account, within the unit's and account's maxima."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import pytest

from tests.simulator.exchange_support import CLOSE, EDIT, TRANSFER, Desk

_TOO_MUCH = (
    -27028,
    "Exceed the max transfer out amount, which is min(Risk Unit max transfer out, Collateral "
    'Account max transfer out). Risk Unit max transfer out can be checked via "Query Risk Unit '
    'Details (USER_DATA)".',
)
_NOT_IN_UNIT = (-27026, "Receiver UID is not within the Institutional Loan risk unit.")
_NO_MARGIN_ACCOUNT = (-3003, "Margin account does not exist.")


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _error(desk: Desk, caller: object, **params: object) -> tuple[int, str]:
    error = desk.error("POST", TRANSFER, caller, **params)  # type: ignore[arg-type]
    return error.code, error.msg


def test_a_collateral_account_moves_margin_funds_to_its_spot_wallet(desk: Desk) -> None:
    collateral = desk.collateral()
    spot = desk.wallet(collateral, "SPOT")
    margin = desk.wallet(collateral, "CROSS_MARGIN")
    assert desk.post(TRANSFER, collateral, asset="USDT", amount="1500.25") == {}
    assert desk.wallet(collateral, "SPOT") == spot + Decimal("1500.25")
    assert desk.wallet(collateral, "CROSS_MARGIN") == margin - Decimal("1500.25")


def test_the_credit_account_transfers_with_its_own_key(desk: Desk) -> None:
    margin = desk.wallet(desk.credit(), "PORTFOLIO_MARGIN")
    desk.post(TRANSFER, desk.credit(), asset="USDT", amount="10")
    assert desk.wallet(desk.credit(), "PORTFOLIO_MARGIN") == margin - 10


def test_a_member_may_name_itself(desk: Desk) -> None:
    collateral = desk.collateral()
    assert desk.post(TRANSFER, collateral, subEmail=collateral.email.upper(), asset="USDT",
                     amount=1) == {}


def test_the_parent_transfers_for_the_named_sub_account(desk: Desk) -> None:
    collateral = desk.collateral(10002, 1)
    spot = desk.wallet(collateral, "SPOT", 10002)
    desk.post(TRANSFER, desk.parent, subEmail=collateral.email, asset="USDT", amount="7")
    assert desk.wallet(collateral, "SPOT", 10002) == spot + 7


def test_the_parent_must_name_a_sub_account(desk: Desk) -> None:
    assert _error(desk, desk.parent, asset="USDT", amount=1) == _NOT_IN_UNIT


def test_a_wrong_sub_email_is_a_missing_margin_account(desk: Desk) -> None:
    assert _error(desk, desk.parent, subEmail="who@example.com", asset="USDT",
                  amount=1) == _NO_MARGIN_ACCOUNT


def test_the_parent_cannot_name_itself(desk: Desk) -> None:
    assert _error(desk, desk.parent, subEmail=desk.parent.email, asset="USDT",
                  amount=1) == _NO_MARGIN_ACCOUNT


def test_a_member_cannot_transfer_for_another_account(desk: Desk) -> None:
    assert _error(desk, desk.collateral(), subEmail=desk.collateral(index=1).email,
                  asset="USDT", amount=1) == _NO_MARGIN_ACCOUNT


def test_an_account_outside_every_unit_cannot_transfer(desk: Desk) -> None:
    spare = desk.spares()[0]
    assert _error(desk, spare, asset="USDT", amount=1) == _NOT_IN_UNIT
    assert _error(desk, desk.parent, subEmail=spare.email, asset="USDT", amount=1) == _NOT_IN_UNIT


def test_a_closed_units_credit_account_cannot_transfer(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert _error(desk, desk.credit(), asset="USDT", amount=1) == _NOT_IN_UNIT


def test_a_member_without_its_margin_wallet_enabled_cannot_transfer(desk: Desk) -> None:
    spare = desk.spares()[0]
    desk.post(EDIT, desk.parent, groupId=10001, subEmail=spare.email, enableSpot="TRUE",
              enableMargin="FALSE")
    desk.advance(120)
    assert _error(desk, spare, asset="USDT", amount=1) == (
        -27027, "The receiver UID margin wallet has not been enabled."
    )


def test_the_whole_margin_balance_can_be_moved(desk: Desk) -> None:
    balance = desk.wallet(desk.credit(), "PORTFOLIO_MARGIN")  # USDT only, no liability
    desk.post(TRANSFER, desk.credit(), asset="USDT", amount=balance)
    assert desk.wallet(desk.credit(), "PORTFOLIO_MARGIN") == 0


def test_more_than_the_accounts_margin_balance_is_refused(desk: Desk) -> None:
    balance = desk.wallet(desk.credit(), "PORTFOLIO_MARGIN")
    assert _error(desk, desk.credit(), asset="USDT",
                  amount=balance + Decimal("0.00000001")) == _TOO_MUCH
    assert desk.wallet(desk.credit(), "PORTFOLIO_MARGIN") == balance


def test_the_units_max_transfer_out_keeps_the_ltv_within_the_borrow_ratio(desk: Desk) -> None:
    desk.borrow("300000")
    unit = desk.details()
    equity = Decimal(unit["totalNetEquity"])
    expected = equity - Decimal(300000) / Decimal("0.6")
    assert Decimal(unit["maxTransferOutAmount"]) == expected.quantize(Decimal("1E-8"),
                                                                       ROUND_DOWN)


def test_without_liability_the_whole_net_equity_may_leave(desk: Desk) -> None:
    unit = desk.details()
    assert unit["maxTransferOutAmount"] == unit["totalNetEquity"]


def test_more_than_the_units_max_is_refused_even_when_the_account_holds_it(desk: Desk) -> None:
    desk.borrow(desk.max_borrowable())
    unit_max = Decimal(desk.details()["maxTransferOutAmount"])
    credit_margin_funds = desk.wallet(desk.credit(), "PORTFOLIO_MARGIN") + Decimal(
        desk.details()["totalLiability"]
    )
    assert unit_max + 1 < credit_margin_funds
    assert _error(desk, desk.credit(), asset="USDT", amount=unit_max + 1) == _TOO_MUCH


def test_a_transfer_into_a_pledged_spot_wallet_keeps_the_units_max(desk: Desk) -> None:
    desk.borrow("300000")
    before = desk.details()["maxTransferOutAmount"]
    desk.post(TRANSFER, desk.credit(), asset="USDT", amount="1000")
    assert desk.details()["maxTransferOutAmount"] == before


def test_a_transfer_into_an_unpledged_spot_wallet_lowers_the_units_max(desk: Desk) -> None:
    spare = desk.spares()[0]
    desk.post(EDIT, desk.parent, groupId=10001, subEmail=spare.email, enableSpot="FALSE",
              enableMargin="TRUE")
    desk.advance(120)
    desk.borrow("300000")
    before = Decimal(desk.details()["maxTransferOutAmount"])
    desk.post(TRANSFER, spare, asset="USDT", amount="1000")
    assert Decimal(desk.details()["maxTransferOutAmount"]) == before - 1000


def test_an_unknown_asset_is_refused(desk: Desk) -> None:
    assert _error(desk, desk.collateral(), asset="ABC", amount=1) == (
        -3027, "Not a valid margin asset."
    )


def test_a_zero_amount_is_refused(desk: Desk) -> None:
    assert _error(desk, desk.collateral(), asset="USDT", amount=0)[0] == -27000


def test_the_asset_is_mandatory(desk: Desk) -> None:
    assert _error(desk, desk.collateral(), amount=1)[0] == -1102


def test_a_transfer_is_recorded_as_an_execution(desk: Desk) -> None:
    desk.post(TRANSFER, desk.collateral(), asset="USDT", amount=1)
    (execution,) = desk.ex.executions
    assert (execution.path, execution.uid, execution.result) == (
        TRANSFER, desk.collateral().uid, {}
    )
