"""Settling an ``OutcomeUnknownError``: did the borrow/repay/transfer/edit/close execute?

Binance gives these endpoints no client order id, so the only way to know is to look for the
effect. The rules, in order:

- Look only at evidence that can belong to this request: records stamped between the request's
  ``timestamp`` (minus the 1 s Binance tolerates ahead of its clock) and now.
- One matching record: executed. Several equally good matches: ambiguous, with the candidates;
  we never pick one.
- No match: "not executed" only once Binance can no longer execute it (its timestamp is older
  than ``recvWindow``) and a settle delay has passed with still no record; until then, poll
  inside the rate budget until the deadline, and report "still unknown" if it passes.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs

from . import _validation as v
from ._constants import ENDPOINTS, MAX_RECV_WINDOW_MS
from ._enums import BorrowRepayType, TransactionStatus
from ._errors import InvalidParameterError, InvalidParameterTypeError, OutcomeUnknownError
from ._models import (
    ActiveRiskUnit,
    BorrowRepayRecord,
    ClosedRiskUnit,
    RiskUnitDetails,
)
from ._resources._history import HistoryMethods
from ._resources._risk_units import RiskUnitMethods

# Binance accepts a timestamp up to 1 s ahead of its clock, so a record may predate ours by that.
_AHEAD_TOLERANCE_MS: Final = 1_000
# Records can show up a little after the action; wait this long past recvWindow before "no".
DEFAULT_SETTLE_SECONDS: Final = 5.0
DEFAULT_DEADLINE_SECONDS: Final = 60.0
DEFAULT_POLL_SECONDS: Final = 2.0
_REPAY_TYPES: Final = frozenset({"REPAY", "NORMAL_REPAY"})
# How long after its request's recvWindow a record may still be stamped (processing time).
_RECORD_LAG_MS: Final = 60_000


class Outcome(enum.StrEnum):
    """What became of a request whose answer was lost."""

    EXECUTED = "EXECUTED"
    NOT_EXECUTED = "NOT_EXECUTED"
    AMBIGUOUS = "AMBIGUOUS"  # several records fit equally well; see ``candidates``
    UNKNOWN = "UNKNOWN"  # the deadline passed before the evidence settled


@attrs.frozen
class OutcomeResolution:
    """The verdict and the evidence behind it."""

    outcome: Outcome
    action: str
    explanation: str
    candidates: tuple[Any, ...] = ()
    evidence: tuple[Any, ...] = ()
    checks: int = 0

    @property
    def executed(self) -> bool:
        return self.outcome is Outcome.EXECUTED


@attrs.frozen
class _Verdict:
    outcome: Outcome | None  # None: not settled yet, poll again
    explanation: str
    candidates: tuple[Any, ...] = ()
    evidence: tuple[Any, ...] = ()
    # What an unsettled verdict becomes once Binance can no longer execute the request
    # (None: nothing can be concluded; keep looking until the deadline).
    final: Outcome | None = Outcome.NOT_EXECUTED


def _seconds(name: str, value: object, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameterTypeError(
            name, f"must be seconds (int or float), not {type(value).__name__}"
        )
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">=" if allow_zero else ">"
        raise InvalidParameterError(name, f"must be a finite number {bound} 0, not {value!r}")
    return float(value)


def _options(deadline: object, poll_interval: object, settle: object) -> None:
    _seconds("deadline", deadline)
    _seconds("poll_interval", poll_interval, allow_zero=False)
    _seconds("settle", settle)


def _common(sent_at_ms: object, recv_window: object) -> None:
    v.integer("sent_at_ms", sent_at_ms, minimum=0)
    v.integer("recv_window", recv_window, minimum=1, maximum=MAX_RECV_WINDOW_MS)


def _ms(value: datetime) -> int:
    return (value - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


class OutcomeMethods(RiskUnitMethods, HistoryMethods):
    async def resolve_outcome(
        self,
        error: OutcomeUnknownError,
        *,
        before: Sequence[RiskUnitDetails] | None = None,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        poll_interval: float = DEFAULT_POLL_SECONDS,
        settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Find out whether the request behind ``error`` executed, from its visible effects.

        Borrow and repay: the borrow-repay records of that unit and asset since the request's
        timestamp (a repay may have moved less than requested: min(available, requested)).
        Add-member: the active units' members. Close: the closed and active units.
        Transfer-out: needs ``before``, the ``get_ltv_details()`` taken before the transfer
        (Binance keeps no transfer-out history); the margin wallet must have dropped by the
        amount.

        Polls inside the rate budget every ``poll_interval`` seconds until ``deadline``;
        returns ``Outcome.UNKNOWN`` rather than guess, and ``Outcome.AMBIGUOUS`` with the
        candidates when several records fit.
        """
        if not isinstance(error, OutcomeUnknownError):
            raise InvalidParameterTypeError(
                "error", f"must be an OutcomeUnknownError, not {type(error).__name__}"
            )
        _options(deadline, poll_interval, settle)
        if before is not None and (
            isinstance(before, str | bytes)
            or not isinstance(before, Sequence)
            or not all(isinstance(unit, RiskUnitDetails) for unit in before)
        ):
            raise InvalidParameterTypeError(
                "before", "must be the list get_ltv_details() returned before the request"
            )
        p = error.params
        sent = error.sent_at_ms
        recv_window = int(p.get("recvWindow", self._recv_window))
        kwargs = {"deadline": deadline, "poll_interval": poll_interval, "settle": settle}
        path = error.path
        if path == ENDPOINTS["borrow"].path:
            return await self.resolve_borrow(
                group_id=int(p["groupId"]), asset=p["assetName"], amount=Decimal(p["amount"]),
                sent_at_ms=sent, recv_window=recv_window, **kwargs,
            )
        if path == ENDPOINTS["repay"].path:
            return await self.resolve_repay(
                group_id=int(p["groupId"]), asset=p["assetName"], amount=Decimal(p["amount"]),
                sent_at_ms=sent, recv_window=recv_window, **kwargs,
            )
        if path == ENDPOINTS["edit_member"].path:
            return await self.resolve_add_collateral_account(
                group_id=int(p["groupId"]), sub_email=p["subEmail"], sent_at_ms=sent,
                recv_window=recv_window, **kwargs,
            )
        if path == ENDPOINTS["close_risk_unit"].path:
            return await self.resolve_close_risk_unit(
                group_id=int(p["groupId"]), sent_at_ms=sent, recv_window=recv_window, **kwargs,
            )
        if path == ENDPOINTS["transfer_out"].path:
            return await self.resolve_transfer_out(
                asset=p["asset"], amount=Decimal(p["amount"]), sub_email=p.get("subEmail"),
                before=before, sent_at_ms=sent, recv_window=recv_window, **kwargs,
            )
        raise InvalidParameterError("error", f"no way to resolve {error.method} {path}")

    async def resolve_borrow(
        self, *, group_id: int, asset: str, amount: Decimal, sent_at_ms: int,
        recv_window: int = 5000, deadline: float = DEFAULT_DEADLINE_SECONDS,
        poll_interval: float = DEFAULT_POLL_SECONDS, settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Did a borrow of exactly ``amount`` sent at ``sent_at_ms`` execute?"""
        v.group_id(group_id)
        v.asset(asset)
        amount = v.amount_decimal(amount)
        _common(sent_at_ms, recv_window)
        _options(deadline, poll_interval, settle)

        async def check() -> _Verdict:
            rows = await self._records_since("BORROW", group_id, asset, sent_at_ms, recv_window)
            same = [r for r in rows if r.amount == amount]
            confirmed = [r for r in same if r.status == TransactionStatus.CONFIRM]
            failed = [r for r in same if r.status == TransactionStatus.FAILED]
            if len(confirmed) == 1 and not failed:
                return _Verdict(Outcome.EXECUTED, "one confirmed BORROW of that amount",
                                tuple(confirmed), tuple(rows))
            if len(same) > 1:
                return _Verdict(Outcome.AMBIGUOUS,
                                f"{len(same)} BORROW records of {amount} {asset} since the "
                                "request; cannot tell which (if any) is this one",
                                tuple(same), tuple(rows))
            if len(failed) == 1:
                return _Verdict(Outcome.NOT_EXECUTED, "the BORROW was recorded as FAILED",
                                tuple(failed), tuple(rows))
            return _Verdict(None, "no BORROW of that amount yet", (), tuple(rows))

        return await self._settle("borrow", check, sent_at_ms, recv_window, deadline,
                                  poll_interval, settle)

    async def resolve_repay(
        self, *, group_id: int, asset: str, amount: Decimal, sent_at_ms: int,
        recv_window: int = 5000, deadline: float = DEFAULT_DEADLINE_SECONDS,
        poll_interval: float = DEFAULT_POLL_SECONDS, settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Did a repay of up to ``amount`` sent at ``sent_at_ms`` execute?

        Binance repays min(available, requested), so any normal REPAY of at most ``amount``
        since the request counts; two or more are ambiguous.
        """
        v.group_id(group_id)
        v.asset(asset)
        amount = v.amount_decimal(amount)
        _common(sent_at_ms, recv_window)
        _options(deadline, poll_interval, settle)

        async def check() -> _Verdict:
            rows = await self._records_since("REPAY", group_id, asset, sent_at_ms, recv_window)
            normal = [r for r in rows if str(r.type) in _REPAY_TYPES and r.amount <= amount]
            exact = [r for r in normal if r.amount == amount]
            confirmed = [r for r in exact if r.status == TransactionStatus.CONFIRM]
            failed = [r for r in exact if r.status == TransactionStatus.FAILED]
            if len(confirmed) == 1 and not failed:
                return _Verdict(Outcome.EXECUTED, "one confirmed REPAY of that amount",
                                tuple(confirmed), tuple(rows))
            if len(exact) > 1:
                return _Verdict(Outcome.AMBIGUOUS,
                                f"{len(exact)} REPAY records of {amount} {asset} since the "
                                "request; cannot tell which (if any) is this one",
                                tuple(exact), tuple(rows))
            if len(failed) == 1:
                return _Verdict(Outcome.NOT_EXECUTED, "the REPAY was recorded as FAILED",
                                tuple(failed), tuple(rows))
            smaller = [r for r in normal if r.status == TransactionStatus.CONFIRM]
            if smaller:
                # Binance repays min(available, requested): a smaller repay is this one if the
                # account held only that much, or another repay. Wait for an exact match; if
                # none comes, say so rather than pick.
                moved = ", ".join(str(r.amount) for r in smaller)
                return _Verdict(None, f"only smaller REPAY records ({moved}) since the request: "
                                "this one if the account held only that much "
                                "(min(available, requested)), otherwise another repay",
                                tuple(smaller), tuple(rows), final=Outcome.AMBIGUOUS)
            return _Verdict(None, "no REPAY yet", (), tuple(rows))

        return await self._settle("repay", check, sent_at_ms, recv_window, deadline,
                                  poll_interval, settle)

    async def resolve_add_collateral_account(
        self, *, group_id: int, sub_email: str, sent_at_ms: int, recv_window: int = 5000,
        deadline: float = DEFAULT_DEADLINE_SECONDS, poll_interval: float = DEFAULT_POLL_SECONDS,
        settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Is ``sub_email`` now a member of the unit? (Needs the parent key.)

        Members can never be removed, so "member now" means the request (or an earlier one)
        took effect; the explanation says which cannot be told apart.
        """
        v.group_id(group_id)
        v.email(sub_email, "sub_email")
        _common(sent_at_ms, recv_window)
        _options(deadline, poll_interval, settle)

        async def check() -> _Verdict:
            units: list[ActiveRiskUnit] = await self.get_active_risk_units()
            unit = next((u for u in units if u.group_id == group_id), None)
            if unit is None:
                return _Verdict(None, f"unit {group_id} is not among the active units", (),
                                tuple(units))
            members = [m for m in unit.members if m.email.lower() == sub_email.lower()]
            if members:
                return _Verdict(Outcome.EXECUTED, f"{sub_email} is a member of unit {group_id}",
                                tuple(members), (unit,))
            return _Verdict(None, f"{sub_email} is not a member yet", (), (unit,))

        return await self._settle("add_collateral_account", check, sent_at_ms, recv_window,
                                  deadline, poll_interval, settle)

    async def resolve_close_risk_unit(
        self, *, group_id: int, sent_at_ms: int, recv_window: int = 5000,
        deadline: float = DEFAULT_DEADLINE_SECONDS, poll_interval: float = DEFAULT_POLL_SECONDS,
        settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Is the unit closed now? (Needs the credit key, which reads the closed list.)"""
        v.group_id(group_id)
        _common(sent_at_ms, recv_window)
        _options(deadline, poll_interval, settle)

        async def check() -> _Verdict:
            closed: list[ClosedRiskUnit] = []
            async for unit in self._closed_units():
                if unit.group_id == group_id:
                    closed.append(unit)
            if closed:
                return _Verdict(Outcome.EXECUTED, f"unit {group_id} is in the closed list",
                                tuple(closed))
            details = await self.get_ltv_details()
            still = [d for d in details if d.group_id == group_id]
            return _Verdict(None, f"unit {group_id} is still active", (), tuple(still))

        return await self._settle("close_risk_unit", check, sent_at_ms, recv_window, deadline,
                                  poll_interval, settle)

    async def resolve_transfer_out(
        self, *, asset: str, amount: Decimal, sent_at_ms: int,
        before: Sequence[RiskUnitDetails] | None, sub_email: str | None = None,
        recv_window: int = 5000, deadline: float = DEFAULT_DEADLINE_SECONDS,
        poll_interval: float = DEFAULT_POLL_SECONDS, settle: float = DEFAULT_SETTLE_SECONDS,
    ) -> OutcomeResolution:
        """Did the member's margin equity drop by ``amount`` since ``before``?

        Binance keeps no transfer-out history, so this compares ltv-details snapshots; it is
        exact for stablecoins when nothing else moved the wallet in between. Without
        ``before`` it cannot tell and says so.
        """
        v.asset(asset)
        amount = v.amount_decimal(amount)
        if sub_email is not None:
            v.email(sub_email, "sub_email")
        _common(sent_at_ms, recv_window)
        _options(deadline, poll_interval, settle)
        if not before:
            return OutcomeResolution(
                Outcome.UNKNOWN, "transfer_out",
                "Binance keeps no transfer-out history: pass before=<get_ltv_details() taken "
                "before the transfer> so the margin wallets can be compared",
            )
        start = {key: value for key, value in _margin_equity(before, sub_email).items()}

        async def check() -> _Verdict:
            now = await self.get_ltv_details()
            after = _margin_equity(now, sub_email)
            drops = {k: start[k] - after.get(k, Decimal(0)) for k in start}
            exact = [k for k, d in drops.items() if d == amount]
            if len(exact) == 1:
                return _Verdict(Outcome.EXECUTED,
                                f"margin equity of {exact[0]} dropped by exactly {amount}",
                                (exact[0],), tuple(now))
            if len(exact) > 1:
                return _Verdict(Outcome.AMBIGUOUS, "several wallets dropped by that amount",
                                tuple(exact), tuple(now))
            if all(d == 0 for d in drops.values()):
                return _Verdict(None, "no margin wallet changed yet", (), tuple(now))
            return _Verdict(None, "margin equity changed, but not by the amount", (),
                            tuple(now), final=None)

        resolution = await self._settle("transfer_out", check, sent_at_ms, recv_window,
                                        deadline, poll_interval, settle)
        return resolution

    # -- helpers ---------------------------------------------------------------------------

    async def _records_since(
        self, kind: str, group_id: int, asset: str, sent_at_ms: int, recv_window: int,
    ) -> list[BorrowRepayRecord]:
        # Binance runs a request within recvWindow of its timestamp or never; records stamped
        # much later belong to other requests (and an old error must not ask for 30+ days).
        start = sent_at_ms - _AHEAD_TOLERANCE_MS
        end = min(self._clock.now_ms(), sent_at_ms + recv_window + _RECORD_LAG_MS)
        end = max(end, start)
        rows: list[BorrowRepayRecord] = []
        current = 1
        while True:
            page = await self.get_borrow_repay_records(
                type=BorrowRepayType(kind), group_id=group_id, asset=asset, start_time=start,
                end_time=end, current=current, size=100,
            )
            rows.extend(r for r in page.rows if _ms(r.timestamp) >= start)
            if len(page.rows) < 100 or current * 100 >= page.total:
                return rows
            current += 1

    async def _closed_units(self) -> AsyncIterator[ClosedRiskUnit]:
        current = 1
        while True:
            page = await self.get_closed_risk_units(current=current, size=100)
            for row in page.rows:
                yield row
            if len(page.rows) < 100 or current * 100 >= page.total:
                return
            current += 1

    async def _settle(
        self, action: str, check: Callable[[], Awaitable[_Verdict]], sent_at_ms: int,
        recv_window: int, deadline: float, poll_interval: float, settle: float,
    ) -> OutcomeResolution:
        """Check until the evidence settles; every verdict is counted by the telemetry."""
        return self._telemetry.resolved(await self._settle_checks(
            action, check, sent_at_ms, recv_window, deadline, poll_interval, settle))

    async def _settle_checks(
        self, action: str, check: Callable[[], Awaitable[_Verdict]], sent_at_ms: int,
        recv_window: int, deadline: float, poll_interval: float, settle: float,
    ) -> OutcomeResolution:
        give_up_at = time.monotonic() + deadline
        # After this server time Binance can no longer start executing the request.
        final_ms = sent_at_ms + recv_window + int(settle * 1000)
        checks = 0
        while True:
            verdict = await check()
            checks += 1
            if verdict.outcome is not None:
                return OutcomeResolution(verdict.outcome, action, verdict.explanation,
                                         verdict.candidates, verdict.evidence, checks)
            checked_at = self._clock.now_ms()
            if checked_at >= final_ms and verdict.final is not None:
                return OutcomeResolution(
                    verdict.final, action,
                    f"{verdict.explanation}, and the request's timestamp is now older than "
                    f"recvWindow ({recv_window} ms) plus {settle:.0f} s, so Binance can no "
                    "longer execute it", verdict.candidates, verdict.evidence, checks)
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                return OutcomeResolution(
                    Outcome.UNKNOWN, action,
                    f"{verdict.explanation}; the deadline passed before the evidence settled",
                    verdict.candidates, verdict.evidence, checks)
            wait = min(poll_interval, remaining)
            if verdict.final is not None and checked_at < final_ms:
                wait = min(wait, (final_ms - checked_at) / 1000)
            await asyncio.sleep(max(wait, 0.01))


def _margin_equity(
    details: Sequence[RiskUnitDetails], sub_email: str | None,
) -> dict[str, Decimal]:
    """Net equity of every margin wallet, keyed by ``email/accountType``."""
    out: dict[str, Decimal] = {}
    for unit in details:
        for account in unit.collateral_accounts:
            if sub_email is not None and account.email.lower() != sub_email.lower():
                continue
            for wallet in account.wallets:
                if str(wallet.account_type) != "SPOT":
                    out[f"{account.email}/{wallet.account_type}"] = wallet.net_equity
    return out
