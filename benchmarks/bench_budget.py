"""Rate-budget use: a year of interest history for 10 assets x 3 risk units, as fast as the
budget allows.

In-process simulator with ``history_days=365`` and a scaled window (default 12,000 weight per
6 s, the real per-minute budget in a tenth of the time). Thirty ``iter_interest_history``
walks run under one ``asyncio.gather``, and every request goes through one limiter. A
recording transport notes the simulator clock when each request enters it and the
used-weight header it got back, which gives the weight the simulator admitted in each of its
fixed windows. The run starts on a window boundary, so every window but the last (which holds
the remainder) is a full one the client could have filled.

Only a unit's credit key may read its interest history (the simulator answers -27001 for
another unit's ``groupId``, as Binance does), so one client cannot walk three units. The
default run therefore uses three clients, one credit key per unit, sharing ONE limiter (the
IP budget is per IP, as for three processes behind one address). ``--one-client`` runs the
literal variant instead: one client, one unit, 30 assets, the same number of walks and pages.

    python benchmarks/bench_budget.py [--limit 12000] [--window 6] [--one-client]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import httpx
from _common import Row, machine, print_rows

from binance_instloan import AsyncInstLoanClient, RateLimiter, RateLimits
from binance_instloan.simulator import Simulator

PATH: Final = "/sapi/v1/margin/loan-group/interest-history"
USED_HEADER: Final = "X-SAPI-USED-IP-WEIGHT-1M"
PAGE_WEIGHT: Final = 10
DAY_MS: Final = 86_400_000
ASSETS: Final = ("USDT", "USDC", "BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "TRX")


@dataclass(frozen=True)
class Seen:
    entered_ms: int
    status: int
    used: int | None


class _Recorder(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, sim: Simulator, log: list[Seen]) -> None:
        self._inner, self._sim, self._log = inner, sim, log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        entered = self._sim.now_ms()
        response = await self._inner.handle_async_request(request)
        if request.url.path == PATH:
            used = response.headers.get(USED_HEADER)
            self._log.append(Seen(entered, response.status_code,
                                  int(used) if used is not None else None))
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class Result:
    rows: int
    pages: int
    throttled: int
    wall_s: float
    window_use: list[float]  # admitted weight / limit, per full window
    last_window_weight: int


async def run_once(*, limit: int, window_s: float, one_client: bool) -> Result:
    units, assets = (1, [f"{a}{n}" for n in range(3) for a in ASSETS]) if one_client else (
        3, list(ASSETS))
    sim = Simulator(seed=11, units=units, assets=assets, history_days=365,
                    ip_weight_limit=limit, window_seconds=window_s, rate_limits_enabled=True)
    limits = RateLimits(ip_weight=limit, window_seconds=window_s)
    log: list[Seen] = []
    # The simulator's clock is time.time(); the clients learn the same from /api/v3/time.
    shared = RateLimiter(limits, now=time.time)
    clients = []
    for group_id in sim.group_ids:
        creds = sim.credentials("credit", group_id)
        clients.append(AsyncInstLoanClient(
            creds.api_key, creds.api_secret, base_url=sim.base_url,
            transport=_Recorder(sim.transport(), sim, log), rate_limits=limits,
            limiter=None if one_client else shared,
        ))
    try:
        for client, group_id in zip(clients, sim.group_ids, strict=True):
            # Syncs the clock and opens the pipeline; its weight lands before the start.
            await client.get_interest_history(group_id=group_id, size=1)
        now_ms = sim.now_ms()
        window_ms = window_s * 1000
        # Start on a boundary (and leave the warm-up's window behind).
        await asyncio.sleep((window_ms - now_ms % window_ms) / 1000 + 0.001)
        log.clear()
        start_ms = sim.now_ms() - 365 * DAY_MS
        end_ms = sim.now_ms()
        walks = [
            client.iter_interest_history(start_time=start_ms, end_time=end_ms,
                                         group_id=group_id, asset=asset)
            for client, group_id in zip(clients, sim.group_ids, strict=True)
            for asset in assets
        ]

        async def drain(walk: object) -> int:
            n = 0
            async for _ in walk:  # type: ignore[attr-defined]
                n += 1
            return n

        t0 = time.perf_counter()
        counts = await asyncio.gather(*(drain(w) for w in walks))
        wall = time.perf_counter() - t0
    finally:
        for client in clients:
            await client.aclose()
    per_window: dict[int, int] = defaultdict(int)
    for seen in log:
        if seen.status == 200 and seen.used is not None:
            k = int(seen.entered_ms // window_ms)
            per_window[k] = max(per_window[k], seen.used)
    windows = sorted(per_window)
    full = windows[:-1]
    return Result(
        rows=sum(counts),
        pages=sum(1 for s in log if s.status == 200),
        throttled=sim.stats[PATH].throttled if PATH in sim.stats else 0,
        wall_s=wall,
        window_use=[per_window[k] / limit for k in full],
        last_window_weight=per_window[windows[-1]] if windows else 0,
    )


def rows_for(result: Result, *, limit: int, window_s: float, label: str) -> list[Row]:
    total_weight = result.pages * PAGE_WEIGHT
    minimum = total_weight / limit * window_s
    uses = ", ".join(f"{u:.1%}" for u in result.window_use) or "no full window"
    worst = min(result.window_use) if result.window_use else 0.0
    ratio = result.wall_s / minimum
    case = f"{label}, {limit:,}/{window_s:g} s"
    return [
        Row("budget", case + ": weight per full window / limit",
            f"{uses} (last window {result.last_window_weight:,}); {result.pages:,} pages, "
            f"{result.rows:,} rows", ">= 95%", worst >= 0.95),
        Row("budget", case + ": 429s received", f"{result.throttled}", "0",
            result.throttled == 0),
        Row("budget", case + ": wall / theoretical minimum",
            f"{result.wall_s:.2f} s / {minimum:.2f} s = {ratio:.3f}", "<= 1.08", ratio <= 1.08),
    ]


def bench(
    *, limit: int = 12_000, window_s: float = 6.0, one_client: bool | None = None
) -> list[Row]:
    rows: list[Row] = []
    variants = [False, True] if one_client is None else [one_client]
    for variant in variants:
        result = asyncio.run(run_once(limit=limit, window_s=window_s, one_client=variant))
        label = ("1 unit x 30 assets, 1 client" if variant
                 else "3 units x 10 assets, 3 credit keys, 1 shared limiter")
        rows += rows_for(result, limit=limit, window_s=window_s, label=label)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=12_000)
    parser.add_argument("--window", type=float, default=6.0)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--one-client", action="store_true", help="only the 1-client variant")
    group.add_argument("--three-clients", action="store_true", help="only the shared-limiter one")
    args = parser.parse_args()
    variant = True if args.one_client else False if args.three_clients else None
    rows = bench(limit=args.limit, window_s=args.window, one_client=variant)
    print_rows(f"Rate-budget use - {machine()}", rows)


if __name__ == "__main__":
    main()
