"""Spurious unknown outcomes when the server closes idle keep-alive connections.

    python benchmarks/bench_keepalive.py [--writes 40] [--keep-alive 1.0] [--jitter 0.05]

Serves the simulator with uvicorn's ``timeout_keep_alive`` set to ``--keep-alive`` seconds
(uvicorn's default is 5 s) and, on each backend at once, sends borrows spaced about that long
apart, so reusing the idle connection races the server closing it. Counts the borrows that
ended in ``OutcomeUnknownError`` and, of those, the ones the server never received: each of
those costs a user a ``resolve_outcome`` cycle for nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from binance_instloan import AsyncInstLoanClient, OutcomeUnknownError, RateLimits
from binance_instloan.simulator import Simulator

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def _counting(app: ASGIApp, received: Counter[str]) -> ASGIApp:
    """Counts borrows by amount as the server reads them, before the simulator answers."""

    async def counted(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/borrow"):
            body = b""

            async def receive_counted() -> Any:
                nonlocal body
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    for part in body.decode().split("&"):
                        if part.startswith("amount="):
                            received[str(Decimal(part[len("amount="):]).normalize())] += 1
                return message

            await app(scope, receive_counted, send)
            return
        await app(scope, receive, send)

    return counted


async def _writes(
    backend: Literal["httpx", "aiohttp"], base_url: str, sim: Simulator, received: Counter[str],
    *, writes: int, spacing: float, jitter: float, seed: int,
) -> str:
    creds = sim.credentials("credit")
    group = sim.group_ids[0]
    rng = random.Random(seed)
    unknown = unknown_not_received = ok = 0
    tag = 1 if backend == "httpx" else 2
    async with AsyncInstLoanClient(
        creds.api_key, creds.api_secret, base_url=base_url, backend=backend,
        rate_limits=RateLimits.unlimited(),
    ) as client:
        await client.get_ltv_details()  # learn the clock, open a connection
        for i in range(writes):
            await asyncio.sleep(spacing + rng.uniform(-jitter, jitter))
            # Unique amounts map each call to what the server received.
            amount = Decimal(1) + Decimal(tag * 1000 + i).scaleb(-6)
            try:
                await client.borrow(group_id=group, asset="USDT", amount=amount)
                ok += 1
            except OutcomeUnknownError:
                unknown += 1
                if received[str(amount.normalize())] == 0:
                    unknown_not_received += 1
    return (f"{backend:7}: {writes} writes, {ok} OK, {unknown} OutcomeUnknownError "
            f"({unknown_not_received} of them never reached the server)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=40)
    parser.add_argument("--keep-alive", type=float, default=1.0)
    parser.add_argument("--jitter", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import uvicorn

    sim = Simulator(seed=args.seed, units=1, history_days=1, rate_limits_enabled=False)
    received: Counter[str] = Counter()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        _counting(sim.app, received), log_level="critical", access_log=False, lifespan="off",
        timeout_keep_alive=args.keep_alive,
    ))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.005)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        lines = await asyncio.gather(*(
            _writes(backend, base_url, sim, received, writes=args.writes,
                    spacing=args.keep_alive, jitter=args.jitter, seed=args.seed + n)
            for n, backend in enumerate(("httpx", "aiohttp"))
        ))
    finally:
        server.should_exit = True
        await task
        sock.close()
    print(f"server keep-alive {args.keep_alive} s, writes every {args.keep_alive} s "
          f"+/- {args.jitter} s")
    for line in lines:
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
