"""``history``: stream a history endpoint to CSV, JSON Lines or a table, resumably.

The rows come from the client's ``iter_*`` methods (windows and pages handled there). Each row
is written as one whole line and flushed, and the iterator's position is kept, so an
interrupted export says exactly how far it got and how to continue.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Literal, TextIO

import attrs
from rich.console import Console

from .._errors import InstLoanError
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
        if self.output not in (None, "-"):
            _check_writable(self.output)
            if self.resume is not None:
                _check_resumable(self.output, self.resume)
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
                # A resumed export continues a file (checked non-empty) or earlier output.
                header=request.resume is None,
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
            _record_stop(request, state)


def checkpoint_path(output: str) -> str:
    """Where an interrupted export to ``output`` records where that file stopped."""
    return output + ".resume.json"


def _saved_position(position: Position) -> str:
    return json.dumps(position.to_dict(), separators=(",", ":"))


def _check_resumable(path: str, resume: Position) -> None:
    """Resume only the export that stopped at exactly this position, into the file it left.

    The checkpoint written when an export stops is removed when one finishes, so resuming
    twice, resuming a finished file, or resuming into a new file is refused instead of
    duplicating rows or writing a file that silently lacks its beginning.
    """
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        raise UsageProblem(
            f"--resume continues an interrupted export, but {path} is missing or empty, so the "
            "rows before the position would be lost. Give the file that export wrote, or "
            "run without --resume to export everything"
        )
    try:
        with open(checkpoint_path(path), encoding="utf-8") as f:
            saved = json.load(f)
        stopped_at = Position.from_dict(saved["position"])
        size = int(saved["bytes"])
    except FileNotFoundError:
        raise UsageProblem(
            f"{path} holds no interrupted export to continue (it finished, was already "
            "resumed, or was not written by an interrupted export): resuming would duplicate "
            "rows. Run without --resume to export it again"
        ) from None
    except (ValueError, KeyError, TypeError, InstLoanError) as exc:
        raise UsageProblem(
            f"cannot read {checkpoint_path(path)} ({exc}): run without --resume to export "
            "again"
        ) from None
    if stopped_at != resume:
        raise UsageProblem(
            f"{path} did not stop at this position (resuming from it would skip or repeat "
            f"rows); it stopped at --resume '{_saved_position(stopped_at)}'"
        )
    if os.path.getsize(path) != size:
        raise UsageProblem(
            f"{path} changed since its export stopped ({os.path.getsize(path):,} bytes, not "
            f"{size:,}): resuming could repeat or skip rows. Run without --resume to export "
            "again"
        )


def _record_stop(request: ExportRequest, state: ExportState) -> None:
    """Keep, next to an output file, where its export stopped; forget it once finished."""
    if request.output in (None, "-"):
        return
    checkpoint = checkpoint_path(request.output)
    if state.finished or state.position is None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(checkpoint)
        return
    record = {
        "position": state.position.to_dict(),
        "bytes": os.path.getsize(request.output),
        "rows_written": state.rows_written,
    }
    temporary = checkpoint + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(record, f)
    os.replace(temporary, checkpoint)  # whole or absent, even if we are stopped again now


def _check_writable(path: str) -> None:
    """Refuse an output file that cannot be written before any request is made."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageProblem(f"--output {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageProblem(f"--output {path} is a folder: name a file")
    target = path if os.path.exists(path) else folder
    if not os.access(target, os.W_OK):
        raise UsageProblem(f"--output {path}: {target} is not writable")


def _open(request: ExportRequest) -> tuple[TextIO, bool]:
    if request.output is None or request.output == "-":
        return sys.stdout, False
    if request.resume is not None:
        return open(request.output, "a", encoding="utf-8", newline=""), True
    return open(request.output, "w", encoding="utf-8", newline=""), True


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
        saved = _saved_position(state.position)
        lines.append(f"Resume position: {saved}")
        if request.output not in (None, "-"):
            lines.append(f"To continue, run the same command with --resume '{saved}'")
        else:
            lines.append(
                f"To continue, run the same command with --resume '{saved}': it prints the "
                "remaining rows, without a header, to add after the ones printed here"
            )
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
