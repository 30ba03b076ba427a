"""Money movements: borrow, repay, transfer out."""

from __future__ import annotations

from .. import _validation as v
from .._base_client import BaseClient
from .._constants import ENDPOINTS
from .._converter import structure
from .._enums import RepayFrom
from .._errors import InvalidParameterError, InvalidParameterTypeError
from .._models import BorrowResult, RepayResult, TransferOutResult
from .._types import AmountLike


class LoanMethods(BaseClient):
    async def borrow(self, *, group_id: int, asset: str, amount: AmountLike) -> BorrowResult:
        """Borrow ``amount`` of ``asset`` into the risk unit's credit account.

        ``POST /sapi/v1/margin/loan-group/borrow``; weight 3000 (UID); credit key only, with
        "Enable Spot & Margin Trading". ``asset`` is sent as ``assetName``; ``amount`` is sent
        positionally (``Decimal("1E+2")`` -> ``100``). Check ``get_max_borrowable`` first.

        Never re-sent when its outcome is unknown: a timeout, a reset after sending or a 5xx
        raises ``OutcomeUnknownError`` (use ``resolve_outcome``).

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError`` (a float amount is
        refused), ``RiskUnitError`` (-27009 above the max borrowable, ...),
        ``OutcomeUnknownError``, other ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [
            ("groupId", v.group_id(group_id)),
            ("assetName", v.asset(asset)),
            ("amount", v.amount(amount)),
        ]
        body = await self._call(ENDPOINTS["borrow"], params)
        return structure(body, BorrowResult)

    async def repay(
        self,
        *,
        group_id: int,
        asset: str,
        amount: AmountLike,
        repay_from: RepayFrom | str | None = None,
    ) -> RepayResult:
        """Repay up to ``amount`` of ``asset``; Binance repays min(available, requested).

        ``POST /sapi/v1/margin/loan-group/repay``; weight 3000 (UID); credit key only.
        ``repay_from`` (``MARGIN``, Binance's default, or ``SPOT``) is sent only when given; it
        appears only in the 2026-06 copy of the docs. The result's ``amount`` is what was
        actually repaid.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``RiskUnitError``
        (-27011 no liability, ...), ``OutcomeUnknownError`` (never re-sent), other
        ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [
            ("groupId", v.group_id(group_id)),
            ("assetName", v.asset(asset)),
            ("amount", v.amount(amount)),
        ]
        if repay_from is not None:
            params.append(("repayFrom", _repay_from(repay_from)))
        body = await self._call(ENDPOINTS["repay"], params)
        return structure(body, RepayResult)

    async def transfer_out(
        self, *, asset: str, amount: AmountLike, sub_email: str | None = None,
    ) -> TransferOutResult:
        """Move ``asset`` from a member's margin wallet to its own spot wallet.

        ``POST /sapi/v1/margin/loan-group/transfer-out``; weight 1 (IP). A credit or collateral
        key moves its own funds (``sub_email`` may be omitted); the parent key must name
        ``sub_email`` (Binance answers -27026 otherwise). The amount moved is at most
        min(risk-unit max transfer-out, account max transfer-out). Note the parameter is
        ``asset`` here, not ``assetName``.

        Raises: ``InvalidParameterError``/``InvalidParameterTypeError``, ``RiskUnitError``
        (-27025..-27029, -3003), ``OutcomeUnknownError`` (never re-sent), other
        ``APIStatusError`` subclasses, ``APIConnectionError``.
        """
        params = [("asset", v.asset(asset)), ("amount", v.amount(amount))]
        if sub_email is not None:
            params.insert(0, ("subEmail", v.email(sub_email, "sub_email")))
        body = await self._call(ENDPOINTS["transfer_out"], params)
        return structure(body, TransferOutResult)


def _repay_from(value: object) -> str:
    if isinstance(value, RepayFrom):
        return value.value
    if not isinstance(value, str):
        raise InvalidParameterTypeError(
            "repay_from", f"must be RepayFrom or str, not {type(value).__name__}"
        )
    if value.upper() not in {m.value for m in RepayFrom}:
        raise InvalidParameterError("repay_from", f"must be MARGIN or SPOT, not {value!r}")
    return value.upper()
