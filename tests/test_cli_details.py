"""Small things a careful reader notices: dates, plurals."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from binance_instloan._cli._progress import ExportProgress
from tests._cli_process import TIMEOUT, cli


def test_a_fresh_simulator_shows_its_units_updated_within_the_hour() -> None:
    result = cli("--sim", "ltv")

    assert result.returncode == 0, result.stderr
    updated = re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)Z", result.stdout)
    assert updated
    for text in updated:
        age = datetime.now(UTC) - datetime.fromisoformat(text).replace(tzinfo=UTC)
        assert timedelta(0) <= age <= timedelta(hours=1, minutes=5), text


def test_the_progress_bar_says_1_row_and_1_request() -> None:
    class Counters:
        rows_yielded, windows_done, windows_total, requests_made = 1, 1, 1, 1

    buffer = io.StringIO()

    with ExportProgress(Console(file=buffer, force_terminal=True, width=160), "x") as bar:
        bar.update(Counters(), 1, force=True)

    shown = buffer.getvalue()
    assert "1 row " in shown and "1 request " in shown
    assert "1 rows" not in shown and "1 requests" not in shown


def test_every_install_hint_works_from_a_clone() -> None:
    root = Path(__file__).resolve().parent.parent
    texts = [root / "README.md", *sorted((root / "binance_instloan").rglob("*.py"))]

    for path in texts:
        assert "binance-instloan[" not in path.read_text(encoding="utf-8"), path


def test_without_the_cli_extra_the_hint_is_a_command_that_works_from_a_clone() -> None:
    code = ("import sys; sys.modules['typer'] = None; "
            "from binance_instloan._cli import main; main(['--help'])")

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)

    assert done.returncode == 1
    assert 'pip install ".[cli]"' in done.stderr
