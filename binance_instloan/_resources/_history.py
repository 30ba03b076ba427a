"""History pages: interest, borrow/repay records, liquidations, rebates.

The ``get_*`` methods return one page; the ``iter_*`` methods (``_pagination``) walk whole
ranges through them.
"""

from __future__ import annotations

from .. import _validation as v
from .._base_client import BaseClient
from .._constants import (
    BORROW_REPAY_SPAN_DAYS_WITH_ASSET,
    BORROW_REPAY_SPAN_DAYS_WITHOUT_ASSET,
    ENDPOINTS,
    PAGE_SIZE_DEFAULT,
)
from .._converter import structure, structure_page
from .._enums import BorrowRepayType, RebateType
from .._errors import InvalidParameterError, InvalidParameterTypeError
from .._models import (
    BorrowRepayRecord,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateBalance,
    InterestRebateRecord,
    InterestRecord,
    Page,
)
from .._types import TimeLike


class HistoryMethods(BaseClient):
    async def get_force_liquidations(
        self,
        *,
        group_id: int | None = None,
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        current: int = 1,
        size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[ForceLiquidation]:
        """One page of force-liquidation records, newest first.

        ``GET /sapi/v1/margin/loan-group/force-liquidation``; weight 1 (IP); credit key only.
        ``group_id`` may name a closed unit; without it, the active one. Without times Binance
        returns the last 7 days; the span may be at most 100 days.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``APIStatusError``
        subclasses, ``APIConnectionError``.
        """
        params = [] if group_id is None else [("groupId", v.group_id(group_id))]
        params += v.time_range(start_time, end_time, max_span_days=100)
        params += v.page(current, size)
        body = await self._call(ENDPOINTS["force_liquidation"], params)
        return structure_page(body, ForceLiquidation)

    async def get_force_liquidation_transfers(
        self,
        *,
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        current: int = 1,
        size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[ForceLiquidationTransfer]:
        """One page of transfers made during forced liquidations, newest first.

        ``GET /sapi/v1/margin/loan-group/force-liquidation-transfer-record``; weight 1 (IP);
        credit key only. There is no ``groupId`` parameter. Without times, the last 7 days;
        the span may be at most 100 days.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``APIStatusError``
        subclasses, ``APIConnectionError``.
        """
        params = v.time_range(start_time, end_time, max_span_days=100)
        params += v.page(current, size)
        body = await self._call(ENDPOINTS["force_liquidation_transfer"], params)
        return structure_page(body, ForceLiquidationTransfer)

    async def get_borrow_repay_records(
        self,
        *,
        type: BorrowRepayType | str,
        group_id: int | None = None,
        asset: str | None = None,
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        current: int = 1,
        size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[BorrowRepayRecord]:
        """One page of borrow or repay records, newest first.

        ``GET /sapi/v1/margin/loan-group/borrow-repay``; weight 10 (IP); credit key only.
        ``type`` is ``BORROW`` or ``REPAY`` (REPAY rows may come back as ``NORMAL_REPAY`` or
        ``FORCE_REPAY``). With ``asset`` a range may span at most 30 days, without it 7.
        Binance itself accepts up to 100 days but then silently answers for only the last 30
        (or 7) days before ``end_time`` (reference 2.11); a longer range is refused here
        instead, so records are never left out without notice. ``iter_borrow_repay`` splits
        long ranges.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``APIStatusError``
        subclasses, ``APIConnectionError``.
        """
        params = [("type", _borrow_repay_type(type))]
        if group_id is not None:
            params.append(("groupId", v.group_id(group_id)))
        if asset is not None:
            params.append(("asset", v.asset(asset)))
        span = (BORROW_REPAY_SPAN_DAYS_WITH_ASSET if asset is not None
                else BORROW_REPAY_SPAN_DAYS_WITHOUT_ASSET)
        params += v.time_range(start_time, end_time, max_span_days=span, binance_narrows=True)
        params += v.page(current, size)
        body = await self._call(ENDPOINTS["borrow_repay"], params)
        return structure_page(body, BorrowRepayRecord)

    async def get_interest_history(
        self,
        *,
        group_id: int | None = None,
        asset: str | None = None,
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        current: int = 1,
        size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[InterestRecord]:
        """One page of hourly interest records, newest first.

        ``GET /sapi/v1/margin/loan-group/interest-history``; weight 10 (IP); credit key only.
        Without times Binance returns the last 7 days; with only ``start_time``,
        [max(start_time, now - 30 days), now]; the span may be at most 100 days.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``APIStatusError``
        subclasses, ``APIConnectionError``.
        """
        params = [] if group_id is None else [("groupId", v.group_id(group_id))]
        if asset is not None:
            params.append(("asset", v.asset(asset)))
        params += v.time_range(start_time, end_time, max_span_days=100)
        params += v.page(current, size)
        body = await self._call(ENDPOINTS["interest_history"], params)
        return structure_page(body, InterestRecord)

    async def get_interest_rebate_balance(self) -> InterestRebateBalance:
        """The master account's interest rebate balance (USDT).

        ``GET /sapi/v1/margin/loan-group/interest-rebate-balance``; weight undocumented,
        budgeted as 100 (IP); parent key. The response shape is unconfirmed (reference 2.14),
        so every field may be ``None``.
        """
        body = await self._call(ENDPOINTS["interest_rebate_balance"])
        return structure(body, InterestRebateBalance)

    async def get_interest_rebate_records(
        self,
        *,
        type: RebateType | str | int | None = None,
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        current: int = 1,
        size: int = PAGE_SIZE_DEFAULT,
    ) -> Page[InterestRebateRecord]:
        """One page of interest rebate balance changes.

        ``GET /sapi/v1/margin/loan-group/interest-rebate-balance/records``; weight 100 (IP);
        parent (master) key. ``type`` is sent as the documented integer (ADD=0, DEDUCT=1,
        INTEREST_OFFSET=2); all types when omitted.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``APIStatusError``
        subclasses, ``APIConnectionError``.
        """
        params = [] if type is None else [("type", _rebate_type(type))]
        params += v.time_range(start_time, end_time, max_span_days=None)
        params += v.page(current, size)
        body = await self._call(ENDPOINTS["interest_rebate_records"], params)
        return structure_page(body, InterestRebateRecord)


def _borrow_repay_type(value: object) -> str:
    if isinstance(value, BorrowRepayType):
        value = value.value
    if not isinstance(value, str):
        raise InvalidParameterTypeError(
            "type", f"must be 'BORROW' or 'REPAY', not {type(value).__name__}"
        )
    if value.upper() not in ("BORROW", "REPAY"):
        raise InvalidParameterError("type", f"must be 'BORROW' or 'REPAY', not {value!r}")
    return value.upper()


def _rebate_type(value: object) -> str:
    if isinstance(value, RebateType):
        return str(value.request_code)
    if isinstance(value, bool):
        raise InvalidParameterTypeError("type", "must be RebateType, its name or 0/1/2, not bool")
    if isinstance(value, int):
        if value not in (0, 1, 2):
            raise InvalidParameterError(
                "type", f"must be 0 (ADD), 1 (DEDUCT) or 2 (INTEREST_OFFSET), not {value}"
            )
        return str(value)
    if isinstance(value, str):
        try:
            return str(RebateType(value.upper()).request_code)
        except ValueError:
            raise InvalidParameterError(
                "type", f"must be ADD, DEDUCT or INTEREST_OFFSET, not {value!r}"
            ) from None
    raise InvalidParameterTypeError(
        "type", f"must be RebateType, str or int, not {type(value).__name__}"
    )
