"""Every documented response example parses into the exact model (reference section 2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from binance_instloan._converter import (
    ResponseFormatError,
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
from binance_instloan._models import (
    ActiveRiskUnit,
    AssetAmount,
    BorrowRepayRecord,
    BorrowResult,
    ClosedRiskUnit,
    CloseRiskUnitResult,
    CollateralAccount,
    EditMemberResult,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateBalance,
    InterestRebateRecord,
    InterestRecord,
    Liability,
    LiquidationSnapshot,
    LiquidationTransferRecord,
    MaxBorrowable,
    Member,
    Page,
    RepayResult,
    RiskUnitDetails,
    TransferOutResult,
    Wallet,
    WalletSnapshot,
)

EXAMPLES = Path(__file__).parent / "data" / "examples"
STRICT = make_converter(forbid_extra_keys=True)
TOLERANT = make_converter()


def load(name: str) -> Any:
    # The transport parses the same way: bare JSON numbers become exact Decimals.
    return json.loads((EXAMPLES / f"{name}.json").read_text(), parse_float=Decimal)


def assert_exactly_equal(actual: object, expected: object) -> None:
    # == alone says Decimal("5") == Decimal("5.00") and AccountType.SPOT == "SPOT"; the repr
    # also pins each Decimal's digits and exponent and whether a value is an enum member.
    assert actual == expected
    assert repr(actual) == repr(expected)


def D(text: str) -> Decimal:
    return Decimal(text)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, sec, micro, tzinfo=UTC)


def wallet(account_type: AccountType, net_equity: str, maintain_margin: str) -> Wallet:
    return Wallet(
        account_type=account_type, net_equity=D(net_equity), maintain_margin=D(maintain_margin)
    )


LTV_DETAILS = [
    RiskUnitDetails(
        group_id=1,
        parent_email="andrew.kemmer001@test.com",
        credit_email="tst20241120@test.com",
        update_time=utc(2025, 7, 10, 8, 45, 5, 623000),
        ltv=D("0.592"),
        total_net_equity=D("26.35196946"),
        total_maintenance_margin=D("0.50106177"),
        total_liability=D("15.30718771"),
        parent_account_frozen_amount=D("8.18753688"),
        max_transfer_out_amount=D("0"),
        max_allowed_borrow_limit=D("16.32397222"),
        liabilities=(Liability(asset_name="USDT", principal=D("15.30718771"), interest=D("0")),),
        collateral_accounts=(
            CollateralAccount(
                email="collateral001@test.com",
                type=MemberType.COLLATERAL,
                wallets=(
                    wallet(AccountType.SPOT, "5", "0"),
                    wallet(AccountType.CROSS_MARGIN, "4.98938226", "0.50106177"),
                ),
            ),
            CollateralAccount(
                email="collateral003@test.com",
                type=MemberType.COLLATERAL,
                wallets=(
                    wallet(AccountType.SPOT, "5.4284319", "0"),
                    wallet(AccountType.CROSS_MARGIN, "0", "0"),
                ),
            ),
            CollateralAccount(
                email="CREDIT20241120@test.com",
                type=MemberType.CREDIT,
                wallets=(
                    wallet(AccountType.SPOT, "0", "0"),
                    wallet(AccountType.PORTFOLIO_MARGIN, "4.93362203", "0"),
                ),
            ),
            CollateralAccount(
                email="collateral004l@test.com",
                type=MemberType.COLLATERAL,
                wallets=(
                    wallet(AccountType.SPOT, "0", "0"),
                    wallet(AccountType.PORTFOLIO_MARGIN, "1.00053327", "0"),
                ),
            ),
            CollateralAccount(
                email="collatera005@test.com",
                type=MemberType.COLLATERAL,
                wallets=(
                    wallet(AccountType.SPOT, "5", "0"),
                    wallet(AccountType.CROSS_MARGIN, "0", "0"),
                ),
            ),
        ),
    )
]

ACTIVE_RISK_UNITS = [
    ActiveRiskUnit(
        group_id=10001,
        members=(
            Member(
                email="1001@test.com", type=MemberType.CREDIT, enable_margin=True, enable_spot=True
            ),
            Member(
                email="1002@test.com",
                type=MemberType.COLLATERAL,
                enable_margin=True,
                enable_spot=True,
            ),
        ),
        create_time=utc(2025, 5, 19, 6, 59, 16, 83000),
    ),
    ActiveRiskUnit(
        group_id=10002,
        members=(
            Member(
                email="1003@test.com", type=MemberType.CREDIT, enable_margin=True, enable_spot=True
            ),
            Member(
                email="1004@test.com",
                type=MemberType.COLLATERAL,
                enable_margin=True,
                enable_spot=True,
            ),
        ),
        create_time=utc(2025, 5, 19, 6, 59, 16, 83000),
    ),
]

CLOSED_RISK_UNITS = Page(
    total=2,
    rows=(
        ClosedRiskUnit(
            group_id=72,
            parent_email="wdywgceiwbfq@test.com",
            credit_email="wdywaxmzlnah@test.com",
            enabled=False,
            create_time=utc(2025, 7, 25, 2, 30, 54, 608000),
            close_time=utc(2025, 7, 25, 5, 54, 59, 52000),
        ),
        ClosedRiskUnit(
            group_id=73,
            parent_email="wdywgceiwbfq@test.com",
            credit_email="wdyw7x4gfybn@test.com",
            enabled=False,
            create_time=utc(2025, 7, 25, 5, 56, 27, 379000),
            close_time=utc(2025, 7, 25, 6, 5, 16, 629000),
        ),
    ),
)


def snapshot(
    email: str, member: MemberType, wallet_type: AccountType, net_equity: str
) -> WalletSnapshot:
    return WalletSnapshot(
        sub_email=email,
        member_type=member,
        wallet_type=wallet_type,
        net_equity=D(net_equity),
        maintain_margin=D("0E-8"),
    )


FORCE_LIQUIDATIONS = Page(
    total=2,
    rows=(
        ForceLiquidation(
            group_id=6,
            start_ltv=D("1"),
            end_ltv=D("0"),
            liquidation_start_time=utc(2025, 5, 27, 21, 35, 16, 906000),
            liquidation_end_time=utc(2025, 5, 29, 13, 37, 28, 742000),
            total_net_equity=D("16671.5507973"),
            total_maintenance_margin=D("0"),
            total_liability=D("16667.926"),
            liquidation_snapshot=LiquidationSnapshot(
                snapshots=(
                    snapshot(
                        "1000255973134@test.com",
                        MemberType.CREDIT,
                        AccountType.PORTFOLIO_MARGIN,
                        "12671.05079731",
                    ),
                    snapshot("1000255973134@test.com", MemberType.CREDIT, AccountType.SPOT, "0E-8"),
                    snapshot(
                        "1000255973138@test.com",
                        MemberType.COLLATERAL,
                        AccountType.PORTFOLIO_MARGIN,
                        "1000.25333000",
                    ),
                    snapshot(
                        "1000255973137@test.com",
                        MemberType.COLLATERAL,
                        AccountType.PORTFOLIO_MARGIN,
                        "1000.24667000",
                    ),
                    snapshot(
                        "1000255973135@test.com",
                        MemberType.COLLATERAL,
                        AccountType.CROSS_MARGIN,
                        "1000.00000000",
                    ),
                    snapshot(
                        "1000255973136@test.com",
                        MemberType.COLLATERAL,
                        AccountType.CROSS_MARGIN,
                        "1000.00000000",
                    ),
                ),
                liabilities=(
                    Liability(
                        asset_name="USDT",
                        principal=D("11667.92600000"),
                        interest=D("5000.00000000"),
                    ),
                ),
            ),
        ),
    ),
)


def transfer(
    when: datetime, from_uid: int, from_type: AccountType, asset: str, amount: str
) -> LiquidationTransferRecord:
    return LiquidationTransferRecord(
        transfer_time=when,
        from_uid=from_uid,
        from_account_type=from_type,
        to_uid=1000277033505,
        to_account_type=AccountType.PORTFOLIO_MARGIN,
        status=TransactionStatus.CONFIRM,
        assets=(AssetAmount(asset_name=asset, amount=D(amount)),),
    )


FORCE_LIQUIDATION_TRANSFERS = Page(
    total=2,
    rows=(
        ForceLiquidationTransfer(
            liquidation_id=56,
            liquidation_transfer_record=(
                transfer(
                    utc(2025, 12, 10, 14, 53, 20, 855000),
                    1000277033525,
                    AccountType.PORTFOLIO_MARGIN,
                    "USDT",
                    "17750.6316",
                ),
                transfer(
                    utc(2025, 12, 10, 15, 0, 30, 528000),
                    1000277296026,
                    AccountType.SPOT,
                    "BTC",
                    "0.5",
                ),
            ),
        ),
        ForceLiquidationTransfer(
            liquidation_id=55,
            liquidation_transfer_record=(
                transfer(
                    utc(2025, 12, 10, 13, 46, 1, 589000),
                    1000277033515,
                    AccountType.CROSS_MARGIN,
                    "USDT",
                    "999.999024",
                ),
                transfer(
                    utc(2025, 12, 10, 14, 2, 22, 535000),
                    1000277033518,
                    AccountType.PORTFOLIO_MARGIN,
                    "USDT",
                    "999.999024",
                ),
                transfer(
                    utc(2025, 12, 10, 14, 7, 20, 990000),
                    1000277033525,
                    AccountType.PORTFOLIO_MARGIN,
                    "USDT",
                    "999.999024",
                ),
            ),
        ),
    ),
)

BORROW_REPAY_RECORDS = Page(
    total=1,
    rows=(
        BorrowRepayRecord(
            tran_id=1648963682,
            asset_name="USDT",
            amount=D("300"),
            status=TransactionStatus.CONFIRM,
            type=BorrowRepayType.BORROW,
            timestamp=utc(2025, 6, 20, 12, 1, 39, 36000),
        ),
        BorrowRepayRecord(
            tran_id=1648963682,
            asset_name="USDT",
            amount=D("300"),
            status=TransactionStatus.FAILED,
            type=BorrowRepayType.BORROW,
            timestamp=utc(2025, 6, 20, 12, 1, 39, 36000),
        ),
        BorrowRepayRecord(
            tran_id=1648963682,
            asset_name="USDT",
            amount=D("300"),
            principal=D("298"),
            interest=D("2"),
            status=TransactionStatus.CONFIRM,
            type=BorrowRepayType.REPAY,
            timestamp=utc(2025, 6, 20, 12, 1, 39, 36000),
        ),
    ),
)

INTEREST_HISTORY = Page(
    total=2,
    rows=(
        InterestRecord(
            group_id=2,
            asset_name="USDC",
            principal=D("851340.57601652"),
            interest_rate=D("0.00000833"),
            interest=D("7.09447643"),
            interest_timestamp=utc(2025, 5, 5, 11, 0),
        ),
        InterestRecord(
            group_id=2,
            asset_name="USDC",
            principal=D("851340.57601652"),
            interest_rate=D("0.00000833"),
            interest=D("7.09447643"),
            interest_timestamp=utc(2025, 5, 5, 10, 0),
        ),
    ),
)

INTEREST_REBATE_RECORDS = Page(
    total=3,
    rows=(
        InterestRebateRecord(
            type=RebateType.ADD,
            rebate_asset="USDT",
            delta=D("5000.00000000"),
            create_time=utc(2024, 3, 31),
        ),
        InterestRebateRecord(
            type=RebateType.DEDUCT,
            rebate_asset="USDT",
            delta=D("-1000.00000000"),
            create_time=utc(2024, 4, 2),
        ),
        InterestRebateRecord(
            type=RebateType.INTEREST_OFFSET,
            group_id=10005,
            rebate_asset="USDT",
            delta=D("-50.12345678"),
            liability_asset="BTC",
            deducted_interest=D("0.00050123"),
            exchange_rate=D("0.00001000"),
            create_time=utc(2024, 4, 3),
        ),
    ),
)

# (example file, how the endpoint is structured, the expected model)
SINGLE_EXAMPLES: list[tuple[str, type[Any], object]] = [
    ("close_risk_unit", CloseRiskUnitResult, CloseRiskUnitResult(10001, RiskUnitStatus.CLOSED)),
    ("edit_member", EditMemberResult, EditMemberResult(status=0)),
    (
        "borrow",
        BorrowResult,
        BorrowResult(transaction_id=12317283617, amount=D("123456.78"), status="success"),
    ),
    (
        "repay",
        RepayResult,
        RepayResult(transaction_id=12317283617, amount=D("123456.78"), repay_from=RepayFrom.MARGIN),
    ),
    (
        "repay_without_repay_from",
        RepayResult,
        RepayResult(transaction_id=12317283617, amount=D("123456.78")),
    ),
    ("max_borrowable", MaxBorrowable, MaxBorrowable(D("12345.67890000"))),
]
LIST_EXAMPLES: list[tuple[str, type[Any], object]] = [
    ("ltv_details", RiskUnitDetails, LTV_DETAILS),
    ("active_risk_units", ActiveRiskUnit, ACTIVE_RISK_UNITS),
]
PAGE_EXAMPLES: list[tuple[str, type[Any], object]] = [
    ("closed_risk_units", ClosedRiskUnit, CLOSED_RISK_UNITS),
    ("force_liquidation", ForceLiquidation, FORCE_LIQUIDATIONS),
    ("force_liquidation_transfer", ForceLiquidationTransfer, FORCE_LIQUIDATION_TRANSFERS),
    ("borrow_repay", BorrowRepayRecord, BORROW_REPAY_RECORDS),
    ("interest_history", InterestRecord, INTEREST_HISTORY),
    ("interest_rebate_records", InterestRebateRecord, INTEREST_REBATE_RECORDS),
]
ALL_EXAMPLES = [
    *((name, structure, cls, expected) for name, cls, expected in SINGLE_EXAMPLES),
    *((name, structure_list, cls, expected) for name, cls, expected in LIST_EXAMPLES),
    *((name, structure_page, cls, expected) for name, cls, expected in PAGE_EXAMPLES),
]


def test_every_example_file_is_covered() -> None:
    assert {path.stem for path in EXAMPLES.glob("*.json")} == {e[0] for e in ALL_EXAMPLES}


@pytest.mark.parametrize(
    ("name", "parse", "cls", "expected"), ALL_EXAMPLES, ids=[e[0] for e in ALL_EXAMPLES]
)
def test_documented_example_parses_strictly_into_the_exact_model(
    name: str, parse: Any, cls: type[Any], expected: object
) -> None:
    assert_exactly_equal(parse(load(name), cls, converter=STRICT), expected)


def with_unknown_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {"futureField": "x", **{k: with_unknown_keys(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [with_unknown_keys(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("name", "parse", "cls", "expected"), ALL_EXAMPLES, ids=[e[0] for e in ALL_EXAMPLES]
)
def test_tolerant_converter_ignores_unknown_keys_at_every_level(
    name: str, parse: Any, cls: type[Any], expected: object
) -> None:
    assert_exactly_equal(parse(with_unknown_keys(load(name)), cls, converter=TOLERANT), expected)


@pytest.mark.parametrize(
    ("name", "parse", "cls", "expected"), ALL_EXAMPLES, ids=[e[0] for e in ALL_EXAMPLES]
)
def test_strict_converter_rejects_an_unknown_key(
    name: str, parse: Any, cls: type[Any], expected: object
) -> None:
    with pytest.raises(ResponseFormatError, match="futureField"):
        parse(with_unknown_keys(load(name)), cls, converter=STRICT)


def test_default_helpers_use_the_tolerant_converter() -> None:
    body = with_unknown_keys(load("interest_history"))

    assert_exactly_equal(structure_page(body, InterestRecord), INTEREST_HISTORY)


def test_bare_json_number_principal_stays_exactly_as_sent() -> None:
    page = structure_page(load("interest_history"), InterestRecord, converter=STRICT)

    assert str(page.rows[0].principal) == "851340.57601652"


def test_zero_in_scientific_notation_is_zero() -> None:
    page = structure_page(load("force_liquidation"), ForceLiquidation, converter=STRICT)

    margin = page.rows[0].liquidation_snapshot.snapshots[0].maintain_margin
    assert margin == 0
    assert margin.as_tuple().exponent == -8


def test_interest_rebate_balance_parses_the_node_sdk_shape() -> None:
    # Section 2.14 has no documented example; this is the shape tiagosiebler/binance types.
    body = {"asset": "USDT", "balance": "4000.5", "totalGranted": "5000", "totalConsumed": "999.5"}

    result = structure(body, InterestRebateBalance, converter=STRICT)

    assert_exactly_equal(
        result,
        InterestRebateBalance(
            asset="USDT", balance=D("4000.5"), total_granted=D("5000"), total_consumed=D("999.5")
        ),
    )


@pytest.mark.parametrize("body", [None, "", {}], ids=["null", "empty-string", "empty-object"])
def test_transfer_out_accepts_an_empty_body(body: Any) -> None:
    assert structure(body, TransferOutResult, converter=STRICT) == TransferOutResult()


def test_models_are_frozen() -> None:
    record = INTEREST_HISTORY.rows[0]

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        record.interest = D("0")  # type: ignore[misc]


def test_models_are_slotted() -> None:
    assert not hasattr(INTEREST_HISTORY.rows[0], "__dict__")


def test_enums_are_strings() -> None:
    assert AccountType.PORTFOLIO_MARGIN == "PORTFOLIO_MARGIN"
    assert isinstance(MemberType.CREDIT, str)


@pytest.mark.parametrize(
    ("rebate_type", "code"),
    [(RebateType.ADD, 0), (RebateType.DEDUCT, 1), (RebateType.INTEREST_OFFSET, 2)],
)
def test_rebate_type_request_code_is_the_documented_int(rebate_type: RebateType, code: int) -> None:
    assert rebate_type.request_code == code
