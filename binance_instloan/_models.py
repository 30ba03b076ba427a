"""Typed responses of the Institutional Loan API.

Field names are the snake_case of the JSON keys (``groupId`` -> ``group_id``); the camelCase
mapping lives in :mod:`binance_instloan._converter`. Money, rates and LTVs are ``Decimal``,
millisecond times are timezone-aware UTC ``datetime`` objects.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

import attrs

from ._enums import (
    AccountType,
    BorrowRepayType,
    MemberType,
    RebateType,
    RepayFrom,
    RiskUnitStatus,
    TransactionStatus,
)

__all__ = [
    "ActiveRiskUnit",
    "AssetAmount",
    "BorrowRepayRecord",
    "BorrowResult",
    "CloseRiskUnitResult",
    "ClosedRiskUnit",
    "CollateralAccount",
    "EditMemberResult",
    "ForceLiquidation",
    "ForceLiquidationTransfer",
    "InterestRebateBalance",
    "InterestRebateRecord",
    "InterestRecord",
    "Liability",
    "LiquidationSnapshot",
    "LiquidationTransferRecord",
    "MaxBorrowable",
    "Member",
    "Page",
    "RepayResult",
    "RiskUnitDetails",
    "TransferOutResult",
    "Wallet",
    "WalletSnapshot",
]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a paged endpoint: ``total`` matching records, ``rows`` on this page."""

    # The force-liquidation example shows total 2 with one row: trust rows, not total.
    total: int
    rows: tuple[T, ...] = ()


@attrs.frozen
class Liability:
    """Outstanding loan of one asset."""

    asset_name: str
    principal: Decimal
    interest: Decimal


@attrs.frozen
class Wallet:
    """Equity and maintenance margin of one wallet of a risk-unit member."""

    account_type: AccountType | str
    net_equity: Decimal
    maintain_margin: Decimal


@attrs.frozen
class CollateralAccount:
    """A member account of a risk unit (credit or collateral) and its wallets."""

    email: str
    type: MemberType | str
    wallets: tuple[Wallet, ...]


@attrs.frozen
class RiskUnitDetails:
    """LTV details of one risk unit (``GET /sapi/v1/margin/loan-group/ltv-details``)."""

    group_id: int
    parent_email: str
    credit_email: str
    update_time: datetime
    # Computed from live prices at call time: it moves with the market.
    ltv: Decimal
    total_net_equity: Decimal
    total_maintenance_margin: Decimal
    total_liability: Decimal
    liabilities: tuple[Liability, ...]
    collateral_accounts: tuple[CollateralAccount, ...]
    # The next three are in the example (added 2025-07-11) but absent from the field table.
    parent_account_frozen_amount: Decimal | None = None
    max_transfer_out_amount: Decimal | None = None
    max_allowed_borrow_limit: Decimal | None = None


@attrs.frozen
class Member:
    """A member of an active risk unit and which of its wallets count as collateral."""

    email: str
    type: MemberType | str
    enable_margin: bool
    enable_spot: bool


@attrs.frozen
class ActiveRiskUnit:
    """An active risk unit of the parent account (``GET /sapi/v1/margin/loan-groups/activated``)."""

    group_id: int
    members: tuple[Member, ...]
    # Documented as "Last update timestamp", although the key says creation time.
    create_time: datetime


@attrs.frozen
class ClosedRiskUnit:
    """A closed risk unit (``GET /sapi/v1/margin/loan-groups/closed``)."""

    group_id: int
    parent_email: str
    credit_email: str
    enabled: bool
    create_time: datetime
    close_time: datetime


@attrs.frozen
class WalletSnapshot:
    """A member wallet as it stood when a forced liquidation started."""

    sub_email: str
    member_type: MemberType | str
    wallet_type: AccountType | str
    net_equity: Decimal
    maintain_margin: Decimal


@attrs.frozen
class LiquidationSnapshot:
    """Wallets and liabilities of a risk unit at liquidation time."""

    snapshots: tuple[WalletSnapshot, ...]
    # Documented as an array, sent as a single object; the converter accepts both.
    liabilities: tuple[Liability, ...]


@attrs.frozen
class ForceLiquidation:
    """A forced liquidation of a risk unit (``GET .../loan-group/force-liquidation``)."""

    group_id: int
    # Documented as LONG, but an LTV is a ratio: Decimal keeps a fractional value exact.
    start_ltv: Decimal
    # The docs call it the "current" LTV.
    end_ltv: Decimal
    liquidation_start_time: datetime
    liquidation_end_time: datetime
    total_net_equity: Decimal
    total_maintenance_margin: Decimal
    total_liability: Decimal
    # Documented as an object array, sent as one object; an array is merged into one.
    liquidation_snapshot: LiquidationSnapshot


@attrs.frozen
class AssetAmount:
    """An amount of one asset."""

    asset_name: str
    amount: Decimal


@attrs.frozen
class LiquidationTransferRecord:
    """One transfer from a member account to the credit account during a liquidation."""

    transfer_time: datetime
    # Documented as String, sent as a number.
    from_uid: int
    from_account_type: AccountType | str
    to_uid: int
    to_account_type: AccountType | str
    status: TransactionStatus | str
    # The field table puts ``assets`` at the top level; the example nests it here.
    assets: tuple[AssetAmount, ...]


@attrs.frozen
class ForceLiquidationTransfer:
    """Transfers of one liquidation (``GET .../loan-group/force-liquidation-transfer-record``)."""

    liquidation_id: int
    liquidation_transfer_record: tuple[LiquidationTransferRecord, ...]


@attrs.frozen
class BorrowRepayRecord:
    """A borrow or repayment of a risk unit (``GET .../loan-group/borrow-repay``)."""

    tran_id: int
    asset_name: str
    amount: Decimal
    status: TransactionStatus | str
    # The docs list BORROW, NORMAL_REPAY and FORCE_REPAY; the example still shows REPAY.
    type: BorrowRepayType | str
    # Creation time.
    timestamp: datetime
    # Repayment rows only.
    principal: Decimal | None = None
    interest: Decimal | None = None


@attrs.frozen
class InterestRecord:
    """An interest charge of a risk unit (``GET .../loan-group/interest-history``)."""

    group_id: int
    asset_name: str
    principal: Decimal
    # Hourly rate.
    interest_rate: Decimal
    interest: Decimal
    interest_timestamp: datetime


@attrs.frozen
class MaxBorrowable:
    """Maximum amount of an asset the risk unit can borrow; ``None`` when the key has no unit."""

    max_borrowable_amount: Decimal | None = None


@attrs.frozen
class InterestRebateBalance:
    """Interest rebate balance of the master account, in USDT (shape unconfirmed by Binance)."""

    asset: str | None = None
    balance: Decimal | None = None
    total_granted: Decimal | None = None
    total_consumed: Decimal | None = None


@attrs.frozen
class InterestRebateRecord:
    """A change of the interest rebate balance (``GET .../interest-rebate-balance/records``)."""

    type: RebateType | str
    rebate_asset: str
    # Positive for ADD, negative for DEDUCT and INTEREST_OFFSET.
    delta: Decimal
    create_time: datetime
    # The remaining fields are sent for INTEREST_OFFSET only.
    group_id: int | None = None
    liability_asset: str | None = None
    deducted_interest: Decimal | None = None
    exchange_rate: Decimal | None = None


@attrs.frozen
class BorrowResult:
    """Result of a borrow (``POST .../loan-group/borrow``)."""

    # Documented as String, sent as a number: an int when it is all digits, else the string.
    transaction_id: int | str
    amount: Decimal
    # "success" when the borrow succeeded; some copies of the docs omit it.
    status: str | None = None


@attrs.frozen
class RepayResult:
    """Result of a repayment; ``amount`` may be less than requested (``POST .../repay``)."""

    # Documented as String, sent as a number: an int when it is all digits, else the string.
    transaction_id: int | str
    amount: Decimal
    # Only the 2026-06 docs send it.
    repay_from: RepayFrom | str | None = None


@attrs.frozen
class CloseRiskUnitResult:
    """Result of closing a risk unit (``DELETE /sapi/v1/margin/loan-group``); may be empty."""

    group_id: int | None = None
    status: RiskUnitStatus | str | None = None


@attrs.frozen
class EditMemberResult:
    """Result of adding a collateral account (``POST .../edit-member``); the body may be empty."""

    status: int | None = None


@attrs.frozen
class TransferOutResult:
    """Result of a risk-unit transfer-out (``POST .../transfer-out``): no fields are documented."""
