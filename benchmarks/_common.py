"""What every benchmark shares: result rows, the table, the machine, RSS, and a simulator
served from a separate process.

The benchmarks are scripts (``python benchmarks/bench_overhead.py``), so they import this
module by its bare name: ``benchmarks/`` is on ``sys.path`` whenever one of them runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
REPO: Final = HERE.parent
if str(REPO) not in sys.path:
    # Lets a benchmark run from a checkout without installing it first.
    sys.path.insert(1, str(REPO))


@dataclass(frozen=True)
class Row:
    """One line of the results table. ``met`` is None where the row has no goal."""

    bench: str
    case: str
    result: str
    goal: str = ""
    met: bool | None = None


def verdict(met: bool | None) -> str:
    if met is None:
        return ""
    return "yes" if met else "NO"


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown table, readable as plain text too."""
    header = ("benchmark", "case", "result", "goal", "met")
    cells = [header] + [(r.bench, r.case, r.result, r.goal, verdict(r.met)) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(c) for c in cells[1:]]
    return "\n".join(out)


def print_rows(title: str, rows: Sequence[Row]) -> None:
    print(f"\n{title}\n")
    print(format_table(rows))


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> str:
    """The line that goes above every results table."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; nproc {os.cpu_count()}; CPU {cpu_model()}; "
        f"Python {platform.python_version()} ({sys.executable})"
    )


def check_sniffio() -> str:
    """httpcore re-tries a failing ``import sniffio`` on every request (encode/httpcore#1103),
    which would inflate every httpx number: refuse to measure without it."""
    try:
        import sniffio
    except ImportError:
        raise SystemExit(
            f"sniffio is not importable in {sys.executable}; install it before measuring"
        ) from None
    return str(getattr(sniffio, "__version__", "present"))


def rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB: current and peak resident memory."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class ServedSim:
    base_url: str
    api_key: str
    api_secret: str
    pid: int


@contextlib.asynccontextmanager
async def sim_server(
    *, seed: int = 1, units: int = 1, assets: Sequence[str] = ("USDT",),
    history_days: int = 10, rate_limits_enabled: bool = False, via_serve: bool = False,
) -> AsyncIterator[ServedSim]:
    """A simulator served over TCP on 127.0.0.1 by a child process, so that its CPU time is
    not counted in ours (``time.process_time`` covers this process only)."""
    args = [
        sys.executable, str(HERE / "_simserver.py"), "--seed", str(seed), "--units", str(units),
        "--assets", ",".join(assets), "--history-days", str(history_days),
    ]
    if not rate_limits_enabled:
        args.append("--no-rate-limits")
    if via_serve:
        args.append("--via-serve")
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        if not line:
            raise RuntimeError("the simulator server exited before it was ready")
        info = json.loads(line)
        yield ServedSim(info["base_url"], info["api_key"], info["api_secret"], proc.pid)
    finally:
        # Closing stdin tells the server to stop; terminate only if it does not.
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.terminate()
            await proc.wait()
