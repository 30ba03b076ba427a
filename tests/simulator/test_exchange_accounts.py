"""The exchange's accounts and units, its determinism, and the handle() contract."""

from __future__ import annotations

import pytest

from binance_instloan.simulator._exchange import Account, Exchange, Execution, SimError
from tests.simulator.exchange_support import BORROW, CLOSE, LTV, START_MS, Clock, Desk


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_the_same_seed_builds_the_same_accounts() -> None:
    first = Exchange(seed=3, now_ms=Clock())
    second = Exchange(seed=3, now_ms=Clock())
    assert dict(first.accounts) == dict(second.accounts)


def test_another_seed_builds_other_accounts() -> None:
    first = Exchange(seed=3, now_ms=Clock())
    second = Exchange(seed=4, now_ms=Clock())
    assert first.parent != second.parent
    assert {a.email for a in first.accounts.values()}.isdisjoint(
        a.email for a in second.accounts.values()
    )


def test_units_are_numbered_from_10001_in_creation_order(desk: Desk) -> None:
    assert desk.ex.group_ids == [10001, 10002, 10003]


def test_each_unit_has_one_credit_and_two_collateral_accounts(desk: Desk) -> None:
    for group_id in desk.ex.group_ids:
        credit = desk.ex.credit_account(group_id)
        collaterals = desk.ex.collateral_accounts(group_id)
        assert credit.role == "credit"
        assert credit.group_id == group_id
        assert [a.role for a in collaterals] == ["collateral", "collateral"]
        assert {a.group_id for a in collaterals} == {group_id}


def test_every_account_has_a_distinct_uid_and_email(desk: Desk) -> None:
    accounts = list(desk.ex.accounts.values())
    assert len({a.uid for a in accounts}) == len(accounts)
    assert len({a.email for a in accounts}) == len(accounts)
    assert all(desk.ex.accounts[a.uid] == a for a in accounts)


def test_the_parent_is_an_account_of_its_own(desk: Desk) -> None:
    assert desk.parent.role == "parent"
    assert desk.parent.group_id is None
    assert desk.ex.accounts[desk.parent.uid] == desk.parent


def test_spare_sub_accounts_belong_to_no_unit(desk: Desk) -> None:
    assert len(desk.spares()) == 3 + 3


def test_accounts_are_found_by_email_ignoring_case(desk: Desk) -> None:
    credit = desk.credit()
    assert desk.ex.account_by_email(credit.email.upper()) == credit
    assert desk.ex.account_by_email("nobody@example.com") is None


def test_the_number_of_units_is_configurable() -> None:
    exchange = Exchange(units=1, now_ms=Clock())
    assert exchange.group_ids == [10001]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"assets": ()}, "assets"),
        ({"assets": ("USDT", "usdt")}, "assets"),
        ({"assets": ("US-DT",)}, "assets"),
        ({"units": -1}, "negative"),
        ({"history_days": -1}, "negative"),
    ],
)
def test_unusable_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Exchange(now_ms=Clock(), **kwargs)  # type: ignore[arg-type]


def test_an_unknown_route_is_a_404_error(desk: Desk) -> None:
    error = desk.error("GET", "/sapi/v1/margin/loan-group/nope", desk.parent)
    assert (error.status, error.code) == (404, -1020)


def test_the_method_is_part_of_the_route(desk: Desk) -> None:
    error = desk.error("POST", LTV, desk.parent)
    assert error.status == 404


def test_an_account_the_exchange_does_not_know_is_refused(desk: Desk) -> None:
    stranger = Account(1, "x@example.com", "parent", None)
    error = desk.error("GET", LTV, stranger)
    assert (error.status, error.code) == (401, -2015)


def test_a_stale_account_object_is_read_as_the_account_is_now(desk: Desk) -> None:
    stale = desk.credit()
    desk.delete(CLOSE, stale, groupId=10001)
    assert stale.group_id == 10001
    assert desk.get(LTV, stale) == []


def test_sim_error_carries_code_message_and_status() -> None:
    error = SimError(-1002, "You are not authorized to execute this request.", 401)
    assert (error.code, error.msg, error.status) == (
        -1002, "You are not authorized to execute this request.", 401,
    )
    assert SimError(-1, "x").status == 400


def test_an_executed_write_is_recorded(desk: Desk) -> None:
    result = desk.borrow("100")
    assert desk.ex.executions == [
        Execution("POST", BORROW, {"groupId": "10001", "assetName": "USDT", "amount": "100"},
                  desk.credit().uid, START_MS, result)
    ]


def test_a_refused_write_is_not_recorded(desk: Desk) -> None:
    desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT", amount="1e9")
    assert desk.ex.executions == []


def test_reads_are_not_recorded(desk: Desk) -> None:
    desk.get(LTV, desk.parent)
    assert desk.ex.executions == []


def test_handle_takes_the_method_in_any_case(desk: Desk) -> None:
    assert desk.call("get", LTV, desk.parent, groupId=10001)[0]["groupId"] == 10001
