"""Walking whole histories through the one-page ``get_*`` methods.

A :class:`HistoryIterator` splits ``[start, end]`` into windows no longer than the endpoint
accepts (newest window first, inclusive millisecond edges, no gap and no overlap), pages each
window with ``size=100`` and yields the rows one by one, in the order the API gives them.

Pages can shift while a window is walked: a record that arrives after page 1 was read pushes
the rest down, so page 2 starts with rows already yielded. ``total`` says by how much the
listing grew; the rows themselves say where it grew. Rows are compared as whole records
against the last page yielded (the documented examples show distinct rows sharing a
``tranId``, and two rows may be fully identical), so the walk works with positions and counts,
never with a set of ids: no row is yielded twice and no two records are merged.

Fetching runs ahead of the consumer in tasks, at most ``concurrency`` requests in flight and
about twice that many pages held, so memory stays flat whatever the range. The tasks belong to
an async generator that cancels and awaits them when it ends: by exhaustion, an error,
``break`` (the generator is finalised as soon as the ``async for`` drops it), cancellation of
the consuming task, or :meth:`HistoryIterator.aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Generic, TypeVar, cast

import attrs

from . import _validation as v
from ._constants import DAY_MS, PAGE_SIZE_MAX
from ._errors import InvalidParameterError, InvalidParameterTypeError
from ._models import Page
from ._types import TimeLike

__all__ = ["DEFAULT_CONCURRENCY", "HistoryIterator", "PageFetcher", "Position", "resolve_range"]

T = TypeVar("T")

DEFAULT_CONCURRENCY: Final = 4
PAGE_SIZE: Final = PAGE_SIZE_MAX

#: ``fetch(start_ms, end_ms, page)``: one page of ``PAGE_SIZE`` rows of one window.
PageFetcher = Callable[[int | None, int | None, int], Awaitable[Page[T]]]

_Key = tuple[int, int]  # (window, page)

_POSITION_FIELDS: Final = {
    "endpoint": (str,),
    "query": (str,),
    "start_ms": (int, type(None)),
    "end_ms": (int, type(None)),
    "window": (int,),
    "page": (int,),
    "skip": (int,),
    "total": (int, type(None)),
}


@attrs.frozen
class Position:
    """Where a history walk stands, to persist and resume from after a restart.

    ``window`` and ``page`` name the next page to fetch (window 0 is the newest); ``skip`` is
    how many rows of that page were already yielded, and ``total`` the window's row count
    when it was last seen, so that a resume notices rows that arrived meanwhile. The range
    (``start_ms``, ``end_ms``: an ``end_time`` left to default is pinned here) and the
    endpoint's filters (``query``) tie the position to one walk: resume with the same
    arguments.
    """

    endpoint: str
    query: str
    start_ms: int | None
    end_ms: int | None
    window: int = 0
    page: int = 1
    skip: int = 0
    total: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``str``, ``int`` and ``None`` values only)."""
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Position:
        """Rebuild a position saved with :meth:`to_dict`."""
        if not isinstance(data, Mapping):
            raise InvalidParameterTypeError(
                "resume", f"a saved position is a mapping, not {type(data).__name__}"
            )
        missing = sorted(_POSITION_FIELDS.keys() - data.keys())
        unknown = sorted(data.keys() - _POSITION_FIELDS.keys())
        if missing or unknown:
            raise InvalidParameterError(
                "resume", f"not a saved position (missing {missing}, unknown {unknown})"
            )
        for name, types in _POSITION_FIELDS.items():
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, types):
                raise InvalidParameterTypeError(
                    "resume", f"{name} has the wrong type: {type(value).__name__}"
                )
        return cls(**data)


def resolve_range(
    start_time: TimeLike | None,
    end_time: TimeLike | None,
    *,
    now_ms: Callable[[], int],
    resume: Position | None,
    start_required: bool = True,
) -> tuple[int | None, int]:
    """Validate a walk's range and pin its end: ``end_time``, else the resumed walk's, else now.

    Where Binance would fill a missing start with "7 days ago", the start is required: a walk
    that silently covers a week instead of the range the caller meant loses records.
    """
    if start_required and start_time is None:
        raise InvalidParameterTypeError(
            "start_time", "is required (an aware datetime or int milliseconds); without it "
            "Binance returns only the last 7 days"
        )
    v.time_range(start_time, end_time, max_span_days=None)
    start = None if start_time is None else v.timestamp_ms("start_time", start_time)
    if end_time is not None:
        end = v.timestamp_ms("end_time", end_time)
    elif isinstance(resume, Position) and resume.end_ms is not None:
        end = resume.end_ms
    else:
        end = now_ms()
    if start is not None and start > end:
        raise InvalidParameterError(
            "start_time", f"start_time is after the end of the range ({end})"
        )
    return start, end


@attrs.frozen
class _Windows:
    """``[start, end]`` cut into windows of at most ``span`` ms (inclusive), newest first."""

    start_ms: int | None
    end_ms: int | None
    span_ms: int | None

    def __len__(self) -> int:
        if self.span_ms is None or self.start_ms is None or self.end_ms is None:
            return 1
        return -(-(self.end_ms - self.start_ms + 1) // self.span_ms)

    def __getitem__(self, k: int) -> tuple[int | None, int | None]:
        if self.span_ms is None or self.start_ms is None or self.end_ms is None:
            return self.start_ms, self.end_ms
        # A window holds exactly span_ms milliseconds, so end - start = span_ms - 1: inside
        # the server's "end - start <= max span" rule, and the next one ends at start - 1.
        end = self.end_ms - k * self.span_ms
        return max(self.start_ms, end - self.span_ms + 1), end


def _pages(total: int) -> int:
    return max(1, math.ceil(total / PAGE_SIZE))


class HistoryIterator(Generic[T]):
    """Every row of a paged history, fetched window by window and page by page.

    Use it with ``async for`` (optionally inside ``async with``, which closes it), or
    ``await it.collect()`` / ``await it.to_pandas()``. :attr:`position` can be saved at any
    time and passed back as ``resume=`` to continue after a crash. ``rows_yielded``,
    ``windows_done``, ``windows_total`` and ``requests_made`` feed a progress bar.
    """

    def __init__(
        self,
        fetch: PageFetcher[T],
        *,
        row_type: type[T],
        endpoint: str,
        query: str,
        start_ms: int | None,
        end_ms: int | None,
        max_span_days: int | None,
        newest_first: bool,
        concurrency: int = DEFAULT_CONCURRENCY,
        resume: Position | None = None,
    ) -> None:
        self._concurrency = v.integer("concurrency", concurrency, minimum=1)
        self._fetch = fetch
        self._row_type = row_type
        self._endpoint = endpoint
        self._query = query
        span = None if max_span_days is None else max_span_days * DAY_MS
        self._windows = _Windows(start_ms, end_ms, span)
        # With no documented order, a shifted page is only trusted on the rows' evidence.
        self._newest_first = newest_first
        self._window = 0
        self._next_off = 0  # offset, in the window's listing, of the next row not yet yielded
        self._ref_total: int | None = None  # the window's total in that listing
        if resume is not None:
            self._check_resume(resume)
            self._window = resume.window
            self._next_off = (resume.page - 1) * PAGE_SIZE + resume.skip
            self._ref_total = resume.total
        # The rows just yielded, to recognise them when a shifted page repeats them.
        self._tail: deque[T] = deque(maxlen=PAGE_SIZE)
        self._refetched: _Key | None = None
        self._closed = False
        self._active: weakref.ref[AsyncGenerator[T, None]] | None = None
        # The current walk's prefetch, for aclose() to reach after a break dropped the walk.
        self._tasks: dict[_Key, asyncio.Task[Page[T]]] = {}
        self.rows_yielded = 0
        self.windows_done = self._window
        #: Pages received so far (one API call each; the client's own retries not counted).
        self.requests_made = 0

    # -- public surface ----------------------------------------------------------------------

    @property
    def windows_total(self) -> int:
        return len(self._windows)

    @property
    def position(self) -> Position:
        """The next window and page to fetch and how many of its rows were already yielded."""
        done = self._window >= len(self._windows)
        return Position(
            endpoint=self._endpoint,
            query=self._query,
            start_ms=self._windows.start_ms,
            end_ms=self._windows.end_ms,
            window=self._window,
            page=1 if done else self._next_off // PAGE_SIZE + 1,
            skip=0 if done else self._next_off % PAGE_SIZE,
            total=None if done else self._ref_total,
        )

    def __aiter__(self) -> AsyncIterator[T]:
        if self._closed:
            return _empty()
        if self._active is not None and self._active() is not None:
            raise RuntimeError("this HistoryIterator is already being iterated")
        for task in self._tasks.values():
            task.cancel()  # left by a walk that was dropped; its own finaliser awaits them
        self._tasks = {}
        gen = self._walk(self._tasks)
        # Only a weak reference: when an `async for` breaks and drops the generator, it is
        # finalised at once and its `finally` cancels the prefetch, even if this object lives on.
        self._active = weakref.ref(gen)
        return gen

    async def __aenter__(self) -> HistoryIterator[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: cancel the requests in flight. Iterating afterwards yields nothing."""
        self._closed = True
        running = self._active() if self._active is not None else None
        if running is not None:
            # RuntimeError: another task is inside the walk; cancelling its fetch ends it there.
            with contextlib.suppress(RuntimeError):
                await running.aclose()
        await _cancel(self._tasks)

    async def collect(self) -> list[T]:
        """Every remaining row, in order, as a list (this holds them all in memory)."""
        return [row async for row in self]

    async def to_pandas(self) -> Any:
        """Every remaining row as a ``pandas.DataFrame``, one column per model field.

        Money stays ``Decimal`` (an object column); pandas is not a dependency of this
        package and is imported only here.
        """
        try:
            import pandas
        except ImportError as exc:
            raise ImportError(
                "to_pandas() needs pandas, which binance-instloan does not install: "
                "pip install pandas"
            ) from exc
        rows = await self.collect()
        columns = [field.name for field in attrs.fields(cast(Any, self._row_type))]
        data = {name: [getattr(row, name) for row in rows] for name in columns}
        return pandas.DataFrame(data, columns=columns)

    def __repr__(self) -> str:
        return (
            f"<HistoryIterator {self._endpoint} window {self._window}/{self.windows_total} "
            f"rows_yielded={self.rows_yielded} requests_made={self.requests_made}>"
        )

    # -- the walk ----------------------------------------------------------------------------

    async def _walk(self, tasks: dict[_Key, asyncio.Task[Page[T]]]) -> AsyncGenerator[T, None]:
        try:
            while not self._closed and self._window < len(self._windows):
                key = (self._window, self._next_off // PAGE_SIZE + 1)
                self._schedule(tasks, key)
                # Popped only once done, so a cancellation here still finds it in `finally`.
                try:
                    page = await tasks[key]
                except asyncio.CancelledError:
                    if self._closed and not _being_cancelled():
                        return  # aclose() from another task, not a cancellation of ours
                    raise
                del tasks[key]
                fitted = self._fit(key, page)
                if fitted is None:
                    continue  # a stale page: fetched again on the next turn
                first, window_done = fitted
                rows = page.rows
                ps = (key[1] - 1) * PAGE_SIZE
                # Start what follows now, so it loads while these rows are consumed.
                if window_done:
                    upcoming = (key[0] + 1, 1)
                else:
                    upcoming = (key[0], max(self._next_off, ps + len(rows)) // PAGE_SIZE + 1)
                if upcoming[0] < len(self._windows):
                    self._schedule(tasks, upcoming)
                for i in range(first, len(rows)):
                    row = rows[i]
                    self._next_off = ps + i + 1
                    self._tail.append(row)
                    self.rows_yielded += 1
                    if window_done and i == len(rows) - 1:
                        self._next_window()
                    # Position already counts this row: the consumer has it once we yield.
                    yield row
                if window_done and self._window == key[0]:
                    self._next_window()
        finally:
            await _cancel(tasks)

    def _next_window(self) -> None:
        self._window += 1
        self.windows_done += 1
        self._next_off = 0
        self._ref_total = None
        self._tail.clear()
        self._refetched = None

    async def _get(self, window: int, page: int) -> Page[T]:
        start, end = self._windows[window]
        result = await self._fetch(start, end, page)
        self.requests_made += 1
        return result

    def _schedule(self, tasks: dict[_Key, asyncio.Task[Page[T]]], needed: _Key) -> None:
        """Start the next pages in output order, at most ``concurrency`` in flight."""
        for key in [k for k in tasks if k < needed]:
            _discard(tasks.pop(key))
        in_flight = sum(not t.done() for t in tasks.values())
        for n, key in enumerate(self._wanted(tasks, needed)):
            if n >= self._concurrency:
                break
            if key in tasks:
                continue
            # The page the consumer waits for is always started; the rest wait for room.
            if key != needed and in_flight >= self._concurrency:
                break
            tasks[key] = asyncio.create_task(
                self._get(*key), name=f"binance_instloan {self._endpoint} {key}"
            )
            in_flight += 1

    def _wanted(self, tasks: Mapping[_Key, asyncio.Task[Page[T]]], needed: _Key) -> Iterator[_Key]:
        """The pages still to fetch, in output order, as far as the totals seen so far tell."""
        window, first = needed
        total = self._ref_total if window == self._window else None
        if total is None:
            total = _total(tasks.get(needed))
        while window < len(self._windows):
            if total is None:
                yield window, first  # how many pages follow is known after this one
            else:
                for page in range(first, max(first, _pages(total)) + 1):
                    yield window, page
            window += 1
            first = 1
            total = _total(tasks.get((window, 1)))

    def _fit(self, key: _Key, page: Page[T]) -> tuple[int, bool] | None:
        """Line a fetched page up with the rows already yielded.

        Returns the index of its first new row and whether it ends the window, or ``None``
        when the page predates rows already seen and must be fetched again.
        """
        rows, total = page.rows, page.total
        ps = (key[1] - 1) * PAGE_SIZE
        moved = 0 if self._ref_total is None else total - self._ref_total
        shift: int | None = self._shift(rows, ps, moved) if moved else 0
        if shift is None or self._next_off + shift < ps:
            if self._refetched != key:
                self._refetched = key
                return None
            # Fetched afresh and still behind: rows were removed, not added. Go on from here.
            shift = 0
        self._refetched = None
        self._next_off = max(ps, self._next_off + shift)
        self._ref_total = total
        window_done = len(rows) < PAGE_SIZE or ps + len(rows) >= total
        return self._next_off - ps, window_done

    def _shift(self, rows: tuple[T, ...], ps: int, moved: int) -> int | None:
        """How far the rows already yielded moved when the window's total changed by ``moved``.

        Each candidate shift is tested by comparing the page's rows that would then precede
        the next new row with the rows last yielded; the best-supported one wins. Without
        evidence: newest-first listings grow at the top, others at the end, and a listing
        that shrank is fetched again rather than guessed at.
        """
        tail, off = self._tail, self._next_off
        n = len(tail)
        lo, hi = min(0, moved), max(0, moved)
        # Shifts for which some row of this page lines up with a remembered one.
        candidates = set(range(max(lo, ps - off + 1), min(hi, ps + len(rows) + n - off - 1) + 1))
        best, best_support = None, 0
        order = sorted(candidates, key=lambda s: -abs(s) if self._newest_first else abs(s))
        for s in order:
            first, stop = max(ps, off + s - n), min(ps + len(rows), off + s)
            if stop - first > best_support and all(
                rows[o - ps] == tail[n - off + o - s] for o in range(first, stop)
            ):
                best, best_support = s, stop - first
        if best is not None:
            return best
        if moved < 0:
            return None
        return moved if self._newest_first else 0

    def _check_resume(self, resume: Position) -> None:
        if not isinstance(resume, Position):
            raise InvalidParameterTypeError(
                "resume",
                f"must be a Position (see Position.from_dict), not {type(resume).__name__}",
            )
        mine = (self._endpoint, self._query, self._windows.start_ms, self._windows.end_ms)
        theirs = (resume.endpoint, resume.query, resume.start_ms, resume.end_ms)
        if mine != theirs:
            raise InvalidParameterError(
                "resume", f"the position belongs to another walk: {theirs}, this one is {mine}; "
                "resume with the same arguments"
            )
        if not (
            0 <= resume.window <= len(self._windows)
            and resume.page >= 1
            and 0 <= resume.skip < PAGE_SIZE
            and (resume.total is None or resume.total >= 0)
        ):
            raise InvalidParameterError("resume", f"the position is out of range: {resume}")


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _total(task: asyncio.Task[Page[T]] | None) -> int | None:
    """The total a finished prefetch learned, if it succeeded."""
    if task is None or not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result().total


def _discard(task: asyncio.Task[Any]) -> None:
    if task.done():
        if not task.cancelled():
            task.exception()  # retrieved: a page nobody needs any more may have failed
    else:
        task.cancel()


async def _cancel(tasks: dict[_Key, asyncio.Task[Any]]) -> None:
    """Cancel the prefetch and wait for it, so no request outlives the walk."""
    pending = list(tasks.values())
    tasks.clear()
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)


async def _empty() -> AsyncGenerator[Any, None]:
    nothing: tuple[Any, ...] = ()
    for row in nothing:
        yield row
