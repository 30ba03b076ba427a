"""The chaos test, N times over, with CPU burners beside it: is the budget ever overrun?

``tests/test_chaos.py`` once reported ``over_budget`` while the machine was busy, and passed
alone. This starts ``--burners`` processes running ``while True: pass`` (two on this 2-core
machine: the event loop then gets the CPU only in slices), runs the CI chaos scenario
``--runs`` times, each in a fresh child process (``pytest tests/test_chaos.py -k thousand``),
and counts the runs whose simulator saw more weight in one window than the budget::

    python benchmarks/chaos_under_load.py [--runs 20] [--burners 2] [--tcp]

Every run is judged by the test itself (all its invariants, ``over_budget`` among them); the
summary line counts the overruns. The exit status is 1 if any run failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--tcp", action="store_true", help="the TCP variant of the test")
    args = parser.parse_args()
    test = "tcp" if args.tcp else "thousand"
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(args.burners)]
    overruns = failures = 0
    started = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            t0 = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                 "tests/test_chaos.py", "-k", test],
                cwd=ROOT, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
            )
            output = result.stdout + result.stderr
            over = "over_budget" in output and "assert report.over_budget == {}" in output
            summary = next((line.strip() for line in output.splitlines()
                            if "violations:" in line), "no summary")
            overruns += over
            failures += result.returncode != 0
            print(f"run {run:2d}: exit {result.returncode}, {time.monotonic() - t0:5.1f} s, "
                  f"{summary}", flush=True)
            if result.returncode != 0:
                print("\n".join(output.splitlines()[-30:]), flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    print(f"\n{args.runs} runs with {args.burners} CPU burners, "
          f"{time.monotonic() - started:.0f} s: {overruns} over budget, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
