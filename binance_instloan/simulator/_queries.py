"""The paged history endpoints: liquidations, their transfers, borrow/repay, interest, rebates.

They only read: the records come from :mod:`._history`, the units from the exchange. All take
``current`` / ``size`` paging, answer ``{"total", "rows"}`` newest first, and use the time
windows of reference 1.11 (see :mod:`._params`). Credit-account reads take an optional
``groupId`` that must be one of the caller's units, active or closed (-27001 otherwise);
without it they read the caller's active unit, an empty page when it has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._core import DAY_MS, Account, SimError, fixed8, group_not_found, require_role
from ._history import REBATE_TYPES, History, LoanKind
from ._ledger import Unit
from ._params import Handler, Params, Window, interest_window, window

_G: Final = "/sapi/v1/margin/loan-group"
# borrow-repay: how far before endTime a window may reach (reference 2.11), with/without asset.
_REACH_WITH_ASSET_MS: Final = 30 * DAY_MS
_REACH_WITHOUT_ASSET_MS: Final = 7 * DAY_MS


def _page(total: int, rows: list[Any]) -> dict[str, Any]:
    return {"total": total, "rows": rows}


class HistoryQueries:
    """Handlers for the history reads, bound to the exchange's units and records."""

    def __init__(self, units: Mapping[int, Unit], history: History) -> None:
        self._units = units
        self._history = history

    def routes(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", f"{_G}/force-liquidation"): self.force_liquidations,
            ("GET", f"{_G}/force-liquidation-transfer-record"): self.liquidation_transfers,
            ("GET", f"{_G}/borrow-repay"): self.borrow_repay,
            ("GET", f"{_G}/interest-history"): self.interest_history,
            ("GET", f"{_G}/interest-rebate-balance"): self.rebate_balance,
            ("GET", f"{_G}/interest-rebate-balance/records"): self.rebate_records,
        }

    def _group(self, caller: Account, group_id: int | None) -> int | None:
        """The unit a credit account's read is about: the one named, else its active one."""
        if group_id is None:
            return caller.group_id
        unit = self._units.get(group_id)
        if unit is None or unit.credit_uid != caller.uid:
            raise group_not_found()
        return group_id

    def force_liquidations(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        span = window(*p.times(), now)
        offset, size = p.page()
        p.done()
        require_role(caller, "credit")
        group = self._group(caller, group_id)
        if group is None:
            return _page(0, [])
        return _page(*self._history.liquidations(group, span, offset, size))

    def liquidation_transfers(self, caller: Account, p: Params, now: int) -> Any:
        span = window(*p.times(), now)
        offset, size = p.page()
        p.done()
        require_role(caller, "credit")
        groups = {g for g, u in self._units.items() if u.credit_uid == caller.uid}
        return _page(*self._history.liquidation_transfers(groups, span, offset, size))

    def borrow_repay(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        kind: LoanKind = "BORROW" if p.choice("type", ("BORROW", "REPAY"),
                                              mandatory=True) == "BORROW" else "REPAY"
        asset = p.asset("asset")
        span = window(*p.times(), now)
        offset, size = p.page()
        p.done()
        # The 100-day limit above is an error; the asset rule then only narrows the window.
        reach = _REACH_WITH_ASSET_MS if asset is not None else _REACH_WITHOUT_ASSET_MS
        span = Window(max(span.start, span.end - reach), span.end)
        require_role(caller, "credit")
        group = self._group(caller, group_id)
        if group is None:
            return _page(0, [])
        return _page(*self._history.loans(group, kind, asset, span, offset, size))

    def interest_history(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        asset = p.asset("asset")
        span = interest_window(*p.times(), now)
        offset, size = p.page()
        p.done()
        require_role(caller, "credit")
        group = self._group(caller, group_id)
        if group is None:
            return _page(0, [])
        return _page(*self._history.interest(group, asset, span, offset, size))

    def rebate_balance(self, caller: Account, p: Params, now: int) -> Any:
        p.done()
        require_role(caller, "parent")
        balance, granted, consumed = self._history.rebate_balance()
        return {"asset": "USDT", "balance": fixed8(balance), "totalGranted": fixed8(granted),
                "totalConsumed": fixed8(consumed)}

    def rebate_records(self, caller: Account, p: Params, now: int) -> Any:
        code = p.long("type")
        if code is not None and code >= len(REBATE_TYPES):
            raise SimError(-1130, "Data sent for parameter 'type' is not valid.")
        span = window(*p.times(), now)
        offset, size = p.page()
        p.done()
        require_role(caller, "parent")
        kind = None if code is None else REBATE_TYPES[code]
        return _page(*self._history.rebates(kind, span, offset, size))
