"""``binance-instloan history``: whole-range exports, formats, Ctrl-C and resuming."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from binance_instloan import APITimeoutError, AsyncInstLoanClient, RateLimits
from binance_instloan._cli._app import app
from binance_instloan._cli._progress import ExportProgress
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator

INTEREST_COLUMNS = [
    "group_id", "asset_name", "principal", "interest_rate", "interest", "interest_timestamp",
]


@pytest.fixture(scope="module")
def sim() -> Simulator:
    # Exports only read, so one year-long simulator serves the whole module.
    return Simulator(seed=11, history_days=365)


def run(sim: Simulator, *args: str) -> Result:
    return CliRunner().invoke(app, ["--sim", "history", *args], obj=Runtime(simulator=sim))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class InterruptedAfter:
    """Wraps a history iterator: after ``rows`` rows, ``interrupt()`` runs in place of the next.

    ``interrupt`` raises KeyboardInterrupt (what Ctrl-C raises outside the event loop) or sends
    SIGINT (which asyncio turns into cancelling the command, as a real Ctrl-C does).
    """

    def __init__(self, inner: Any, rows: int, interrupt: Callable[[], None]) -> None:
        self._inner, self._rows, self._interrupt = inner, rows, interrupt

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> InterruptedAfter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._walk()

    async def _walk(self) -> AsyncIterator[Any]:
        n = 0
        async for row in self._inner:
            if n == self._rows:
                self._interrupt()
            n += 1
            yield row


def interrupt_interest_export(monkeypatch: pytest.MonkeyPatch, rows: int,
                              interrupt: Callable[[], None]) -> None:
    original = AsyncInstLoanClient.iter_interest_history

    def iter_interest_history(self: AsyncInstLoanClient, **kwargs: Any) -> InterruptedAfter:
        return InterruptedAfter(original(self, **kwargs), rows, interrupt)

    monkeypatch.setattr(AsyncInstLoanClient, "iter_interest_history", iter_interest_history)


def ctrl_c() -> None:
    raise KeyboardInterrupt


def test_a_one_year_csv_export_holds_every_hour_once_newest_first(
    sim: Simulator, tmp_path: Path,
) -> None:
    out = tmp_path / "interest.csv"

    result = run(sim, "interest", "--since", "365d", "--format", "csv", "--output", str(out))

    assert result.exit_code == 0, result.output
    rows = read_csv(out)
    assert list(rows[0]) == INTEREST_COLUMNS
    keys = [(r["asset_name"], r["interest_timestamp"]) for r in rows]
    assert len(set(keys)) == len(keys)
    times = [datetime.fromisoformat(r["interest_timestamp"]) for r in rows]
    assert times == sorted(times, reverse=True)
    assert times[0] - times[-1] >= timedelta(days=364)
    assert len(rows) >= 2 * 24 * 364  # two assets, every hour of the year
    assert f"{len(rows):,} rows written to {out}" in result.stderr


def test_jsonl_keeps_money_as_exact_decimal_strings(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "interest.jsonl"

    result = run(sim, "interest", "--since", "2d", "--asset", "USDT", "-f", "jsonl", "-o", str(out))

    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records and {r["asset_name"] for r in records} == {"USDT"}
    assert all(isinstance(r["interest"], str) and re.fullmatch(r"\d+\.\d+", r["interest"])
               for r in records)


def test_table_format_streams_rows_under_one_header_to_stdout(sim: Simulator) -> None:
    result = run(sim, "interest", "--since", "1d", "--asset", "USDC")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == INTEREST_COLUMNS
    assert len(rows) >= 24 and all("USDC" in row for row in rows)


def test_borrow_repay_export_passes_type_and_group(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "repay.jsonl"
    group = sim.group_ids[0]

    result = run(sim, "borrow-repay", "--since", "365d", "--type", "repay",
                 "--group-id", str(group), "-f", "jsonl", "-o", str(out))

    assert result.exit_code == 0, result.output
    kinds = {json.loads(line)["type"] for line in out.read_text().splitlines()}
    assert kinds and kinds <= {"REPAY", "NORMAL_REPAY", "FORCE_REPAY"}


@pytest.mark.parametrize(
    ("source", "extra"),
    [("liquidations", ["--since", "365d"]), ("liquidation-transfers", ["--since", "365d"]),
     ("rebates", []), ("closed", [])],
)
def test_every_history_source_exports(
    sim: Simulator, tmp_path: Path, source: str, extra: list[str],
) -> None:
    out = tmp_path / f"{source}.jsonl"

    result = run(sim, source, *extra, "-f", "jsonl", "-o", str(out))

    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert f"{len(lines):,} row" in result.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["liquidations", "--since", "30d", "--asset", "USDT"], "--asset does not apply"),
        (["borrow-repay", "--since", "30d"], "needs --type"),
        (["interest"], "needs --since"),
        (["closed", "--since", "30d"], "no time range"),
        (["interest", "--since", "last tuesday"], "is not a time"),
        (["rebates", "--type", "BORROW"], "--type for rebates"),
    ],
)
def test_a_history_request_that_does_not_fit_is_a_usage_error(
    sim: Simulator, args: list[str], complaint: str,
) -> None:
    result = run(sim, *args)

    assert result.exit_code == 2
    assert complaint in result.output


def test_ctrl_c_mid_export_leaves_whole_lines_and_says_how_far_it_got(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "interest.csv"
    interrupt_interest_export(monkeypatch, rows=250, interrupt=ctrl_c)

    result = run(sim, "interest", "--since", "365d", "-f", "csv", "-o", str(out))

    assert result.exit_code == 130
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == INTEREST_COLUMNS and len(rows) == 251
    assert all(len(row) == len(INTEREST_COLUMNS) for row in rows)
    assert f"Interrupted: 250 rows written to {out}" in result.stderr
    assert "Resume position: {" in result.stderr


def test_sigint_mid_export_cancels_cleanly_and_reports_progress(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "interest.jsonl"
    interrupt_interest_export(monkeypatch, rows=120,
                              interrupt=lambda: signal.raise_signal(signal.SIGINT))

    result = run(sim, "interest", "--since", "365d", "-f", "jsonl", "-o", str(out))

    assert result.exit_code == 130
    lines = out.read_text(encoding="utf-8").splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert f"Interrupted: {len(lines):,} rows written" in result.stderr


def test_an_error_mid_export_says_how_far_it_got_and_where_to_resume(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def connection_lost() -> None:
        raise APITimeoutError("GET /sapi/v1/margin/loan-group/interest-history: ReadTimeout")

    out = tmp_path / "interest.csv"
    interrupt_interest_export(monkeypatch, rows=300, interrupt=connection_lost)

    result = run(sim, "interest", "--since", "365d", "-f", "csv", "-o", str(out))

    assert result.exit_code == 9
    error, stopped, position, _ = result.stderr.splitlines()
    assert error.startswith("error: no answer from Binance in time")
    assert stopped.startswith(f"Stopped: 300 rows written to {out}")
    assert position.startswith("Resume position: {")
    assert len(out.read_text().splitlines()) == 301


def test_resuming_an_interrupted_export_completes_it_without_gaps_or_repeats(
    sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime.now(UTC)
    # ISO times, as a user types them (no zone: UTC), well inside the prefilled year.
    window = ["--since", f"{now - timedelta(days=200):%Y-%m-%d}",
              "--until", f"{now - timedelta(days=60):%Y-%m-%dT%H:%M}"]
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    assert run(sim, "interest", *window, "-f", "csv", "-o", str(whole)).exit_code == 0
    with monkeypatch.context() as patch:
        interrupt_interest_export(patch, rows=777, interrupt=ctrl_c)
        stopped = run(sim, "interest", *window, "-f", "csv", "-o", str(resumed))
    position = stopped.stderr.split("Resume position: ", 1)[1].splitlines()[0]

    result = run(sim, "interest", *window, "-f", "csv", "-o", str(resumed), "--resume", position)

    assert result.exit_code == 0, result.output
    assert resumed.read_text() == whole.read_text()


def test_resume_needs_a_position_printed_by_an_export(sim: Simulator, tmp_path: Path) -> None:
    result = run(sim, "interest", "--since", "2d", "-o", str(tmp_path / "x.csv"),
                 "--resume", '{"window": 1}')

    assert result.exit_code == 2
    assert "not a position" in result.output


def test_an_export_under_a_tight_budget_waits_instead_of_getting_429s(tmp_path: Path) -> None:
    # A scaled-down budget: 30 weight per 0.2 s window, so interest pages (10 each) must queue.
    tight = Simulator(seed=11, history_days=30, ip_weight_limit=30, window_seconds=0.2)
    runtime = Runtime(simulator=tight,
                      client_kwargs={"rate_limits": RateLimits(ip_weight=30, window_seconds=0.2)})
    out = tmp_path / "interest.csv"

    result = CliRunner().invoke(app, [
        "--sim", "history", "interest", "--since", "30d", "--asset", "USDT", "-f", "csv",
        "-o", str(out),
    ], obj=runtime)

    assert result.exit_code == 0, result.output
    waited = float(re.search(r"([\d.]+) s waiting for rate budget", result.stderr)[1])
    assert waited > 0
    assert tight.stats["/sapi/v1/margin/loan-group/interest-history"].throttled == 0


def test_the_progress_bar_shows_rows_windows_requests_and_waiting() -> None:
    class Counters:
        rows_yielded, windows_done, windows_total, requests_made = 1500, 2, 4, 17

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)

    with ExportProgress(console, "interest") as bar:
        bar.update(Counters(), 1500, waited=1.25, force=True)

    shown = buffer.getvalue()
    assert "2/4 windows" in shown and "1,500 rows" in shown and "17 requests" in shown
    assert "waited 1.2 s for rate budget" in shown
