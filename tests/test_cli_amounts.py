"""Money on the command line: only plain ASCII decimals, shown exactly as they will be sent."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator
from tests._cli_process import cli

BORROW = "/sapi/v1/margin/loan-group/borrow"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=3, history_days=0)


@pytest.mark.parametrize(
    "typed", ["1e3", "1E+3", "1_000", "１００", "+5", " 5", "5.", ".5", "1,000", "NaN",
              "Infinity", "0x10"],
)
def test_an_amount_that_is_not_a_plain_ascii_decimal_is_a_usage_error(
    sim: Simulator, typed: str,
) -> None:
    result = CliRunner().invoke(
        app, ["--sim", "borrow", str(sim.group_ids[0]), "USDT", typed, "--yes"],
        obj=Runtime(simulator=sim),
    )

    assert result.exit_code == 2, result.output
    assert "not a decimal number" in result.stderr
    assert sim.execution_count(BORROW) == 0


def test_an_exponent_amount_is_refused_before_any_prompt() -> None:
    result = cli("--sim", "borrow", "10001", "USDT", "1e3", input="y\n")

    assert result.returncode == 2
    assert "'1e3' is not a decimal number" in result.stderr
    assert "Borrow" not in result.stderr


def test_a_29_digit_amount_is_refused_before_sending_with_exit_5() -> None:
    result = cli("--sim", "borrow", "10001", "USDT", "1" + "0" * 28, "--yes")

    assert result.returncode == 5
    assert "more than 20 digits" in result.stderr
    assert "nothing was sent" in result.stderr


def test_the_confirmation_shows_the_string_that_will_be_sent() -> None:
    result = cli("--sim", "borrow", "10001", "USDT", "0012.50", input="n\n")

    assert "Borrow 12.50 USDT into risk unit 10001?" in result.stderr


def test_the_amount_confirmed_is_the_amount_sent(sim: Simulator) -> None:
    result = CliRunner().invoke(
        app, ["--sim", "borrow", str(sim.group_ids[0]), "USDT", "0012.50"], input="y\n",
        obj=Runtime(simulator=sim),
    )

    assert result.exit_code == 0, result.output
    assert "Borrow 12.50 USDT" in result.stderr
    assert sim.executions[-1].params["amount"] == "12.50"


def test_end_of_input_at_a_confirmation_says_nothing_was_sent() -> None:
    result = cli("--sim", "repay", "10001", "USDT", "5", input="")

    assert result.returncode == 1
    assert "Cancelled: nothing was sent." in result.stderr
    assert "Aborted!" not in result.stderr
