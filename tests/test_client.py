"""Construction, credentials, lifecycle and introspection of AsyncInstLoanClient."""

from __future__ import annotations

import httpx
import pytest
import respx

from binance_instloan import (
    AsyncInstLoanClient,
    ClientClosedError,
    ConfigurationError,
)
from tests._eventually import eventually
from tests._support import KEY, SECRET


def test_missing_credentials_fail_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BINANCE_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="BINANCE_API_KEY"):
        AsyncInstLoanClient()


def test_key_without_secret_or_private_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINANCE_API_SECRET", raising=False)
    monkeypatch.delenv("BINANCE_PRIVATE_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        AsyncInstLoanClient(KEY)


async def test_credentials_fall_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)
    async with AsyncInstLoanClient() as client:
        assert client._api_key == KEY


@pytest.mark.parametrize("recv_window", [0, 60001, -5, 5000.5, True, "5000"])
def test_recv_window_outside_1_to_60000_is_refused(recv_window: object) -> None:
    with pytest.raises(ConfigurationError, match="recv_window"):
        AsyncInstLoanClient(KEY, SECRET, recv_window=recv_window)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    ["http://api.binance.com", "ftp://api.binance.com", "http://10.0.0.5:8080", "not a url"],
)
def test_plain_http_to_a_remote_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        AsyncInstLoanClient(KEY, SECRET, base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.5.0.1", "http://localhost:9000", "http://[::1]:80"]
)
async def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    async with AsyncInstLoanClient(KEY, SECRET, base_url=url) as client:
        assert client._base_url == url


def test_default_read_timeout_is_longer_than_binance_server_timeout() -> None:
    client = AsyncInstLoanClient(KEY, SECRET)
    assert client._timeout.read is not None and client._timeout.read > 10


def test_timeout_accepts_seconds_or_httpx_timeout() -> None:
    assert AsyncInstLoanClient(KEY, SECRET, timeout=3)._timeout == httpx.Timeout(3.0)
    custom = httpx.Timeout(1.0, read=20.0)
    assert AsyncInstLoanClient(KEY, SECRET, timeout=custom)._timeout is custom


def test_repr_hides_the_secret_and_most_of_the_key() -> None:
    text = repr(AsyncInstLoanClient(KEY, SECRET))
    assert SECRET not in text
    assert KEY not in text


async def test_calls_after_close_raise_client_closed(api: respx.MockRouter) -> None:
    client = AsyncInstLoanClient(KEY, SECRET)
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.get_active_risk_units()
    assert not api.calls


async def test_async_with_closes_the_owned_http_client() -> None:
    async with AsyncInstLoanClient(KEY, SECRET) as client:
        http = client._http
    assert http.is_closed
    assert client.is_closed


async def test_user_supplied_http_client_is_left_open(api: respx.MockRouter) -> None:
    async with httpx.AsyncClient() as http:
        async with AsyncInstLoanClient(KEY, SECRET, http_client=http):
            pass
        assert not http.is_closed


async def test_closed_user_http_client_is_not_silently_reopened(api: respx.MockRouter) -> None:
    http = httpx.AsyncClient()
    await http.aclose()
    client = AsyncInstLoanClient(KEY, SECRET, http_client=http)
    with pytest.raises(ClientClosedError):
        await client.get_active_risk_units()


def test_http_client_and_transport_together_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        AsyncInstLoanClient(KEY, SECRET, http_client=httpx.AsyncClient(),
                            transport=httpx.MockTransport(lambda r: httpx.Response(200)))


@pytest.mark.parametrize("max_retries", [-1, 1.5, None])
def test_max_retries_must_be_a_non_negative_int(max_retries: object) -> None:
    with pytest.raises(ConfigurationError):
        AsyncInstLoanClient(KEY, SECRET, max_retries=max_retries)  # type: ignore[arg-type]


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="backend"):
        AsyncInstLoanClient(KEY, SECRET, backend="curl")  # type: ignore[arg-type]


async def test_aiohttp_backend_is_one_argument() -> None:
    async with AsyncInstLoanClient(KEY, SECRET, backend="aiohttp") as client:
        assert type(client._http._transport).__name__ == "AiohttpTransport"


async def test_two_clients_share_no_limiter_or_clock() -> None:
    a, b = AsyncInstLoanClient(KEY, SECRET), AsyncInstLoanClient(KEY, SECRET)
    assert a._limiter is not b._limiter
    assert a._clock is not b._clock
    await a.aclose()
    await b.aclose()


async def test_closing_the_client_ends_calls_in_flight_with_client_closed() -> None:
    import asyncio

    from binance_instloan.simulator import Simulator

    sim = Simulator(seed=1)
    sim.add_fault("latency", latency=5.0, path="/sapi/v1/margin/loan-group/ltv-details")
    client = sim.client()
    await client.get_max_borrowable(asset="USDT")  # the clock is learned; the pool is warm
    call = asyncio.create_task(client.get_ltv_details())
    await eventually(lambda: "/sapi/v1/margin/loan-group/ltv-details" in sim.stats)  # in flight
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await call


async def test_closing_the_client_during_a_borrow_reports_an_unknown_outcome() -> None:
    import asyncio

    from binance_instloan import OutcomeUnknownError
    from binance_instloan.simulator import Simulator

    sim = Simulator(seed=1, history_days=2)
    sim.add_fault("latency", latency=5.0, path="/sapi/v1/margin/loan-group/borrow")
    client = sim.client()
    await client.get_max_borrowable(asset="USDT")
    call = asyncio.create_task(client.borrow(group_id=sim.group_ids[0], asset="USDT", amount=1))
    await eventually(lambda: "/sapi/v1/margin/loan-group/borrow" in sim.stats)  # in flight
    await client.aclose()
    with pytest.raises(OutcomeUnknownError, match="closed"):
        await call


async def test_a_failure_while_signing_gives_back_the_rate_budget(api: respx.MockRouter) -> None:
    class BrokenSigner:
        key_type = "HMAC"

        def sign(self, payload: str) -> str:
            raise RuntimeError("hardware key unplugged")

    async with AsyncInstLoanClient(KEY, SECRET) as client:
        client._signer = BrokenSigner()
        for _ in range(3):
            with pytest.raises(RuntimeError, match="unplugged"):
                await client.get_active_risk_units()
        state = client.rate_limit_state()
    assert all(bucket.in_flight == 0 for bucket in state.buckets.values())
    assert client._send_slots._value == 100
