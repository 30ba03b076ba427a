"""The front end's checks before the exchange runs: keys, parameters, timestamps, routing, JSON."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from app_requests import (
    ACTIVE,
    BORROW,
    FORM,
    LTV,
    TIME,
    code_of,
    encode,
    get_raw,
    sign,
    signed_get,
    signed_post,
)

from binance_instloan.simulator import Simulator
from binance_instloan.simulator._http import encode_json

NOW_S = 1_750_000_020.0
NOW_MS = 1_750_000_020_000


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, clock=lambda: NOW_S)


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        yield client


async def _get_at(
    http: httpx.AsyncClient, sim: Simulator, params: list[tuple[str, str]]
) -> httpx.Response:
    """A signed ltv-details GET whose timestamp/recvWindow the test chooses."""
    creds = sim.credentials()
    query = encode(params)
    return await get_raw(http, LTV, f"{query}&signature={sign(creds, query)}", creds.api_key)


# -- API key ------------------------------------------------------------------------------


async def test_missing_api_key_is_a_format_error(sim: Simulator, http: httpx.AsyncClient) -> None:
    query = encode([("timestamp", str(NOW_MS))])

    response = await get_raw(http, LTV, f"{query}&signature={'0' * 64}", None)

    assert response.status_code == 401
    assert response.json() == {"code": -2014, "msg": "API-key format invalid."}


async def test_malformed_api_key_is_a_format_error(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await get_raw(http, LTV, "timestamp=1", "not a key!")

    assert response.status_code == 401
    assert code_of(response) == -2014


async def test_unknown_api_key_is_rejected(sim: Simulator, http: httpx.AsyncClient) -> None:
    response = await get_raw(http, LTV, "timestamp=1", "A" * 64)

    assert response.status_code == 401
    assert response.json() == {
        "code": -2015, "msg": "Invalid API-key, IP, or permissions for action."
    }


# -- parameters ---------------------------------------------------------------------------


async def test_parameter_twice_in_the_query_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_get(http, sim, sim.credentials(), LTV,
                                [("groupId", "1"), ("groupId", "2")])

    assert response.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


async def test_parameter_twice_in_the_body_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    body = encode([("groupId", "1"), ("groupId", "1"), ("timestamp", str(NOW_MS))])

    response = await http.post(
        BORROW, content=f"{body}&signature={sign(creds, body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert code_of(response) == -1101


async def test_escape_that_is_not_utf8_is_an_illegal_character(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    query = f"groupId=%FF&timestamp={NOW_MS}"

    response = await get_raw(http, LTV, f"{query}&signature={sign(creds, query)}", creds.api_key)

    assert code_of(response) == -1100


async def test_query_value_wins_over_the_body_value(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    creds = sim.credentials()
    group_id = str(sim.group_ids[0])
    query = encode([("amount", "2")])
    body = encode([("groupId", group_id), ("assetName", "USDT"), ("amount", "1"),
                   ("timestamp", str(NOW_MS))])

    response = await http.post(
        f"{BORROW}?{query}", content=f"{body}&signature={sign(creds, query + body)}",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200, response.text
    assert sim.executions[-1].params["amount"] == "2"


async def test_exchange_receives_parameters_without_timestamp_window_and_signature(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_post(
        http, sim, sim.credentials(), BORROW,
        [("groupId", str(sim.group_ids[0])), ("assetName", "USDT"), ("amount", "1"),
         ("recvWindow", "5000")],
    )

    assert response.status_code == 200, response.text
    assert dict(sim.executions[-1].params) == {
        "groupId": str(sim.group_ids[0]), "assetName": "USDT", "amount": "1",
    }


async def test_body_of_a_get_is_ignored(sim: Simulator, http: httpx.AsyncClient) -> None:
    creds = sim.credentials()
    query = encode([("timestamp", str(NOW_MS))])

    response = await http.request(
        "GET", f"{LTV}?{query}&signature={sign(creds, query)}", content=b"groupId=1",
        headers={"X-MBX-APIKEY": creds.api_key, **FORM},
    )

    assert response.status_code == 200


# -- timestamp and recvWindow -------------------------------------------------------------


async def test_missing_timestamp_is_a_mandatory_parameter_error(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(http, sim, [("recvWindow", "5000")])

    assert response.json() == {
        "code": -1102,
        "msg": "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    }


async def test_non_numeric_timestamp_is_illegal(sim: Simulator, http: httpx.AsyncClient) -> None:
    response = await _get_at(http, sim, [("timestamp", "12.5")])

    assert code_of(response) == -1100


async def test_timestamp_a_second_ahead_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(http, sim, [("timestamp", str(NOW_MS + 1000))])

    assert response.json() == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }


async def test_timestamp_just_under_a_second_ahead_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(http, sim, [("timestamp", str(NOW_MS + 999))])

    assert response.status_code == 200


async def test_default_recv_window_is_five_seconds(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    inside = await _get_at(http, sim, [("timestamp", str(NOW_MS - 5000))])
    outside = await _get_at(http, sim, [("timestamp", str(NOW_MS - 5001))])

    assert inside.status_code == 200
    assert outside.json() == {
        "code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."
    }


async def test_larger_recv_window_accepts_older_timestamps(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(
        http, sim, [("timestamp", str(NOW_MS - 59_000)), ("recvWindow", "60000")]
    )

    assert response.status_code == 200


async def test_recv_window_above_sixty_seconds_is_rejected(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(
        http, sim, [("timestamp", str(NOW_MS)), ("recvWindow", "60000.001")]
    )

    assert response.json() == {"code": -1131, "msg": "recvWindow must be less than 60000"}


async def test_recv_window_with_microsecond_decimals_is_accepted(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(
        http, sim, [("timestamp", str(NOW_MS - 6000)), ("recvWindow", "6000.346")]
    )

    assert response.status_code == 200


async def test_microsecond_timestamp_is_accepted(sim: Simulator, http: httpx.AsyncClient) -> None:
    response = await _get_at(http, sim, [("timestamp", str(NOW_MS * 1000 - 4_999_999))])

    assert response.status_code == 200


async def test_microsecond_timestamp_is_checked_to_the_microsecond(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await _get_at(http, sim, [("timestamp", str(NOW_MS * 1000 - 5_000_001))])

    assert code_of(response) == -1021


async def test_skewed_server_clock_rejects_a_correct_local_timestamp(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.skew_ms = 6000

    response = await _get_at(http, sim, [("timestamp", str(NOW_MS))])

    assert code_of(response) == -1021


async def test_server_time_follows_the_simulator_clock(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.skew_ms = -1500
    sim.advance(10)

    response = await http.get(TIME)

    assert response.json() == {"serverTime": NOW_MS + 10_000 - 1500}


async def test_server_time_needs_no_api_key(sim: Simulator, http: httpx.AsyncClient) -> None:
    response = await http.get(TIME)

    assert response.status_code == 200


# -- exchange answers ---------------------------------------------------------------------


async def test_exchange_error_keeps_its_status_code_and_message(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_get(http, sim, sim.credentials("credit"), ACTIVE)

    assert response.status_code == 401
    assert response.json() == {
        "code": -1002, "msg": "You are not authorized to execute this request."
    }


async def test_unexpected_exchange_failure_is_an_internal_error(
    sim: Simulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise RuntimeError("bug in the exchange")

    monkeypatch.setattr(sim.exchange, "handle", broken)

    response = await signed_get(http, sim, sim.credentials(), LTV)

    assert response.status_code == 500
    assert code_of(response) == -1000


async def test_exchange_accrues_interest_up_to_the_request_time_first(
    sim: Simulator, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    advance_to, handle = sim.exchange.advance_to, sim.exchange.handle

    def record_advance(now_ms: int) -> None:
        calls.append(f"advance_to {now_ms}")
        advance_to(now_ms)

    def record_handle(*args: Any) -> Any:
        calls.append("handle")
        return handle(*args)

    monkeypatch.setattr(sim.exchange, "advance_to", record_advance)
    monkeypatch.setattr(sim.exchange, "handle", record_handle)

    await signed_get(http, sim, sim.credentials(), LTV)

    assert calls == [f"advance_to {NOW_MS}", "handle"]


# -- routing ------------------------------------------------------------------------------


async def test_unknown_path_is_not_found_with_a_json_body(http: httpx.AsyncClient) -> None:
    response = await http.get("/sapi/v1/margin/loan-group/nothing-here")

    assert response.status_code == 404
    assert code_of(response) == -1099


async def test_wrong_method_on_a_known_path_is_not_allowed(http: httpx.AsyncClient) -> None:
    response = await http.post(LTV)

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"


async def test_same_path_routes_by_method(sim: Simulator, http: httpx.AsyncClient) -> None:
    creds = sim.credentials()

    get = await signed_get(http, sim, creds, "/sapi/v1/margin/loan-group")
    delete_query = encode([("groupId", str(sim.group_ids[0])), ("timestamp", str(NOW_MS))])
    delete = await http.delete(
        f"/sapi/v1/margin/loan-group?{delete_query}&signature={sign(creds, delete_query)}",
        headers={"X-MBX-APIKEY": creds.api_key},
    )

    assert "X-SAPI-USED-IP-WEIGHT-1M" in get.headers
    assert "X-SAPI-USED-UID-WEIGHT-1M" in delete.headers


# -- JSON ---------------------------------------------------------------------------------


def test_decimal_is_written_as_a_bare_number_with_its_exact_digits() -> None:
    body = {"amount": Decimal("123456.78000000"), "tiny": Decimal("0E-8"), "text": "1.50"}

    assert encode_json(body) == b'{"amount":123456.78000000,"tiny":0E-8,"text":"1.50"}'


def test_json_keeps_strings_booleans_nulls_and_nesting() -> None:
    body = [{"ok": True, "no": False, "none": None, "n": 3, "s": "é\"", "rows": [1, "2"]}]

    assert encode_json(body) == b'[{"ok":true,"no":false,"none":null,"n":3,"s":"\\u00e9\\"",' \
                                b'"rows":[1,"2"]}]'


def test_json_refuses_a_decimal_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="NaN"):
        encode_json({"x": Decimal("NaN")})


async def test_borrow_amount_comes_back_as_a_bare_json_number(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_post(
        http, sim, sim.credentials(), BORROW,
        [("groupId", str(sim.group_ids[0])), ("assetName", "USDT"), ("amount", "1.50")],
    )

    assert b'"amount":1.50' in response.content
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
