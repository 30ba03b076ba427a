"""Every public error survives pickle with its attributes, and crosses a process pool intact."""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

import binance_instloan
from binance_instloan import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BorrowResult,
    ClientClosedError,
    ConfigurationError,
    ExecutedUnreadableError,
    InstLoanError,
    InvalidParameterError,
    InvalidParameterTypeError,
    IPBannedError,
    LimiterUnavailableError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ResponseFormatError,
    RiskUnitError,
    ServerError,
    UnreadableResponseError,
)

_STATUS: dict[str, Any] = {
    "status_code": 400, "code": -27009, "msg": "exceeds max",
    "headers": {"content-type": "application/json", "x-sapi-used-uid-weight-1m": "3000"},
    "body": {"code": -27009, "msg": "exceeds max", "extra": Decimal("1.5")},
    "method": "POST", "path": "/sapi/v1/margin/loan-group/borrow",
}
_UNKNOWN: dict[str, Any] = {
    "method": "POST", "path": "/sapi/v1/margin/loan-group/borrow",
    "params": {"groupId": "7", "assetName": "USDT", "amount": "1.5", "timestamp": "1"},
    "sent_at_ms": 1_700_000_000_000, "how_to_check": "await client.resolve_outcome(err)",
    "status_code": 502, "code": None,
}

EXAMPLES: dict[type[BaseException], BaseException] = {
    InstLoanError: InstLoanError("base"),
    ConfigurationError: ConfigurationError("recv_window must be an int"),
    InvalidParameterError: InvalidParameterError("amount", "must be positive"),
    InvalidParameterTypeError: InvalidParameterTypeError("amount", "must not be float"),
    ClientClosedError: ClientClosedError("closed"),
    APIConnectionError: APIConnectionError("reset", method="GET", path="/x", request_sent=False),
    APITimeoutError: APITimeoutError("read timeout", method="POST", path="/y"),
    UnreadableResponseError: UnreadableResponseError(
        "HTML 200", method="GET", path="/z", status_code=200, body="<html>",
        headers={"content-type": "text/html", "set-cookie": "aws-waf-token=secret"},
    ),
    OutcomeUnknownError: OutcomeUnknownError("ReadTimeout", **_UNKNOWN),
    ExecutedUnreadableError: ExecutedUnreadableError(
        "HTML", body="<html>", **{**_UNKNOWN, "status_code": 200}),
    APIStatusError: APIStatusError("HTTP 400", **_STATUS),
    BadRequestError: BadRequestError("HTTP 400", **_STATUS),
    AuthenticationError: AuthenticationError("HTTP 401", **_STATUS),
    PermissionDeniedError: PermissionDeniedError("HTTP 403", **_STATUS),
    RateLimitError: RateLimitError("HTTP 429", retry_after=3.0, **_STATUS),
    IPBannedError: IPBannedError("HTTP 418", retry_after=60.0, until=1.5e9, **_STATUS),
    RiskUnitError: RiskUnitError("-27009", **_STATUS),
    ServerError: ServerError("HTTP 500", **_STATUS),
    ResponseFormatError: ResponseFormatError(BorrowResult, {}, "required field missing"),
    LimiterUnavailableError: LimiterUnavailableError("redis is down"),
}


def _public_errors() -> set[type[BaseException]]:
    return {
        obj for name in binance_instloan.__all__
        if isinstance(obj := getattr(binance_instloan, name), type)
        and issubclass(obj, BaseException)
    }


def test_every_public_error_has_an_example_here() -> None:
    assert _public_errors() <= EXAMPLES.keys()


@pytest.mark.parametrize("error", list(EXAMPLES.values()), ids=[c.__name__ for c in EXAMPLES])
def test_a_public_error_round_trips_through_pickle_with_its_attributes(
    error: BaseException,
) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def test_error_headers_keep_no_cookie() -> None:
    error = EXAMPLES[UnreadableResponseError]

    assert "set-cookie" not in pickle.loads(pickle.dumps(error)).headers  # type: ignore[attr-defined]


def _borrow_in_a_worker(amount: str) -> None:
    raise OutcomeUnknownError("ReadTimeout after the request may have been sent",
                              **{**_UNKNOWN, "params": {**_UNKNOWN["params"], "amount": amount}})


def test_an_unknown_outcome_raised_in_a_process_pool_reaches_the_parent_intact() -> None:
    # spawn: forking a process that runs threads is deprecated (and the warning is an error).
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(_borrow_in_a_worker, "2.5")
        with pytest.raises(OutcomeUnknownError) as caught:
            future.result(timeout=120)

    assert caught.value.params["amount"] == "2.5"
    assert caught.value.sent_at_ms == _UNKNOWN["sent_at_ms"]
    assert "outcome unknown" in str(caught.value)
