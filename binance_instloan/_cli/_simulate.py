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


@contextlib.contextmanager
def _on_sigterm(stop: asyncio.Event) -> Iterator[None]:
    """Let a supervisor's SIGTERM end the serve loop like Ctrl-C does."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    except (NotImplementedError, RuntimeError):
        yield  # no signal handlers here (Windows, or not the main thread): Ctrl-C only
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def serve_forever(runtime: Runtime, *, port: int, seed: int, history_days: int) -> None:
    """Serve until Ctrl-C or SIGTERM. A simulator given in ``runtime`` is served as it is."""
    sim = runtime.simulator or Simulator(seed=seed, history_days=history_days)
    stop = asyncio.Event()
    # The handler goes in before the address is printed: whoever reads it may stop us at once.
    with _on_sigterm(stop):
        async with serve(sim, "127.0.0.1", port) as base_url:
            credit = sim.credentials("credit")
            typer.echo(f"Simulator serving on {base_url} (seed {sim.seed}, "
                       f"{len(sim.group_ids)} risk units). Ctrl-C stops it.")
            typer.echo(f"base_url: {base_url}")
            typer.echo("Test credentials (HMAC, valid only on this simulator):")
            for line in _credentials(sim):
                typer.echo(line)
            typer.echo(
                f"Try: binance-instloan --base-url {base_url} --api-key {credit.api_key} "
                f"--api-secret {credit.api_secret} ltv"
            )
            await stop.wait()
