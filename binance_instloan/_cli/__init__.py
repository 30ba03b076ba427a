"""The ``binance-instloan`` command line (extra ``cli``: typer, rich, uvicorn).

Only this package imports typer and rich, and only when :func:`main` runs, so
``import binance_instloan`` never needs them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_CLI_PACKAGES = frozenset({"typer", "rich", "click"})


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exits the process with the command's exit code."""
    try:
        from ._app import app
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in _CLI_PACKAGES:
            raise
        sys.stderr.write(
            "binance-instloan: the command line needs the 'cli' extra: "
            'pip install ".[cli]" in a clone of the repository\n'
        )
        raise SystemExit(1) from None
    app(args=None if argv is None else list(argv), prog_name="binance-instloan")
