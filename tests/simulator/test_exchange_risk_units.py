"""Risk units: details, the active and closed lists, close, and adding members."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.simulator.exchange_support import (
    ACTIVE,
    BORROW,
    CLOSE,
    CLOSED,
    EDIT,
    LOAN_GROUP,
    LOAN_GROUPS,
    LTV,
    REPAY,
    TRANSFER,
    Desk,
)

_NOT_AUTHORIZED = (-1002, "You are not authorized to execute this request.")


@pytest.fixture
def desk() -> Desk:
    return Desk()


def _add(desk: Desk, email: str, spot: str = "TRUE", margin: str = "TRUE",
         group_id: int = 10001) -> object:
    return desk.post(EDIT, desk.parent, groupId=group_id, subEmail=email, enableSpot=spot,
                     enableMargin=margin)


def _edit_error(desk: Desk, email: str, spot: str = "TRUE", margin: str = "TRUE",
                group_id: int = 10001) -> tuple[int, str]:
    error = desk.error("POST", EDIT, desk.parent, groupId=group_id, subEmail=email,
                       enableSpot=spot, enableMargin=margin)
    return error.code, error.msg


# -- ltv-details ---------------------------------------------------------------------
def test_ltv_details_shows_the_documented_fields_as_strings(desk: Desk) -> None:
    unit = desk.details()
    assert list(unit) == [
        "groupId", "parentEmail", "creditEmail", "updateTime", "ltv", "totalNetEquity",
        "totalMaintenanceMargin", "totalLiability", "parentAccountFrozenAmount",
        "maxTransferOutAmount", "maxAllowedBorrowLimit", "liabilities", "collateralAccounts",
    ]
    assert (unit["groupId"], unit["parentEmail"], unit["creditEmail"]) == (
        10001, desk.parent.email, desk.credit().email,
    )
    money = [unit[k] for k in ("ltv", "totalNetEquity", "totalMaintenanceMargin",
                               "totalLiability", "maxTransferOutAmount", "maxAllowedBorrowLimit")]
    assert all(isinstance(v, str) for v in money)
    assert (unit["ltv"], unit["totalLiability"], unit["liabilities"]) == ("0", "0", [])


def test_ltv_details_lists_the_credit_account_and_the_collaterals_with_their_wallets(
    desk: Desk,
) -> None:
    members = desk.details()["collateralAccounts"]
    assert [(m["email"], m["type"]) for m in members] == [
        (desk.credit().email, "CREDIT"),
        (desk.collateral(index=0).email, "COLLATERAL"),
        (desk.collateral(index=1).email, "COLLATERAL"),
    ]
    assert [w["accountType"] for w in members[0]["wallets"]] == ["SPOT", "PORTFOLIO_MARGIN"]
    assert [w["accountType"] for w in members[1]["wallets"]] == ["SPOT", "CROSS_MARGIN"]
    assert set(members[1]["wallets"][0]) == {"accountType", "netEquity", "maintainMargin"}


def test_total_net_equity_sums_the_enabled_wallets(desk: Desk) -> None:
    unit = desk.details()
    wallets = [Decimal(w["netEquity"]) for m in unit["collateralAccounts"] for w in m["wallets"]]
    assert Decimal(unit["totalNetEquity"]) == sum(wallets)


def test_ltv_is_total_liability_over_total_net_equity(desk: Desk) -> None:
    desk.borrow("250000")
    unit = desk.details()
    ltv = Decimal(unit["totalLiability"]) / Decimal(unit["totalNetEquity"])
    assert Decimal(unit["ltv"]) == ltv.quantize(Decimal("1E-8"), "ROUND_DOWN")
    assert unit["liabilities"] == [{"assetName": "USDT", "principal": "250000", "interest": "0"}]


def test_borrowing_adds_maintenance_margin_to_the_credit_margin_wallet(desk: Desk) -> None:
    desk.borrow("1000")
    assert desk.details()["totalMaintenanceMargin"] == "50"


def test_the_parent_sees_every_active_unit(desk: Desk) -> None:
    assert [u["groupId"] for u in desk.get(LTV, desk.parent)] == [10001, 10002, 10003]


def test_the_parent_can_ask_for_one_unit(desk: Desk) -> None:
    assert [u["groupId"] for u in desk.get(LTV, desk.parent, groupId=10002)] == [10002]


def test_the_parent_gets_nothing_for_a_unit_that_does_not_exist(desk: Desk) -> None:
    assert desk.get(LTV, desk.parent, groupId=999) == []


def test_a_credit_account_sees_only_its_own_unit(desk: Desk) -> None:
    credit = desk.credit(10002)
    assert [u["groupId"] for u in desk.get(LTV, credit)] == [10002]
    assert desk.get(LTV, credit, groupId=10001) == []


def test_a_collateral_account_gets_an_empty_list(desk: Desk) -> None:
    assert desk.get(LTV, desk.collateral()) == []


# -- the 2025-05-16 endpoints (reference 2.16) ------------------------------------------
def test_loan_groups_gives_the_parent_its_units_details(desk: Desk) -> None:
    assert desk.get(LOAN_GROUPS, desk.parent) == desk.get(LTV, desk.parent)
    assert desk.get(LOAN_GROUPS, desk.parent, groupId=10003) == desk.get(LTV, desk.parent,
                                                                          groupId=10003)


def test_loan_group_gives_the_credit_account_its_unit_details(desk: Desk) -> None:
    assert desk.get(LOAN_GROUP, desk.credit(10002)) == desk.get(LTV, desk.credit(10002))


@pytest.mark.parametrize("path", [LOAN_GROUPS, LOAN_GROUP])
def test_the_undocumented_reads_refuse_other_roles(desk: Desk, path: str) -> None:
    error = desk.error("GET", path, desk.collateral())
    assert (error.code, error.msg) == _NOT_AUTHORIZED


# -- activated -----------------------------------------------------------------------
def test_activated_lists_units_with_members_and_boolean_flags(desk: Desk) -> None:
    units = desk.get(ACTIVE, desk.parent)
    assert [u["groupId"] for u in units] == [10001, 10002, 10003]
    first = units[0]
    assert list(first) == ["groupId", "members", "createTime"]
    assert first["members"][0] == {"email": desk.credit().email, "type": "CREDIT",
                                   "enableMargin": True, "enableSpot": True}
    assert [m["type"] for m in first["members"]] == ["CREDIT", "COLLATERAL", "COLLATERAL"]
    assert first["createTime"] < desk.now


@pytest.mark.parametrize("role", ["credit", "collateral"])
def test_activated_is_for_the_parent_only(desk: Desk, role: str) -> None:
    caller = desk.credit() if role == "credit" else desk.collateral()
    error = desk.error("GET", ACTIVE, caller)
    assert (error.code, error.msg, error.status) == (*_NOT_AUTHORIZED, 401)


# -- close ---------------------------------------------------------------------------
def test_closing_a_unit_without_liabilities_answers_closed(desk: Desk) -> None:
    assert desk.delete(CLOSE, desk.credit(), groupId=10001) == {"groupId": 10001,
                                                                "status": "CLOSED"}
    assert desk.ex.group_ids == [10002, 10003]


def test_closing_unlinks_every_member(desk: Desk) -> None:
    collaterals = desk.ex.collateral_accounts(10001)
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert {desk.ex.accounts[a.uid].group_id for a in collaterals} == {None}
    assert desk.credit().group_id is None


def test_a_closed_unit_disappears_from_the_parents_views(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert [u["groupId"] for u in desk.get(LTV, desk.parent)] == [10002, 10003]
    assert [u["groupId"] for u in desk.get(ACTIVE, desk.parent)] == [10002, 10003]


def test_a_unit_with_a_liability_cannot_be_closed(desk: Desk) -> None:
    desk.borrow("10.5")
    error = desk.error("DELETE", CLOSE, desk.credit(), groupId=10001)
    assert (error.code, error.msg) == (
        -27018, "Risk unit cannot be closed: liability asset USDT not fully repaid, 10.5 remaining."
    )
    assert desk.ex.group_ids == [10001, 10002, 10003]


def test_a_unit_can_be_closed_once_repaid(desk: Desk) -> None:
    desk.borrow("10")
    desk.post(REPAY, desk.credit(), groupId=10001, assetName="USDT", amount="10")
    assert desk.delete(CLOSE, desk.credit(), groupId=10001)["status"] == "CLOSED"


def test_close_is_for_the_credit_account_only(desk: Desk) -> None:
    error = desk.error("DELETE", CLOSE, desk.parent, groupId=10001)
    assert (error.code, error.msg) == _NOT_AUTHORIZED


def test_a_credit_account_cannot_close_another_unit(desk: Desk) -> None:
    error = desk.error("DELETE", CLOSE, desk.credit(10002), groupId=10001)
    assert (error.code, error.msg) == (
        -27010, "Credit account not found in risk unit with GroupID 10001."
    )


def test_a_closed_unit_cannot_be_closed_again(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    error = desk.error("DELETE", CLOSE, desk.credit(), groupId=10001)
    assert (error.code, error.msg) == (-27001, "Loan group not found")


def test_close_needs_a_group_id(desk: Desk) -> None:
    assert desk.error("DELETE", CLOSE, desk.credit()).code == -1102


def test_a_closed_unit_refuses_borrowing(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT", amount=1)
    assert error.code == -27001


# -- closed --------------------------------------------------------------------------
def test_the_closed_list_shows_the_credit_accounts_closed_units(desk: Desk) -> None:
    created = desk.get(ACTIVE, desk.parent)[0]["createTime"]
    desk.clock.ms += 5000
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert desk.get(CLOSED, desk.credit()) == {
        "total": 1,
        "rows": [{
            "groupId": 10001, "parentEmail": desk.parent.email,
            "creditEmail": desk.credit().email, "enabled": False, "createTime": created,
            "closeTime": desk.now,
        }],
    }


def test_another_credit_account_does_not_see_the_closed_unit(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert desk.get(CLOSED, desk.credit(10002)) == {"total": 0, "rows": []}


def test_the_closed_list_is_for_credit_accounts_only(desk: Desk) -> None:
    error = desk.error("GET", CLOSED, desk.parent)
    assert (error.code, error.msg) == _NOT_AUTHORIZED


def test_the_closed_list_pages(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert desk.get(CLOSED, desk.credit(), current=2, size=1) == {"total": 1, "rows": []}
    assert len(desk.get(CLOSED, desk.credit(), current=1, size=1)["rows"]) == 1


# -- edit-member ---------------------------------------------------------------------
def test_adding_a_spare_sub_account_makes_it_a_collateral_member(desk: Desk) -> None:
    spare = desk.spares()[0]
    assert _add(desk, spare.email, spot="TRUE", margin="FALSE") == {"status": 0}
    members = desk.get(ACTIVE, desk.parent)[0]["members"]
    assert members[-1] == {"email": spare.email, "type": "COLLATERAL", "enableMargin": False,
                           "enableSpot": True}
    assert desk.ex.accounts[spare.uid].group_id == 10001
    assert desk.ex.collateral_accounts(10001)[-1].uid == spare.uid


def test_a_new_member_adds_its_enabled_wallets_to_the_net_equity(desk: Desk) -> None:
    before = Decimal(desk.details()["totalNetEquity"])
    spare = desk.spares()[0]
    _add(desk, spare.email, spot="FALSE", margin="TRUE")
    after = Decimal(desk.details()["totalNetEquity"])
    assert after - before == desk.wallet(spare, "CROSS_MARGIN")
    assert after - before > 0


def test_flags_are_read_ignoring_case(desk: Desk) -> None:
    assert _add(desk, desk.spares()[0].email, spot="true", margin="False") == {"status": 0}


def test_a_flag_can_be_switched_on_later(desk: Desk) -> None:
    spare = desk.spares()[0]
    _add(desk, spare.email, spot="TRUE", margin="FALSE")
    _add(desk, spare.email, spot="TRUE", margin="TRUE")
    assert desk.get(ACTIVE, desk.parent)[0]["members"][-1]["enableMargin"] is True


def test_a_flag_can_never_go_back_to_false(desk: Desk) -> None:
    assert _edit_error(desk, desk.collateral().email, spot="FALSE") == (
        -27000, "Illegal argument or invalid input."
    )


def test_a_new_member_needs_at_least_one_wallet(desk: Desk) -> None:
    assert _edit_error(desk, desk.spares()[0].email, "FALSE", "FALSE")[0] == -27000


def test_an_account_outside_the_parent_cannot_be_added(desk: Desk) -> None:
    assert _edit_error(desk, "stranger@example.com") == (
        -27004, "The collateral account should be a sub-account under the same parent account."
    )


def test_the_parent_itself_cannot_be_added(desk: Desk) -> None:
    assert _edit_error(desk, desk.parent.email)[0] == -27004


def test_a_member_of_another_unit_cannot_be_added(desk: Desk) -> None:
    assert _edit_error(desk, desk.collateral(10002).email) == (
        -27003, "The account(s) have been linked to another institutional loan risk unit."
    )


def test_another_units_credit_account_cannot_be_added(desk: Desk) -> None:
    assert _edit_error(desk, desk.credit(10002).email)[0] == -27003


def test_the_credit_account_cannot_drop_its_margin_wallet(desk: Desk) -> None:
    assert _edit_error(desk, desk.credit().email, margin="FALSE") == (
        -27007, "Collateral account cannot be the same as CREDIT_ACCOUNT."
    )


def test_the_credit_account_can_be_named_with_its_margin_enabled(desk: Desk) -> None:
    assert _add(desk, desk.credit().email) == {"status": 0}
    assert [m["type"] for m in desk.get(ACTIVE, desk.parent)[0]["members"]] == [
        "CREDIT", "COLLATERAL", "COLLATERAL",
    ]


def test_a_unit_holds_at_most_five_collateral_accounts(desk: Desk) -> None:
    spares = desk.spares()
    for spare in spares[:3]:
        _add(desk, spare.email)
    assert _edit_error(desk, spares[3].email) == (
        -27002, "Maximum allowed collateral accounts is 5"
    )


def test_an_account_without_margin_cannot_pledge_its_margin_wallet(desk: Desk) -> None:
    no_margin = desk.spares()[-1]
    assert _edit_error(desk, no_margin.email, spot="TRUE", margin="TRUE") == (
        -27005, "The account should open a margin account first."
    )
    assert desk.ex.accounts[no_margin.uid].group_id is None


def test_an_account_without_margin_can_pledge_its_spot_wallet(desk: Desk) -> None:
    no_margin = desk.spares()[-1]
    assert _add(desk, no_margin.email, spot="TRUE", margin="FALSE") == {"status": 0}


def test_members_cannot_be_added_to_a_closed_unit(desk: Desk) -> None:
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert _edit_error(desk, desk.spares()[0].email) == (-27001, "Loan group not found")


def test_members_of_a_closed_unit_can_join_another(desk: Desk) -> None:
    collateral = desk.collateral()
    desk.delete(CLOSE, desk.credit(), groupId=10001)
    assert _add(desk, collateral.email, group_id=10002) == {"status": 0}


def test_edit_member_is_for_the_parent_only(desk: Desk) -> None:
    error = desk.error("POST", EDIT, desk.credit(), groupId=10001,
                       subEmail=desk.spares()[0].email, enableSpot="TRUE", enableMargin="TRUE")
    assert (error.code, error.msg) == _NOT_AUTHORIZED


def test_a_new_member_cannot_transfer_for_two_minutes(desk: Desk) -> None:
    spare = desk.spares()[0]
    _add(desk, spare.email)
    error = desk.error("POST", TRANSFER, spare, asset="USDT", amount=1)
    assert (error.code, error.msg) == (
        -27031,
        "A newly added collateral account can borrow or transfer only 2 minutes after it was "
        "added.",
    )
    desk.advance(120)
    assert desk.post(TRANSFER, spare, asset="USDT", amount=1) == {}


def test_the_unit_cannot_borrow_for_two_minutes_after_a_member_joined(desk: Desk) -> None:
    _add(desk, desk.spares()[0].email)
    desk.advance(119)
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT", amount=1)
    assert error.code == -27031
    desk.advance(1)
    assert desk.borrow("1")["status"] == "success"
