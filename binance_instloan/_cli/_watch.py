"""``watch-ltv``: poll risk-unit LTVs inside the weight budget and act when one is too high."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from .._client import AsyncInstLoanClient
from .._constants import ENDPOINTS
from .._models import RiskUnitDetails
from ._failures import ExitCode


def min_interval(client: AsyncInstLoanClient) -> float:
    """The shortest poll interval the ltv-details budget allows (200 of 12,000 per minute: 1 s).

    The client's limiter would pace faster polling anyway; polling no faster than this keeps
    the printed times honest and the budget's other users unblocked.
    """
    limits = client.rate_limits
    return ENDPOINTS["ltv_details"].weight * limits.window_seconds / limits.ip_weight


async def watch_ltv(
    client: AsyncInstLoanClient,
    *,
    group_id: int | None,
    interval: float,
    alert_above: Decimal,
    command: str | None,
    max_polls: int | None,
    console: Console,
    err_console: Console,
    sleep: Callable[[float], Awaitable[None]],
) -> ExitCode:
    """Poll until ``max_polls`` (exit OK) or, without ``command``, until an LTV exceeds
    ``alert_above`` (exit ALERT). With ``command``, run it each time a unit crosses upwards and
    keep watching; it gets ``INSTLOAN_GROUP_ID``, ``INSTLOAN_LTV`` and ``INSTLOAN_ALERT_ABOVE``.
    """
    floor = min_interval(client)
    if interval < floor:
        err_console.print(
            f"--interval {interval:g} s is faster than the ltv-details budget allows "
            f"(weight {ENDPOINTS['ltv_details'].weight} of {client.rate_limits.ip_weight:,} per "
            f"{client.rate_limits.window_seconds:g} s); polling every {floor:g} s instead",
            markup=False, highlight=False,
        )
        interval = floor
    last: dict[int, Decimal] = {}
    above: set[int] = set()
    polls = 0
    while True:
        units = await client.get_ltv_details(group_id=group_id)
        polls += 1
        if not units and polls == 1:
            err_console.print(
                "no risk unit is visible to this key (ltv-details returned an empty list)",
                markup=False, highlight=False,
            )
        crossed = []
        for unit in units:
            _report_change(console, unit, last.get(unit.group_id))
            last[unit.group_id] = unit.ltv
            if unit.ltv <= alert_above:
                above.discard(unit.group_id)
            elif unit.group_id not in above:
                above.add(unit.group_id)
                crossed.append(unit)
        for unit in crossed:
            console.print(
                f"{_now()} ALERT unit {unit.group_id}: LTV {unit.ltv} is above {alert_above}",
                markup=False, highlight=False,
            )
            if command is not None:
                await _run_command(command, unit, alert_above, err_console)
        if crossed and command is None:
            return ExitCode.ALERT
        if max_polls is not None and polls >= max_polls:
            return ExitCode.OK
        await sleep(interval)


def _report_change(console: Console, unit: RiskUnitDetails, before: Decimal | None) -> None:
    if before is None:
        console.print(
            f"{_now()} unit {unit.group_id}: LTV {unit.ltv} (liability {unit.total_liability}, "
            f"net equity {unit.total_net_equity})", markup=False, highlight=False,
        )
    elif unit.ltv != before:
        console.print(
            f"{_now()} unit {unit.group_id}: LTV {before} -> {unit.ltv}",
            markup=False, highlight=False,
        )


async def _run_command(
    command: str, unit: RiskUnitDetails, alert_above: Decimal, err_console: Console,
) -> None:
    env = {
        **os.environ,
        "INSTLOAN_GROUP_ID": str(unit.group_id),
        "INSTLOAN_LTV": str(unit.ltv),
        "INSTLOAN_ALERT_ABOVE": str(alert_above),
    }
    process = await asyncio.create_subprocess_shell(command, env=env)
    code = await process.wait()
    if code != 0:
        err_console.print(f"--exec command exited with status {code}", markup=False)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
