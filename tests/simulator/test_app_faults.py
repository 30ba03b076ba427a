"""Injected faults, in-process: what the client sees, and whether the exchange executed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from app_requests import BORROW, LTV, TIME, code_of, signed_get, signed_post

from binance_instloan.simulator import (
    MSG_503_INTERNAL,
    MSG_503_UNAVAILABLE,
    MSG_503_UNKNOWN,
    Simulator,
)

NOW_S = 1_750_000_020.0


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=9, clock=lambda: NOW_S)


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        yield client


async def _borrow(http: httpx.AsyncClient, sim: Simulator) -> httpx.Response:
    return await signed_post(
        http, sim, sim.credentials(), BORROW,
        [("groupId", str(sim.group_ids[0])), ("assetName", "USDT"), ("amount", "1")],
    )


async def test_latency_delays_a_normal_answer(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("latency", latency=0.05)
    started = time.perf_counter()

    response = await http.get(TIME)

    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.05


async def test_latency_beyond_the_read_timeout_is_a_read_timeout(sim: Simulator) -> None:
    sim.add_fault("latency", latency=5)

    async with httpx.AsyncClient(
        transport=sim.transport(), base_url=sim.base_url, timeout=0.05
    ) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(TIME)


async def test_status_fault_answers_500_with_a_binance_body(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("status")

    response = await http.get(TIME)

    assert response.status_code == 500
    assert response.json() == {
        "code": -1000, "msg": "An unknown error occurred while processing the request."
    }


@pytest.mark.parametrize("message", [MSG_503_UNKNOWN, MSG_503_UNAVAILABLE, MSG_503_INTERNAL])
async def test_status_fault_carries_each_documented_503_text(
    sim: Simulator, http: httpx.AsyncClient, message: str
) -> None:
    sim.add_fault("status", status=503, message=message)

    response = await http.get(TIME)

    assert response.status_code == 503
    assert response.json() == {"code": -1000, "msg": message}


async def test_status_fault_on_a_post_executes_it_first(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("status", path=BORROW, status=503, message=MSG_503_UNKNOWN)

    response = await _borrow(http, sim)

    assert response.status_code == 503
    assert sim.execution_count(BORROW, "POST") == 1


async def test_status_fault_without_execute_leaves_the_exchange_alone(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("status", path=BORROW, execute=False)

    response = await _borrow(http, sim)

    assert response.status_code == 500
    assert sim.execution_count(BORROW) == 0


async def test_empty_5xx_has_no_body(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("empty_5xx", status=502)

    response = await http.get(TIME)

    assert (response.status_code, response.content) == (502, b"")


async def test_html_403_is_a_waf_page(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("html_403", path=BORROW)

    response = await _borrow(http, sim)

    assert response.status_code == 403
    assert response.headers["Content-Type"] == "text/html"
    assert b"<H1>403 ERROR</H1>" in response.content
    assert sim.execution_count() == 0


@pytest.mark.parametrize("code", [-1021, -1006, -1007])
async def test_error_code_fault_answers_400_with_that_code(
    sim: Simulator, http: httpx.AsyncClient, code: int
) -> None:
    sim.add_fault("error_code", code=code, path=BORROW)

    response = await _borrow(http, sim)

    assert response.status_code == 400
    assert code_of(response) == code
    assert sim.execution_count() == 0


async def test_error_code_fault_as_a_429_says_when_to_retry(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("error_code", code=-1003, status=429)

    response = await http.get(TIME)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"


async def test_read_timeout_after_execution(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("read_timeout", path=BORROW)

    with pytest.raises(httpx.ReadTimeout):
        await _borrow(http, sim)

    assert sim.execution_count(BORROW) == 1


async def test_read_timeout_without_execute(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("read_timeout", path=BORROW, execute=False)

    with pytest.raises(httpx.ReadTimeout):
        await _borrow(http, sim)

    assert sim.execution_count(BORROW) == 0


async def test_reset_after_execution(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("reset", path=BORROW)

    with pytest.raises(httpx.RemoteProtocolError):
        await _borrow(http, sim)

    assert sim.execution_count(BORROW) == 1


async def test_connect_error_never_reaches_the_exchange(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("connect_error", path=BORROW)

    with pytest.raises(httpx.ConnectError):
        await _borrow(http, sim)

    assert sim.execution_count() == 0
    assert sim.max_window_weight(f"UID:{BORROW}") == 0


async def test_fault_hits_only_times_requests(sim: Simulator, http: httpx.AsyncClient) -> None:
    fault = sim.add_fault("status", times=2)

    statuses = [(await http.get(TIME)).status_code for _ in range(3)]

    assert statuses == [500, 500, 200]
    assert fault.hits == 2
    assert sim.faults == []


async def test_unlimited_fault_keeps_hitting(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("status", times=None)

    statuses = {(await http.get(TIME)).status_code for _ in range(5)}

    assert statuses == {500}


async def test_fault_matches_its_path_and_method_only(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("status", path=BORROW, method="post", times=None)

    time_response = await http.get(TIME)
    ltv_response = await signed_get(http, sim, sim.credentials(), LTV)
    borrow_response = await _borrow(http, sim)

    assert (time_response.status_code, ltv_response.status_code) == (200, 200)
    assert borrow_response.status_code == 500


async def test_probability_hits_a_seeded_share_of_requests() -> None:
    async def run() -> list[int]:
        sim = Simulator(seed=4, clock=lambda: NOW_S, rate_limits_enabled=False)
        sim.add_fault("status", times=None, probability=0.3)
        async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
            return [(await http.get(TIME)).status_code for _ in range(200)]

    first, second = await run(), await run()

    assert first == second
    assert 30 <= first.count(500) <= 90


async def test_clear_faults_removes_them_all(sim: Simulator, http: httpx.AsyncClient) -> None:
    sim.add_fault("status", times=None)
    sim.add_fault("reset", times=None)

    sim.clear_faults()

    assert (await http.get(TIME)).status_code == 200


async def test_remove_fault_removes_just_that_one(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    reset = sim.add_fault("reset", times=None)
    sim.add_fault("empty_5xx", times=None)

    sim.remove_fault(reset)

    assert (await http.get(TIME)).status_code == 500


async def test_lost_answers_are_counted_in_stats(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    sim.add_fault("reset")

    with pytest.raises(httpx.RemoteProtocolError):
        await http.get(TIME)

    assert sim.stats[TIME].lost == 1
    assert sim.stats[TIME].responses == {}


def test_unknown_fault_kind_is_refused(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="fault kind"):
        sim.add_fault("meteor")  # type: ignore[arg-type]


def test_fault_on_an_unknown_path_is_refused(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="unknown endpoint path"):
        sim.add_fault("status", path="/sapi/v1/margin/loan-group/borow")


def test_zero_times_is_refused(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="times"):
        sim.add_fault("status", times=0)
