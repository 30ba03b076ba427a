"""Which failures are retried for GET and for POST/DELETE, and which raise OutcomeUnknownError."""

from __future__ import annotations

import httpx
import pytest
import respx

from binance_instloan import (
    APIConnectionError,
    APITimeoutError,
    AsyncInstLoanClient,
    BadRequestError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
)

LOAN = "/sapi/v1/margin/loan-group"
BORROWED = {"transactionId": 9, "amount": "5", "status": "success"}


def _error(status: int, code: int, msg: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg})


# -- GET ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(502, text="<html>bad gateway</html>"),
        _error(503, -1000, "Unknown error, please check your request or try again later."),
        _error(400, -1001, "Internal error; unable to process your request. Please try again."),
        _error(400, -1004, "Server is busy, please wait and try again"),
        _error(400, -1007, "Timeout waiting for response from backend server."),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("reset"),
    ],
)
async def test_get_is_retried_after_a_transient_failure(
    api: respx.MockRouter, client: AsyncInstLoanClient, failure: object
) -> None:
    route = api.get(f"{LOAN}/ltv-details").mock(side_effect=[failure, httpx.Response(200, json=[])])
    assert await client.get_ltv_details() == []
    assert route.call_count == 2


async def test_get_gives_up_after_max_retries(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/ltv-details").respond(500)
    with pytest.raises(ServerError):
        await client.get_ltv_details()
    assert route.call_count == 4  # the first try and max_retries=3


async def test_get_timeout_surfaces_as_api_timeout_error(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.get(f"{LOAN}/ltv-details").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError):
        await client.get_ltv_details()


async def test_get_is_not_retried_after_a_client_error(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.get(f"{LOAN}/max-borrowable").mock(
        return_value=_error(400, -1102, "Mandatory parameter 'assetName' was not sent.")
    )
    with pytest.raises(BadRequestError):
        await client.get_max_borrowable(asset="USDT")
    assert route.call_count == 1


async def test_retry_backoff_grows(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    client._retry.sleep = record
    api.get(f"{LOAN}/ltv-details").respond(500)
    with pytest.raises(ServerError):
        await client.get_ltv_details()
    assert len(slept) == 3
    assert slept[0] < slept[2]


# -- POST / DELETE: only what provably did not execute is re-sent -------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("no answer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteTimeout("stalled"),
        httpx.Response(500),
        httpx.Response(502, text=""),
        httpx.Response(504, text="<html>gateway timeout</html>"),
        _error(503, -1000, "Unknown error, please check your request or try again later."),
        _error(400, -1006, "An unexpected response was received from the message bus."),
        _error(400, -1007, "Timeout waiting for response from backend server."),
    ],
)
async def test_post_that_may_have_executed_is_never_resent(
    api: respx.MockRouter, client: AsyncInstLoanClient, failure: object
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(side_effect=[failure, httpx.Response(200, json=BORROWED)])
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.borrow(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 1
    err = caught.value
    assert err.method == "POST"
    assert err.path == f"{LOAN}/borrow"
    assert err.params["amount"] == "5"
    assert "signature" not in err.params
    assert "borrow-repay" in str(err) or "borrow_repay" in str(err)
    assert "NOT re-sent" in str(err)


async def test_delete_that_timed_out_is_never_resent(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.delete(LOAN).mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(OutcomeUnknownError):
        await client.close_risk_unit(group_id=4)
    assert route.call_count == 1


async def test_post_service_unavailable_is_a_definite_failure_not_resent(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/repay").respond(
        503, json={"code": -1000, "msg": "Service Unavailable."}
    )
    with pytest.raises(ServerError):
        await client.repay(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 1


async def test_post_is_resent_when_the_connection_never_opened(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(200, json=BORROWED)]
    )
    result = await client.borrow(group_id=1, asset="USDT", amount="5")
    assert result.transaction_id == 9
    assert route.call_count == 2


async def test_post_connect_failures_give_up_as_connection_error(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    api.post(f"{LOAN}/borrow").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as caught:
        await client.borrow(group_id=1, asset="USDT", amount="5")
    assert caught.value.request_sent is False


async def test_post_is_resent_after_a_429(
    api: respx.MockRouter, fast_pause_client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "0.01"},
                       json={"code": -1003, "msg": "Too much request weight used"}),
        httpx.Response(200, json=BORROWED),
    ])
    await fast_pause_client.borrow(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 2


async def test_post_is_resent_after_minus_1003(
    api: respx.MockRouter, fast_pause_client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(side_effect=[
        httpx.Response(400, headers={"Retry-After": "0.01"},
                       json={"code": -1003, "msg": "Too many requests queued."}),
        httpx.Response(200, json=BORROWED),
    ])
    await fast_pause_client.borrow(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 2


async def test_minus_1021_relearns_the_clock_and_resends_once(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(side_effect=[
        _error(400, -1021, "Timestamp for this request is outside of the recvWindow."),
        httpx.Response(200, json=BORROWED),
    ])
    await client.borrow(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 2
    assert api.routes[0].call_count == 2  # the time endpoint: first sync, then the re-learn


async def test_minus_1021_twice_gives_up(api: respx.MockRouter, client: AsyncInstLoanClient) -> None:
    route = api.post(f"{LOAN}/borrow").mock(
        return_value=_error(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    )
    with pytest.raises(BadRequestError) as caught:
        await client.borrow(group_id=1, asset="USDT", amount="5")
    assert caught.value.code == -1021
    assert route.call_count == 2


async def test_post_is_not_retried_after_a_business_error(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    route = api.post(f"{LOAN}/borrow").mock(return_value=_error(
        400, -27009, "The requested borrow amount exceeds the maximum allowed limit."))
    with pytest.raises(Exception, match="-27009"):
        await client.borrow(group_id=1, asset="USDT", amount="5")
    assert route.call_count == 1


async def test_max_retries_zero_disables_get_retries(api: respx.MockRouter) -> None:
    route = api.get(f"{LOAN}/ltv-details").respond(500)
    async with AsyncInstLoanClient("k" * 20, "s" * 20, max_retries=0) as client:
        with pytest.raises(ServerError):
            await client.get_ltv_details()
    assert route.call_count == 1


async def test_rate_limit_errors_carry_retry_after(
    api: respx.MockRouter, client: AsyncInstLoanClient
) -> None:
    client.rate_limits = client.rate_limits  # the ceiling stays at 60 s
    api.get(f"{LOAN}/ltv-details").respond(
        429, headers={"Retry-After": "600"}, json={"code": -1003, "msg": "Too much request weight used"}
    )
    with pytest.raises(RateLimitError) as caught:
        await client.get_ltv_details()
    assert caught.value.retry_after is not None and caught.value.retry_after > 60
