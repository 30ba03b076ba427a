"""Risk units: details, membership, closing, borrowing headroom."""

from __future__ import annotations

from typing import Any

from .. import _validation as v
from .._base_client import BaseClient
from .._constants import ENDPOINTS, PAGE_SIZE_DEFAULT
from .._converter import structure, structure_list, structure_page
from .._models import (
    ActiveRiskUnit,
    ClosedRiskUnit,
    CloseRiskUnitResult,
    EditMemberResult,
    MaxBorrowable,
    Page,
    RiskUnitDetails,
)


class RiskUnitMethods(BaseClient):
    async def get_ltv_details(self, *, group_id: int | None = None) -> list[RiskUnitDetails]:
        """Risk unit details: LTV, equity, margin, liabilities and members.

        ``GET /sapi/v1/margin/loan-group/ltv-details``; weight 200 (IP; older copies of the
        docs say 3000). Parent key: every unit, or the one ``group_id`` names. Credit key: its
        own unit. Any other key gets an empty list, not an error.

        Raises: ``InvalidParameterError``, ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [] if group_id is None else [("groupId", v.group_id(group_id))]
        body = await self._call(ENDPOINTS["ltv_details"], params)
        return structure_list(body, RiskUnitDetails)

    async def get_active_risk_units(self) -> list[ActiveRiskUnit]:
        """Active risk units with their members.

        ``GET /sapi/v1/margin/loan-groups/activated``; weight 10 (IP); parent key only.

        Raises: ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        body = await self._call(ENDPOINTS["active_risk_units"])
        return structure_list(body, ActiveRiskUnit)

    async def get_closed_risk_units(
        self, *, current: int = 1, size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[ClosedRiskUnit]:
        """One page of closed risk units (``iter_closed_risk_units`` walks them all).

        ``GET /sapi/v1/margin/loan-groups/closed``; weight 1 (IP); credit key only.

        Raises: ``InvalidParameterError`` (current < 1, size outside 1..100),
        ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        body = await self._call(ENDPOINTS["closed_risk_units"], v.page(current, size))
        return structure_page(body, ClosedRiskUnit)

    async def get_max_borrowable(
        self, *, asset: str, group_id: int | None = None,
    ) -> MaxBorrowable:
        """The most of ``asset`` the risk unit can borrow now.

        ``GET /sapi/v1/margin/loan-group/max-borrowable``; weight 100 (IP). Credit key
        (``group_id`` optional, must be its own unit) or parent key (``group_id`` required by
        Binance). ``asset`` is sent as ``assetName``. A caller with no matching unit gets
        ``max_borrowable_amount=None``.

        Raises: ``InvalidParameterError``, ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [] if group_id is None else [("groupId", v.group_id(group_id))]
        params.append(("assetName", v.asset(asset)))
        body = await self._call(ENDPOINTS["max_borrowable"], params)
        return structure(body, MaxBorrowable)

    async def add_collateral_account(
        self, *, group_id: int, sub_email: str, enable_spot: bool, enable_margin: bool,
    ) -> EditMemberResult:
        """Add a sub-account to a risk unit as collateral (members can never be removed).

        ``POST /sapi/v1/margin/loan-group/edit-member``; weight 1000 (UID); parent key only.
        The booleans are sent as ``TRUE``/``FALSE``. Once enabled, a wallet cannot be disabled.

        Raises: ``InvalidParameterError``, ``RiskUnitError`` (-27002..-27008, -27013, -27030,
        -27031), ``OutcomeUnknownError`` (never re-sent; see ``resolve_outcome``),
        other ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [
            ("groupId", v.group_id(group_id)),
            ("subEmail", v.email(sub_email, "sub_email")),
            ("enableSpot", v.flag("enable_spot", enable_spot)),
            ("enableMargin", v.flag("enable_margin", enable_margin)),
        ]
        body = await self._call(ENDPOINTS["edit_member"], params)
        return structure(body, EditMemberResult)

    async def close_risk_unit(self, *, group_id: int) -> CloseRiskUnitResult:
        """Close a risk unit whose loans are fully repaid; all collateral accounts are unlinked.

        ``DELETE /sapi/v1/margin/loan-group``; weight 1000 (UID); credit key only. The docs
        make ``groupId`` mandatory (one third-party SDK omits it); we always send it.

        Raises: ``InvalidParameterError``, ``RiskUnitError`` (-27018 liabilities outstanding),
        ``OutcomeUnknownError`` (never re-sent), other ``APIStatusError`` subclasses,
        ``APIConnectionError``.
        """
        body = await self._call(ENDPOINTS["close_risk_unit"], [("groupId", v.group_id(group_id))])
        return structure(body, CloseRiskUnitResult)

    async def get_loan_groups(self, *, group_id: int | None = None) -> Any:
        """Parent view of loan groups (2025-05-16 endpoint; shape undocumented).

        ``GET /sapi/v1/margin/loan-groups``; budgeted as 200 (IP) since Binance publishes no
        weight. Returns the Decimal-safe parsed JSON as is. Prefer ``get_ltv_details``.
        """
        params = [] if group_id is None else [("groupId", v.group_id(group_id))]
        return await self._call(ENDPOINTS["loan_groups"], params)

    async def get_loan_group(self) -> Any:
        """Credit view of its own loan group (2025-05-16 endpoint; shape undocumented).

        ``GET /sapi/v1/margin/loan-group``; budgeted as 200 (IP). Returns the Decimal-safe
        parsed JSON as is. Prefer ``get_ltv_details``.
        """
        return await self._call(ENDPOINTS["loan_group"])
