"""Chaos, the long run: the CI test's 2,000 calls from 100 tasks, ten times over (by hand).

The same run and the same invariants as ``tests/test_chaos.py`` (no write executed twice,
every ``OutcomeUnknownError`` settled in agreement with the exchange, no iterator row lost or
repeated, nothing outside ``InstLoanError``, no task or connection left, no window over budget),
with more calls, more tasks and several seeds, in-process or over real TCP:

    python benchmarks/chaos_long.py [--calls 20000] [--tasks 200] [--seeds 1,2,3] [--tcp]

Each run prints its counts; the table says whether every invariant held. The exit status is 1
if any did not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

# _common puts the repository on sys.path, for the package and for the test module's harness.
from _common import Row, machine, print_rows

from binance_instloan.simulator import Simulator, serve
from tests.test_chaos import (
    ChaosConfig,
    ChaosReport,
    assert_invariants,
    make_simulator,
    run_chaos,
)


@contextlib.asynccontextmanager
async def _reach(sim: Simulator, tcp: bool) -> AsyncIterator[str | None]:
    if not tcp:
        yield None
        return
    async with serve(sim) as base_url:
        yield base_url


async def one_run(config: ChaosConfig, *, tcp: bool) -> ChaosReport:
    sim = make_simulator(config)
    async with _reach(sim, tcp) as base_url:
        return await run_chaos(sim, config, base_url=base_url)


def bench(*, calls: int, tasks: int, seeds: list[int], tcp: bool) -> list[Row]:
    rows: list[Row] = []
    for seed in seeds:
        # The storm scales with the run; the ban and the clock jump stay single events.
        config = ChaosConfig(calls=calls, tasks=tasks, seed=seed,
                             storm_429s=max(40, calls // 50))
        report = asyncio.run(one_run(config, tcp=tcp))
        print(f"\nseed {seed}{' (TCP)' if tcp else ''}")
        print(report.summary())
        try:
            assert_invariants(report, config)
        except AssertionError as exc:
            held, detail = False, f"VIOLATED: {exc}".splitlines()[0][:80]
        else:
            held, detail = True, "all held"
        unknown = sum(w.result == "unknown" for w in report.writes)
        rows.append(Row(
            "chaos", f"seed {seed}, {calls:,} calls, {tasks} tasks{', TCP' if tcp else ''}",
            f"{report.seconds:.1f} s; {len(report.writes):,} writes, {unknown} unknown; "
            f"{len(report.walks)} walks; {detail}",
            "every invariant", held,
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one run each")
    parser.add_argument("--tcp", action="store_true", help="over real TCP (serve) instead")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    rows = bench(calls=args.calls, tasks=args.tasks, seeds=seeds, tcp=args.tcp)
    print_rows(f"Chaos, long run - {machine()}", rows)
    if not all(r.met for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
