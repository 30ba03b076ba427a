"""Serve a simulator on 127.0.0.1 until standard input closes (run by ``_common.sim_server``).

Prints one JSON line: ``{"base_url", "api_key", "api_secret"}`` of the first unit's credit
account, then serves. Run in its own process so its CPU is not billed to the client measured.

By default it runs uvicorn on a socket made with ``IPPROTO_TCP``: asyncio sets ``TCP_NODELAY``
only on sockets whose protocol says TCP, and ``simulator.serve`` binds one with protocol 0, so
its answers (headers and body written separately) wait out Nagle and the client's delayed ACK,
~40 ms per sequential call. ``--via-serve`` uses ``serve`` anyway, to show that.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from binance_instloan.simulator import Simulator, serve


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


@contextlib.asynccontextmanager
async def _uvicorn(sim: Simulator) -> AsyncIterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        sim.app, log_level="warning", access_log=False, lifespan="off",
    ))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped during startup")
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--units", type=int, default=1)
    parser.add_argument("--assets", default="USDT")
    parser.add_argument("--history-days", type=int, default=10)
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--via-serve", action="store_true")
    args = parser.parse_args()
    sim = Simulator(
        seed=args.seed, units=args.units, assets=args.assets.split(","),
        history_days=args.history_days, rate_limits_enabled=not args.no_rate_limits,
    )
    creds = sim.credentials("credit")
    served = serve(sim, host="127.0.0.1", port=0) if args.via_serve else _uvicorn(sim)
    async with served as base_url:
        print(json.dumps({
            "base_url": base_url, "api_key": creds.api_key, "api_secret": creds.api_secret,
        }), flush=True)
        await _stdin_closed()


if __name__ == "__main__":
    asyncio.run(main())
