"""Writing rows: CSV, JSON Lines and a streamed rich table, one whole line per row.

Every row is rendered to a complete string first and written with one ``write`` followed by a
``flush``, so an export stopped at any point (Ctrl-C, a lost connection) leaves a file of whole
lines. Money stays exact: a ``Decimal`` is written in positional notation, never through float.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal, Protocol, TextIO

import attrs
from rich import box
from rich.console import Console
from rich.table import Table

Format = Literal["table", "csv", "jsonl"]


def plain(value: Any) -> Any:
    """``value`` as JSON-able data: Decimal -> exact string, datetime -> ISO 8601, enum -> value,
    attrs model -> dict, tuple -> list."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if attrs.has(type(value)):
        return {f.name: plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def text(value: Any) -> str:
    """One cell: scalars as text, nested data as compact JSON, None as empty."""
    data = plain(value)
    if data is None:
        return ""
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, dict | list):
        return json.dumps(data, separators=(",", ":"))
    return str(data)


def display(value: Any) -> str:
    """A cell for people: like :func:`text`, with times in UTC and at most milliseconds."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        millis = f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
        return f"{moment:%Y-%m-%d %H:%M:%S}{millis}Z"
    return text(value)


def console(*, stderr: bool = False) -> Console:
    """A console that does not wrap: when not a terminal, wide enough for the tables."""
    probe = Console(stderr=stderr)
    width = None if probe.is_terminal else 200
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def columns_of(model: type) -> list[str]:
    return [f.name for f in attrs.fields(model)]


class RowWriter(Protocol):
    def write(self, row: Any) -> None: ...


class _LineWriter:
    """Writes complete lines and flushes each one."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def _emit(self, line: str) -> None:
        self._out.write(line)
        self._out.flush()


class CsvWriter(_LineWriter):
    def __init__(self, out: TextIO, columns: Sequence[str], *, header: bool = True) -> None:
        super().__init__(out)
        self._columns = list(columns)
        if header:
            self._emit(self._line(self._columns))

    @staticmethod
    def _line(cells: Sequence[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(cells)
        return buffer.getvalue()

    def write(self, row: Any) -> None:
        self._emit(self._line([text(getattr(row, c)) for c in self._columns]))


class JsonlWriter(_LineWriter):
    def write(self, row: Any) -> None:
        self._emit(json.dumps(plain(row), separators=(",", ":")) + "\n")


# Column widths by field type: wide enough for typical values; longer ones fold (money is never
# cut short).
_WIDTHS: Final = {"datetime": 24, "Decimal": 18, "int": 13, "bool": 5}


def _width(field: attrs.Attribute[Any]) -> int:
    # With postponed annotations the type is its source text, e.g. "Decimal | None".
    kind = str(field.type)
    if "tuple" in kind or "Snapshot" in kind:
        base = 40
    else:
        base = next((w for name, w in _WIDTHS.items() if name in kind), 16)
    return max(base, len(field.name))


class TableWriter(_LineWriter):
    """A table streamed row by row: fixed column widths, so rows printed apart still line up."""

    def __init__(
        self, out: TextIO, model: type, *, header: bool = True, color: bool = False,
    ) -> None:
        super().__init__(out)
        fields = attrs.fields(model)
        self._columns = [f.name for f in fields]
        self._widths = [_width(f) for f in fields]
        # One renderer for every row: building a Console per row costs more than the row.
        self._buffer = io.StringIO()
        self._renderer = Console(
            file=self._buffer, width=sum(self._widths) + 2 * len(self._widths) + 1,
            color_system="auto" if color else None, force_terminal=color, highlight=False,
        )
        if header:
            self._emit(self._render(self._columns, header=True))

    def _render(self, cells: Sequence[str], *, header: bool = False) -> str:
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        for width in self._widths:
            table.add_column(width=width, no_wrap=False, overflow="fold")
        table.add_row(*cells, style="bold" if header else None)
        self._buffer.seek(0)
        self._buffer.truncate()
        self._renderer.print(table)
        return "\n".join(line.rstrip() for line in self._buffer.getvalue().splitlines()) + "\n"

    def write(self, row: Any) -> None:
        self._emit(self._render([display(getattr(row, c)) for c in self._columns]))


def make_writer(
    fmt: Format, out: TextIO, model: type, *, header: bool = True, color: bool = False,
) -> RowWriter:
    if fmt == "csv":
        return CsvWriter(out, columns_of(model), header=header)
    if fmt == "jsonl":
        return JsonlWriter(out)
    return TableWriter(out, model, header=header, color=color)


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A rich table for the one-shot commands (ltv, units, closed)."""
    out = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for name in columns:
        out.add_column(name, overflow="fold")
    for row in rows:
        out.add_row(*row)
    return out
