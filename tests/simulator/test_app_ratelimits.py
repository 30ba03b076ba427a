"""Request weight, per endpoint and per IP or UID, on windows of the simulator clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from app_requests import (
    ACTIVE,
    BORROW,
    LTV,
    TIME,
    code_of,
    encode,
    get_raw,
    signed_get,
    signed_post,
)

from binance_instloan.simulator import Simulator

WINDOW_START_S = 1_750_000_020.0  # a multiple of 60 s: the first request opens a fresh window
IP_LIMIT = 1000  # five ltv-details calls (weight 200)
LTV_BUCKET = f"IP:{LTV}"


def _sim(**limits: Any) -> Simulator:
    return Simulator(seed=2, clock=lambda: WINDOW_START_S, **{"ip_weight_limit": IP_LIMIT,
                                                              **limits})


@pytest.fixture
def sim() -> Simulator:
    return _sim()


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        yield client


async def _ltv(http: httpx.AsyncClient, sim: Simulator, times: int = 1) -> httpx.Response:
    response = None
    for _ in range(times):
        response = await signed_get(http, sim, sim.credentials(), LTV)
    assert response is not None
    return response


def _borrow_params(sim: Simulator, group_id: int) -> list[tuple[str, str]]:
    return [("groupId", str(group_id)), ("assetName", "USDT"), ("amount", "1")]


async def test_ip_limited_endpoint_reports_its_used_ip_weight(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    first = await _ltv(http, sim)
    second = await _ltv(http, sim)

    assert first.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "200"
    assert second.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "400"
    assert "X-SAPI-USED-UID-WEIGHT-1M" not in second.headers


async def test_uid_limited_endpoint_reports_its_used_uid_weight(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await signed_post(http, sim, sim.credentials(), BORROW,
                                 _borrow_params(sim, sim.group_ids[0]))

    assert response.status_code == 200, response.text
    assert response.headers["X-SAPI-USED-UID-WEIGHT-1M"] == "3000"


async def test_server_time_is_charged_to_the_shared_api_budget(http: httpx.AsyncClient) -> None:
    await http.get(TIME)
    response = await http.get(TIME)

    assert response.headers["X-MBX-USED-WEIGHT-1M"] == "2"


async def test_request_over_the_limit_gets_429_with_retry_after(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await _ltv(http, sim, times=5)

    response = await _ltv(http, sim)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.json() == {
        "code": -1003,
        "msg": "Too much request weight used; current limit is 1000 request weight per "
        "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
    }


async def test_refused_request_is_not_charged(sim: Simulator, http: httpx.AsyncClient) -> None:
    await _ltv(http, sim, times=5)

    refused = await _ltv(http, sim, times=2)

    assert refused.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "1000"
    assert sim.max_window_weight(LTV_BUCKET) == IP_LIMIT


async def test_retry_after_counts_down_to_the_end_of_the_window(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await _ltv(http, sim, times=5)
    sim.advance(45.5)

    response = await _ltv(http, sim)

    assert response.headers["Retry-After"] == "15"


async def test_next_window_starts_with_a_fresh_budget(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await _ltv(http, sim, times=6)
    sim.advance(60)

    response = await _ltv(http, sim)

    assert response.status_code == 200
    assert response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "200"


async def test_each_endpoint_has_its_own_budget(sim: Simulator, http: httpx.AsyncClient) -> None:
    await _ltv(http, sim, times=6)

    response = await signed_get(http, sim, sim.credentials("parent"), ACTIVE)

    assert response.status_code == 200
    assert response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "10"


async def test_each_client_ip_has_its_own_budget(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await _ltv(http, sim, times=6)

    async with httpx.AsyncClient(
        transport=sim.transport(client_ip="10.0.0.2"), base_url=sim.base_url
    ) as other_ip:
        response = await _ltv(other_ip, sim)

    assert response.status_code == 200


async def test_uid_budget_is_per_account() -> None:
    sim = _sim(uid_weight_limit=3000)
    first, second = sim.group_ids[:2]
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await signed_post(http, sim, sim.credentials(group_id=first), BORROW,
                          _borrow_params(sim, first))
        again = await signed_post(http, sim, sim.credentials(group_id=first), BORROW,
                                  _borrow_params(sim, first))
        other = await signed_post(http, sim, sim.credentials(group_id=second), BORROW,
                                  _borrow_params(sim, second))

    assert again.status_code == 429
    assert other.status_code == 200, other.text
    assert sim.execution_count(BORROW) == 2


async def test_weight_is_charged_before_the_signature_is_checked(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    query = encode([("timestamp", str(sim.now_ms()))])

    response = await get_raw(http, LTV, f"{query}&signature={'0' * 64}",
                             sim.credentials().api_key)

    assert code_of(response) == -1022
    assert response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "200"


async def test_uid_endpoint_does_not_charge_a_request_with_an_unknown_key(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    response = await http.post(BORROW, headers={"X-MBX-APIKEY": "A" * 64})

    assert code_of(response) == -2015
    assert sim.max_window_weight(f"UID:{BORROW}") == 0


async def test_repeated_violations_ban_the_ip_with_418() -> None:
    sim = _sim(ban_after_violations=3)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=5)
        refused = [await _ltv(http, sim) for _ in range(3)]
        banned = await _ltv(http, sim)

    assert [r.status_code for r in refused] == [429, 429, 429]
    assert banned.status_code == 418
    assert banned.headers["Retry-After"] == "120"
    assert banned.json() == {
        "code": -1003,
        "msg": f"Way too much request weight used; IP banned until {sim.now_ms() + 120_000}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    }


async def test_ban_covers_every_endpoint_from_that_ip() -> None:
    sim = _sim(ban_after_violations=1)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=6)
        response = await http.get(TIME)

    assert response.status_code == 418


async def test_ban_spares_other_ips() -> None:
    sim = _sim(ban_after_violations=1)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=6)
    async with httpx.AsyncClient(
        transport=sim.transport(client_ip="10.0.0.9"), base_url=sim.base_url
    ) as other_ip:
        response = await other_ip.get(TIME)

    assert response.status_code == 200


async def test_ban_ends_after_ban_seconds() -> None:
    sim = _sim(ban_after_violations=1, ban_seconds=90)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=6)
        sim.advance(30)
        during = await http.get(TIME)
        sim.advance(60)
        after = await _ltv(http, sim)

    assert during.status_code == 418
    assert during.headers["Retry-After"] == "60"
    assert after.status_code == 200


async def test_violations_in_separate_windows_do_not_add_up() -> None:
    sim = _sim(ban_after_violations=2)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=6)
        sim.advance(60)
        await _ltv(http, sim, times=6)
        response = await http.get(TIME)

    assert response.status_code == 200


async def test_disabled_rate_limits_admit_everything_and_still_count() -> None:
    sim = _sim(rate_limits_enabled=False)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        response = await _ltv(http, sim, times=8)

    assert response.status_code == 200
    assert response.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "1600"


async def test_window_length_is_configurable() -> None:
    sim = _sim(window_seconds=10)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        response = await _ltv(http, sim, times=6)

    assert response.headers["Retry-After"] == "10"
    assert "current limit is 1000 request weight per 10 SECONDS" in response.json()["msg"]


async def test_max_window_weight_is_the_busiest_window(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await _ltv(http, sim, times=3)
    sim.advance(60)
    await _ltv(http, sim, times=2)

    assert sim.max_window_weight(LTV_BUCKET) == 600
    assert sim.max_window_weight("API:/api") == 0


async def test_stats_count_requests_statuses_429s_and_418s() -> None:
    sim = _sim(ban_after_violations=2)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await _ltv(http, sim, times=8)

    stats = sim.stats[LTV]
    assert stats.requests == 8
    assert stats.responses == {200: 5, 429: 2, 418: 1}
    assert (stats.throttled, stats.banned) == (2, 1)


async def test_without_sapi_bans_sapi_answers_429_however_often_it_is_exceeded() -> None:
    sim = _sim(ban_after_violations=1, sapi_bans=False)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        refused = [await _ltv(http, sim) for _ in range(10)][5:]
        server_time = await http.get(TIME)

    assert [r.status_code for r in refused] == [429] * 5
    assert all(r.headers["Retry-After"] == "60" for r in refused)
    assert sim.stats[LTV].banned == 0
    assert server_time.status_code == 200


async def test_without_sapi_bans_a_ban_earned_on_api_spares_sapi() -> None:
    sim = _sim(api_weight_limit=1, ban_after_violations=1, sapi_bans=False)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await http.get(TIME)
        refused = await http.get(TIME)
        banned = await http.get(TIME)
        sapi = await _ltv(http, sim)

    assert (refused.status_code, banned.status_code) == (429, 418)
    assert sapi.status_code == 200


def test_sapi_bans_must_be_a_bool() -> None:
    with pytest.raises(ValueError, match="sapi_bans"):
        Simulator(sapi_bans="no")  # type: ignore[arg-type]
