"""Cancelling calls mid-request: the client keeps working, and gives back what it held.

After a thousand cancellations (in-process, with small server latencies) and a smaller run over
real TCP, where httpcore's connection pool is real: a burst of calls succeeds, the limiter holds
no in-flight weight, no task is left behind, no write executed twice.

httpcore 1.0.9 can leak a pool slot for good when a request is cancelled at the wrong moment
(encode/httpcore#1093 and its family); both ways it happens here are reproduced
deterministically below. ``ShieldedPoolTransport`` is the mitigation proposed for
``binance_instloan/_transport.py``: each request runs to its end in a task of its own, so a
caller's cancellation never reaches the pool's bookkeeping.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from decimal import Decimal
from typing import Any, Final

import httpcore
import httpx
import pytest

from binance_instloan import (
    APITimeoutError,
    AsyncInstLoanClient,
    InstLoanError,
    RateLimiter,
    RateLimits,
)
from binance_instloan.simulator import Simulator, serve
from tests._eventually import eventually

LOAN: Final = "/sapi/v1/margin/loan-group"
LTV: Final = f"{LOAN}/ltv-details"
BUDGETS: Final = {"IP": 12_000, "UID": 180_000, "API": 6_000}
WINDOW: Final = 0.5


class ShieldedPoolTransport(httpx.AsyncBaseTransport):
    """The proposed mitigation, shown as a transport so that it can be tested from outside.

    httpcore's pool updates its books across several awaits (taking a connection, reading and
    closing the response); a cancellation that lands between them leaves a request registered
    or a fresh connection owned by nobody, and its slot is lost until the pool is rebuilt
    (encode/httpcore#1093). Here each request, response body included, runs to its end in its
    own task: a cancelled caller stops waiting, the request finishes (bounded by the client's
    timeouts) and its slot comes back. ``aclose`` cancels what is still running, then closes
    the pool. A cancelled write may therefore still execute, which it could already: its outcome
    is unknown to the caller either way.

    In the library the same shield fits best around ``self._http.send(request)`` in
    ``BaseClient._send_once`` (``send`` reads the body too): it then covers a user's
    ``http_client`` and the aiohttp backend, keeps httpx's proxy settings (a custom transport
    turns off ``HTTPS_PROXY``), and can release the limiter permit when the request really
    ends rather than when its caller gives up.
    """

    def __init__(self, inner: httpx.AsyncHTTPTransport) -> None:
        self._inner = inner
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        task = asyncio.get_running_loop().create_task(self._complete(request))
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    async def _complete(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            content = await response.aread()
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content,
            extensions={k: v for k, v in response.extensions.items()
                        if k in ("http_version", "reason_phrase")},
        )

    def _finished(self, task: asyncio.Task[httpx.Response]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # seen, even when the caller stopped waiting for it

    async def aclose(self) -> None:
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self._inner.aclose()


# -- helpers ---------------------------------------------------------------------------------

def _simulator(seed: int) -> Simulator:
    # Weight is counted but never refused, so its per-window maximum shows the client's pacing.
    return Simulator(seed=seed, units=1, history_days=5, rate_limits_enabled=False,
                     window_seconds=WINDOW)


def _limits() -> RateLimits:
    return RateLimits(window_seconds=WINDOW)


def _days_ago(days: int) -> int:
    return int(time.time() * 1000) - days * 86_400_000


Call = Callable[[AsyncInstLoanClient], Coroutine[Any, Any, object]]


def _calls(group: int, amounts: Iterator[int]) -> list[Call]:
    """One of each kind of call; writes carry unique amounts so executions map to calls."""

    async def walk(client: AsyncInstLoanClient) -> object:
        return await client.iter_interest_history(start_time=_days_ago(3)).collect()

    return [
        lambda c: c.get_ltv_details(),
        lambda c: c.get_interest_history(size=100),
        lambda c: c.get_max_borrowable(asset="USDT"),
        walk,
        lambda c: c.borrow(group_id=group, asset="USDT",
                           amount=Decimal(next(amounts)).scaleb(-6) + 1),
        lambda c: c.transfer_out(asset="USDT", amount=Decimal(next(amounts)).scaleb(-6)),
    ]


async def _cancel_at_random(client: AsyncInstLoanClient, calls: list[Call], *, cancellations: int,
                            batch: int, max_delay: float, seed: int) -> Counter[str]:
    """Start batches of random calls and cancel some of them after a random delay."""
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    while seen["cancelled"] < cancellations:
        tasks: list[asyncio.Task[object]] = [
            asyncio.create_task(rng.choice(calls)(client)) for _ in range(batch)
        ]
        # At least one step of every task runs first: each cancellation lands mid-call.
        await asyncio.sleep(0)
        await asyncio.sleep(rng.uniform(0, max_delay))
        for task in tasks:
            if rng.random() < 0.8:
                task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, asyncio.CancelledError):
                seen["cancelled"] += 1
            elif isinstance(result, InstLoanError):
                seen[type(result).__name__] += 1
            elif isinstance(result, BaseException):
                raise AssertionError(f"an exception outside InstLoanError: {result!r}")
            else:
                seen["completed"] += 1
    return seen


async def _burst(client: AsyncInstLoanClient, group: int) -> list[object]:
    async with asyncio.timeout(10):
        return await asyncio.gather(
            *(client.get_ltv_details() for _ in range(5)),
            *(client.get_interest_history(size=100) for _ in range(10)),
            client.borrow(group_id=group, asset="USDT", amount="3.14"),
            client.iter_interest_history(start_time=_days_ago(1)).collect(),
        )


def _assert_nothing_held(client: AsyncInstLoanClient, sim: Simulator) -> None:
    state = client.rate_limit_state()
    assert {name: b.in_flight for name, b in state.buckets.items() if b.in_flight} == {}
    for name in state.buckets:
        assert sim.max_window_weight(name) <= BUDGETS[name.partition(":")[0]], name
    amounts = Counter((e.path, e.params["amount"]) for e in sim.executions)
    assert [key for key, n in amounts.items() if n > 1] == []


def _other_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still alive besides this one and the TCP server's."""
    current = asyncio.current_task()
    return [
        t for t in asyncio.all_tasks()
        if t is not current
        and "uvicorn" not in getattr(getattr(t.get_coro(), "cr_code", None), "co_filename", "")
    ]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _pool(client: AsyncInstLoanClient) -> Any:
    transport: Any = client._http._transport
    return getattr(transport, "_inner", transport)._pool


def _held_slots(pool: Any) -> list[str]:
    """Requests still registered, and connections neither idle nor closed, once nothing runs."""
    return [repr(r.request) for r in pool._requests] + [
        repr(c) for c in pool.connections if not (c.is_idle() or c.is_closed())
    ]


# -- in-process: a thousand cancellations -----------------------------------------------------

async def test_a_thousand_cancellations_mid_request_leave_the_client_working() -> None:
    sim = _simulator(seed=5)
    sim.add_fault("latency", latency=0.004, probability=0.9, times=None)
    group = sim.group_ids[0]
    async with sim.client(rate_limits=_limits()) as client:
        seen = await _cancel_at_random(client, _calls(group, itertools.count(1)),
                                       cancellations=1000, batch=20, max_delay=0.004, seed=5)
        sim.clear_faults()

        results = await _burst(client, group)

        _assert_nothing_held(client, sim)
    await _settle()
    print(f"\nin-process: {dict(seen)}")
    assert seen["cancelled"] >= 1000
    assert seen["completed"] > 0
    assert len(results) == 17
    assert _other_tasks() == []


async def test_a_call_cancelled_while_waiting_for_the_limiter_gives_its_place_back() -> None:
    sim = _simulator(seed=6)
    group = sim.group_ids[0]
    # The limiter's clock stands still until the test moves it: on real time the first two
    # borrows could fall into two windows (likelier the busier the machine), and then the third
    # would not wait at all.
    window_start = [1_800_000_000.0]
    limiter = RateLimiter(RateLimits(uid_weight=6000, window_seconds=WINDOW),
                          now=lambda: window_start[0])
    async with sim.client(limiter=limiter) as client:
        await client.borrow(group_id=group, asset="USDT", amount="1.1")
        await client.borrow(group_id=group, asset="USDT", amount="1.2")
        queued = asyncio.create_task(client.borrow(group_id=group, asset="USDT", amount="1.3"))
        await eventually(lambda: limiter._buckets[f"UID:{LOAN}/borrow"].waiters,
                         what="the third borrow waits for the next window")
        waiting = client.rate_limit_state().buckets[f"UID:{LOAN}/borrow"]
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        window_start[0] += WINDOW

        result = await client.borrow(group_id=group, asset="USDT", amount="1.4")

        _assert_nothing_held(client, sim)
    assert waiting.used == 6000
    assert result.amount == Decimal("1.4")
    assert sorted(e.params["amount"] for e in sim.executions) == ["1.1", "1.2", "1.4"]


# -- real TCP, httpcore's pool ----------------------------------------------------------------

@pytest.fixture
async def served() -> AsyncIterator[tuple[Simulator, str]]:
    sim = _simulator(seed=8)
    async with serve(sim) as base_url:
        yield sim, base_url


def _tcp_client(sim: Simulator, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                **kwargs: Any) -> AsyncInstLoanClient:
    creds = sim.credentials()
    return AsyncInstLoanClient(creds.api_key, creds.api_secret, base_url=base_url,
                               rate_limits=_limits(), transport=transport, **kwargs)


async def test_cancellations_over_tcp_leave_the_client_working(
    served: tuple[Simulator, str],
) -> None:
    sim, base_url = served
    sim.add_fault("latency", latency=0.003, probability=0.7, times=None)
    group = sim.group_ids[0]
    async with _tcp_client(sim, base_url) as client:
        seen = await _cancel_at_random(client, _calls(group, itertools.count(1)),
                                       cancellations=200, batch=20, max_delay=0.01, seed=8)
        sim.clear_faults()

        results = await _burst(client, group)
        await _settle()

        _assert_nothing_held(client, sim)
        pool = _pool(client)
        stuck = (len(pool._requests), sum(not (c.is_idle() or c.is_closed())
                                          for c in pool.connections))
    await _settle()
    print(f"\nover TCP: {dict(seen)}; httpcore kept {stuck[0]} cancelled requests registered "
          f"and {stuck[1]} connections busy")
    # The client shields its sends, so cancellations leave no pool slot behind (#1093).
    assert stuck == (0, 0)
    assert seen["cancelled"] >= 200
    assert len(results) == 17
    assert _other_tasks() == []


async def test_cancellations_over_tcp_lose_no_pool_slot_behind_the_shielded_transport(
    served: tuple[Simulator, str],
) -> None:
    sim, base_url = served
    sim.add_fault("latency", latency=0.003, probability=0.7, times=None)
    group = sim.group_ids[0]
    transport = ShieldedPoolTransport(httpx.AsyncHTTPTransport(limits=httpx.Limits(
        max_connections=20)))
    async with _tcp_client(sim, base_url, transport=transport) as client:
        await _cancel_at_random(client, _calls(group, itertools.count(1)), cancellations=200,
                                batch=20, max_delay=0.01, seed=9)
        sim.clear_faults()
        await _burst(client, group)
        await _settle()

        leaked = _held_slots(_pool(client))

        _assert_nothing_held(client, sim)
    await _settle()
    assert leaked == []
    assert _other_tasks() == []


# -- httpcore's pool-slot leaks, made deterministic -------------------------------------------

# The client shields its sends (_base_client._send), so its default transport keeps no slot.
_CLIENT_DEFAULT = pytest.param("default", id="client-default")
_SHIELDED = pytest.param("shielded", id="shielded-transport")


def _transport(kind: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    inner = httpx.AsyncHTTPTransport(limits=limits)
    return inner if kind == "default" else ShieldedPoolTransport(inner)


@pytest.mark.parametrize("kind", [_CLIENT_DEFAULT, _SHIELDED])
async def test_a_call_cancelled_while_its_response_closes_keeps_no_pool_slot(
    served: tuple[Simulator, str], monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:
    sim, base_url = served
    victim: list[asyncio.Task[Any]] = []
    closing = httpcore._async.http11.AsyncHTTP11Connection._response_closed

    async def cancel_the_caller_first(self: Any) -> None:
        # The moment a random cancellation hits about once in a hundred: the response is
        # being handed back to the pool.
        if victim and not victim[0].done():
            victim.pop().cancel()
        await closing(self)

    transport = _transport(kind, httpx.Limits(max_connections=2))
    async with _tcp_client(sim, base_url, transport=transport) as client:
        await client.get_closed_risk_units()  # learns the clock first
        monkeypatch.setattr(httpcore._async.http11.AsyncHTTP11Connection, "_response_closed",
                            cancel_the_caller_first)
        call = asyncio.create_task(client.get_closed_risk_units())
        victim.append(call)
        with pytest.raises(asyncio.CancelledError):
            await call
        monkeypatch.undo()
        await _settle()

        held = _held_slots(_pool(client))

    assert held == []


@pytest.mark.parametrize("kind", [_CLIENT_DEFAULT, _SHIELDED])
async def test_a_call_cancelled_as_it_gets_a_new_connection_keeps_no_pool_slot(
    served: tuple[Simulator, str], monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:
    sim, base_url = served
    sim.add_fault("read_timeout", path=LTV, latency=2.0)  # holds the one connection, then breaks
    victim: list[asyncio.Task[Any]] = []
    assign = httpcore._async.connection_pool.AsyncPoolRequest.assign_to_connection

    def cancel_the_caller_first(self: Any, connection: Any) -> None:
        # encode/httpcore#1093: the queued request is handed a brand-new connection and its
        # caller is cancelled before it runs; nobody will ever use that connection.
        if victim and b"/closed" in self.request.url.target and not victim[0].done():
            victim.pop().cancel()
        assign(self, connection)

    transport = _transport(kind, httpx.Limits(max_connections=1))
    # Timeouts far above what a loopback answer takes on a busy machine, so only the held answer
    # times out.
    timeout = httpx.Timeout(10.0, read=1.0, pool=10.0)
    async with _tcp_client(sim, base_url, transport=transport, timeout=timeout,
                           max_retries=0) as client:
        await client.get_closed_risk_units()
        monkeypatch.setattr(httpcore._async.connection_pool.AsyncPoolRequest,
                            "assign_to_connection", cancel_the_caller_first)
        holder = asyncio.create_task(client.get_ltv_details())
        await eventually(lambda: LTV in sim.stats, what="the held request holds the connection")
        queued = asyncio.create_task(client.get_closed_risk_units())
        victim.append(queued)
        with pytest.raises(APITimeoutError):
            await holder
        with pytest.raises(asyncio.CancelledError):
            await queued
        monkeypatch.undo()
        # The shielded request, if any, finishes when the server gives up holding it; a slot
        # still held after that is held for good.
        await eventually(lambda: _held_slots(_pool(client)) == [], what="every pool slot free")

        after = await client.get_closed_risk_units()  # the one slot must still be usable

    assert after.total == 0
