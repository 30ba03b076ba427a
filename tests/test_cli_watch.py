"""``binance-instloan watch-ltv``: polling inside the budget, changes, alerts and hooks."""

from __future__ import annotations

import shlex
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from binance_instloan import RateLimits
from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator


class HourPerPoll:
    """A stand-in for asyncio.sleep: records the interval, then moves the simulator an hour
    on, so interest accrues and the LTVs change between polls without real waiting."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.sim.advance(3600)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=2, history_days=3)


def watch(sim: Simulator, *args: str, sleep: HourPerPoll | None = None,
          **client_kwargs: Any) -> Result:
    runtime = Runtime(simulator=sim, sleep=sleep or HourPerPoll(sim),
                      client_kwargs=client_kwargs)
    return CliRunner().invoke(app, ["--sim", "watch-ltv", *args], obj=runtime)


def highest_ltv(sim: Simulator) -> Decimal:
    result = watch(sim, "--alert-above", "1", "--max-polls", "1")
    return max(Decimal(line.split("LTV ")[1].split()[0]) for line in result.stdout.splitlines())


def test_an_ltv_above_the_threshold_exits_with_the_alert_status(sim: Simulator) -> None:
    level = highest_ltv(sim) - Decimal("0.01")

    result = watch(sim, "--alert-above", str(level))

    assert result.exit_code == 3
    alerts = [line for line in result.stdout.splitlines() if "ALERT" in line]
    assert len(alerts) == 1 and f"is above {level}" in alerts[0]


def test_below_the_threshold_it_polls_until_max_polls_and_exits_ok(sim: Simulator) -> None:
    sleep = HourPerPoll(sim)

    result = watch(sim, "--alert-above", "0.99", "--max-polls", "3", "--interval", "5",
                   sleep=sleep)

    assert result.exit_code == 0, result.output
    assert sleep.slept == [5.0, 5.0]
    assert "ALERT" not in result.stdout


def test_it_prints_each_unit_then_only_changes(sim: Simulator) -> None:
    result = watch(sim, "--alert-above", "0.99", "--max-polls", "2", "--group-id",
                   str(sim.group_ids[0]))

    first, change = result.stdout.splitlines()
    assert f"unit {sim.group_ids[0]}: LTV" in first and "liability" in first
    before, after = change.split("LTV ")[1].split(" -> ")
    assert Decimal(after) > Decimal(before)  # an hour of interest raised the liability


def test_it_never_polls_faster_than_the_ltv_details_budget_allows(sim: Simulator) -> None:
    sleep = HourPerPoll(sim)

    # ltv-details weighs 200: with 1,000 per minute that is one poll every 12 s at most.
    result = watch(sim, "--interval", "0.5", "--alert-above", "0.99", "--max-polls", "2",
                   sleep=sleep, rate_limits=RateLimits(ip_weight=1000))

    assert result.exit_code == 0, result.output
    assert sleep.slept == [12.0]
    assert "polling every 12 s instead" in result.stderr


def test_exec_runs_the_command_once_per_crossing_and_keeps_watching(
    sim: Simulator, tmp_path: Path,
) -> None:
    log = tmp_path / "alerts.log"
    script = ("import os; open(os.environ['LOG'], 'a').write("
              "os.environ['INSTLOAN_GROUP_ID'] + ' ' + os.environ['INSTLOAN_LTV'] + '\\n')")
    command = f"LOG={shlex.quote(str(log))} {shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    level = highest_ltv(sim) - Decimal("0.01")

    result = watch(sim, "--alert-above", str(level), "--exec", command, "--max-polls", "3")

    assert result.exit_code == 0, result.output
    (entry,) = log.read_text().splitlines()
    group, ltv = entry.split()
    assert int(group) in sim.group_ids and Decimal(ltv) > level
