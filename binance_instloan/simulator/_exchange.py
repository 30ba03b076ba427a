"""The simulated exchange: accounts, risk units, the business rules and every endpoint's answer.

:class:`Exchange` knows nothing about HTTP. The ASGI layer authenticates a request, strips
``timestamp`` / ``recvWindow`` / ``signature``, calls :meth:`Exchange.advance_to` with its clock
and then :meth:`Exchange.handle`, which validates the parameters, checks who may call, applies
the rules and returns the JSON-able body or raises :class:`SimError`. The paged history reads
live in :mod:`._queries`, the risk arithmetic in :mod:`._ledger`, the seeded starting state in
:mod:`._genesis`.

Choices where the reference is silent or conflicting (section numbers are the reference's):

- **Roles (section 0).** A key of the wrong role gets -1002 (HTTP 401), except ltv-details
  (``[]``) and max-borrowable (``{"maxBorrowableAmount": null}``), which answer empty.
  Rebate balance and records are parent-only; the 2.16 GETs return ltv-details shaped lists
  (``loan-groups``: the parent's units, optional ``groupId``; ``loan-group``: the credit's unit).
- **Unit look-up.** Writes name their unit: an unknown or closed ``groupId`` gives -27001, a
  unit whose credit account is not the caller gives -27010. History reads take an optional
  ``groupId`` that must be the caller's active or closed unit (-27001 otherwise); without it
  they read the active unit (an empty page when there is none).
- **Amounts.** Not a plain decimal: -1100; zero: -27000; more than 8 decimals: -27016.
- **max-borrowable**: the parent must send ``groupId`` (-1102); the asset must be borrowable
  (-27017), whoever asks.
- **borrow** waits 2 minutes after a member joined the unit (-27031), refuses more than the max
  borrowable (-27009) and adds the amount to the liability and to the credit margin wallet.
- **repay** moves ``min(available in the wallet, requested, owed)``: the docs' min() is also
  capped at what is owed, so a repayment never creates a credit. Interest is repaid first.
  Nothing owed in that asset: -27011; nothing available: -27015. Rows are NORMAL_REPAY (and
  FORCE_REPAY from liquidations); ``type=REPAY`` returns both.
- **transfer-out** refuses a request above ``min(unit max, account max)`` with -27028 and moves
  exactly the requested amount otherwise. A non-parent naming another account's ``subEmail``
  gets -3003, like a wrong ``subEmail`` from the parent. Unknown asset: -3027.
- **edit-member**: flags go FALSE -> TRUE only (-27000 otherwise); naming the unit's own credit
  account updates its ``enableSpot`` but needs ``enableMargin=TRUE`` (-27007 otherwise); any
  other credit account, active or former, gives -27003. At most 5 collateral accounts.
- **borrow-repay window**: the 100-day limit is an error (-1127); the asset rule then clamps the
  start to 30 days (with ``asset``) or 7 days (without) before the end.
- **force-liquidation-transfer-record** lists the caller's liquidations (all its units) whose
  first transfer falls in the window; transfers inside one liquidation are oldest first, as in
  the documented example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

import attrs

from ._core import (
    HOUR_MS,
    ZERO,
    Account,
    Execution,
    SimError,
    fixed8,
    group_not_found,
    illegal_argument,
    plain,
    q8,
    require_role,
)
from ._genesis import build
from ._history import InterestRun, Liquidation, LoanRecord, Snapshot, Transfer
from ._ledger import NEW_MEMBER_WAIT_MS, Member, Unit
from ._params import Handler, Params
from ._queries import HistoryQueries

__all__ = ["Account", "Exchange", "Execution", "SimError"]

MAX_COLLATERAL_ACCOUNTS: Final = 5
_G: Final = "/sapi/v1/margin/loan-group"
_GS: Final = "/sapi/v1/margin/loan-groups"

RepayKind = Literal["NORMAL_REPAY", "FORCE_REPAY"]


class Exchange:
    """An offline Binance Institutional Loan exchange, deterministic from ``seed``."""

    def __init__(
        self,
        *,
        seed: int = 0,
        units: int = 3,
        assets: Sequence[str] = ("USDT", "USDC"),
        history_days: int = 0,
        now_ms: Callable[[], int],
    ) -> None:
        names = tuple(a.upper() for a in assets)
        if not names or len(set(names)) != len(names) or not all(a.isalnum() for a in names):
            raise ValueError(f"assets must be distinct non-empty asset names, got {assets!r}")
        if units < 0 or history_days < 0:
            raise ValueError("units and history_days must not be negative")
        self._now_ms = now_ms
        now = now_ms()
        world = build(seed=seed, units=units, assets=names, history_days=history_days, now=now)
        self.parent: Account = world.parent
        self._accounts = world.accounts
        self.accounts: Mapping[int, Account] = MappingProxyType(self._accounts)
        self._by_email = {a.email.lower(): a.uid for a in world.accounts.values()}
        self._ledger = world.ledger
        self._units = world.units
        self._history = world.history
        self._rates = world.rates
        self._assets = names
        self._tran_ids = world.tran_ids
        self._liquidation_ids = world.liquidation_ids
        self._accrued_hour = now // HOUR_MS * HOUR_MS
        self.executions: list[Execution] = []
        self._routes: dict[tuple[str, str], Handler] = {
            ("GET", f"{_G}/ltv-details"): self._ltv_details,
            ("DELETE", _G): self._close,
            ("POST", f"{_G}/edit-member"): self._edit_member,
            ("GET", f"{_GS}/activated"): self._activated,
            ("GET", f"{_GS}/closed"): self._closed,
            ("POST", f"{_G}/transfer-out"): self._transfer_out,
            ("POST", f"{_G}/borrow"): self._borrow,
            ("POST", f"{_G}/repay"): self._repay,
            ("GET", f"{_G}/max-borrowable"): self._max_borrowable,
            ("GET", _GS): self._loan_groups,
            ("GET", _G): self._loan_group,
            **HistoryQueries(self._units, self._history).routes(),
        }

    # -- the interface used by the ASGI layer and by tests -----------------------------
    def account_by_email(self, email: str) -> Account | None:
        uid = self._by_email.get(email.lower())
        return None if uid is None else self._accounts[uid]

    @property
    def group_ids(self) -> list[int]:
        """Active risk units, in creation order."""
        return [g for g, unit in self._units.items() if unit.active]

    def credit_account(self, group_id: int) -> Account:
        return self._accounts[self._units[group_id].credit_uid]

    def collateral_accounts(self, group_id: int) -> list[Account]:
        unit = self._units[group_id]
        return [self._accounts[m.uid] for m in unit.members if m.type == "COLLATERAL"]

    def handle(self, method: str, path: str, caller: Account, params: Mapping[str, str]) -> Any:
        """Answer one authenticated request; raises :class:`SimError` for an error answer."""
        method = method.upper()
        route = self._routes.get((method, path))
        if route is None:
            raise SimError(-1020, "This operation is not supported.", 404)
        account = self._accounts.get(caller.uid)
        if account is None:
            raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        now = self._now_ms()
        result = route(account, Params(params), now)
        if method != "GET":
            self.executions.append(Execution(method, path, dict(params), account.uid, now, result))
        return result

    def advance_to(self, now_ms: int) -> None:
        """Accrue one hour of interest on every liability for each hour boundary passed."""
        target = now_ms // HOUR_MS * HOUR_MS
        if target <= self._accrued_hour:
            return
        first = self._accrued_hour + HOUR_MS
        self._accrued_hour = target
        hours = (target - first) // HOUR_MS + 1
        for unit in self._units.values():
            owing = [a for a in self._assets if unit.active and unit.principal.get(a)]
            if not owing:
                continue
            principals = tuple(unit.principal[a] for a in owing)
            rates = tuple(self._rates[a] for a in owing)
            for asset, principal, rate in zip(owing, principals, rates, strict=True):
                unit.interest[asset] = unit.interest.get(asset, ZERO) + q8(principal * rate) * hours
            unit.updated_ms = target
            self._history.add_interest(
                InterestRun(unit.group_id, tuple(owing), principals, rates, first, target)
            )

    def trigger_force_liquidation(self, group_id: int) -> None:
        """Liquidate a unit now: snapshot it, pull collateral to the credit account, repay.

        For each owed asset the collateral accounts' enabled wallets (margin first, then
        spot) hand over up to the amount owed, each hand-over a transfer record; the credit
        margin wallet then repays (FORCE_REPAY rows) as much as it holds.
        """
        unit = self._units.get(group_id)
        if unit is None or not unit.active:
            raise ValueError(f"no active risk unit {group_id}")
        now = self._now_ms()
        self.advance_to(now)
        ledger = self._ledger
        before = ledger.totals(unit)
        snapshots = tuple(
            Snapshot(self._accounts[m.uid].email, m.type, v.account_type, v.net_equity,
                     v.maintain_margin)
            for m in unit.members for v in ledger.wallets(unit, m)
        )
        owed = tuple(unit.liabilities())
        credit = ledger.holdings[unit.credit_uid]
        credit_margin = credit.wallet("MARGIN")
        transfers = []
        for asset, principal, interest in owed:
            need = principal + interest
            for member in unit.members:
                if member.type != "COLLATERAL":
                    continue
                holdings = ledger.holdings[member.uid]
                sources = (
                    (member.enable_margin, holdings.margin, holdings.margin_type),
                    (member.enable_spot, holdings.spot, "SPOT"),
                )
                for enabled, wallet, wallet_type in sources:
                    if not enabled or wallet is None or wallet_type is None:
                        continue
                    take = min(need, wallet.get(asset, ZERO))
                    if take <= 0:
                        continue
                    wallet[asset] -= take
                    credit_margin[asset] = credit_margin.get(asset, ZERO) + take
                    need -= take
                    transfers.append(Transfer(now, member.uid, wallet_type, unit.credit_uid,
                                              credit.margin_type or "CROSS_MARGIN",
                                              ((asset, take),)))
            self._repay_owed(unit, asset, credit_margin, principal + interest, "FORCE_REPAY", now)
        unit.updated_ms = now
        self._history.add_liquidation(Liquidation(
            next(self._liquidation_ids), group_id, now, now, before.ltv, ledger.totals(unit).ltv,
            before.net_equity, before.maintenance, before.liability, snapshots, owed,
            tuple(transfers),
        ))

    # -- shared rules -------------------------------------------------------------------
    def _own_unit(self, caller: Account, group_id: int) -> Unit:
        """The active unit ``group_id`` whose credit account is ``caller`` (for writes)."""
        unit = self._units.get(group_id)
        if unit is None or not unit.active:
            raise group_not_found()
        if unit.credit_uid != caller.uid:
            raise SimError(
                -27010, f"Credit account not found in risk unit with GroupID {group_id}."
            )
        return unit

    def _loan_asset(self, asset: str) -> str:
        if asset not in self._assets:
            raise SimError(-27017, f"The requested loan asset: {asset} is not supported.")
        return asset

    @staticmethod
    def _check_amount(asset: str, amount: Decimal) -> None:
        if q8(amount) != amount:
            raise SimError(-27016, f"Illegal asset quantity precision for asset {asset}.")
        if amount <= 0:
            raise illegal_argument()

    def _repay_owed(self, unit: Unit, asset: str, wallet: dict[str, Decimal], wanted: Decimal,
                    kind: RepayKind, now: int) -> tuple[int, Decimal]:
        """Repay ``min(wallet balance, wanted, owed)``, interest first; record it."""
        paid = min(wallet.get(asset, ZERO), wanted, unit.owed(asset))
        if paid <= 0:
            return 0, ZERO
        interest = min(paid, unit.interest.get(asset, ZERO))
        unit.interest[asset] = unit.interest.get(asset, ZERO) - interest
        unit.principal[asset] = unit.principal.get(asset, ZERO) - (paid - interest)
        wallet[asset] -= paid
        tran_id = next(self._tran_ids)
        self._history.add_loan(LoanRecord(
            tran_id, unit.group_id, asset, paid, kind, "CONFIRM", now,
            principal=paid - interest, interest=interest,
        ))
        unit.updated_ms = now
        return tran_id, paid

    def _details(self, unit: Unit) -> dict[str, Any]:
        ledger = self._ledger
        totals = ledger.totals(unit)
        return {
            "groupId": unit.group_id,
            "parentEmail": self.parent.email,
            "creditEmail": self._accounts[unit.credit_uid].email,
            "updateTime": unit.updated_ms,
            "ltv": plain(totals.ltv),
            "totalNetEquity": plain(totals.net_equity),
            "totalMaintenanceMargin": plain(totals.maintenance),
            "totalLiability": plain(totals.liability),
            "parentAccountFrozenAmount": "0",
            "maxTransferOutAmount": plain(ledger.unit_max_transfer_out(unit)),
            "maxAllowedBorrowLimit": plain(unit.max_borrow_limit),
            "liabilities": [
                {"assetName": a, "principal": plain(p), "interest": plain(i)}
                for a, p, i in unit.liabilities()
            ],
            "collateralAccounts": [
                {
                    "email": self._accounts[m.uid].email,
                    "type": m.type,
                    "wallets": [
                        {"accountType": v.account_type, "netEquity": plain(v.net_equity),
                         "maintainMargin": plain(v.maintain_margin)}
                        for v in ledger.wallets(unit, m)
                    ],
                }
                for m in unit.members
            ],
        }

    def _visible_units(self, caller: Account, group_id: int | None) -> list[Unit]:
        if caller.role == "parent":
            units = [u for u in self._units.values() if u.active]
        elif caller.role == "credit" and caller.group_id is not None:
            units = [self._units[caller.group_id]]
        else:
            return []
        return [u for u in units if group_id is None or u.group_id == group_id]

    # -- risk units ---------------------------------------------------------------------
    def _ltv_details(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        p.done()
        return [self._details(u) for u in self._visible_units(caller, group_id)]

    def _loan_groups(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        p.done()
        require_role(caller, "parent")
        return [self._details(u) for u in self._visible_units(caller, group_id)]

    def _loan_group(self, caller: Account, p: Params, now: int) -> Any:
        p.done()
        require_role(caller, "credit")
        return [self._details(u) for u in self._visible_units(caller, None)]

    def _activated(self, caller: Account, p: Params, now: int) -> Any:
        p.done()
        require_role(caller, "parent")
        return [
            {
                "groupId": unit.group_id,
                "members": [
                    {"email": self._accounts[m.uid].email, "type": m.type,
                     "enableMargin": m.enable_margin, "enableSpot": m.enable_spot}
                    for m in unit.members
                ],
                "createTime": unit.created_ms,
            }
            for unit in self._units.values() if unit.active
        ]

    def _closed(self, caller: Account, p: Params, now: int) -> Any:
        offset, size = p.page()
        p.done()
        require_role(caller, "credit")
        closed = sorted(
            (u for u in self._units.values() if u.credit_uid == caller.uid and not u.active),
            key=lambda u: (u.closed_ms, u.group_id), reverse=True,
        )
        rows = [
            {"groupId": u.group_id, "parentEmail": self.parent.email,
             "creditEmail": caller.email, "enabled": False, "createTime": u.created_ms,
             "closeTime": u.closed_ms}
            for u in closed[offset:offset + size]
        ]
        return {"total": len(closed), "rows": rows}

    def _close(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.require_long("groupId")
        p.done()
        require_role(caller, "credit")
        unit = self._own_unit(caller, group_id)
        owed = next(unit.liabilities(), None)
        if owed is not None:
            asset, principal, interest = owed
            raise SimError(
                -27018,
                f"Risk unit cannot be closed: liability asset {asset} not fully repaid, "
                f"{plain(principal + interest)} remaining.",
            )
        unit.closed_ms = unit.updated_ms = now
        for member in unit.members:
            self._accounts[member.uid] = attrs.evolve(self._accounts[member.uid], group_id=None)
        return {"groupId": group_id, "status": "CLOSED"}

    def _edit_member(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.require_long("groupId")
        email = p.text("subEmail", mandatory=True) or ""
        enable_spot = p.boolean("enableSpot")
        enable_margin = p.boolean("enableMargin")
        p.done()
        require_role(caller, "parent")
        unit = self._units.get(group_id)
        if unit is None or not unit.active:
            raise group_not_found()
        target = self.account_by_email(email)
        if target is None or target.role == "parent":
            raise SimError(-27004, "The collateral account should be a sub-account under the "
                                   "same parent account.")
        if target.uid == unit.credit_uid and not enable_margin:
            raise SimError(-27007, "Collateral account cannot be the same as CREDIT_ACCOUNT.")
        if (target.role == "credit" and target.uid != unit.credit_uid) or (
            target.group_id not in (None, group_id)
        ):
            raise SimError(-27003, "The account(s) have been linked to another institutional "
                                   "loan risk unit.")
        member = unit.member(target.uid)
        if member is None:
            count = sum(m.type == "COLLATERAL" for m in unit.members)
            if count >= MAX_COLLATERAL_ACCOUNTS:
                raise SimError(-27002, f"Maximum allowed collateral accounts is "
                                       f"{MAX_COLLATERAL_ACCOUNTS}")
            if not (enable_spot or enable_margin):
                raise illegal_argument()
        elif (member.enable_spot and not enable_spot) or (
            member.enable_margin and not enable_margin
        ):
            raise illegal_argument()  # members' flags never go from TRUE back to FALSE
        if enable_margin and self._ledger.holdings[target.uid].margin is None:
            raise SimError(-27005, "The account should open a margin account first.")
        if member is None:
            unit.members.append(Member(target.uid, "COLLATERAL", enable_spot, enable_margin, now))
            self._accounts[target.uid] = attrs.evolve(target, group_id=group_id)
        else:
            member.enable_spot, member.enable_margin = enable_spot, enable_margin
        unit.updated_ms = now
        return {"status": 0}

    # -- borrow, repay, transfer ----------------------------------------------------------
    def _borrow(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.require_long("groupId")
        asset = p.asset("assetName", mandatory=True) or ""
        amount = p.amount()
        p.done()
        require_role(caller, "credit")
        unit = self._own_unit(caller, group_id)
        self._loan_asset(asset)
        self._check_amount(asset, amount)
        if now - unit.newest_member_ms() < NEW_MEMBER_WAIT_MS:
            raise _too_new()
        maximum = self._ledger.max_borrowable(unit, asset)
        if amount > maximum:
            raise SimError(
                -27009,
                "The requested borrow amount exceeds the maximum allowed limit. Maximum "
                f"borrowable for asset {asset} is {plain(maximum)}, but request {plain(amount)}.",
            )
        unit.principal[asset] = unit.principal.get(asset, ZERO) + amount
        wallet = self._ledger.holdings[caller.uid].wallet("MARGIN")
        wallet[asset] = wallet.get(asset, ZERO) + amount
        unit.updated_ms = now
        tran_id = next(self._tran_ids)
        self._history.add_loan(LoanRecord(tran_id, group_id, asset, amount, "BORROW", "CONFIRM",
                                          now))
        return {"transactionId": tran_id, "amount": amount, "status": "success"}

    def _repay(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.require_long("groupId")
        asset = p.asset("assetName", mandatory=True) or ""
        amount = p.amount()
        source = p.choice("repayFrom", ("MARGIN", "SPOT")) or "MARGIN"
        p.done()
        require_role(caller, "credit")
        unit = self._own_unit(caller, group_id)
        self._loan_asset(asset)
        self._check_amount(asset, amount)
        if not unit.owed(asset):
            raise SimError(-27011, f"No liability found in the risk unit with GroupID {group_id}.")
        wallet = self._ledger.holdings[caller.uid].wallet("SPOT" if source == "SPOT" else "MARGIN")
        tran_id, paid = self._repay_owed(unit, asset, wallet, amount, "NORMAL_REPAY", now)
        if not paid:
            raise SimError(-27015, f"Insufficient balance in balance for asset {asset}.")
        return {"transactionId": tran_id, "amount": paid, "repayFrom": source}

    def _transfer_out(self, caller: Account, p: Params, now: int) -> Any:
        email = p.text("subEmail")
        asset = p.asset("asset", mandatory=True) or ""
        amount = p.amount()
        p.done()
        if caller.role == "parent":
            if email is None:
                raise _not_in_unit()
            target = self.account_by_email(email)
            if target is None or target.role == "parent":
                raise _no_margin_account()
        elif email is None or email.lower() == caller.email.lower():
            target = caller
        else:
            raise _no_margin_account()
        if target.group_id is None:
            raise _not_in_unit()
        unit = self._units[target.group_id]
        member = unit.member(target.uid)
        holdings = self._ledger.holdings[target.uid]
        if member is None or holdings.margin is None or not member.enable_margin:
            raise SimError(-27027, "The receiver UID margin wallet has not been enabled.")
        if now - member.added_ms < NEW_MEMBER_WAIT_MS:
            raise _too_new()
        if asset not in self._assets:
            raise SimError(-3027, "Not a valid margin asset.")
        self._check_amount(asset, amount)
        if amount > self._ledger.max_transfer_out(unit, target.uid, asset):
            raise SimError(
                -27028,
                "Exceed the max transfer out amount, which is min(Risk Unit max transfer out, "
                "Collateral Account max transfer out). Risk Unit max transfer out can be checked "
                'via "Query Risk Unit Details (USER_DATA)".',
            )
        holdings.margin[asset] -= amount
        holdings.spot[asset] = holdings.spot.get(asset, ZERO) + amount
        unit.updated_ms = now
        return {}

    def _max_borrowable(self, caller: Account, p: Params, now: int) -> Any:
        group_id = p.long("groupId")
        asset = p.asset("assetName", mandatory=True) or ""
        p.done()
        self._loan_asset(asset)
        if caller.role == "parent" and group_id is None:
            raise SimError(-1102, "Mandatory parameter 'groupId' was not sent, was empty/null, "
                                  "or malformed.")
        units = self._visible_units(caller, group_id)
        if not units:
            return {"maxBorrowableAmount": None}
        return {"maxBorrowableAmount": fixed8(self._ledger.max_borrowable(units[0], asset))}


def _too_new() -> SimError:
    return SimError(-27031, "A newly added collateral account can borrow or transfer only "
                            "2 minutes after it was added.")


def _not_in_unit() -> SimError:
    return SimError(-27026, "Receiver UID is not within the Institutional Loan risk unit.")


def _no_margin_account() -> SimError:
    return SimError(-3003, "Margin account does not exist.")
