"""What a person sees in a real terminal: tables never cut a number across lines."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time

import pytest

from binance_instloan._cli._output import display
from binance_instloan.simulator import Simulator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def in_terminal(columns: int, *args: str) -> list[str]:
    """The lines ``binance-instloan ARGS`` shows in a terminal ``columns`` wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "CI") and not k.startswith("BINANCE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "binance_instloan", *args],
        stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm"}, close_fds=True,
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
        process.wait(timeout=120)
    text = _ANSI.sub("", output.decode()).replace("\r\n", "\n")
    return [line.rstrip() for line in text.splitlines()]


def money_of_a_fresh_simulator() -> list[str]:
    """Every number ``ltv`` shows on ``--sim`` (seed 0), as it displays them."""

    async def fetch() -> list[str]:
        async with Simulator(seed=0, history_days=365).client("parent") as client:
            units = await client.get_ltv_details()
        return [display(v) for u in units for v in (
            u.ltv, u.total_liability, u.total_net_equity, u.total_maintenance_margin,
            u.max_transfer_out_amount, *(d.principal for d in u.liabilities),
        )]

    return asyncio.run(fetch())


@pytest.mark.parametrize("columns", [80, 120])
def test_ltv_shows_every_amount_whole_on_one_line_and_fits_the_terminal(columns: int) -> None:
    lines = in_terminal(columns, "--sim", "ltv")

    assert lines and all(len(line) <= columns for line in lines), lines
    tokens = {token for line in lines for token in line.split()}
    for amount in money_of_a_fresh_simulator():
        assert amount in tokens, (amount, lines)


def test_ltv_is_a_table_at_120_columns_and_one_block_per_unit_at_80() -> None:
    wide = in_terminal(120, "--sim", "ltv")
    narrow = in_terminal(80, "--sim", "ltv")

    assert wide[0].split()[:3] == ["group", "LTV", "liability"]
    assert [line for line in narrow if line.startswith("group ")] == [
        "group 10001", "group 10002", "group 10003",
    ]
