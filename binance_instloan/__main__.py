"""``python -m binance_instloan``: the same command line as ``binance-instloan``."""

from __future__ import annotations

from ._cli import main

if __name__ == "__main__":
    main()
