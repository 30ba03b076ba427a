"""Settings that cannot mean what the user meant are refused with a message that fits them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from binance_instloan._cli._app import app
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator, serve
from tests._cli_process import TIMEOUT, cli


@pytest.mark.parametrize("level", ["80", "1.5"])
def test_an_alert_level_above_1_is_refused_as_not_an_ltv(level: str) -> None:
    result = cli("--sim", "watch-ltv", "--alert-above", level, "--max-polls", "1")

    assert result.returncode == 2
    assert "is not an LTV" in result.stderr


def test_an_alert_level_in_percent_is_the_ratio() -> None:
    result = cli("--sim", "watch-ltv", "--alert-above", "0.1%", "--max-polls", "1")

    assert result.returncode == 3  # every simulated unit is above 0.001
    assert "is above 0.001" in result.stdout


def test_an_encrypted_private_key_is_used_with_binance_private_key_password(
    tmp_path: Path,
) -> None:
    from cryptography.hazmat.primitives import serialization

    sim = Simulator(seed=5, history_days=0)
    creds = sim.credentials("credit", key_type="ed25519")
    assert creds.private_key_pem is not None
    key = serialization.load_pem_private_key(creds.private_key_pem.encode(), password=None)
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    ))
    args = ["--sim", "--api-key", creds.api_key, "--private-key", str(pem),
            "max-borrowable", "USDT"]

    without = CliRunner().invoke(app, args, obj=Runtime(simulator=sim))
    with_password = CliRunner().invoke(
        app, args, obj=Runtime(simulator=sim),
        env={"BINANCE_PRIVATE_KEY_PASSWORD": "correct horse"},
    )

    assert without.exit_code == 4
    assert "BINANCE_PRIVATE_KEY_PASSWORD" in without.stderr
    assert with_password.exit_code == 0, with_password.output
    assert with_password.stdout.strip().endswith("USDT")


def test_an_output_in_a_missing_folder_is_a_usage_error_before_any_request() -> None:
    result = cli("--sim", "history", "interest", "--since", "2d",
                 "-o", "/nonexistent/dir/x.csv")

    assert result.returncode == 2
    assert "/nonexistent/dir does not exist" in result.stderr
    assert "unexpected error" not in result.stderr


def test_a_bad_base_url_gets_no_credentials_hint() -> None:
    result = cli("--base-url", "ftp://x", "--api-key", "k", "--api-secret", "s", "ltv")

    assert result.returncode == 4
    assert "ftp://x" in result.stderr
    assert "--api-secret" not in result.stderr


def test_missing_credentials_get_the_credentials_hint() -> None:
    result = cli("ltv")

    assert result.returncode == 4
    assert "--api-key with --api-secret or --private-key" in result.stderr


def test_an_age_before_binance_existed_is_refused_in_words() -> None:
    result = cli("--sim", "history", "interest", "--since", "99999d")

    assert result.returncode == 2
    assert "before any Binance record" in result.stderr
    assert "datetime" not in result.stderr


def test_the_since_error_lists_weeks() -> None:
    result = cli("--sim", "history", "interest", "--since", "5x")

    assert result.returncode == 2
    assert "2w" in result.stderr


def test_a_refused_export_is_not_followed_by_a_stopped_line() -> None:
    result = cli("--sim", "history", "borrow-repay", "--type", "BORROW", "--asset", "US DT",
                 "--since", "2d")

    assert result.returncode == 10
    assert "Stopped" not in result.stderr
    assert "rows written" not in result.stderr


async def test_a_base_url_with_a_path_is_reported_as_not_the_api_rather_than_unreachable(
) -> None:
    sim = Simulator(seed=5, history_days=0)
    creds = sim.credentials("credit")
    async with serve(sim, "127.0.0.1", 0) as base_url:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "binance_instloan", "--base-url", f"{base_url}/sapi",
            "--api-key", creds.api_key, "--api-secret", creds.api_secret or "",
            "max-borrowable", "USDT",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)

    assert process.returncode == 9
    assert "not as the Binance API" in stderr.decode()
    assert "could not reach" not in stderr.decode()
