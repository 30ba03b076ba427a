"""``history``: stream a history endpoint to CSV, JSON Lines or a table, resumably.

The rows come from the client's ``iter_*`` methods (windows and pages handled there). Each row
is written as one whole line and flushed, and the iterator's position is kept, so an
interrupted export says exactly how far it got and how to continue.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, TextIO

import attrs
from rich.console import Console

from .._models import (
    BorrowRepayRecord,
    ClosedRiskUnit,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateRecord,
    InterestRecord,
)
from .._pagination import HistoryIterator, Position
from ._budget import WaitMeter
from ._output import Format, make_writer
from ._progress import ExportProgress
from ._session import Role, Session

Filter = Literal["group_id", "asset", "type"]


@attrs.frozen
class Kind:
    """One ``history`` source: which iterator, which model, which filters apply."""

    method: str
    model: type
    role: Role
    ranged: bool = True
    since_required: bool = True
    filters: frozenset[Filter] = frozenset()
    types: tuple[str, ...] = ()
    type_required: bool = False


KINDS: Final[Mapping[str, Kind]] = {
    "interest": Kind(
        "iter_interest_history", InterestRecord, "credit",
        filters=frozenset({"group_id", "asset"}),
    ),
    "borrow-repay": Kind(
        "iter_borrow_repay_records", BorrowRepayRecord, "credit",
        filters=frozenset({"group_id", "asset", "type"}), types=("BORROW", "REPAY"),
        type_required=True,
    ),
    "liquidations": Kind(
        "iter_force_liquidations", ForceLiquidation, "credit", filters=frozenset({"group_id"}),
    ),
    "liquidation-transfers": Kind(
        "iter_force_liquidation_transfers", ForceLiquidationTransfer, "credit",
    ),
    "closed": Kind(
        "iter_closed_risk_units", ClosedRiskUnit, "credit", ranged=False, since_required=False,
    ),
    "rebates": Kind(
        "iter_interest_rebate_records", InterestRebateRecord, "parent", since_required=False,
        filters=frozenset({"type"}), types=("ADD", "DEDUCT", "INTEREST_OFFSET"),
    ),
}


class UsageProblem(ValueError):
    """A history request that does not fit its source; the message says why."""


@attrs.frozen
class ExportRequest:
    kind: str
    since: datetime | None = None
    until: datetime | None = None
    group_id: int | None = None
    asset: str | None = None
    type: str | None = None
    format: Format = "table"
    output: str | None = None
    resume: Position | None = None
    progress: bool | None = None  # None: when stderr is a terminal

    def check(self) -> Kind:
        kind = KINDS[self.kind]
        given: dict[Filter, object] = {
            "group_id": self.group_id, "asset": self.asset, "type": self.type,
        }
        for name, value in given.items():
            if value is not None and name not in kind.filters:
                raise UsageProblem(f"--{name.replace('_', '-')} does not apply to {self.kind}")
        if not kind.ranged and (self.since is not None or self.until is not None):
            raise UsageProblem(f"{self.kind} has no time range: drop --since/--until")
        if kind.since_required and self.since is None:
            raise UsageProblem(f"{self.kind} needs --since (e.g. --since 365d or 2025-01-01)")
        if kind.type_required and self.type is None:
            raise UsageProblem(f"{self.kind} needs --type ({' or '.join(kind.types)})")
        if self.type is not None and self.type.upper() not in kind.types:
            raise UsageProblem(f"--type for {self.kind} is one of {', '.join(kind.types)}")
        if self.resume is not None and self.output is None:
            raise UsageProblem("--resume appends to a file: give the same --output")
        return kind

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.resume is not None:
            # The position pins the range, so a relative --since (365d) resumes the same walk.
            if self.resume.start_ms is not None:
                args["start_time"] = self.resume.start_ms
            if self.resume.end_ms is not None:
                args["end_time"] = self.resume.end_ms
        else:
            if self.since is not None:
                args["start_time"] = self.since
            if self.until is not None:
                args["end_time"] = self.until
        if self.group_id is not None:
            args["group_id"] = self.group_id
        if self.asset is not None:
            args["asset"] = self.asset
        if self.type is not None:
            args["type"] = self.type.upper()
        if self.resume is not None:
            args["resume"] = self.resume
        return args


@attrs.define
class ExportState:
    """How far an export got; read after it ends, however it ends."""

    rows_written: int = 0
    position: Position | None = None
    windows_done: int = 0
    windows_total: int = 0
    requests_made: int = 0
    seconds_waiting: float = 0.0
    elapsed: float = 0.0
    finished: bool = False

    def track(
        self, iterator: HistoryIterator[Any], meter: WaitMeter, *, position: bool = True,
    ) -> None:
        if position:
            self.position = iterator.position
        self.windows_done = iterator.windows_done
        self.windows_total = iterator.windows_total
        self.requests_made = iterator.requests_made
        self.seconds_waiting = meter.seconds_waiting


async def export(
    session: Session, request: ExportRequest, state: ExportState, err_console: Console,
) -> None:
    """Write every row of ``request`` to its output, keeping ``state`` current."""
    kind = request.check()
    started = time.monotonic()
    out, close = _open(request)
    try:
        async with session.client(kind.role, request.group_id) as client:
            meter = WaitMeter.attach(client)
            iterator: HistoryIterator[Any] = getattr(client, kind.method)(**request.arguments())
            state.track(iterator, meter)
            writer = make_writer(
                request.format, out, kind.model,
                header=request.resume is None or _empty(request.output),
                color=request.output is None and out.isatty(),
            )
            show = (
                request.progress if request.progress is not None
                else err_console.is_terminal and (request.output is not None or not out.isatty())
            )
            with ExportProgress(err_console, request.kind, enabled=show) as progress:
                try:
                    async with iterator:
                        async for row in iterator:
                            writer.write(row)
                            state.rows_written += 1
                            # Taken after the write: an interrupt between receiving a row
                            # and writing it must not skip that row on resume.
                            state.position = iterator.position
                            progress.update(
                                iterator, state.rows_written, waited=meter.seconds_waiting,
                            )
                    state.finished = True
                finally:
                    state.track(iterator, meter, position=state.finished)
                    state.elapsed = time.monotonic() - started
                    progress.update(iterator, state.rows_written,
                                    waited=state.seconds_waiting, force=True)
    finally:
        if close:
            out.close()


def _open(request: ExportRequest) -> tuple[TextIO, bool]:
    if request.output is None or request.output == "-":
        return sys.stdout, False
    if request.resume is not None:
        return open(request.output, "a", encoding="utf-8", newline=""), True
    return open(request.output, "w", encoding="utf-8", newline=""), True


def _empty(path: str | None) -> bool:
    return path is None or not os.path.exists(path) or os.path.getsize(path) == 0


def summary(request: ExportRequest, state: ExportState) -> str:
    where = request.output if request.output not in (None, "-") else "stdout"
    text = (
        f"{_count(state.rows_written, 'row')} written to {where} ({state.windows_done}/"
        f"{_count(state.windows_total, 'window')}, {_count(state.requests_made, 'request')}, "
        f"{state.elapsed:.1f} s"
    )
    return text + f", {state.seconds_waiting:.1f} s waiting for rate budget)"


def stopped(request: ExportRequest, state: ExportState, *, why: str) -> list[str]:
    """What to print when the export stopped early: how far it got and how to go on."""
    lines = [f"{why}: {summary(request, state)}. The output holds whole lines only."]
    if state.position is not None:
        saved = json.dumps(state.position.to_dict(), separators=(",", ":"))
        lines.append(f"Resume position: {saved}")
        if request.output not in (None, "-"):
            lines.append(f"To continue, run the same command with --resume '{saved}'")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
