"""``simulate``: the simulator over real TCP, for bots and tools that cannot run in-process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

import typer

from ..simulator import Simulator, serve
from ._session import Runtime


def _credentials(sim: Simulator) -> list[str]:
    lines = []
    parent = sim.credentials("parent")
    lines.append(f"  parent ({sim.parent_email}): api_key={parent.api_key} "
                 f"api_secret={parent.api_secret}")
    for group in sim.group_ids:
        credit = sim.credentials("credit", group)
        lines.append(f"  credit, unit {group} ({sim.credit_email(group)}): "
                     f"api_key={credit.api_key} api_secret={credit.api_secret}")
    spare = [a.email for a in sim.exchange.accounts.values()
             if a.role == "collateral" and a.group_id is None]
    if spare:
        lines.append(f"  sub-accounts in no risk unit (for add-member): {', '.join(spare)}")
    return lines


def _exports(sim: Simulator, base_url: str) -> list[str]:
    """Shell lines that point ``AsyncInstLoanClient()`` (and the CLI) at this simulator."""
    parent = sim.credentials("parent")
    credit = sim.credentials("credit")
    return [
        "# With the parent key (ltv of every unit, units, add-member, rebates):",
        f"export BINANCE_BASE_URL={base_url} BINANCE_API_KEY={parent.api_key} "
        f"BINANCE_API_SECRET={parent.api_secret}",
        f"# Or with the credit key of unit {sim.group_ids[0]} (borrow, repay, history, "
        "max-borrowable, close):",
        f"export BINANCE_BASE_URL={base_url} BINANCE_API_KEY={credit.api_key} "
        f"BINANCE_API_SECRET={credit.api_secret}",
    ]


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _on_stop_signals(stop: asyncio.Event) -> Iterator[None]:
    """End the serve loop on SIGINT or SIGTERM, whatever dispositions we inherited.

    A background job of a non-interactive shell (``simulate &`` in a script) starts with
    SIGINT ignored, so Python installs no KeyboardInterrupt handler: installing ours
    explicitly makes Ctrl-C / ``kill -INT`` stop the process in every case.
    """
    loop = asyncio.get_running_loop()
    installed = []
    try:
        for signum in _STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    except (NotImplementedError, RuntimeError):
        pass  # no signal handlers here (Windows, or not the main thread): Ctrl-C only
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def serve_forever(
    runtime: Runtime, *, port: int, seed: int, history_days: int, sapi_bans: bool = True,
) -> None:
    """Serve until Ctrl-C or SIGTERM. A simulator given in ``runtime`` is served as it is."""
    sim = runtime.simulator or Simulator(seed=seed, history_days=history_days, sapi_bans=sapi_bans)
    stop = asyncio.Event()
    # The handler goes in before the address is printed: whoever reads it may stop us at once.
    with _on_stop_signals(stop):
        async with serve(sim, "127.0.0.1", port) as base_url:
            credit = sim.credentials("credit")
            typer.echo(f"Simulator serving on {base_url} (seed {sim.seed}, "
                       f"{len(sim.group_ids)} risk units). Ctrl-C stops it.")
            typer.echo(f"base_url: {base_url}")
            typer.echo("Test credentials (HMAC, valid only on this simulator):")
            for line in _credentials(sim):
                typer.echo(line)
            typer.echo("Point AsyncInstLoanClient() and binance-instloan at it:")
            for line in _exports(sim, base_url):
                typer.echo(line)
            typer.echo(
                f"Try: binance-instloan --base-url {base_url} --api-key {credit.api_key} "
                f"--api-secret {credit.api_secret} ltv"
            )
            await stop.wait()
