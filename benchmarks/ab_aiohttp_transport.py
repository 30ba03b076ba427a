"""A/B: the same client over our aiohttp transport and over the httpx-aiohttp adapter.

    python benchmarks/ab_aiohttp_transport.py [--rounds 9] [--calls 200]

One process, rounds interleaved in rotated order: ``backend="aiohttp"`` (our transport),
``http_client=httpx_aiohttp.HttpxAiohttpClient()`` (the adapter it replaced; needs
``pip install httpx-aiohttp``) and the bare aiohttp floor of ``bench_overhead.py``, each
making the same sequential signed ``GET interest-history`` calls. Prints median CPU per call
and the paired ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import bench_overhead as bo
from _common import sim_server

from binance_instloan import AsyncInstLoanClient, RateLimits


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    from httpx_aiohttp import HttpxAiohttpClient

    q = bo._query()
    async with sim_server() as server:
        adapter = HttpxAiohttpClient()
        clients = {
            "ours/own-transport": AsyncInstLoanClient(
                server.api_key, server.api_secret, base_url=server.base_url,
                rate_limits=RateLimits.unlimited(), backend="aiohttp"),
            "ours/httpx-aiohttp": AsyncInstLoanClient(
                server.api_key, server.api_secret, base_url=server.base_url,
                rate_limits=RateLimits.unlimited(), http_client=adapter),
        }

        def caller(client: AsyncInstLoanClient) -> Callable[[], Awaitable[object]]:
            return lambda: client.get_interest_history(
                asset=q.asset, start_time=q.start_ms, end_time=q.end_ms, size=100)

        floor = await bo.floor_aiohttp(server, q)
        sides: dict[str, Callable[[], Awaitable[object]]] = {
            name: caller(client) for name, client in clients.items()
        }
        sides["floor/aiohttp"] = floor.call
        for call in sides.values():
            await call()  # connect and learn the clock outside the measurement
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        names = list(sides)
        for rnd in range(args.rounds):
            for name in names[rnd % len(names):] + names[:rnd % len(names)]:
                start = time.process_time()
                for _ in range(args.calls):
                    await sides[name]()
                cpu[name].append((time.process_time() - start) / args.calls * 1e6)
        for client in clients.values():
            await client.aclose()
        await adapter.aclose()
        await floor.close()
    for name, values in cpu.items():
        print(f"{name:20} median CPU {statistics.median(values):6.0f} us/call")

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(cpu[a], cpu[b], strict=True))

    print(f"paired ratio ours/own-transport / ours/httpx-aiohttp: "
          f"{paired('ours/own-transport', 'ours/httpx-aiohttp'):.2f}")
    for name in clients:
        print(f"paired ratio {name} / floor/aiohttp: {paired(name, 'floor/aiohttp'):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
