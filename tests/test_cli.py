"""The command line against the built-in simulator: every command, as a user runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner, Result

from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator

BORROW = "/sapi/v1/margin/loan-group/borrow"
REPAY = "/sapi/v1/margin/loan-group/repay"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=3, history_days=30)


def run(sim: Simulator, *args: str, input: str | None = None) -> Result:
    """``binance-instloan --sim ARGS`` on ``sim``; global options may lead ``args``."""
    return CliRunner().invoke(app, ["--sim", *args], input=input, obj=Runtime(simulator=sim))


def ltv_of(sim: Simulator, group: int) -> Decimal:
    async def fetch() -> Decimal:
        async with sim.client("credit", group) as client:
            (unit,) = await client.get_ltv_details()
            return unit.ltv

    return asyncio.run(fetch())


def spare_email(sim: Simulator) -> str:
    return next(a.email for a in sim.exchange.accounts.values()
                if a.role == "collateral" and a.group_id is None)


def test_ltv_lists_every_unit_the_parent_sees(sim: Simulator) -> None:
    result = run(sim, "ltv")

    assert result.exit_code == 0, result.output
    for group in sim.group_ids:
        assert str(group) in result.stdout
    assert "LTV" in result.stdout


def test_ltv_with_group_id_shows_only_that_unit(sim: Simulator) -> None:
    first, second, *_ = sim.group_ids

    result = run(sim, "ltv", "--group-id", str(second))

    assert result.exit_code == 0, result.output
    assert str(second) in result.stdout
    assert str(first) not in result.stdout


def test_units_lists_members_with_their_wallets(sim: Simulator) -> None:
    result = run(sim, "units")

    assert result.exit_code == 0, result.output
    assert sim.credit_email(sim.group_ids[0]) in result.stdout
    assert "COLLATERAL" in result.stdout


def test_closed_shows_a_unit_closed_after_full_repayment(sim: Simulator) -> None:
    group = sim.group_ids[0]

    async def repay_everything_and_close() -> None:
        async with sim.client("credit", group) as client:
            (unit,) = await client.get_ltv_details()
            for debt in unit.liabilities:
                await client.repay(group_id=group, asset=debt.asset_name,
                                   amount=debt.principal + debt.interest)
            await client.close_risk_unit(group_id=group)

    asyncio.run(repay_everything_and_close())
    creds = sim.credentials("credit", group)
    result = run(sim, "--api-key", creds.api_key, "--api-secret", creds.api_secret or "", "closed")

    assert result.exit_code == 0, result.output
    assert str(group) in result.stdout
    assert sim.credit_email(group) in result.stdout


def test_closed_says_so_when_there_is_none(sim: Simulator) -> None:
    result = run(sim, "closed")

    assert result.exit_code == 0, result.output
    assert "No closed risk unit" in result.stdout


def test_max_borrowable_prints_the_amount_and_asset(sim: Simulator) -> None:
    result = run(sim, "max-borrowable", "usdt")

    assert result.exit_code == 0, result.output
    amount, asset = result.stdout.split()
    assert asset == "USDT"
    assert Decimal(amount) > 0


def test_borrow_after_confirmation_raises_the_ltv(sim: Simulator) -> None:
    group = sim.group_ids[0]
    before = ltv_of(sim, group)

    result = run(sim, "borrow", str(group), "USDT", "1000.5", input="y\n")

    assert result.exit_code == 0, result.output
    assert "Borrowed 1000.5 USDT" in result.stdout
    assert ltv_of(sim, group) > before
    assert sim.executions[-1].params["amount"] == "1000.5"


def test_borrow_declined_at_the_prompt_sends_nothing(sim: Simulator) -> None:
    result = run(sim, "borrow", str(sim.group_ids[0]), "USDT", "1000", input="n\n")

    assert result.exit_code == 1
    assert "nothing was sent" in result.stderr
    assert sim.execution_count(BORROW) == 0


def test_borrow_amount_is_sent_exactly_as_typed_never_through_float(sim: Simulator) -> None:
    result = run(sim, "borrow", str(sim.group_ids[0]), "USDT", "1000.10000001", "--yes")

    assert result.exit_code == 0, result.output
    assert sim.executions[-1].params["amount"] == "1000.10000001"


def test_a_non_numeric_amount_is_a_usage_error(sim: Simulator) -> None:
    result = run(sim, "borrow", str(sim.group_ids[0]), "USDT", "12,5", "--yes")

    assert result.exit_code == 2
    assert "not a decimal number" in result.output
    assert sim.execution_count(BORROW) == 0


def test_repay_with_yes_repays_from_the_given_wallet(sim: Simulator) -> None:
    group = sim.group_ids[0]
    run(sim, "borrow", str(group), "USDT", "500", "--yes")

    result = run(sim, "repay", str(group), "USDT", "500", "--from", "margin", "--yes")

    assert result.exit_code == 0, result.output
    assert "Repaid 500 USDT" in result.stdout
    assert sim.executions[-1].params["repayFrom"] == "MARGIN"


def test_transfer_out_moves_funds_of_the_credit_account(sim: Simulator) -> None:
    result = run(sim, "transfer-out", "USDT", "10", "--yes")

    assert result.exit_code == 0, result.output
    assert "Transfer-out of 10 USDT accepted" in result.stdout
    assert sim.execution_count("/sapi/v1/margin/loan-group/transfer-out") == 1


def test_transfer_out_with_sub_email_uses_the_parent_key(sim: Simulator) -> None:
    member = sim.credit_email(sim.group_ids[0])

    result = run(sim, "transfer-out", "USDT", "10", "--sub-email", member, "--yes")

    assert result.exit_code == 0, result.output
    assert sim.executions[-1].params["subEmail"] == member
    assert sim.executions[-1].uid == sim.exchange.parent.uid


def test_add_member_links_a_spare_sub_account(sim: Simulator) -> None:
    group, email = sim.group_ids[1], spare_email(sim)

    result = run(sim, "add-member", str(group), email, "--no-spot", "--yes")

    assert result.exit_code == 0, result.output
    assert email in sim.collateral_emails(group)
    sent = sim.executions[-1].params
    assert (sent["enableSpot"], sent["enableMargin"]) == ("FALSE", "TRUE")


def test_close_with_liabilities_is_refused_with_binance_code_and_advice(sim: Simulator) -> None:
    result = run(sim, "close", str(sim.group_ids[0]), "--yes")

    assert result.exit_code == 10
    assert result.stderr.count("\n") == 1
    assert "-27018" in result.stderr
    assert "Repay every liability first" in result.stderr


def test_close_after_full_repayment_closes_the_unit(sim: Simulator) -> None:
    group = sim.group_ids[2]

    async def repay_everything() -> None:
        async with sim.client("credit", group) as client:
            (unit,) = await client.get_ltv_details()
            for debt in unit.liabilities:
                await client.repay(group_id=group, asset=debt.asset_name,
                                   amount=debt.principal + debt.interest)

    asyncio.run(repay_everything())
    result = run(sim, "close", str(group), "--yes")

    assert result.exit_code == 0, result.output
    assert f"Closed risk unit {group}" in result.stdout
    assert group not in sim.group_ids


def test_demo_tours_ltv_borrow_repay_history_and_budget_quickly(sim: Simulator) -> None:
    result = CliRunner().invoke(app, ["demo"], obj=Runtime(simulator=sim))

    assert result.exit_code == 0, result.output
    out = result.stdout
    for step in ("1. Risk units", "2. Borrow and repay", "3. A year of interest history",
                 "4. Rate budget used"):
        assert step in out
    assert "asyncio.gather" in out
    assert "interest-history" in out and "12,000" in out
    assert sim.execution_count(BORROW) == 1 and sim.execution_count(REPAY) == 1


def test_sim_with_given_keys_sends_those_keys_to_the_simulator(sim: Simulator) -> None:
    creds = sim.credentials("credit")

    result = CliRunner().invoke(
        app, ["--sim", "--api-key", creds.api_key, "--api-secret", creds.api_secret or "", "ltv"],
        obj=Runtime(simulator=sim),
    )

    assert result.exit_code == 0, result.output
    assert str(sim.group_ids[0]) in result.stdout
    assert str(sim.group_ids[1]) not in result.stdout  # a credit key sees its own unit only


def test_version_prints_the_package_version() -> None:
    from binance_instloan import __version__

    result = CliRunner().invoke(app, ["--version"])

    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "binance_instloan", "--sim", "max-borrowable", "USDT"],
        capture_output=True, text=True, timeout=60, check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("USDT")


# A None entry in sys.modules makes `import name` fail, as if the package were not installed.
_WITHOUT_CLI_EXTRA = "import sys; sys.modules.update(typer=None, rich=None, click=None); "


def test_the_package_and_simulator_import_without_typer_or_rich() -> None:
    code = _WITHOUT_CLI_EXTRA + (
        "import binance_instloan, binance_instloan.simulator, binance_instloan._cli; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_the_command_line_without_the_cli_extra_says_what_to_install() -> None:
    code = _WITHOUT_CLI_EXTRA + "from binance_instloan._cli import main; main(['--help'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)

    assert done.returncode == 1
    assert 'pip install ".[cli]"' in done.stderr
