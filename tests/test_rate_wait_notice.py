"""A long wait for rate budget is never silent: the SDK logs it, the CLI says it on stderr."""

from __future__ import annotations

import asyncio
import logging

import pytest
from typer.testing import CliRunner

from binance_instloan import RateLimiter, RateLimits
from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator
from tests._virtual_time import EPOCH

IP = "IP:/sapi/v1/margin/loan-group/ltv-details"


async def waiting_request(limiter: RateLimiter, weight: int) -> None:
    """Queue a request behind a full bucket, then withdraw it (nothing is ever sent)."""
    task = asyncio.create_task(limiter.acquire(IP, weight))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_wait_of_a_minute_is_logged_at_info_with_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RateLimiter(RateLimits(ip_weight=200), now=lambda: EPOCH + 1)
    (await limiter.acquire(IP, 200)).release()

    with caplog.at_level(logging.INFO, logger="binance_instloan"):
        await waiting_request(limiter, 200)

    (record,) = [r for r in caplog.records if hasattr(r, "rate_budget_wait")]
    assert record.levelno == logging.INFO and record.name == "binance_instloan"
    assert record.rate_budget_wait == pytest.approx(59, abs=1)
    assert "waiting 59 s for rate budget" in record.getMessage()
    assert record.getMessage().endswith("until 22:15:00Z")


async def test_a_wait_of_a_second_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(RateLimits(ip_weight=200, window_seconds=1), now=lambda: EPOCH)
    (await limiter.acquire(IP, 200)).release()

    with caplog.at_level(logging.INFO, logger="binance_instloan"):
        await waiting_request(limiter, 200)

    assert not [r for r in caplog.records if hasattr(r, "rate_budget_wait")]


def test_the_cli_says_why_and_until_when_it_waits_for_rate_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Scaled down: one page per 1 s window, and any wait over 0.3 s counts as long. The third
    # page waits (almost) a whole window whatever the timing of the first two.
    monkeypatch.setattr("binance_instloan._limiter.WAIT_LOG_SECONDS", 0.3)
    sim = Simulator(seed=11, history_days=13, ip_weight_limit=10, window_seconds=1)
    runtime = Runtime(simulator=sim, client_kwargs={
        "rate_limits": RateLimits(ip_weight=10, window_seconds=1),
    })

    result = CliRunner().invoke(app, [
        "--sim", "history", "interest", "--since", "12d", "--asset", "USDT", "-f", "csv",
    ], obj=runtime)

    assert result.exit_code == 0, result.output
    assert "Note: waiting" in result.stderr
    assert "for rate budget" in result.stderr and "until " in result.stderr
