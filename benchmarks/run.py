"""Run every benchmark and print ONE table of all results.

    python benchmarks/run.py            # the numbers in benchmarks/README.md
    python benchmarks/run.py --quick    # smaller sizes, for a first look (about a minute)

Run it from a virtualenv with the project and benchmarks/requirements.txt installed (the
peers are not project dependencies). ``bench_redis.py`` (another helper's) joins the table
when it is present and offers ``bench() -> list[Row]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

import bench_budget
import bench_overhead
import bench_parsing
import bench_simulator
from _common import HERE, Row, check_sniffio, format_table, machine


def _guarded(name: str, fn: Callable[[], list[Row]]) -> list[Row]:
    """A benchmark that fails becomes a row saying so; the others still run."""
    started = time.perf_counter()
    print(f"running {name} ...", file=sys.stderr, flush=True)
    try:
        rows = fn()
    except Exception as exc:
        traceback.print_exc()
        return [Row(name, "failed", f"{type(exc).__name__}: {exc}")]
    print(f"  {name} done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def _memory_in_child(rows: int) -> list[Row]:
    """RSS growth means something only in a fresh process: this one already holds the peers
    and the heap the other benchmarks grew."""
    out = subprocess.run(
        [sys.executable, str(HERE / "bench_memory.py"), "--rows", str(rows), "--json"],
        check=True, capture_output=True, text=True,
    ).stdout
    return [Row(**fields) for fields in json.loads(out.strip().splitlines()[-1])]


def _redis_rows() -> list[Row] | None:
    if not (HERE / "bench_redis.py").exists() or importlib.util.find_spec("bench_redis") is None:
        return None
    module = importlib.import_module("bench_redis")
    bench = getattr(module, "bench", None)
    if bench is None:
        return [Row("redis", "skipped", "bench_redis.py has no bench() -> list[Row]")]
    result = bench()
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return [r if isinstance(r, Row) else Row("redis", "", str(r)) for r in result]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    args = parser.parse_args()
    sniffio = check_sniffio()
    calls, rounds = (60, 3) if args.quick else (200, 7)
    rows: list[Row] = []
    rows += _guarded("overhead", lambda: asyncio.run(
        bench_overhead.bench(calls=calls, rounds=rounds)))
    rows += _guarded("budget", bench_budget.bench)
    rows += _guarded("memory", lambda: _memory_in_child(200_000 if args.quick else 1_000_000))
    rows += _guarded("parsing", lambda: bench_parsing.bench(
        rounds=5 if args.quick else 15, pages=100 if args.quick else 200))
    rows += _guarded("simulator", lambda: bench_simulator.bench(rounds=3 if args.quick else 5))
    redis = _guarded("redis", lambda: _redis_rows() or [])
    rows += redis
    print(f"\n{machine()}; sniffio {sniffio}; overhead: {calls} calls x {rounds} rounds per side\n")
    print(format_table(rows))


if __name__ == "__main__":
    main()
