"""Running ``binance-instloan`` the way a user does: a separate process, real stdin/stdout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

TIMEOUT = 120  # generous: a busy machine may be slow, the test asserts no time


def cli(
    *args: str, input: str | None = "", env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m binance_instloan ARGS`` with no credentials in its environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("BINANCE_")}
    return subprocess.run(
        [sys.executable, "-m", "binance_instloan", *args],
        input=input, capture_output=True, text=True, timeout=TIMEOUT,
        env={**base, "COLUMNS": "200", **(env or {})}, cwd=cwd,
    )
