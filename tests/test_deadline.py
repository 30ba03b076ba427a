"""Every attempt ends within its deadline, send slots come back, and answers have a size cap.

The server here drips its answer a byte at a time, so httpx's per-read timeout never fires;
only the attempt deadline (connect + write + read timeouts) ends the call.
"""

from __future__ import annotations

import asyncio
import gzip
from typing import Any, Final

import httpx
import pytest

from binance_instloan import (
    APIConnectionError,
    APITimeoutError,
    AsyncInstLoanClient,
    OutcomeUnknownError,
    RateLimits,
)
from binance_instloan._constants import DEFAULT_MAX_RESPONSE_BYTES
from tests._hostile_server import Conn, HostileServer, Request, wait_until
from tests._support import KEY, SECRET

BACKENDS: Final = pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
GUARD: Final = 30.0
ACTIVE: Final = "/loan-groups/activated"
TOO_MANY: Final = DEFAULT_MAX_RESPONSE_BYTES + 1


def _client(server: HostileServer, backend: str, **kwargs: Any) -> AsyncInstLoanClient:
    kwargs.setdefault("timeout", 0.3)
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("rate_limits", RateLimits.unlimited())
    return AsyncInstLoanClient(KEY, SECRET, base_url=server.base_url, backend=backend,  # type: ignore[arg-type]
                               **kwargs)


async def _drip(conn: Conn) -> None:
    conn.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    while True:
        conn.write(b" ")
        await conn.drain()
        await asyncio.sleep(0.05)


async def _drips(conn: Conn, request: Request) -> None:
    await _drip(conn)


async def _drips_active_units(conn: Conn, request: Request) -> None:
    if request.path.endswith(ACTIVE):
        await _drip(conn)
    else:
        conn.answer([])


async def _holds(conn: Conn, request: Request) -> None:
    await conn.until_closed()


# -- the attempt deadline -----------------------------------------------------------------------

@BACKENDS
async def test_a_read_whose_answer_drips_ends_with_api_timeout_error(backend: str) -> None:
    async with HostileServer(_drips) as server, _client(server, backend) as client:
        with pytest.raises(APITimeoutError, match="deadline"):
            await asyncio.wait_for(client.get_ltv_details(), GUARD)


@BACKENDS
async def test_a_write_whose_answer_drips_is_an_unknown_outcome_sent_once(backend: str) -> None:
    async with HostileServer(_drips) as server, _client(server, backend) as client:
        with pytest.raises(OutcomeUnknownError, match="deadline"):
            await asyncio.wait_for(
                client.borrow(group_id=1, asset="USDT", amount="5"), GUARD
            )
    assert server.count("POST") == 1


@BACKENDS
async def test_a_signed_call_ends_unsent_while_the_server_time_drips(backend: str) -> None:
    async def time_drips(conn: Conn, request: Request) -> None:
        if request.path == "/api/v3/time":
            await _drip(conn)
        else:
            conn.answer({"transactionId": 9, "amount": "5", "status": "success"})

    async with HostileServer(time_drips, answer_time=False) as server, \
            _client(server, backend) as client:
        with pytest.raises(APIConnectionError) as caught:
            await asyncio.wait_for(
                client.borrow(group_id=1, asset="USDT", amount="5"), GUARD
            )
    assert caught.value.request_sent is False
    assert server.count("POST") == 0


@BACKENDS
async def test_a_cancelled_call_gives_its_send_slot_back_within_the_deadline(
    backend: str,
) -> None:
    async with HostileServer(_drips) as server, _client(server, backend) as client:
        call = asyncio.create_task(client.get_active_risk_units())
        await wait_until(lambda: server.count("GET") == 1)
        call.cancel()
        await wait_until(lambda: client._send_slots._value == 100 and not client._sends,
                         timeout=GUARD)


# -- send slots ----------------------------------------------------------------------------------

@BACKENDS
async def test_a_call_after_a_hundred_cancelled_ones_on_a_dripping_endpoint_succeeds(
    backend: str,
) -> None:
    async with HostileServer(_drips_active_units) as server, \
            _client(server, backend, max_retries=3) as client:
        client._retry.sleep = lambda seconds: asyncio.sleep(0.05)
        calls = [asyncio.create_task(client.get_active_risk_units()) for _ in range(100)]
        await wait_until(lambda: server.count("GET", ACTIVE) >= 100)
        for call in calls:
            call.cancel()
        assert await asyncio.wait_for(client.get_ltv_details(), GUARD) == []
        await asyncio.gather(*calls, return_exceptions=True)


@BACKENDS
async def test_waiting_for_a_send_slot_honours_the_pool_timeout(backend: str) -> None:
    timeout = httpx.Timeout(connect=0.3, write=0.3, pool=0.3, read=GUARD)
    async with HostileServer(_holds) as server, \
            _client(server, backend, timeout=timeout) as client:
        calls = [asyncio.create_task(client.get_active_risk_units()) for _ in range(100)]
        await wait_until(lambda: server.count("GET", ACTIVE) == 100)
        with pytest.raises(APITimeoutError, match="send slot") as caught:
            await asyncio.wait_for(client.get_ltv_details(), GUARD)
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
    assert caught.value.request_sent is False


# -- the body cap --------------------------------------------------------------------------------

async def _declares_too_much(conn: Conn, request: Request) -> None:
    conn.write(f"HTTP/1.1 200 OK\r\nContent-Length: {100 * 2**20}\r\n\r\n".encode())
    await conn.until_closed()


async def _streams_too_much(conn: Conn, request: Request) -> None:
    conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 2**20
    for _ in range(TOO_MANY // len(chunk) + 1):
        conn.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await conn.drain()
    conn.write(b"0\r\n\r\n")
    await conn.until_closed()


async def _compressed_bomb(conn: Conn, request: Request) -> None:
    body = gzip.compress(b"[" + b" " * TOO_MANY + b"]")
    conn.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
               % (len(body), body))
    await conn.until_closed()


OVERSIZED: Final = pytest.mark.parametrize(
    "answer", [_declares_too_much, _streams_too_much, _compressed_bomb],
    ids=["declared", "streamed", "compressed"],
)


@BACKENDS
@OVERSIZED
async def test_a_read_whose_answer_is_over_the_size_cap_fails_clearly(
    backend: str, answer: Any,
) -> None:
    async with HostileServer(answer) as server, \
            _client(server, backend, timeout=GUARD) as client:
        with pytest.raises(APIConnectionError, match="max_response_bytes"):
            await asyncio.wait_for(client.get_ltv_details(), GUARD)


@BACKENDS
@OVERSIZED
async def test_a_write_whose_answer_is_over_the_size_cap_is_an_unknown_outcome(
    backend: str, answer: Any,
) -> None:
    async with HostileServer(answer) as server, \
            _client(server, backend, timeout=GUARD) as client:
        with pytest.raises(OutcomeUnknownError, match="max_response_bytes"):
            await asyncio.wait_for(
                client.borrow(group_id=1, asset="USDT", amount="5"), GUARD
            )
    assert server.count("POST") == 1
