"""``history --format table``: streamed with string operations, never a number cut in two."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import attrs
import pytest
import rich.table

from binance_instloan._cli._output import TableWriter
from binance_instloan.simulator import Simulator
from tests.test_cli_history import INTEREST_COLUMNS, run


@attrs.frozen
class Payment:
    group_id: int
    amount: Decimal
    note: str


def test_a_table_export_renders_no_rich_table_per_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = []
    original = rich.table.Table.__init__

    def counting(self: rich.table.Table, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(rich.table.Table, "__init__", counting)
    sim = Simulator(seed=11, history_days=3)

    result = run(sim, "interest", "--since", "2d", "--no-progress")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == INTEREST_COLUMNS
    assert len(rows) >= 2 * 24
    assert len(built) < 5  # the progress machinery's own, never one per row


def test_table_rows_line_up_under_the_header() -> None:
    out = io.StringIO()
    writer = TableWriter(out, Payment)

    writer.write(Payment(10001, Decimal("12.5"), "first"))
    writer.write(Payment(2, Decimal("0.00000001"), "second"))

    header, *rows = out.getvalue().splitlines()
    starts = [header.index(name) for name in ("group_id", "amount", "note")]
    for row in rows:
        assert all(row[i - 1] == " " and row[i] != " " for i in starts[1:]), row


def test_an_amount_wider_than_its_column_stays_whole_on_one_line() -> None:
    out = io.StringIO()
    amount = "12345678901234567890.12345678901234567890"

    TableWriter(out, Payment, header=False).write(Payment(1, Decimal(amount), "x"))

    (line,) = out.getvalue().splitlines()
    assert amount in line.split()


def test_long_free_text_folds_onto_continuation_lines() -> None:
    out = io.StringIO()

    TableWriter(out, Payment, header=False).write(Payment(1, Decimal(1), "n" * 40))

    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "".join(line.split()[-1] for line in lines[1:]) in "n" * 40
