"""Responses map to the exception that names them; odd bodies never crash the parser."""

from __future__ import annotations

import time

import httpx
import pytest
import respx

import binance_instloan
from binance_instloan import (
    APIStatusError,
    AsyncInstLoanClient,
    AuthenticationError,
    BadRequestError,
    InstLoanError,
    IPBannedError,
    PermissionDeniedError,
    RateLimitError,
    RiskUnitError,
    ServerError,
    UnreadableResponseError,
)

LOAN = "/sapi/v1/margin/loan-group"


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(400, json={"code": -1102, "msg": "Mandatory parameter"}), BadRequestError),
        (httpx.Response(400, json={"code": -1130, "msg": "Invalid data"}), BadRequestError),
        (httpx.Response(401, json={"code": -2015, "msg": "Invalid API-key"}), AuthenticationError),
        (httpx.Response(400, json={"code": -2014, "msg": "API-key format invalid."}), AuthenticationError),
        (httpx.Response(400, json={"code": -1022, "msg": "Signature invalid."}), AuthenticationError),
        (httpx.Response(403, text="<html><body>403 Forbidden</body></html>"), PermissionDeniedError),
        (httpx.Response(400, text="<html>blocked</html>"), PermissionDeniedError),
        (httpx.Response(400, json={"code": -27009, "msg": "exceeds max"}), RiskUnitError),
        (httpx.Response(400, json={"code": -1024, "msg": "in liquidation"}), RiskUnitError),
        (httpx.Response(400, json={"code": -3006, "msg": "exceed max borrow"}), RiskUnitError),
        (httpx.Response(200, json={"code": -27018, "msg": "not repaid"}), RiskUnitError),
    ],
)
async def test_error_response_maps_to_its_class(
    api: respx.MockRouter, client: AsyncInstLoanClient, response: httpx.Response,
    expected: type[APIStatusError],
) -> None:
    # A GET: on a write most of these become OutcomeUnknownError (tests/test_verdicts.py).
    api.get("/sapi/v1/margin/loan-groups/activated").mock(return_value=response)
    with pytest.raises(expected) as caught:
        await client.get_active_risk_units()
    err = caught.value
    assert err.status_code == response.status_code
    assert isinstance(err.headers, dict)


async def test_status_error_carries_code_msg_and_headers(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.post(f"{LOAN}/borrow").respond(
        400, json={"code": -27009, "msg": "Maximum borrowable for asset USDT is 5"},
        headers={"X-SAPI-USED-UID-WEIGHT-1M": "3000"},
    )
    with pytest.raises(RiskUnitError) as caught:
        await client.borrow(group_id=1, asset="USDT", amount="9")
    err = caught.value
    assert (err.code, err.msg) == (-27009, "Maximum borrowable for asset USDT is 5")
    assert err.headers["x-sapi-used-uid-weight-1m"] == "3000"
    assert "-27009" in str(err)


async def test_empty_5xx_body_is_a_server_error_not_a_decode_crash(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.get(f"{LOAN}/ltv-details").respond(502, content=b"")
    with pytest.raises(ServerError):
        await client.get_ltv_details()


async def test_html_200_is_reported_clearly(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    api.get(f"{LOAN}/ltv-details").respond(200, text="<html>captive portal</html>")
    with pytest.raises(UnreadableResponseError, match="captive portal"):
        await client.get_ltv_details()


async def test_long_ban_raises_at_once_and_blocks_every_endpoint(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    ltv = api.get(f"{LOAN}/ltv-details").respond(
        418, headers={"Retry-After": "7200"},
        json={"code": -1003, "msg": "Way too much request weight used; IP banned until 1."},
    )
    units = api.get("/sapi/v1/margin/loan-groups/activated").respond(200, json=[])
    with pytest.raises(IPBannedError) as caught:
        await client.get_ltv_details()
    assert ltv.call_count == 1
    err = caught.value
    assert err.retry_after is not None and err.retry_after > 7000
    assert err.until is not None and err.until > time.time() + 7000
    with pytest.raises(IPBannedError):
        await client.get_active_risk_units()
    assert units.call_count == 0


async def test_short_ban_is_waited_out_and_the_call_succeeds(
    api: respx.MockRouter, fast_pause_client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/ltv-details").mock(side_effect=[
        httpx.Response(418, headers={"Retry-After": "0.05"}, json={"code": -1003, "msg": "banned"}),
        httpx.Response(200, json=[]),
    ])
    assert await fast_pause_client.get_ltv_details() == []
    assert route.call_count == 2


async def test_long_429_pause_raises_rate_limit_error_without_sending(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/ltv-details").respond(
        429, headers={"Retry-After": "900"}, json={"code": -1003, "msg": "Too much"}
    )
    with pytest.raises(RateLimitError):
        await client.get_ltv_details()
    assert route.call_count == 1
    with pytest.raises(RateLimitError):
        await client.get_ltv_details()
    assert route.call_count == 1


def test_every_error_derives_from_instloan_error() -> None:
    for name in binance_instloan.__all__:
        obj = getattr(binance_instloan, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, InstLoanError), name


def test_error_tree_is_drawn_in_the_module_docstring() -> None:
    from binance_instloan import _errors

    doc = _errors.__doc__ or ""
    for name in _errors.__all__:
        if name != "ConfigurationError":
            assert name in doc, name
