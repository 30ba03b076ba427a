"""Bad input where ``test_validation.py`` does not look: the ``iter_*`` methods, the outcome
resolvers and the constructor. Each must refuse a wrong argument with an error that names it,
before any request is sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import httpx
import pytest
import respx

from binance_instloan import (
    AsyncInstLoanClient,
    ConfigurationError,
    InstLoanError,
    InvalidParameterError,
    InvalidParameterTypeError,
    Outcome,
    OutcomeUnknownError,
)
from binance_instloan.simulator import Simulator
from tests._support import BASE, KEY, SECRET

NOW: Final = datetime(2026, 1, 1, tzinfo=UTC)
LOAN: Final = "/sapi/v1/margin/loan-group"

# -- the iterators: checked when called, before anything is fetched ----------------------------

ITER_OK: Final[dict[str, dict[str, Any]]] = {
    "iter_interest_history": {"start_time": NOW - timedelta(days=400), "end_time": NOW,
                              "group_id": 1, "asset": "USDT", "concurrency": 2},
    "iter_borrow_repay_records": {"type": "BORROW", "start_time": NOW - timedelta(days=40),
                                  "end_time": NOW, "group_id": 1, "asset": "USDT",
                                  "concurrency": 2},
    "iter_force_liquidations": {"start_time": NOW - timedelta(days=1), "end_time": NOW,
                                "group_id": 1, "concurrency": 2},
    "iter_force_liquidation_transfers": {"start_time": NOW - timedelta(days=1), "end_time": NOW,
                                         "concurrency": 2},
    "iter_closed_risk_units": {"concurrency": 2},
    "iter_interest_rebate_records": {"type": 0, "start_time": NOW - timedelta(days=1),
                                     "end_time": NOW, "concurrency": 2},
}

ITER_BAD: Final[list[tuple[str, Any, type[Exception]]]] = [
    ("start_time", "2026-01-01", InvalidParameterTypeError),
    ("start_time", 1.7e12, InvalidParameterTypeError),
    ("start_time", datetime(2025, 1, 1), InvalidParameterError),  # naive
    ("start_time", NOW + timedelta(days=1), InvalidParameterError),  # after end_time
    ("end_time", -5, InvalidParameterError),
    ("end_time", "now", InvalidParameterTypeError),
    ("group_id", 0, InvalidParameterError),
    ("group_id", "7", InvalidParameterTypeError),
    ("asset", " USDT", InvalidParameterError),
    ("asset", 3, InvalidParameterTypeError),
    ("type", "LEND", InvalidParameterError),
    ("concurrency", 0, InvalidParameterError),
    ("concurrency", 2.0, InvalidParameterTypeError),
    ("concurrency", True, InvalidParameterTypeError),
    ("resume", {"window": 0}, InvalidParameterTypeError),
    ("resume", "position", InvalidParameterTypeError),
]


def _iter_cases() -> list[Any]:
    return [
        pytest.param(method, param, value, error, id=f"{method}-{param}-{value!r}")
        for method, good in ITER_OK.items()
        for param, value, error in ITER_BAD
        if param in good
    ]


@pytest.mark.parametrize(("method", "param", "value", "error"), _iter_cases())
def test_an_iterator_refuses_a_bad_argument_when_called(
    api: respx.MockRouter, client: AsyncInstLoanClient, method: str, param: str, value: Any,
    error: type[Exception],
) -> None:
    make: Callable[..., Any] = getattr(client, method)

    with pytest.raises(error) as caught:
        make(**{**ITER_OK[method], param: value})

    assert isinstance(caught.value, InstLoanError)
    assert caught.value.parameter == param  # type: ignore[attr-defined]
    assert not api.calls


@pytest.mark.parametrize(
    "method",
    ["iter_interest_history", "iter_borrow_repay_records", "iter_force_liquidations",
     "iter_force_liquidation_transfers"],
)
def test_an_iterator_with_a_required_range_refuses_start_time_none(
    api: respx.MockRouter, client: AsyncInstLoanClient, method: str,
) -> None:
    make: Callable[..., Any] = getattr(client, method)

    with pytest.raises(InvalidParameterTypeError) as caught:
        make(**{**ITER_OK[method], "start_time": None})

    assert caught.value.parameter == "start_time"
    assert not api.calls


# -- the outcome resolvers -------------------------------------------------------------------

def _unknown(action: str) -> OutcomeUnknownError:
    """An error as the client raises it for a write sent just now."""
    sent_at_ms = int(time.time() * 1000)
    params = {"borrow": {"groupId": "1", "assetName": "USDT", "amount": "1"},
              "transfer-out": {"asset": "USDT", "amount": "1"}}[action]
    sent = {**params, "recvWindow": "5000", "timestamp": str(sent_at_ms)}
    return OutcomeUnknownError("lost", method="POST", path=f"{LOAN}/{action}", params=sent,
                               sent_at_ms=sent_at_ms, how_to_check="look")


async def test_resolve_outcome_refuses_what_is_not_an_outcome_unknown_error(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    with pytest.raises(InvalidParameterTypeError) as caught:
        await client.resolve_outcome(ValueError("lost"))  # type: ignore[arg-type]
    assert caught.value.parameter == "error"
    assert not api.calls


RESOLVE_BAD: Final = [
    pytest.param("borrow", "deadline", "60", InvalidParameterTypeError, id="deadline-str"),
    pytest.param("borrow", "deadline", math.nan, InvalidParameterError, id="deadline-nan"),
    pytest.param("borrow", "poll_interval", "2", InvalidParameterTypeError,
                 id="poll_interval-str"),
    pytest.param("borrow", "settle", "5", InvalidParameterTypeError, id="settle-str"),
    # A negative settle ends the wait before recvWindow: "not executed" while it still could.
    pytest.param("borrow", "settle", -10.0, InvalidParameterError, id="settle-negative"),
    pytest.param("transfer-out", "before", 5, InvalidParameterTypeError, id="before-int"),
]


@pytest.mark.parametrize(("action", "param", "value", "expected"), RESOLVE_BAD)
async def test_resolve_outcome_refuses_a_bad_option_before_sending(
    api: respx.MockRouter, client: AsyncInstLoanClient, action: str, param: str, value: Any,
    expected: type[Exception],
) -> None:
    with pytest.raises(expected) as caught:
        await client.resolve_outcome(_unknown(action), **{param: value})
    assert caught.value.parameter == param  # type: ignore[attr-defined]
    assert not api.calls


RESOLVERS: Final[dict[str, dict[str, Any]]] = {
    "resolve_borrow": {"group_id": 1, "asset": "USDT", "amount": Decimal(1)},
    "resolve_repay": {"group_id": 1, "asset": "USDT", "amount": Decimal(1)},
}


@pytest.mark.parametrize("method", sorted(RESOLVERS))
@pytest.mark.parametrize(("param", "value", "expected"), [
    ("amount", 1.0, InvalidParameterTypeError),
    ("sent_at_ms", "1767225600000", InvalidParameterTypeError),
], ids=["amount-float", "sent_at_ms-str"])
async def test_a_resolver_refuses_a_bad_argument_before_sending(
    api: respx.MockRouter, client: AsyncInstLoanClient, method: str, param: str, value: Any,
    expected: type[Exception],
) -> None:
    resolve: Callable[..., Awaitable[Any]] = getattr(client, method)
    good = {**RESOLVERS[method], "sent_at_ms": int(time.time() * 1000)}
    with pytest.raises(expected) as caught:
        await resolve(**{**good, param: value}, deadline=0.1, settle=0)
    assert caught.value.parameter == param  # type: ignore[attr-defined]
    assert not api.calls


# -- the constructor -------------------------------------------------------------------------

def _construct(**kwargs: Any) -> AsyncInstLoanClient:
    return AsyncInstLoanClient(**{"api_key": KEY, "api_secret": SECRET, "base_url": BASE,
                                  **kwargs})


@pytest.mark.parametrize(("param", "value"), [
    ("api_secret", 12345),
    ("api_secret", ""),
    ("private_key", 12345),
    ("base_url", 8080),
    ("base_url", "ftp://api.binance.com"),
    ("recv_window", 1.5),
    ("timeout", "10"),
    ("timeout", 0),
    ("max_retries", -1),
    ("backend", "requests"),
])
def test_the_constructor_refuses_a_bad_setting(param: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _construct(**{param: value})
    assert param in str(caught.value)


@pytest.mark.parametrize(("param", "value"), [
    ("api_key", 12345),
    ("rate_limits", {"ip_weight": 100}),
    ("rate_limits", {}),
    ("http_client", "http://localhost"),
    ("transport", httpx.Client()),
    ("limiter", object()),
    ("timeout", math.nan),
])
def test_the_constructor_refuses_a_setting_it_cannot_use(param: str, value: Any) -> None:
    try:
        with pytest.raises(ConfigurationError) as caught:
            _construct(**{param: value})
        assert param in str(caught.value)
    finally:
        if isinstance(value, httpx.Client):
            value.close()


async def test_resolve_outcome_settles_an_error_older_than_the_30_day_query_limit() -> None:
    sim = Simulator(seed=41, units=1)
    error = _unknown("borrow")
    error.sent_at_ms -= 31 * 86_400_000
    error.params["groupId"] = str(sim.group_ids[0])
    async with sim.client() as client:
        resolution = await client.resolve_outcome(error, deadline=5, poll_interval=0.05, settle=0)
    assert resolution.outcome is Outcome.NOT_EXECUTED
