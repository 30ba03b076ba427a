"""Per-call overhead: signed ``GET interest-history`` calls (100 rows each) over TCP.

The simulator runs in a child process on 127.0.0.1 with rate limits off; this process holds
only clients, so ``time.process_time`` is client CPU alone. Every side makes the same call
(asset, startTime, endTime, current=1, size=100, recvWindow, timestamp, HMAC signature) and
gets the same 100-row body. Sides run interleaved, each round in a rotated order, and each
number is the median over rounds; a ratio is the median of the per-round ratios, so a slow
spell of the machine hits both sides of it.

Sides:
  ours/httpx, ours/aiohttp        AsyncInstLoanClient(backend=...), rate_limits=unlimited()
  floor/httpx                     a bare httpx.AsyncClient sending the same signed GET, then
                                  json.loads(parse_float=Decimal): the floor of ours/httpx
  floor/aiohttp                   the same on a bare aiohttp.ClientSession: the floor of
                                  ours/aiohttp (which runs on our own transport over aiohttp)
  typed-binance                   Binance.new(...).spot.http.institutional_loan.interest_history
  python-binance                  AsyncClient._request_margin_api (its generic signed path)
  ccxt                            binance().request(path, ["sapi"], "GET", params)

    python benchmarks/bench_overhead.py [--calls 200] [--rounds 7] [--concurrency 1,50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from _common import Row, ServedSim, check_sniffio, machine, median, print_rows, sim_server

from binance_instloan import AsyncInstLoanClient, RateLimits

PATH: Final = "/sapi/v1/margin/loan-group/interest-history"
ROWS: Final = 100
HOUR_MS: Final = 3_600_000

Call = Callable[[], Awaitable[int]]  # returns the number of rows received
Close = Callable[[], Awaitable[None]]


@dataclass
class Side:
    name: str
    call: Call
    close: Close
    floor: str | None = None  # the side this one is compared with


@dataclass(frozen=True)
class Query:
    """The one request every side sends (ASCII only: every peer's signer agrees on it)."""

    asset: str
    start_ms: int
    end_ms: int

    def pairs(self) -> list[tuple[str, str]]:
        return [
            ("asset", self.asset), ("startTime", str(self.start_ms)),
            ("endTime", str(self.end_ms)), ("current", "1"), ("size", str(ROWS)),
        ]


def _query() -> Query:
    # 120 whole hours ending a day ago: 120 rows for one asset, so page 1 holds 100.
    now_h = int(time.time() * 1000) // HOUR_MS * HOUR_MS
    return Query("USDT", now_h - 144 * HOUR_MS, now_h - 24 * HOUR_MS - 1)


class _Signer:
    """The floor's signing: what any hand-written client must do at the least."""

    def __init__(self, secret: str, query: Query) -> None:
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
        self._prefix = "&".join(f"{k}={v}" for k, v in query.pairs()) + "&recvWindow=5000"

    def signed(self) -> str:
        payload = f"{self._prefix}&timestamp={int(time.time() * 1000)}"
        mac = self._mac.copy()
        mac.update(payload.encode())
        return f"{payload}&signature={mac.hexdigest()}"


# -- sides -------------------------------------------------------------------------------------


async def ours(server: ServedSim, q: Query, backend: Literal["httpx", "aiohttp"]) -> Side:
    client = AsyncInstLoanClient(
        server.api_key, server.api_secret, base_url=server.base_url,
        rate_limits=RateLimits.unlimited(), backend=backend,
    )

    async def call() -> int:
        page = await client.get_interest_history(
            asset=q.asset, start_time=q.start_ms, end_time=q.end_ms, size=ROWS
        )
        return len(page.rows)

    floor = "floor/httpx" if backend == "httpx" else "floor/aiohttp"
    return Side(f"ours/{backend}", call, client.aclose, floor)


async def floor_httpx(server: ServedSim, q: Query) -> Side:
    import httpx

    http = httpx.AsyncClient()
    signer = _Signer(server.api_secret, q)
    url = server.base_url + PATH
    headers = {"X-MBX-APIKEY": server.api_key}

    async def call() -> int:
        response = await http.get(f"{url}?{signer.signed()}", headers=headers)
        body = json.loads(response.content, parse_float=Decimal)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {body}")
        return len(body["rows"])

    return Side("floor/httpx", call, http.aclose)


async def floor_aiohttp(server: ServedSim, q: Query) -> Side:
    import aiohttp
    import yarl

    session = aiohttp.ClientSession()
    signer = _Signer(server.api_secret, q)
    url = server.base_url + PATH
    headers = {"X-MBX-APIKEY": server.api_key}

    async def call() -> int:
        async with session.get(yarl.URL(f"{url}?{signer.signed()}", encoded=True),
                               headers=headers) as response:
            raw = await response.read()
            status = response.status
        body = json.loads(raw, parse_float=Decimal)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body}")
        return len(body["rows"])

    return Side("floor/aiohttp", call, session.close)


async def typed_binance(server: ServedSim, q: Query) -> Side:
    import datetime as dt

    from typed_binance import Binance

    client: Any = Binance.new(
        api_key=server.api_key, secret_key=server.api_secret, recv_window=5000,
        urls={"spot": {"http": server.base_url}},
    )
    await client.__aenter__()
    api = client.spot.http.institutional_loan
    start = dt.datetime.fromtimestamp(q.start_ms / 1000, dt.UTC)
    end = dt.datetime.fromtimestamp(q.end_ms / 1000, dt.UTC)

    async def call() -> int:
        page = await api.interest_history(
            asset=q.asset, start_time=start, end_time=end, current=1, size=ROWS
        )
        return len(page["rows"])

    async def close() -> None:
        await client.__aexit__(None, None, None)

    return Side("typed-binance", call, close)


async def python_binance(server: ServedSim, q: Query) -> Side:
    from binance import AsyncClient

    client: Any = AsyncClient(server.api_key, server.api_secret)
    # Its generic margin path builds MARGIN_API_URL + "/v1/" + path.
    client.MARGIN_API_URL = server.base_url + "/sapi"
    client.REQUEST_RECVWINDOW = 5000
    params = dict(q.pairs())

    async def call() -> int:
        body = await client._request_margin_api(
            "get", "margin/loan-group/interest-history", signed=True, data=dict(params)
        )
        return len(body["rows"])

    return Side("python-binance", call, client.close_connection)


async def ccxt_binance(server: ServedSim, q: Query) -> Side:
    import ccxt.async_support as ccxt

    exchange: Any = ccxt.binance({
        "apiKey": server.api_key, "secret": server.api_secret, "enableRateLimit": False,
        "options": {"recvWindow": 5000},
    })
    exchange.urls["api"]["sapi"] = server.base_url + "/sapi/v1"
    params = dict(q.pairs())

    async def call() -> int:
        body = await exchange.request(
            "margin/loan-group/interest-history", ["sapi"], "GET", dict(params)
        )
        return len(body["rows"])

    return Side("ccxt", call, exchange.close)


ALL_SIDES: Final = (
    "ours/httpx", "floor/httpx", "ours/aiohttp", "floor/aiohttp",
    "typed-binance", "python-binance", "ccxt",
)


async def make_side(name: str, server: ServedSim, q: Query) -> Side:
    if name == "ours/httpx":
        return await ours(server, q, "httpx")
    if name == "ours/aiohttp":
        return await ours(server, q, "aiohttp")
    if name == "floor/httpx":
        return await floor_httpx(server, q)
    if name == "floor/aiohttp":
        return await floor_aiohttp(server, q)
    if name == "typed-binance":
        return await typed_binance(server, q)
    if name == "python-binance":
        return await python_binance(server, q)
    if name == "ccxt":
        return await ccxt_binance(server, q)
    raise ValueError(f"unknown side {name!r}; choose from {', '.join(ALL_SIDES)}")


# -- measuring ---------------------------------------------------------------------------------


async def _run_calls(call: Call, n: int, concurrency: int) -> None:
    if concurrency <= 1:
        for _ in range(n):
            await call()
        return
    per_worker, extra = divmod(n, concurrency)

    async def worker(count: int) -> None:
        for _ in range(count):
            await call()

    await asyncio.gather(*(worker(per_worker + (i < extra)) for i in range(concurrency)))


@dataclass
class Sample:
    cpu_us: list[float]
    wall_us: list[float]


async def measure(
    sides: Sequence[Side], *, calls: int, rounds: int, concurrency: int
) -> dict[str, Sample]:
    samples = {s.name: Sample([], []) for s in sides}
    for r in range(rounds):
        # Rotating the order keeps any side from always following the same neighbour.
        shift = r % len(sides)
        for side in [*sides[shift:], *sides[:shift]]:
            gc.collect()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await _run_calls(side.call, calls, concurrency)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            samples[side.name].cpu_us.append(cpu / calls * 1e6)
            samples[side.name].wall_us.append(wall / calls * 1e6)
    return samples


def _paired_ratio(a: list[float], b: list[float]) -> float:
    return median([x / y for x, y in zip(a, b, strict=True)])


def _fmt_us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 10_000 else f"{us:,.0f} us"


def rows_for(samples: dict[str, Sample], sides: Sequence[Side], mode: str) -> list[Row]:
    rows: list[Row] = []
    typed = samples.get("typed-binance")
    for side in sides:
        s = samples[side.name]
        text = f"CPU {_fmt_us(median(s.cpu_us))}/call, wall {_fmt_us(median(s.wall_us))}/call"
        goal, met = "", None
        floor = samples.get(side.floor) if side.floor else None
        if floor is not None:
            cpu_ratio = _paired_ratio(s.cpu_us, floor.cpu_us)
            wall_ratio = _paired_ratio(s.wall_us, floor.wall_us)
            text += f"; {cpu_ratio:.2f}x CPU, {wall_ratio:.2f}x wall of {side.floor}"
            goal, met = f"CPU <= 1.25x {side.floor}", cpu_ratio <= 1.25
            if typed is not None:
                vs_typed = _paired_ratio(s.cpu_us, typed.cpu_us)
                text += f"; {vs_typed:.2f}x typed-binance CPU"
                goal += ", < typed-binance"
                met = met and vs_typed < 1.0
        rows.append(Row("overhead", f"{mode}: {side.name}", text, goal, met))
    ours_aiohttp = samples.get("ours/aiohttp")
    if ours_aiohttp is not None:
        peers = [p for p in ("python-binance", "ccxt", "floor/aiohttp") if p in samples]
        if peers:
            parts = [f"{_paired_ratio(ours_aiohttp.cpu_us, samples[p].cpu_us):.2f}x {p}"
                     for p in peers]
            rows.append(Row("overhead", f"{mode}: ours/aiohttp vs untyped aiohttp",
                            "CPU " + ", ".join(parts), "report only"))
    return rows


async def bench(
    *, calls: int = 200, rounds: int = 7, concurrency: Sequence[int] = (1, 50),
    sides: Sequence[str] = ALL_SIDES, via_serve: bool = False,
) -> list[Row]:
    check_sniffio()
    q = _query()
    rows: list[Row] = []
    async with sim_server(history_days=10, via_serve=via_serve) as server:
        built: list[Side] = []
        for name in sides:
            try:
                side = await make_side(name, server, q)
                got = await side.call()  # warms the connection, the clock sync, caches
                if got != ROWS:
                    raise RuntimeError(f"expected {ROWS} rows, got {got}")
                built.append(side)
            except Exception as exc:  # a peer that cannot be driven is reported, not fatal
                traceback.print_exc()
                rows.append(Row("overhead", name, f"not measured: {type(exc).__name__}: {exc}"))
        try:
            for c in concurrency:
                mode = "sequential" if c <= 1 else f"{c} in flight"
                for side in built:  # a short warm-up at this concurrency, not measured
                    await _run_calls(side.call, min(calls, max(c, 20)), c)
                samples = await measure(built, calls=calls, rounds=rounds, concurrency=c)
                rows += rows_for(samples, built, mode)
        finally:
            for side in built:
                await side.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per side per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--concurrency", default="1,50", help="comma-separated, e.g. 1,50")
    parser.add_argument("--sides", default=",".join(ALL_SIDES))
    parser.add_argument("--via-serve", action="store_true",
                        help="serve with simulator.serve (shows its ~40 ms Nagle stall)")
    args = parser.parse_args()
    rows = asyncio.run(bench(
        calls=args.calls, rounds=args.rounds,
        concurrency=[int(c) for c in args.concurrency.split(",")],
        sides=args.sides.split(","), via_serve=args.via_serve,
    ))
    print_rows(f"Per-call overhead ({args.calls} calls x {args.rounds} rounds) - {machine()}",
               rows)


if __name__ == "__main__":
    main()
