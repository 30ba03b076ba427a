"""The export progress bar on stderr: rows, windows done, requests, time waiting for budget."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


def count(n: int, noun: str) -> str:
    """``1 row``, ``2 rows``, ``1,500 rows``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


class Trackable(Protocol):
    """The counters a history iterator exposes (``HistoryIterator``)."""

    @property
    def rows_yielded(self) -> int: ...

    @property
    def windows_done(self) -> int: ...

    @property
    def windows_total(self) -> int: ...

    @property
    def requests_made(self) -> int: ...


class ExportProgress:
    """A rich progress bar fed from an iterator's counters; throttled to a few updates a second.

    It writes only to ``console`` (stderr), never redirects stdout, so rows written to stdout
    stay there.
    """

    def __init__(self, console: Console, label: str, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} windows"),
            TextColumn("{task.fields[rows]}"),
            TextColumn("{task.fields[requests]}"),
            TextColumn("{task.fields[waiting]}"),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
            disable=not enabled,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            label, total=None, rows=count(0, "row"), requests=count(0, "request"), waiting=""
        )
        self._last = 0.0

    def __enter__(self) -> ExportProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(
        self, source: Trackable, rows_written: int, *, waited: float | None = None,
        force: bool = False,
    ) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self._progress.update(
            self._task,
            completed=source.windows_done,
            total=source.windows_total or None,
            rows=count(rows_written, "row"),
            requests=count(source.requests_made, "request"),
            waiting="" if waited is None else f"waited {waited:.1f} s for rate budget",
        )
