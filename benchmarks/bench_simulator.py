"""How long the simulator takes to build its history: a year, ten assets, three units.

Every test and benchmark that asks for ``history_days=365`` pays this before its first request,
so it is watched here (it used to be a wall-time assertion in the test suite, where a busy
machine made it fail at random).

    python benchmarks/bench_simulator.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Final

from _common import Row, machine, median, print_rows

from binance_instloan.simulator import Simulator

TEN_ASSETS: Final = ("USDT", "USDC", "BTC", "ETH", "BNB", "SOL", "XRP", "DOGE", "ADA", "DOT")
GOAL_SECONDS: Final = 0.5


def bench(rounds: int = 5) -> list[Row]:
    """Rows for ``benchmarks/run.py``."""
    seconds: list[float] = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        Simulator(seed=7, units=3, assets=TEN_ASSETS, history_days=365)
        seconds.append(time.perf_counter() - started)
    took = median(seconds)
    return [Row("simulator", "build 365 days x 10 assets x 3 units",
                f"{took:.3f} s (median of {rounds}; fastest {min(seconds):.3f} s)",
                f"< {GOAL_SECONDS} s", took < GOAL_SECONDS)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_rows(f"{machine()}\nSimulator history", bench(args.rounds))


if __name__ == "__main__":
    main()
