"""``history --resume`` is idempotent: only the file an export left, at the position it stopped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import Result

from binance_instloan.simulator import Simulator
from tests.test_cli_history import ctrl_c, interrupt_interest_export, run


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(seed=11, history_days=60)


@pytest.fixture(scope="module")
def window() -> list[str]:
    now = datetime.now(UTC)
    return ["--since", f"{now - timedelta(days=50):%Y-%m-%d}",
            "--until", f"{now - timedelta(days=10):%Y-%m-%d}", "-f", "csv"]


def interrupted(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], out: Path | None,
    rows: int = 300, *extra: str,
) -> tuple[Result, str]:
    """An export stopped by Ctrl-C after ``rows`` rows, and the position it printed."""
    target = ["-o", str(out)] if out is not None else []
    with monkeypatch.context() as patch:
        interrupt_interest_export(patch, rows=rows, interrupt=ctrl_c)
        result = run(sim, "interest", *window, *target, *extra)
    assert result.exit_code == 130, result.output
    position = result.stderr.split("Resume position: ", 1)[1].splitlines()[0]
    return result, position


def test_resuming_twice_is_refused_and_leaves_the_file_as_it_was(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], tmp_path: Path,
) -> None:
    out = tmp_path / "interest.csv"
    _, position = interrupted(sim, monkeypatch, window, out)
    assert run(sim, "interest", *window, "-o", str(out), "--resume", position).exit_code == 0
    complete = out.read_text()

    again = run(sim, "interest", *window, "-o", str(out), "--resume", position)

    assert again.exit_code == 2
    assert "holds no interrupted export to continue" in again.stderr
    assert out.read_text() == complete


def test_a_finished_export_resumed_leaves_every_row_once(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], tmp_path: Path,
) -> None:
    whole, resumed = tmp_path / "whole.csv", tmp_path / "resumed.csv"
    assert run(sim, "interest", *window, "-o", str(whole)).exit_code == 0
    _, position = interrupted(sim, monkeypatch, window, resumed)

    run(sim, "interest", *window, "-o", str(resumed), "--resume", position)
    run(sim, "interest", *window, "-o", str(resumed), "--resume", position)

    assert resumed.read_text() == whole.read_text()


def test_resuming_into_a_new_file_is_refused(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], tmp_path: Path,
) -> None:
    _, position = interrupted(sim, monkeypatch, window, tmp_path / "first.csv")

    result = run(sim, "interest", *window, "-o", str(tmp_path / "new.csv"), "--resume", position)

    assert result.exit_code == 2
    assert "missing or empty" in result.stderr
    assert not (tmp_path / "new.csv").exists()


def test_resuming_from_an_older_position_is_refused_and_names_the_right_one(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], tmp_path: Path,
) -> None:
    out = tmp_path / "interest.csv"
    _, first = interrupted(sim, monkeypatch, window, out, 300)
    _, second = interrupted(sim, monkeypatch, window, out, 200, "--resume", first)

    result = run(sim, "interest", *window, "-o", str(out), "--resume", first)

    assert result.exit_code == 2
    assert "did not stop at this position" in result.stderr
    assert second in result.stderr.replace("\n", "")


def test_a_file_changed_since_it_stopped_is_not_resumed(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str], tmp_path: Path,
) -> None:
    out = tmp_path / "interest.csv"
    _, position = interrupted(sim, monkeypatch, window, out)
    with out.open("a") as f:
        f.write("an extra line\n")

    result = run(sim, "interest", *window, "-o", str(out), "--resume", position)

    assert result.exit_code == 2
    assert "changed since its export stopped" in result.stderr


def test_an_interrupted_export_to_stdout_says_how_to_continue_and_continuing_completes_it(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, window: list[str],
) -> None:
    whole = run(sim, "interest", *window)
    first, position = interrupted(sim, monkeypatch, window, None)

    rest = run(sim, "interest", *window, "--resume", position)

    assert "To continue, run the same command with --resume" in first.stderr
    assert rest.exit_code == 0, rest.output
    assert first.stdout + rest.stdout == whole.stdout
