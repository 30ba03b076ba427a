"""Every public method refuses bad input with an error naming the parameter, before sending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import respx

from binance_instloan import (
    AsyncInstLoanClient,
    InstLoanError,
    InvalidParameterError,
    InvalidParameterTypeError,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OK: dict[str, dict[str, Any]] = {
    "get_ltv_details": {"group_id": 1},
    "get_active_risk_units": {},
    "get_closed_risk_units": {"current": 1, "size": 10},
    "get_force_liquidations": {"group_id": 1, "start_time": NOW - timedelta(days=1),
                               "end_time": NOW, "current": 1, "size": 10},
    "get_force_liquidation_transfers": {"start_time": NOW - timedelta(days=1), "end_time": NOW,
                                        "current": 1, "size": 10},
    "get_borrow_repay_records": {"type": "BORROW", "group_id": 1, "asset": "USDT",
                                 "start_time": NOW - timedelta(days=1), "end_time": NOW,
                                 "current": 1, "size": 10},
    "get_interest_history": {"group_id": 1, "asset": "USDT",
                             "start_time": NOW - timedelta(days=1), "end_time": NOW,
                             "current": 1, "size": 10},
    "get_max_borrowable": {"asset": "USDT", "group_id": 1},
    "get_interest_rebate_balance": {},
    "get_interest_rebate_records": {"type": 0, "start_time": NOW - timedelta(days=1),
                                    "end_time": NOW, "current": 1, "size": 10},
    "borrow": {"group_id": 1, "asset": "USDT", "amount": Decimal("1")},
    "repay": {"group_id": 1, "asset": "USDT", "amount": Decimal("1"), "repay_from": "MARGIN"},
    "add_collateral_account": {"group_id": 1, "sub_email": "a@b.co", "enable_spot": True,
                               "enable_margin": True},
    "close_risk_unit": {"group_id": 1},
    "transfer_out": {"asset": "USDT", "amount": Decimal("1"), "sub_email": "a@b.co"},
    "get_loan_groups": {"group_id": 1},
    "get_loan_group": {},
}

# (parameter, bad value, expected error) applied to every method that takes the parameter.
BAD: list[tuple[str, Any, type[Exception]]] = [
    ("group_id", "1", InvalidParameterTypeError),
    ("group_id", 1.0, InvalidParameterTypeError),
    ("group_id", True, InvalidParameterTypeError),
    ("group_id", 0, InvalidParameterError),
    ("group_id", -3, InvalidParameterError),
    ("current", 0, InvalidParameterError),
    ("current", "2", InvalidParameterTypeError),
    ("size", 0, InvalidParameterError),
    ("size", 101, InvalidParameterError),
    ("size", None, InvalidParameterTypeError),
    ("start_time", datetime(2026, 1, 1), InvalidParameterError),  # naive
    ("start_time", "2026-01-01", InvalidParameterTypeError),
    ("start_time", 1.5e12, InvalidParameterTypeError),
    ("start_time", NOW + timedelta(days=2), InvalidParameterError),  # after end_time
    ("end_time", datetime(2026, 1, 1), InvalidParameterError),
    ("end_time", -1, InvalidParameterError),
    ("asset", "", InvalidParameterError),
    ("asset", "  ", InvalidParameterError),
    ("asset", None, InvalidParameterTypeError),
    ("asset", 5, InvalidParameterTypeError),
    ("amount", 1.5, InvalidParameterTypeError),
    ("amount", 0, InvalidParameterError),
    ("amount", Decimal("-1"), InvalidParameterError),
    ("amount", "abc", InvalidParameterError),
    ("amount", Decimal("NaN"), InvalidParameterError),
    ("amount", Decimal("Infinity"), InvalidParameterError),
    ("amount", True, InvalidParameterTypeError),
    ("amount", None, InvalidParameterTypeError),
    ("sub_email", "", InvalidParameterError),
    ("sub_email", "no-at-sign", InvalidParameterError),
    ("sub_email", 3, InvalidParameterTypeError),
    ("enable_spot", "TRUE", InvalidParameterTypeError),
    ("enable_margin", 1, InvalidParameterTypeError),
    ("type", "LEND", InvalidParameterError),
    ("type", 7, None),  # checked per method below
    ("repay_from", "FUTURES", InvalidParameterError),
    ("repay_from", 1, InvalidParameterTypeError),
]


def _cases() -> list[Any]:
    cases = []
    for method, good in OK.items():
        for param, value, error in BAD:
            if param not in good:
                continue
            if param == "asset" and value is None and method != "get_max_borrowable":
                continue  # asset is optional there: None means "all assets"
            if param == "type" and value == 7:
                error = (InvalidParameterError if method == "get_interest_rebate_records"
                         else InvalidParameterTypeError)
            cases.append(pytest.param(method, param, value, error, id=f"{method}-{param}-{value!r}"))
    return cases


@pytest.mark.parametrize(("method", "param", "value", "error"), _cases())
async def test_bad_argument_is_refused_before_sending(
    api: respx.MockRouter, client: AsyncInstLoanClient, method: str, param: str, value: Any,
    error: type[Exception],
) -> None:
    call: Callable[..., Awaitable[Any]] = getattr(client, method)
    with pytest.raises(error) as caught:
        await call(**{**OK[method], param: value})
    assert isinstance(caught.value, InstLoanError)
    assert caught.value.parameter == param  # type: ignore[attr-defined]
    assert param in str(caught.value)
    assert not api.calls


def test_errors_are_also_builtin_value_and_type_errors() -> None:
    assert issubclass(InvalidParameterError, ValueError)
    assert issubclass(InvalidParameterTypeError, TypeError)


@pytest.mark.parametrize("method", sorted(OK))
def test_every_public_method_is_keyword_only(client: AsyncInstLoanClient, method: str) -> None:
    import inspect

    params = list(inspect.signature(getattr(client, method)).parameters.values())
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)


async def test_range_longer_than_100_days_is_refused(api: respx.MockRouter,
                                                     client: AsyncInstLoanClient) -> None:
    with pytest.raises(InvalidParameterError, match="100 days"):
        await client.get_interest_history(start_time=NOW - timedelta(days=101), end_time=NOW)
    assert not api.calls


async def test_borrow_repay_range_follows_the_asset_rule(api: respx.MockRouter,
                                                         client: AsyncInstLoanClient) -> None:
    with pytest.raises(InvalidParameterError, match="7 days"):
        await client.get_borrow_repay_records(type="BORROW", start_time=NOW - timedelta(days=8),
                                              end_time=NOW)
    with pytest.raises(InvalidParameterError, match="30 days"):
        await client.get_borrow_repay_records(type="BORROW", asset="USDT",
                                              start_time=NOW - timedelta(days=31), end_time=NOW)
    assert not api.calls


async def test_missing_required_argument_is_a_type_error(client: AsyncInstLoanClient) -> None:
    with pytest.raises(TypeError):
        await client.borrow(group_id=1, asset="USDT")  # type: ignore[call-arg]
