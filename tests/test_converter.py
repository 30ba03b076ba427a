"""Value rules, documented quirks and errors of the response converter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from binance_instloan._converter import (
    EPOCH,
    ResponseFormatError,
    converter,
    make_converter,
    structure,
    structure_list,
    structure_page,
)
from binance_instloan._enums import (
    AccountType,
    BorrowRepayType,
    MemberType,
    RebateType,
    RepayFrom,
    RiskUnitStatus,
    TransactionStatus,
)
from binance_instloan._errors import InstLoanError
from binance_instloan._models import (
    ActiveRiskUnit,
    AssetAmount,
    BorrowRepayRecord,
    BorrowResult,
    ClosedRiskUnit,
    CloseRiskUnitResult,
    EditMemberResult,
    ForceLiquidation,
    InterestRebateRecord,
    InterestRecord,
    Liability,
    LiquidationSnapshot,
    MaxBorrowable,
    Member,
    Page,
    RepayResult,
    RiskUnitDetails,
    Wallet,
)

STRICT = make_converter(forbid_extra_keys=True)


def asset_amount(amount: Any) -> AssetAmount:
    return structure({"assetName": "USDT", "amount": amount}, AssetAmount, converter=STRICT)


def member(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "a@test.com",
        "type": "CREDIT",
        "enableMargin": True,
        "enableSpot": True,
    } | overrides


def closed_unit(**overrides: Any) -> dict[str, Any]:
    return {
        "groupId": 72,
        "parentEmail": "p@test.com",
        "creditEmail": "c@test.com",
        "enabled": False,
        "createTime": 1753410654608,
        "closeTime": 1753422899052,
    } | overrides


def interest_row(**overrides: Any) -> dict[str, Any]:
    return {
        "groupId": 2,
        "assetName": "USDC",
        "principal": "851340.57601652",
        "interestRate": "0.00000833",
        "interest": "7.09447643",
        "interestTimestamp": 1746442800000,
    } | overrides


def snapshot_part(email: str, asset: str) -> dict[str, Any]:
    return {
        "snapshots": [
            {
                "subEmail": email,
                "memberType": "CREDIT",
                "walletType": "SPOT",
                "netEquity": "1",
                "maintainMargin": "0",
            }
        ],
        "liabilities": [{"assetName": asset, "principal": "10", "interest": "1"}],
    }


def force_liquidation(snapshot: Any) -> dict[str, Any]:
    return {
        "groupId": 6,
        "startLtv": 1,
        "endLtv": Decimal("0.85"),
        "liquidationStartTime": 1748381716906,
        "liquidationEndTime": 1748525848742,
        "totalNetEquity": Decimal("16671.5507973"),
        "totalMaintenanceMargin": 0,
        "totalLiability": Decimal("16667.926"),
        "liquidationSnapshot": snapshot,
    }


# --- Decimal ---------------------------------------------------------------------------------


def test_decimal_from_string_keeps_every_digit() -> None:
    assert str(asset_amount("17750.63160000").amount) == "17750.63160000"


def test_decimal_from_bare_json_number_keeps_every_digit() -> None:
    body = json.loads('{"assetName": "USDT", "amount": 851340.57601652}', parse_float=Decimal)

    assert str(structure(body, AssetAmount).amount) == "851340.57601652"


def test_decimal_from_json_integer() -> None:
    assert asset_amount(300).amount == Decimal(300)


def test_decimal_zero_in_scientific_notation_is_exactly_zero() -> None:
    amount = asset_amount("0E-8").amount

    assert amount == 0
    assert amount.as_tuple() == Decimal("0E-8").as_tuple()


def test_float_amount_raises_instead_of_losing_precision() -> None:
    with pytest.raises(ResponseFormatError, match="float") as excinfo:
        asset_amount(123456.78)

    assert isinstance(excinfo.value.__cause__, TypeError)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_amount_is_rejected(text: str) -> None:
    with pytest.raises(ResponseFormatError, match="finite"):
        asset_amount(text)


@pytest.mark.parametrize("value", ["", "12,5", "abc", True, None, [], {}])
def test_malformed_required_amount_is_rejected(value: Any) -> None:
    with pytest.raises(ResponseFormatError, match=r"@ \$\.amount"):
        asset_amount(value)


@pytest.mark.parametrize("value", [None, ""])
def test_empty_optional_amount_is_none(value: Any) -> None:
    row = {"tranId": 1, "assetName": "USDT", "amount": "1", "status": "CONFIRM", "type": "REPAY"}
    row |= {"timestamp": 1750420899036, "principal": value, "interest": value}

    record = structure(row, BorrowRepayRecord, converter=STRICT)

    assert record.principal is None
    assert record.interest is None


@pytest.mark.parametrize("body", [{"maxBorrowableAmount": None}, {"maxBorrowableAmount": ""}, {}])
def test_max_borrowable_without_a_value_is_none(body: dict[str, Any]) -> None:
    assert structure(body, MaxBorrowable, converter=STRICT).max_borrowable_amount is None


def test_max_borrowable_from_bare_number() -> None:
    result = structure({"maxBorrowableAmount": Decimal("12345.6789")}, MaxBorrowable)

    assert str(result.max_borrowable_amount) == "12345.6789"


_amounts = st.decimals(allow_nan=False, allow_infinity=False)


@given(_amounts)
def test_any_finite_decimal_string_round_trips_exactly(amount: Decimal) -> None:
    assert asset_amount(str(amount)).amount.as_tuple() == amount.as_tuple()


@given(_amounts)
def test_any_finite_decimal_object_round_trips_exactly(amount: Decimal) -> None:
    assert asset_amount(amount).amount.as_tuple() == amount.as_tuple()


@given(_amounts)
def test_any_finite_bare_json_number_round_trips_exactly(amount: Decimal) -> None:
    body = json.loads(f'{{"assetName": "BTC", "amount": {amount}}}', parse_float=Decimal)

    assert structure(body, AssetAmount).amount == amount


# --- ids, booleans, times, strings -----------------------------------------------------------


@pytest.mark.parametrize("value", [10001, "10001", Decimal("10001"), Decimal("1.0001E+4")])
def test_id_from_number_numeric_string_or_integral_decimal(value: Any) -> None:
    assert structure(closed_unit(groupId=value), ClosedRiskUnit).group_id == 10001


@pytest.mark.parametrize("value", [Decimal("1.5"), "1.5", "x", 1.0, True, None])
def test_non_integer_id_is_rejected(value: Any) -> None:
    with pytest.raises(ResponseFormatError, match=r"@ \$\.groupId"):
        structure(closed_unit(groupId=value), ClosedRiskUnit)


def test_id_documented_as_string_parses_from_a_string() -> None:
    result = structure({"transactionId": "12317283617", "amount": "1"}, RepayResult)

    assert result.transaction_id == 12317283617


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        ("FALSE", False),
        ("true", True),
        ("False", False),
    ],
)
def test_boolean_from_json_boolean_or_true_false_string(value: Any, expected: bool) -> None:
    parsed = structure(member(enableMargin=value), Member, converter=STRICT)

    assert parsed.enable_margin is expected


@pytest.mark.parametrize("value", ["yes", "1", 1, 0, None])
def test_other_boolean_spellings_are_rejected(value: Any) -> None:
    with pytest.raises(ResponseFormatError, match=r"@ \$\.enableSpot"):
        structure(member(enableSpot=value), Member)


@pytest.mark.parametrize("value", [1753410654608, "1753410654608", Decimal("1753410654608")])
def test_millisecond_time_becomes_aware_utc_datetime_exact_to_the_millisecond(value: Any) -> None:
    created = structure(closed_unit(createTime=value), ClosedRiskUnit).create_time

    assert created == datetime(2025, 7, 25, 2, 30, 54, 608000, tzinfo=UTC)
    assert created.utcoffset() == timedelta(0)


@given(st.integers(min_value=0, max_value=253402300799999))
def test_any_millisecond_time_round_trips_exactly(ms: int) -> None:
    created = structure(closed_unit(createTime=ms), ClosedRiskUnit).create_time

    assert (created - EPOCH) // timedelta(milliseconds=1) == ms


@pytest.mark.parametrize("value", [Decimal("1753410654608.5"), 1.7e12, "soon", 10**20])
def test_malformed_time_is_rejected(value: Any) -> None:
    with pytest.raises(ResponseFormatError, match=r"@ \$\.createTime"):
        structure(closed_unit(createTime=value), ClosedRiskUnit)


def test_number_in_a_text_field_is_kept_as_its_decimal_string() -> None:
    assert structure({"transactionId": 1, "amount": 2, "status": 0}, BorrowResult).status == "0"


def test_object_in_a_text_field_is_rejected() -> None:
    with pytest.raises(ResponseFormatError, match=r"@ \$\.status"):
        structure({"transactionId": 1, "amount": 2, "status": {}}, BorrowResult)


# --- enums -----------------------------------------------------------------------------------


def test_known_enum_value_becomes_the_member() -> None:
    wallet = structure(
        {"accountType": "ISOLATED_MARGIN", "netEquity": "1", "maintainMargin": "0"}, Wallet
    )

    assert wallet.account_type is AccountType.ISOLATED_MARGIN


def test_unknown_account_type_is_kept_as_plain_string() -> None:
    wallet = structure({"accountType": "FUTURES", "netEquity": "1", "maintainMargin": "0"}, Wallet)

    assert wallet.account_type == "FUTURES"
    assert type(wallet.account_type) is str


def test_unknown_member_type_is_kept_as_plain_string() -> None:
    parsed = structure(member(type="OBSERVER"), Member, converter=STRICT)

    assert type(parsed.type) is str
    assert parsed.type == "OBSERVER"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NORMAL_REPAY", BorrowRepayType.NORMAL_REPAY),
        ("FORCE_REPAY", BorrowRepayType.FORCE_REPAY),
        ("AUTO_REPAY", "AUTO_REPAY"),
    ],
)
def test_borrow_repay_type_known_and_future_values(value: str, expected: object) -> None:
    row = {"tranId": 1, "assetName": "USDT", "amount": 1, "status": "PENDING", "type": value}
    record = structure(row | {"timestamp": 1}, BorrowRepayRecord, converter=STRICT)

    assert repr(record.type) == repr(expected)
    assert record.status is TransactionStatus.PENDING


def test_unknown_transaction_status_is_kept_as_plain_string() -> None:
    row = {"tranId": 1, "assetName": "USDT", "amount": 1, "status": "PROCESSING", "type": "BORROW"}

    assert repr(structure(row | {"timestamp": 1}, BorrowRepayRecord).status) == "'PROCESSING'"


def test_unknown_rebate_type_is_kept_as_plain_string() -> None:
    row = {"type": "EXPIRE", "rebateAsset": "USDT", "delta": "-1", "createTime": 1}

    assert repr(structure(row, InterestRebateRecord).type) == "'EXPIRE'"


def test_rebate_type_name_in_the_response_becomes_the_member() -> None:
    row = {"type": "INTEREST_OFFSET", "rebateAsset": "USDT", "delta": "-1", "createTime": 1}

    assert structure(row, InterestRebateRecord).type is RebateType.INTEREST_OFFSET


@pytest.mark.parametrize(
    ("value", "expected"),
    [("SPOT", RepayFrom.SPOT), ("FUNDING", "FUNDING"), (None, None), ("", None)],
)
def test_repay_from_known_unknown_or_absent(value: Any, expected: object) -> None:
    body = {"transactionId": 1, "amount": "5", "repayFrom": value}

    assert repr(structure(body, RepayResult, converter=STRICT).repay_from) == repr(expected)


def test_unknown_close_status_is_kept_as_plain_string() -> None:
    result = structure({"groupId": 1, "status": "CLOSING"}, CloseRiskUnitResult)

    assert repr(result.status) == "'CLOSING'"


# --- pages and arrays ------------------------------------------------------------------------


@pytest.mark.parametrize("total", [2, "2", Decimal("2")])
def test_page_total_from_number_or_string(total: Any) -> None:
    page = structure_page(
        {"total": total, "rows": [interest_row()]}, InterestRecord, converter=STRICT
    )

    assert page.total == 2


@pytest.mark.parametrize(
    "body", [{"total": 0}, {"total": 0, "rows": None}, {"total": "0", "rows": []}]
)
def test_empty_page_has_no_rows(body: dict[str, Any]) -> None:
    assert structure_page(body, ClosedRiskUnit, converter=STRICT) == Page(total=0, rows=())


def test_page_rows_are_a_tuple_of_models() -> None:
    page = structure_page({"total": 1, "rows": [interest_row()]}, InterestRecord)

    assert isinstance(page.rows, tuple)
    assert isinstance(page.rows[0], InterestRecord)


def test_structure_page_has_the_same_hook_as_the_converter() -> None:
    body = {"total": 1, "rows": [interest_row()]}

    assert structure_page(body, InterestRecord) == converter.structure(body, Page[InterestRecord])


def test_liabilities_sent_as_a_single_object() -> None:
    body = snapshot_part("a@test.com", "USDT")
    body["liabilities"] = body["liabilities"][0]

    parsed = structure(body, LiquidationSnapshot, converter=STRICT)

    assert parsed.liabilities == (Liability("USDT", Decimal("10"), Decimal("1")),)


def test_liabilities_sent_as_an_array() -> None:
    parsed = structure(snapshot_part("a@test.com", "USDT"), LiquidationSnapshot, converter=STRICT)

    assert parsed.liabilities == (Liability("USDT", Decimal("10"), Decimal("1")),)


def test_liquidation_snapshot_sent_as_an_object() -> None:
    row = force_liquidation(snapshot_part("a@test.com", "USDT"))

    parsed = structure(row, ForceLiquidation, converter=STRICT)

    assert parsed.liquidation_snapshot == structure(
        snapshot_part("a@test.com", "USDT"), LiquidationSnapshot
    )
    assert parsed.end_ltv == Decimal("0.85")


def test_liquidation_snapshot_sent_as_an_array_of_one() -> None:
    row = force_liquidation([snapshot_part("a@test.com", "USDT")])

    parsed = structure(row, ForceLiquidation, converter=STRICT)

    assert parsed.liquidation_snapshot == structure(
        snapshot_part("a@test.com", "USDT"), LiquidationSnapshot
    )


def test_liquidation_snapshot_array_of_several_is_merged_in_order() -> None:
    row = force_liquidation(
        [snapshot_part("a@test.com", "USDT"), snapshot_part("b@test.com", "USDC")]
    )

    snapshot = structure(row, ForceLiquidation, converter=STRICT).liquidation_snapshot

    assert [s.sub_email for s in snapshot.snapshots] == ["a@test.com", "b@test.com"]
    assert [li.asset_name for li in snapshot.liabilities] == ["USDT", "USDC"]


def test_list_endpoint_with_an_empty_body_is_an_empty_list() -> None:
    assert structure_list(None, RiskUnitDetails) == []
    assert structure_list("", RiskUnitDetails) == []
    assert structure_list([], RiskUnitDetails) == []
    assert structure_list({}, RiskUnitDetails) == []


def test_list_endpoint_answering_with_one_object_is_a_list_of_one() -> None:
    unit = {"groupId": 1, "members": [member()], "createTime": 1747637956083}

    assert structure_list(unit, ActiveRiskUnit, converter=STRICT) == [
        structure(unit, ActiveRiskUnit)
    ]


def test_list_endpoint_returns_a_list() -> None:
    unit = {"groupId": 1, "members": [member()], "createTime": 1747637956083}

    assert isinstance(structure_list([unit, unit], ActiveRiskUnit), list)


def test_array_field_sent_as_null_is_empty() -> None:
    unit = structure({"groupId": 1, "members": None, "createTime": 1}, ActiveRiskUnit)

    assert unit.members == ()


def test_array_field_sent_as_a_string_is_rejected() -> None:
    with pytest.raises(ResponseFormatError, match=r"expected a JSON array.*@ \$\.members"):
        structure({"groupId": 1, "members": "a@test.com", "createTime": 1}, ActiveRiskUnit)


# --- empty bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, "", {}], ids=["null", "empty-string", "empty-object"])
def test_close_risk_unit_accepts_an_empty_body(body: Any) -> None:
    assert structure(body, CloseRiskUnitResult, converter=STRICT) == CloseRiskUnitResult()


@pytest.mark.parametrize("body", [None, "", {}], ids=["null", "empty-string", "empty-object"])
def test_edit_member_accepts_an_empty_body(body: Any) -> None:
    assert structure(body, EditMemberResult, converter=STRICT) == EditMemberResult(status=None)


@pytest.mark.parametrize("body", [None, "", {}])
def test_result_with_required_fields_refuses_an_empty_body(body: Any) -> None:
    with pytest.raises(ResponseFormatError):
        structure(body, BorrowResult)


# --- errors and the converter itself ---------------------------------------------------------


def test_missing_field_error_names_the_json_path() -> None:
    row = interest_row(interestRate="x")
    del row["interestTimestamp"]
    body = {"total": 1, "rows": [row]}

    with pytest.raises(ResponseFormatError) as excinfo:
        structure_page(body, InterestRecord)

    message = str(excinfo.value)
    assert message.startswith("unexpected response body for Page[InterestRecord]")
    assert "required field missing @ $.rows[0].interestTimestamp" in message
    assert "got str 'x' @ $.rows[0].interestRate" in message


def test_response_format_error_is_a_value_error_of_the_library() -> None:
    with pytest.raises(ResponseFormatError) as excinfo:
        structure([1, 2], ClosedRiskUnit)

    error = excinfo.value
    assert isinstance(error, ValueError)
    assert isinstance(error, InstLoanError)
    assert error.target is ClosedRiskUnit
    assert error.body == [1, 2]
    assert error.__cause__ is not None
    assert "expected a JSON object" in str(error)


def test_strict_converter_names_the_unexpected_key() -> None:
    with pytest.raises(ResponseFormatError, match=r"unexpected fields \['newField'\] in Member"):
        structure(member(newField=1), Member, converter=STRICT)


def test_production_converter_ignores_unknown_keys() -> None:
    assert structure(member(newField=1), Member) == structure(member(), Member, converter=STRICT)


def test_production_converter_is_fast_and_tolerant() -> None:
    assert converter.detailed_validation is False
    assert converter.forbid_extra_keys is False


@pytest.mark.parametrize(
    "tp", [InterestRecord, Page[InterestRecord], Page[ForceLiquidation], RiskUnitDetails]
)
def test_hooks_are_generated_once(tp: Any) -> None:
    assert converter.get_structure_hook(tp) is converter.get_structure_hook(tp)


def test_member_type_and_wallet_type_enums_in_snapshots() -> None:
    snapshot = structure(snapshot_part("a@test.com", "USDT"), LiquidationSnapshot).snapshots[0]

    assert snapshot.member_type is MemberType.CREDIT
    assert snapshot.wallet_type is AccountType.SPOT


def test_close_status_closed_becomes_the_member() -> None:
    result = structure({"groupId": "10001", "status": "CLOSED"}, CloseRiskUnitResult)

    assert result == CloseRiskUnitResult(group_id=10001, status=RiskUnitStatus.CLOSED)


@pytest.mark.parametrize("stamp", [0, 1, 999, 1746442800000, 1746442800123, 32503679999999])
def test_millisecond_times_are_exact_on_the_fast_row_path(stamp: int) -> None:
    from datetime import UTC, datetime, timedelta

    from binance_instloan._converter import structure_page
    from binance_instloan._models import InterestRecord

    row = {"groupId": 1, "assetName": "USDT", "principal": "1", "interestRate": "0.1",
           "interest": "0.1", "interestTimestamp": stamp}
    page = structure_page({"total": 1, "rows": [row]}, InterestRecord)
    assert page.rows[0].interest_timestamp == (
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=stamp))
