"""``binance-instloan simulate``: the simulator over real TCP, used with --base-url."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from binance_instloan._cli._app import app


@pytest.fixture
def simulator_process() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m binance_instloan simulate --port 0`` and the lines it printed on start."""
    process = subprocess.Popen(
        [sys.executable, "-m", "binance_instloan", "simulate", "--port", "0",
         "--history-days", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield process, read_until(process, "Try: ")
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    """The process's stdout lines up to the one starting with ``marker`` (30 s at most)."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()
    # A thread: select() cannot see lines already pulled into the text buffer.
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(line.rstrip("\n"))
        if line.startswith(marker):
            return seen
    raise AssertionError(f"the simulator did not start: {seen}")


def test_simulate_prints_a_base_url_and_working_test_credentials(
    simulator_process: tuple[subprocess.Popen[str], list[str]],
) -> None:
    _, lines = simulator_process
    base_url = next(line.split(": ", 1)[1] for line in lines if line.startswith("base_url: "))
    credit = next(line for line in lines if line.strip().startswith("credit, unit"))
    key = re.search(r"api_key=(\S+)", credit)
    secret = re.search(r"api_secret=(\S+)", credit)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
    assert key and secret

    result = CliRunner().invoke(app, [
        "--base-url", base_url, "--api-key", key[1], "--api-secret", secret[1],
        "max-borrowable", "USDT",
    ])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("USDT")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_the_simulator_cleanly(
    simulator_process: tuple[subprocess.Popen[str], list[str]], stop: signal.Signals,
) -> None:
    process, _ = simulator_process

    process.send_signal(stop)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 0
    assert "Simulator stopped." in stderr


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (an exited process waiting to be reaped does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_simulate_started_in_the_background_by_a_script_stops_on_a_signal(
    tmp_path: Path, stop: signal.Signals,
) -> None:
    # A background job of a non-interactive shell inherits SIGINT ignored.
    log = tmp_path / "simulate.log"
    started = subprocess.run(
        ["bash", "-c", f'"$0" -m binance_instloan simulate --port 0 --history-days 1 '
                       f'>{shlex.quote(str(log))} 2>&1 & echo $!', sys.executable],
        capture_output=True, text=True, check=True, timeout=30,
    )
    pid = int(started.stdout)
    try:
        deadline = time.monotonic() + 60
        while "Try: " not in log.read_text():
            assert _running(pid) and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

        os.kill(pid, stop)

        deadline = time.monotonic() + 60
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid), "the simulator ignored the signal"
        assert "Simulator stopped." in log.read_text()
    finally:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(("flag", "expected"), [([], True), (["--no-sapi-bans"], False)])
def test_simulate_passes_the_sapi_ban_setting_to_the_simulator(
    monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: bool,
) -> None:
    from binance_instloan._cli import _simulate

    seen: list[object] = []

    async def serve_once(runtime: object, **kwargs: object) -> None:
        seen.append(kwargs["sapi_bans"])

    monkeypatch.setattr(_simulate, "serve_forever", serve_once)
    result = CliRunner().invoke(app, ["simulate", "--port", "0", *flag])

    assert result.exit_code == 0, result.output
    assert seen == [expected]
