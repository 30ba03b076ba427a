"""Failures on the command line: one clear line, a distinct exit code, never a credential."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from binance_instloan import RateLimits
from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator

LTV = "/sapi/v1/margin/loan-group/ltv-details"
BORROW = "/sapi/v1/margin/loan-group/borrow"
NO_ENV_KEYS = {"BINANCE_API_KEY": None, "BINANCE_API_SECRET": None, "BINANCE_PRIVATE_KEY": None}


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5)


def run(sim: Simulator, *args: str, **client_kwargs: Any) -> Result:
    runtime = Runtime(simulator=sim, client_kwargs=client_kwargs)
    return CliRunner().invoke(app, ["--sim", *args], obj=runtime, env=NO_ENV_KEYS)


def one_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_unknown_keys_give_binance_code_message_and_what_to_check(sim: Simulator) -> None:
    result = run(sim, "--api-key", "NotAKeyTheSimulatorKnows", "--api-secret", "s3cr3t", "ltv")

    assert result.exit_code == 6
    line = one_line(result)
    assert "code -2015" in line and "Invalid API-key, IP, or permissions" in line
    assert "IP whitelist" in line


def test_debug_shows_the_traceback_but_never_the_secret(sim: Simulator) -> None:
    secret = "TopSecretValue0123456789"

    result = run(sim, "--debug", "--api-key", "NotAKeyTheSimulatorKnows",
                 "--api-secret", secret, "ltv")

    assert result.exit_code == 6
    assert "Traceback" in result.stderr
    assert "AuthenticationError" in result.stderr
    assert secret not in result.output


def test_a_banned_ip_prints_until_when_and_stops_at_once(sim: Simulator) -> None:
    banning = Simulator(seed=5, ip_weight_limit=100, ban_after_violations=1, ban_seconds=3600)

    async def get_banned() -> None:
        # ltv-details weighs 200, over this simulator's budget of 100: a 429 that bans the IP.
        async with httpx.AsyncClient(transport=banning.transport(),
                                     base_url=banning.base_url) as http:
            assert (await http.get(LTV)).status_code == 429
            banned = await http.get("/api/v3/time")
            assert banned.status_code == 418 and banned.headers["Retry-After"] == "3600"

    asyncio.run(get_banned())
    result = run(banning, "ltv")

    assert result.exit_code == 7
    line = one_line(result)
    assert "banned" in line and "HTTP 418" in line
    assert "do not retry earlier" in line


def test_a_rate_limit_answer_longer_than_the_pause_ceiling_exits_at_once(sim: Simulator) -> None:
    sim.add_fault("error_code", path=LTV, code=-1003)

    result = run(sim, "ltv", rate_limits=RateLimits(max_pause_seconds=0.01))

    assert result.exit_code == 7
    line = one_line(result)
    assert "weight limit" in line and "HTTP 429" in line


def test_missing_credentials_without_sim_name_the_variables_and_the_sim_flag() -> None:
    result = CliRunner().invoke(app, ["ltv"], env=NO_ENV_KEYS)

    assert result.exit_code == 4
    line = one_line(result)
    assert "BINANCE_API_KEY" in line and "--sim" in line


def test_an_unknown_outcome_says_it_was_not_resent_and_how_to_check(sim: Simulator) -> None:
    group = sim.group_ids[0]
    sim.add_fault("read_timeout", path=BORROW)

    result = run(sim, "borrow", str(group), "USDT", "10", "--yes")

    assert result.exit_code == 8
    first, *guidance = result.stderr.splitlines()
    assert first.startswith("error: OUTCOME UNKNOWN") and "NOT re-sent" in first
    assert any(f"history borrow-repay --type BORROW --group-id {group}" in g for g in guidance)
    assert any("resolve_outcome" in g for g in guidance)
    assert sim.execution_count(BORROW) == 1  # it did execute, once


def test_a_server_error_on_a_read_exits_with_the_server_code(sim: Simulator) -> None:
    sim.add_fault("status", path=LTV, status=500, times=None)

    result = run(sim, "ltv", max_retries=0)

    assert result.exit_code == 11
    assert "HTTP 500" in one_line(result)


def test_a_firewall_page_is_reported_as_refused(sim: Simulator) -> None:
    sim.add_fault("html_403", path=LTV)

    result = run(sim, "ltv")

    assert result.exit_code == 10
    assert "firewall" in one_line(result)


def test_a_connection_failure_exits_with_the_connection_code(sim: Simulator) -> None:
    sim.add_fault("connect_error", path=LTV, times=None)

    result = run(sim, "ltv", max_retries=0)

    assert result.exit_code == 9
    assert "could not reach Binance" in one_line(result)


def test_an_invalid_parameter_is_refused_before_sending(sim: Simulator) -> None:
    result = run(sim, "add-member", str(sim.group_ids[0]), "not-an-email", "--yes")

    assert result.exit_code == 5
    line = one_line(result)
    assert "sub_email" in line and "nothing was sent" in line
    assert sim.execution_count() == 0
