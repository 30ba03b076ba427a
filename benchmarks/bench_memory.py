"""Memory: stream 1,000,000 interest rows through one iterator; peak RSS growth.

The simulator (one unit, 40 assets, 1,042 days of hourly history: 1,000,320 rows) runs in a
child process over TCP with rate limits off, so the RSS read here is the client's alone. The
rows are consumed and dropped, as a streaming consumer would (summing the interest keeps the
loop honest). RSS comes from /proc/self/status: VmRSS sampled every 50,000 rows and VmHWM,
the kernel's peak, reset after the warm-up where the kernel allows it.

    python benchmarks/bench_memory.py [--rows 1000000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import time
from decimal import Decimal
from typing import Final

from _common import Row, machine, print_rows, reset_peak_rss, rss_kib, sim_server

from binance_instloan import AsyncInstLoanClient, RateLimits

ASSETS: Final = 40
DAY_MS: Final = 86_400_000
SAMPLE_EVERY: Final = 50_000


async def _stream(client: AsyncInstLoanClient, *, rows: int, days: int,
                  concurrency: int) -> dict[str, float]:
    warm = await client.get_interest_history(size=100)  # imports, clock sync, connection
    newest = warm.rows[0].interest_timestamp if warm.rows else None
    end_ms = int(newest.timestamp() * 1000) if newest is not None else int(time.time() * 1000)
    gc.collect()
    base_rss, _ = rss_kib()
    hwm_reset = reset_peak_rss()
    samples: list[int] = []
    total = Decimal(0)
    n = 0
    t0 = time.perf_counter()
    walk = client.iter_interest_history(
        start_time=end_ms - days * DAY_MS + 1, end_time=end_ms, concurrency=concurrency,
    )
    async for row in walk:
        total += row.interest
        n += 1
        if n % SAMPLE_EVERY == 0:
            samples.append(rss_kib()[0])
        if n >= rows:
            break
    await walk.aclose()
    wall = time.perf_counter() - t0
    end_rss, hwm = rss_kib()
    seen = [*samples, end_rss]
    early = samples[1] if len(samples) > 1 else base_rss  # after 100,000 rows
    return {
        "rows": n, "wall": wall, "base_mib": base_rss / 1024,
        "peak_growth_mib": ((hwm if hwm_reset else max(seen)) - base_rss) / 1024,
        "late_growth_mib": (max(seen) - early) / 1024,
        "hwm_reset": float(hwm_reset),
    }


async def run_once(*, rows: int, concurrency: int) -> dict[str, float]:
    days = -(-rows // (ASSETS * 24))
    assets = [f"A{n:02d}" for n in range(ASSETS)]
    async with sim_server(assets=assets, history_days=days + 1) as server:
        client = AsyncInstLoanClient(
            server.api_key, server.api_secret, base_url=server.base_url,
            rate_limits=RateLimits.unlimited(),
        )
        async with client:
            return await _stream(client, rows=rows, days=days, concurrency=concurrency)


def bench(*, rows: int = 1_000_000, concurrency: int = 4) -> list[Row]:
    r = asyncio.run(run_once(rows=rows, concurrency=concurrency))
    peak_source = "VmHWM" if r["hwm_reset"] else "max sampled VmRSS"
    ok = r["peak_growth_mib"] < 50 and r["late_growth_mib"] < 5
    return [Row(
        "memory", f"stream {int(r['rows']):,} rows, concurrency {concurrency}",
        f"peak RSS growth {r['peak_growth_mib']:.1f} MiB ({peak_source}, over a "
        f"{r['base_mib']:.0f} MiB base); growth from row 100k to the end "
        f"{r['late_growth_mib']:.1f} MiB; {r['rows'] / r['wall']:,.0f} rows/s",
        "flat, < 50 MB", ok,
    )]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON (run.py)")
    args = parser.parse_args()
    rows = bench(rows=args.rows, concurrency=args.concurrency)
    if args.json:
        print(json.dumps([dataclasses.asdict(r) for r in rows]))
    else:
        print_rows(f"Memory - {machine()}", rows)


if __name__ == "__main__":
    main()
