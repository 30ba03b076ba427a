"""Profile one side of the per-call benchmark (default: ours on the aiohttp backend).

    python benchmarks/profile_overhead.py [--side ours/aiohttp] [--calls 2000]
        [--concurrency 1] [--pyinstrument] [--only binance_instloan]

cProfile by default (sorted by own time, then the package's functions by cumulative time);
``--pyinstrument`` prints pyinstrument's call tree instead (benchmarks/requirements.txt).
The simulator runs in a child process, so only the client shows up.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
from typing import Any

import bench_overhead as bo
from _common import sim_server


async def profile(side_name: str, calls: int, concurrency: int, use_pyinstrument: bool) -> Any:
    q = bo._query()
    async with sim_server(history_days=10) as server:
        side = await bo.make_side(side_name, server, q)
        try:
            await bo._run_calls(side.call, 200, concurrency)  # warm up
            if use_pyinstrument:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
                await bo._run_calls(side.call, calls, concurrency)
                profiler.stop()
                return profiler
            cprofile = cProfile.Profile()
            cprofile.enable()
            await bo._run_calls(side.call, calls, concurrency)
            cprofile.disable()
            return cprofile
        finally:
            await side.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", default="ours/aiohttp", choices=bo.ALL_SIDES)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--only", default="binance_instloan",
                        help="path filter for the cumulative listing")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    result = asyncio.run(profile(args.side, args.calls, args.concurrency, args.pyinstrument))
    if args.pyinstrument:
        print(result.output_text(unicode=True, color=False, show_all=False))
        return
    stats = pstats.Stats(result)
    print(f"== {args.side}: {args.calls} calls, concurrency {args.concurrency}: own time ==")
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"== functions matching {args.only!r}, cumulative ==")
    stats.sort_stats("cumtime").print_stats(args.only, args.top)


if __name__ == "__main__":
    main()
