"""Parameter checks every endpoint shares: mandatory, unknown, formats, paging."""

from __future__ import annotations

import pytest

from tests.simulator.exchange_support import (
    ACTIVE,
    BORROW,
    CLOSED,
    EDIT,
    INTEREST,
    LTV,
    REBATE_RECORDS,
    RECORDS,
    REPAY,
    Desk,
)


@pytest.fixture
def desk() -> Desk:
    return Desk()


def test_a_missing_mandatory_parameter_is_named(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT")
    assert error.code == -1102
    assert error.msg == "Mandatory parameter 'amount' was not sent, was empty/null, or malformed."


def test_an_empty_mandatory_parameter_counts_as_missing(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId="", assetName="USDT", amount=1)
    assert error.code == -1102


def test_an_empty_optional_parameter_is_refused(desk: Desk) -> None:
    error = desk.error("GET", LTV, desk.parent, groupId="")
    assert (error.code, error.msg) == (-1105, "Parameter 'groupId' was empty.")


def test_an_unknown_parameter_is_refused(desk: Desk) -> None:
    error = desk.error("GET", ACTIVE, desk.parent, groupId=10001)
    assert error.code == -1104
    assert error.msg.startswith("Not all sent parameters were read")


def test_a_misspelt_parameter_is_refused_even_when_everything_else_is_right(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT",
                       amount=1, asset="USDT")
    assert error.code == -1104


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "1e3"])
def test_a_long_parameter_must_be_digits(desk: Desk, value: str) -> None:
    error = desk.error("GET", LTV, desk.parent, groupId=value)
    assert error.code == -1100
    assert "'groupId'" in error.msg


@pytest.mark.parametrize("value", ["1e3", "-1", "1,5", "one", ".5", "1."])
def test_an_amount_must_be_a_plain_decimal(desk: Desk, value: str) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="USDT",
                       amount=value)
    assert error.code == -1100
    assert "'amount'" in error.msg


def test_an_asset_name_with_odd_characters_is_refused(desk: Desk) -> None:
    error = desk.error("POST", BORROW, desk.credit(), groupId=10001, assetName="US DT",
                       amount=1)
    assert error.code == -1100


@pytest.mark.parametrize("size", [0, 101])
def test_size_must_be_between_1_and_100(desk: Desk, size: int) -> None:
    error = desk.error("GET", CLOSED, desk.credit(), size=size)
    assert (error.code, error.msg) == (-1130, "Data sent for parameter 'size' is not valid.")


def test_size_100_is_accepted(desk: Desk) -> None:
    assert desk.get(CLOSED, desk.credit(), size=100) == {"total": 0, "rows": []}


def test_current_starts_at_1(desk: Desk) -> None:
    error = desk.error("GET", INTEREST, desk.credit(), current=0)
    assert (error.code, error.msg) == (-1130, "Data sent for parameter 'current' is not valid.")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (RECORDS, {"type": "LOAN"}),
        (REPAY, {"groupId": 10001, "assetName": "USDT", "amount": 1, "repayFrom": "FUNDING"}),
        (REBATE_RECORDS, {"type": 3}),
    ],
)
def test_an_unknown_enum_value_is_invalid_data(
    desk: Desk, path: str, params: dict[str, object]
) -> None:
    caller = desk.parent if path == REBATE_RECORDS else desk.credit()
    method = "POST" if path == REPAY else "GET"
    assert desk.error(method, path, caller, **params).code == -1130


def test_a_boolean_must_be_true_or_false(desk: Desk) -> None:
    spare = desk.spares()[0]
    error = desk.error("POST", EDIT, desk.parent, groupId=10001, subEmail=spare.email,
                       enableSpot="yes", enableMargin="TRUE")
    assert (error.code, error.msg) == (-1130, "Data sent for parameter 'enableSpot' is not valid.")


def test_parameters_are_checked_before_the_caller_role(desk: Desk) -> None:
    assert desk.error("POST", BORROW, desk.parent).code == -1102


def test_enum_values_are_matched_ignoring_case(desk: Desk) -> None:
    assert desk.get(RECORDS, desk.credit(), type="borrow") == {"total": 0, "rows": []}
