"""The README's snippets as a user runs them: a file run by Python in its own process, with
only environment variables pointing it at ``binance-instloan simulate`` in another process."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli_simulate import read_until
from tests.test_readme import PYTHON

TIMEOUT = 120  # generous: the tests assert what happens, never how fast


@pytest.fixture(scope="module")
def exports() -> Iterator[dict[str, dict[str, str]]]:
    """The environment each ``export`` line printed by ``simulate`` sets, by key kind."""
    process = subprocess.Popen(
        [sys.executable, "-m", "binance_instloan", "simulate", "--port", "0",
         "--history-days", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        lines = read_until(process, "Try: ")
        found: dict[str, dict[str, str]] = {}
        for comment, line in itertools.pairwise(lines):
            if line.startswith("export "):
                kind = "parent" if "parent key" in comment else "credit"
                found[kind] = dict(w.split("=", 1) for w in shlex.split(line)[1:])
        yield found
    finally:
        process.terminate()
        process.communicate(timeout=TIMEOUT)


def snippet(starting: str) -> str:
    (code,) = [code for _, code in PYTHON if starting in code]
    return code


def user_env(exported: dict[str, str]) -> dict[str, str]:
    """The user's environment: no keys of their own, then the pasted export line."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    return {**base, **exported}


def test_simulate_prints_an_export_line_for_a_parent_and_a_credit_key(
    exports: dict[str, dict[str, str]],
) -> None:
    assert exports.keys() == {"parent", "credit"}
    for variables in exports.values():
        assert variables.keys() == {"BINANCE_BASE_URL", "BINANCE_API_KEY", "BINANCE_API_SECRET"}
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", variables["BINANCE_BASE_URL"])


def test_every_python_snippet_says_which_key_it_needs() -> None:
    for line, code in PYTHON:
        assert re.match(r"# Key: (credit|parent|none)\b", code), f"README.md line {line}"


def test_the_bot_snippet_reaches_the_simulator_with_only_the_exported_variables(
    exports: dict[str, dict[str, str]], tmp_path: Path,
) -> None:
    script = tmp_path / "bot.py"
    script.write_text(snippet("async def check_once("))
    bot = subprocess.Popen(
        [sys.executable, str(script)], env=user_env(exports["credit"]), cwd=tmp_path,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert bot.stderr is not None
        for line in bot.stderr:  # the bot runs forever: read until its first round is logged
            assert "ConnectError" not in line and "check failed" not in line, line
            if re.search(r"unit \d+: LTV \d", line):
                break
        else:
            pytest.fail("the bot ended without logging an LTV")
    finally:
        bot.terminate()
        bot.communicate(timeout=TIMEOUT)


def run_script(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = cwd / "snippet.py"
    # Top-level await, as the README says: run it the way `python -m asyncio` would.
    script.write_text(
        "import asyncio\n\nasync def _snippet():\n"
        + "".join(f"    {line}\n" for line in code.splitlines())
        + "\nasyncio.run(_snippet())\n"
    )
    return subprocess.run(
        [sys.executable, str(script)], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=TIMEOUT,
    )


def test_the_resume_snippet_prints_every_row_again_on_its_next_run(
    exports: dict[str, dict[str, str]], tmp_path: Path,
) -> None:
    code = snippet('checkpoint = Path("repays.position.json")')
    env = user_env(exports["credit"])

    first = run_script(code, env, tmp_path)
    second = run_script(code, env, tmp_path)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.count("REPAY") > 0
    assert second.stdout == first.stdout
    assert not (tmp_path / "repays.position.json").exists()
