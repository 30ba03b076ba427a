"""Parsing: 100-row pages into models, rows per second, against ``json.loads`` alone.

The bodies are real simulator answers (captured in-process, so nothing here touches a socket).
Three ways of reading the same bytes run interleaved, each round in a rotated order:

  json.loads                      plain, floats: what the untyped peers do
  json.loads(parse_float=Decimal) the exact parse: what our pipeline and its floor do
  ours                            json.loads(parse_float=Decimal) + structure_page(Model)

    python benchmarks/bench_parsing.py [--rounds 15] [--pages 200]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import httpx
from _common import Row, machine, median, print_rows

from binance_instloan import InterestRecord, RateLimits
from binance_instloan._converter import structure_page
from binance_instloan.simulator import Simulator

PAGE_ROWS: Final = 100
DAY_MS: Final = 86_400_000


class _Capture(httpx.AsyncBaseTransport):
    """Keeps the body of every answer that went through it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        self.bodies.append(await response.aread())
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def capture_pages() -> dict[str, tuple[type[Any], bytes]]:
    """A full 100-row body per paged model measured (interest history: the bulk endpoint;
    the simulator books too few loans a day for a full borrow-repay page)."""
    from binance_instloan import AsyncInstLoanClient

    sim = Simulator(seed=3, units=1, assets=["USDT", "BTC"], history_days=40,
                    rate_limits_enabled=False)
    creds = sim.credentials("credit")
    capture = _Capture(sim.transport())
    async with AsyncInstLoanClient(creds.api_key, creds.api_secret, base_url=sim.base_url,
                                   transport=capture,
                                   rate_limits=RateLimits.unlimited()) as client:
        now = sim.now_ms()
        out: dict[str, tuple[type[Any], bytes]] = {}
        page = await client.get_interest_history(start_time=now - 30 * DAY_MS, end_time=now,
                                                 size=PAGE_ROWS)
        if len(page.rows) != PAGE_ROWS:
            raise RuntimeError(f"expected a full page, got {len(page.rows)} rows")
        out["interest-history"] = (InterestRecord, capture.bodies[-1])
    return out


def _time(fn: Callable[[], object], pages: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(pages):
        fn()
    return time.process_time() - start


def measure(model: type[Any], body: bytes, *, rounds: int, pages: int) -> dict[str, list[float]]:
    rows = len(json.loads(body)["rows"])

    def ours() -> object:
        return structure_page(json.loads(body, parse_float=Decimal), model)

    ways: dict[str, Callable[[], object]] = {
        "json.loads": lambda: json.loads(body),
        "json.loads(parse_float=Decimal)": lambda: json.loads(body, parse_float=Decimal),
        "ours": ours,
    }
    names = list(ways)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for fn in ways.values():
        _time(fn, max(1, pages // 10))  # warm caches and the generated hooks
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            rates[name].append(rows * pages / _time(ways[name], pages))
    return rates


def bench(*, rounds: int = 15, pages: int = 200) -> list[Row]:
    captured = asyncio.run(capture_pages())
    rows: list[Row] = []
    for label, (model, body) in captured.items():
        rates = measure(model, body, rounds=rounds, pages=pages)
        plain, exact, ours = (median(rates[k]) for k in
                              ("json.loads", "json.loads(parse_float=Decimal)", "ours"))
        # Slowdown per round, then the median: both sides of a ratio saw the same spell.
        vs_plain = median([p / o for p, o in zip(rates["json.loads"], rates["ours"],
                                                 strict=True)])
        vs_exact = median([e / o for e, o in zip(rates["json.loads(parse_float=Decimal)"],
                                                 rates["ours"], strict=True)])
        rows.append(Row(
            "parsing", f"{label}: ours (parse + models)",
            f"{ours:,.0f} rows/s; {vs_plain:.2f}x slower than json.loads, "
            f"{vs_exact:.2f}x than json.loads(parse_float=Decimal)",
            "<= 3x json.loads", vs_plain <= 3.0,
        ))
        rows.append(Row("parsing", f"{label}: json.loads", f"{plain:,.0f} rows/s"))
        rows.append(Row("parsing", f"{label}: json.loads(parse_float=Decimal)",
                        f"{exact:,.0f} rows/s"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pages", type=int, default=200, help="pages per side per round")
    args = parser.parse_args()
    rows = bench(rounds=args.rounds, pages=args.pages)
    print_rows(f"Parsing ({args.pages} pages x {args.rounds} rounds) - {machine()}", rows)


if __name__ == "__main__":
    main()
