"""``iter_*``: every row of a history, across windows and pages (see ``_pagination``).

Each method checks its arguments at once, before any request, and returns a
:class:`HistoryIterator`; nothing is fetched until it is iterated. Pages go through the
``get_*`` methods, so the rate limiter, the clock and the retry policy govern every request.
"""

from __future__ import annotations

from urllib.parse import urlencode

from .. import _validation as v
from .._constants import (
    BORROW_REPAY_SPAN_DAYS_WITH_ASSET,
    BORROW_REPAY_SPAN_DAYS_WITHOUT_ASSET,
    ENDPOINTS,
)
from .._enums import BorrowRepayType, RebateType
from .._models import (
    BorrowRepayRecord,
    ClosedRiskUnit,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateRecord,
    InterestRecord,
    Page,
)
from .._pagination import (
    DEFAULT_CONCURRENCY,
    PAGE_SIZE,
    HistoryIterator,
    Position,
    resolve_range,
)
from .._types import TimeLike
from ._history import HistoryMethods, _borrow_repay_type, _rebate_type
from ._risk_units import RiskUnitMethods


def _query(**filters: str | None) -> str:
    """The filters of a walk, canonical, so a saved position can be matched to its walk."""
    return urlencode(sorted((k, val) for k, val in filters.items() if val is not None))


def _max_span(name: str) -> int | None:
    return ENDPOINTS[name].max_span_days


class IteratorMethods(RiskUnitMethods, HistoryMethods):
    """The ``iter_*`` methods; they page through the ``get_*`` methods of the same client."""

    def iter_interest_history(
        self,
        *,
        start_time: TimeLike,
        end_time: TimeLike | None = None,
        group_id: int | None = None,
        asset: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[InterestRecord]:
        """Every interest record of ``[start_time, end_time]``, newest first.

        Walks ``GET /sapi/v1/margin/loan-group/interest-history`` (weight 10 (IP) a page) in
        100-day windows of 100 rows a page. ``end_time`` defaults to now, pinned at this call.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever ``get_interest_history`` raises.
        """
        query = _query(
            groupId=None if group_id is None else v.group_id(group_id),
            asset=None if asset is None else v.asset(asset),
        )
        start, end = resolve_range(start_time, end_time, now_ms=self._clock.now_ms, resume=resume)

        async def fetch(first: int | None, last: int | None, page: int) -> Page[InterestRecord]:
            return await self.get_interest_history(
                group_id=group_id, asset=asset, start_time=first, end_time=last,
                current=page, size=PAGE_SIZE,
            )

        return HistoryIterator(
            fetch, row_type=InterestRecord, endpoint="interest_history", query=query,
            start_ms=start, end_ms=end, max_span_days=_max_span("interest_history"),
            newest_first=True, concurrency=concurrency, resume=resume,
        )

    def iter_borrow_repay_records(
        self,
        *,
        type: BorrowRepayType | str,  # the API's own name
        start_time: TimeLike,
        end_time: TimeLike | None = None,
        group_id: int | None = None,
        asset: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[BorrowRepayRecord]:
        """Every borrow (or every repay) record of ``[start_time, end_time]``, newest first.

        Walks ``GET /sapi/v1/margin/loan-group/borrow-repay`` (weight 10 (IP) a page) in
        windows of 30 days with ``asset``, 7 without (reference 2.11), 100 rows a page.
        ``end_time`` defaults to now, pinned at this call.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever ``get_borrow_repay_records``
        raises.
        """
        kind = _borrow_repay_type(type)
        query = _query(
            type=kind,
            groupId=None if group_id is None else v.group_id(group_id),
            asset=None if asset is None else v.asset(asset),
        )
        start, end = resolve_range(start_time, end_time, now_ms=self._clock.now_ms, resume=resume)
        span = (BORROW_REPAY_SPAN_DAYS_WITH_ASSET if asset is not None
                else BORROW_REPAY_SPAN_DAYS_WITHOUT_ASSET)

        async def fetch(first: int | None, last: int | None, page: int) -> Page[BorrowRepayRecord]:
            return await self.get_borrow_repay_records(
                type=kind, group_id=group_id, asset=asset, start_time=first, end_time=last,
                current=page, size=PAGE_SIZE,
            )

        return HistoryIterator(
            fetch, row_type=BorrowRepayRecord, endpoint="borrow_repay", query=query,
            start_ms=start, end_ms=end, max_span_days=span,
            newest_first=True, concurrency=concurrency, resume=resume,
        )

    def iter_force_liquidations(
        self,
        *,
        start_time: TimeLike,
        end_time: TimeLike | None = None,
        group_id: int | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[ForceLiquidation]:
        """Every forced liquidation of ``[start_time, end_time]``, newest first.

        Walks ``GET /sapi/v1/margin/loan-group/force-liquidation`` (weight 1 (IP) a page) in
        100-day windows of 100 rows a page. ``end_time`` defaults to now, pinned at this call.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever ``get_force_liquidations``
        raises.
        """
        query = _query(groupId=None if group_id is None else v.group_id(group_id))
        start, end = resolve_range(start_time, end_time, now_ms=self._clock.now_ms, resume=resume)

        async def fetch(first: int | None, last: int | None, page: int) -> Page[ForceLiquidation]:
            return await self.get_force_liquidations(
                group_id=group_id, start_time=first, end_time=last, current=page, size=PAGE_SIZE,
            )

        return HistoryIterator(
            fetch, row_type=ForceLiquidation, endpoint="force_liquidation", query=query,
            start_ms=start, end_ms=end, max_span_days=_max_span("force_liquidation"),
            newest_first=True, concurrency=concurrency, resume=resume,
        )

    def iter_force_liquidation_transfers(
        self,
        *,
        start_time: TimeLike,
        end_time: TimeLike | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[ForceLiquidationTransfer]:
        """Every forced-liquidation transfer of ``[start_time, end_time]``, newest first.

        Walks ``GET /sapi/v1/margin/loan-group/force-liquidation-transfer-record`` (weight 1
        (IP) a page) in 100-day windows of 100 rows a page. ``end_time`` defaults to now,
        pinned at this call.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever
        ``get_force_liquidation_transfers`` raises.
        """
        start, end = resolve_range(start_time, end_time, now_ms=self._clock.now_ms, resume=resume)

        async def fetch(
            first: int | None, last: int | None, page: int,
        ) -> Page[ForceLiquidationTransfer]:
            return await self.get_force_liquidation_transfers(
                start_time=first, end_time=last, current=page, size=PAGE_SIZE,
            )

        return HistoryIterator(
            fetch, row_type=ForceLiquidationTransfer, endpoint="force_liquidation_transfer",
            query="", start_ms=start, end_ms=end,
            max_span_days=_max_span("force_liquidation_transfer"),
            newest_first=True, concurrency=concurrency, resume=resume,
        )

    def iter_closed_risk_units(
        self,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[ClosedRiskUnit]:
        """Every closed risk unit, in the order the API lists them.

        Pages ``GET /sapi/v1/margin/loan-groups/closed`` (weight 1 (IP) a page), 100 rows a
        page; this endpoint has no time range.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever ``get_closed_risk_units``
        raises.
        """

        async def fetch(first: int | None, last: int | None, page: int) -> Page[ClosedRiskUnit]:
            return await self.get_closed_risk_units(current=page, size=PAGE_SIZE)

        # The order is undocumented (the example lists the older unit first), so a shifted
        # page is judged on the rows' evidence rather than assumed to have grown at the top.
        return HistoryIterator(
            fetch, row_type=ClosedRiskUnit, endpoint="closed_risk_units", query="",
            start_ms=None, end_ms=None, max_span_days=None,
            newest_first=False, concurrency=concurrency, resume=resume,
        )

    def iter_interest_rebate_records(
        self,
        *,
        type: RebateType | str | int | None = None,  # the API's own name
        start_time: TimeLike | None = None,
        end_time: TimeLike | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> HistoryIterator[InterestRebateRecord]:
        """Every interest rebate balance change up to ``end_time``, in the API's order.

        Pages ``GET /sapi/v1/margin/loan-group/interest-rebate-balance/records`` (weight 100
        (IP) a page), 100 rows a page. No maximum span is documented, so the range is one
        window; ``start_time`` is optional (not sent when omitted) and ``end_time`` defaults
        to now, pinned at this call, so records added meanwhile cannot shift the pages.

        Raises (here, before any request): ``InvalidParameterError``,
        ``InvalidParameterTypeError``; while iterating, whatever
        ``get_interest_rebate_records`` raises.
        """
        code = None if type is None else _rebate_type(type)
        query = _query(type=code)
        start, end = resolve_range(
            start_time, end_time, now_ms=self._clock.now_ms, resume=resume, start_required=False
        )

        async def fetch(
            first: int | None, last: int | None, page: int,
        ) -> Page[InterestRebateRecord]:
            return await self.get_interest_rebate_records(
                type=None if code is None else int(code), start_time=first, end_time=last,
                current=page, size=PAGE_SIZE,
            )

        return HistoryIterator(
            fetch, row_type=InterestRebateRecord, endpoint="interest_rebate_records",
            query=query, start_ms=start, end_ms=end, max_span_days=None,
            newest_first=False, concurrency=concurrency, resume=resume,
        )
