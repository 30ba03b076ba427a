"""Per-call cost of the OpenTelemetry hooks: main's client vs this one, in one process.

The same signed ``GET interest-history`` call as ``bench_overhead.py`` (ours/httpx, rate
limits off), from four copies of the client loaded side by side under different names:

  main                  the package as committed on ``--main-ref`` (``git archive``), no hooks
  main-again            a second client of the same copy: the A/A spread is the noise
  otel-absent           this checkout, imported while ``opentelemetry`` cannot be imported
  otel-unconfigured     this checkout with opentelemetry-api installed and no provider set
  otel-configured       this checkout with SDK providers (spans and metrics recorded, never
                        exported): what turning telemetry on costs, for reference

Sides run interleaved in rotated order; each ratio is the median of per-round ratios to
``main``, so a slow spell of the machine hits both sides of it. ``--transport mock`` answers
from an ``httpx.MockTransport`` with the body the simulator served (no sockets, no server):
only the client's own work is left, so a difference of a few microseconds would show.

    python benchmarks/bench_telemetry.py [--calls 200] [--rounds 9] [--main-ref main]
        [--transport tcp|mock]
    python benchmarks/bench_telemetry.py --hooks-only   # the disabled hooks alone, in ns
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import bench_overhead as bo
from _common import check_sniffio, machine, median, sim_server

REPO = Path(__file__).resolve().parent.parent


def _load_copy(source: Path, name: str, root: Path, *, block_otel: bool = False) -> ModuleType:
    """Import the package at ``source`` as ``name`` (its imports are relative)."""
    shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    saved = {k: v for k, v in sys.modules.items() if k == "opentelemetry"}
    if block_otel:
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(name)
    finally:
        if block_otel:
            del sys.modules["opentelemetry"]
            sys.modules.update(saved)


def _main_copy(ref: str, root: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "binance_instloan"],
                             capture_output=True, check=True).stdout
    target = root / "main-src"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return target / "binance_instloan"


def _mock_transport(server: Any, q: bo.Query) -> Any:
    """A transport answering every call with the body the simulator gave to a real one."""
    import httpx

    signed = bo._Signer(server.api_secret, q).signed()
    served = httpx.get(f"{server.base_url}{bo.PATH}?{signed}",
                       headers={"X-MBX-APIKEY": server.api_key})
    served.raise_for_status()
    body, headers = served.content, {"Content-Type": "application/json",
                                     "X-SAPI-USED-IP-WEIGHT-1M": "400"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v3/time":
            return httpx.Response(200, json={"serverTime": int(time.time() * 1000)})
        return httpx.Response(200, content=body, headers=headers)

    return lambda: httpx.MockTransport(answer)


async def _side(
    pkg: ModuleType, name: str, server: Any, q: bo.Query, transport: Any, **kwargs: Any,
) -> bo.Side:
    if transport is not None:
        kwargs["transport"] = transport()
    client = pkg.AsyncInstLoanClient(
        server.api_key, server.api_secret, base_url=server.base_url,
        rate_limits=pkg.RateLimits.unlimited(), **kwargs,
    )

    async def call() -> int:
        page = await client.get_interest_history(
            asset=q.asset, start_time=q.start_ms, end_time=q.end_ms, size=bo.ROWS
        )
        return len(page.rows)

    return bo.Side(name, call, client.aclose)


async def bench(calls: int, rounds: int, concurrency: int, ref: str, mode: str) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    root = Path(tempfile.mkdtemp(prefix="bench-telemetry-"))
    sys.path.insert(0, str(root))
    try:
        main = _load_copy(_main_copy(ref, root), "instloan_main", root)
        absent = _load_copy(REPO / "binance_instloan", "instloan_no_otel", root, block_otel=True)
        here = _load_copy(REPO / "binance_instloan", "instloan_here", root)
        assert not absent._telemetry.telemetry_for(
            tracer_provider=None, meter_provider=None, base_url="https://x").enabled
        q = bo._query()
        async with sim_server(history_days=10) as server:
            t = _mock_transport(server, q) if mode == "mock" else None
            sides = [
                await _side(main, "main", server, q, t),
                await _side(main, "main-again", server, q, t),
                await _side(absent, "otel-absent", server, q, t),
                await _side(here, "otel-unconfigured", server, q, t),
                await _side(here, "otel-configured", server, q, t,
                            tracer_provider=TracerProvider(),
                            meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()])),
            ]
            for side in sides:
                await bo._run_calls(side.call, 50, concurrency)  # warm up
            samples = await bo.measure(sides, calls=calls, rounds=rounds,
                                       concurrency=concurrency)
            for side in sides:
                await side.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = samples["main"]
    print(f"transport {mode}, concurrency {concurrency}, {calls} calls x {rounds} rounds per side")
    for name, s in samples.items():
        cpu, wall = median(s.cpu_us), median(s.wall_us)
        ratio = ""
        if name != "main":
            ratio = (f"  CPU {bo._paired_ratio(s.cpu_us, base.cpu_us):.3f}x main, "
                     f"wall {bo._paired_ratio(s.wall_us, base.wall_us):.3f}x main")
        print(f"  {name:18} CPU {cpu:7,.0f} us/call  wall {wall:7,.0f} us/call{ratio}")


def hooks_only(n: int = 200_000) -> None:
    """The three disabled hooks of one call vs the same awaits without them (best of 5)."""
    import timeit

    from binance_instloan._constants import ENDPOINTS
    from binance_instloan._retry import RetryPolicy
    from binance_instloan._telemetry import telemetry_for

    telemetry = telemetry_for(tracer_provider=None, meter_provider=None,
                              base_url="https://api.binance.com")
    assert not telemetry.enabled
    endpoint = ENDPOINTS["interest_history"]
    policy = RetryPolicy(max_retries=3, sleep=asyncio.sleep)

    async def step() -> int:
        return 1

    async def hooked() -> int:
        await telemetry.acquire(endpoint, step())
        await telemetry.http(endpoint, step())  # type: ignore[arg-type]
        return await telemetry.call(endpoint, policy, step)

    async def bare() -> int:
        await step()
        await step()
        return await policy.run(step, is_write=endpoint.is_write)

    def drive(make: Any) -> None:
        with contextlib.suppress(StopIteration):
            make().send(None)

    for _ in range(3):
        a = min(timeit.repeat(lambda: drive(hooked), number=n, repeat=5)) / n * 1e9
        b = min(timeit.repeat(lambda: drive(bare), number=n, repeat=5)) / n * 1e9
        print(f"disabled hooks: {a:,.0f} ns with, {b:,.0f} ns without: {a - b:+,.0f} ns a call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per side per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--concurrency", default="1", help="comma-separated, e.g. 1,50")
    parser.add_argument("--main-ref", default="main", help="the git ref to compare with")
    parser.add_argument("--transport", choices=["tcp", "mock"], default="tcp")
    parser.add_argument("--hooks-only", action="store_true")
    args = parser.parse_args()
    if args.hooks_only:
        hooks_only()
        return
    check_sniffio()
    print(machine())
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        asyncio.run(bench(args.calls, args.rounds, concurrency, args.main_ref, args.transport))


if __name__ == "__main__":
    main()
