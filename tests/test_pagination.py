"""History iterators: windows, pages, shifting pages, resume, concurrency, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import sys
import types
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from binance_instloan import (
    AsyncInstLoanClient,
    BadRequestError,
    InvalidParameterError,
    InvalidParameterTypeError,
)
from binance_instloan._models import BorrowRepayRecord, InterestRecord
from binance_instloan._pagination import HistoryIterator, Position
from tests._eventually import eventually
from tests._fake_history import (
    DAY_MS,
    FakeBinance,
    Seen,
    borrow_repay_row,
    closed_unit_row,
    interest_row,
)

HOUR_MS = 3_600_000
END = 1_750_000_000_000  # 2025-06-15, a fixed end keeps the windows reproducible
YEAR_START = END - 365 * DAY_MS


@pytest.fixture
def fake() -> FakeBinance:
    return FakeBinance()


@pytest.fixture
async def client(fake: FakeBinance) -> AsyncIterator[AsyncInstLoanClient]:
    async with fake.client() as c:
        yield c


def add_hourly_interest(fake: FakeBinance, start: int, end: int) -> list[int]:
    """One USDT interest row per hour in [start, end]; their times, newest first."""
    times = list(range(end - end % HOUR_MS, start - 1, -HOUR_MS))
    for t in times:
        fake.add("interest", t, interest_row(t))
    return times


def times_of(rows: list[InterestRecord]) -> list[int]:
    return [int(row.interest_timestamp.timestamp() * 1000) for row in rows]


def our_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("binance_instloan ")]


async def settle() -> None:
    """Let finalisers and cancellations run: a few turns of the loop, no real waiting."""
    for _ in range(5):
        await asyncio.sleep(0)


# -- whole ranges -----------------------------------------------------------------------------


async def test_a_year_of_hourly_interest_comes_out_once_each_newest_first(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, YEAR_START, END)

    rows = await client.iter_interest_history(start_time=YEAR_START, end_time=END).collect()

    assert times_of(rows) == expected
    assert fake.rejected_400 == 0


async def test_a_year_costs_exactly_the_pages_its_rows_fill(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, YEAR_START, END)

    it = client.iter_interest_history(start_time=YEAR_START, end_time=END)
    await it.collect()

    per_window = Counter(seen.window for seen in fake.requests)
    rows_per_window = {
        w: sum(1 for t in range(END - END % HOUR_MS, YEAR_START - 1, -HOUR_MS)
               if w[0] <= t <= w[1])
        for w in per_window
    }
    assert per_window == {w: math.ceil(n / 100) for w, n in rows_per_window.items()}
    assert it.requests_made == len(fake.requests)


async def test_windows_cover_the_range_newest_first_without_gap_or_overlap(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    await client.iter_interest_history(start_time=YEAR_START, end_time=END).collect()

    windows = [seen.window for seen in fake.requests]
    assert windows[0][1] == END
    assert windows[-1][0] == YEAR_START
    for newer, older in itertools.pairwise(windows):
        assert older[1] == newer[0] - 1
    assert all(end - start <= 100 * DAY_MS for start, end in windows)
    assert len(windows) == 4


async def test_an_empty_range_costs_one_request_per_window(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    it = client.iter_interest_history(start_time=YEAR_START, end_time=END)

    assert await it.collect() == []
    assert len(fake.requests) == it.windows_total == 4


async def test_a_full_last_page_needs_no_extra_request(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, END - 200 * HOUR_MS + 1, END)

    rows = await client.iter_interest_history(start_time=END - 10 * DAY_MS, end_time=END).collect()

    assert len(rows) == 200
    assert [seen.page for seen in fake.requests] == [1, 2]


async def test_a_short_page_ends_the_window_even_if_total_says_more(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, END - 150 * HOUR_MS + 1, END)
    fake.overstate_total = 1  # reference 2.6: "total": 2 with one row

    rows = await client.iter_interest_history(start_time=END - 10 * DAY_MS, end_time=END).collect()

    assert len(rows) == 150
    assert [seen.page for seen in fake.requests] == [1, 2]


async def test_every_request_asks_for_pages_of_100(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, END - 30 * DAY_MS, END)

    await client.iter_interest_history(start_time=END - 30 * DAY_MS, end_time=END).collect()

    assert {seen.params["size"] for seen in fake.requests} == {"100"}


async def test_end_time_defaults_to_now_pinned_when_the_iterator_is_made(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    before = client._clock.now_ms()
    it = client.iter_interest_history(start_time=before - 2 * DAY_MS)
    after = client._clock.now_ms()
    await asyncio.sleep(0.01)

    await it.collect()

    sent_end = fake.requests[0].window[1]
    assert before <= sent_end <= after
    assert it.position.end_ms == sent_end


# -- rows that move while a window is paged ----------------------------------------------------


async def test_rows_arriving_mid_walk_do_not_repeat_rows(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, END - 250 * HOUR_MS + 1, END)

    def three_new_rows_before_page_2(seen: Seen) -> None:
        if seen.page == 2 and fake.count("interest") == 2:
            for k in range(1, 4):  # late records: newest of the window, so page 2 shifts
                fake.add("interest", END - k, interest_row(END - k, interest="1"))

    fake.before_answer = three_new_rows_before_page_2
    rows = await client.iter_interest_history(
        start_time=END - 20 * DAY_MS, end_time=END, concurrency=1
    ).collect()

    assert times_of(rows) == expected


async def test_a_shift_seen_by_concurrent_pages_loses_and_repeats_nothing(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, END - 450 * HOUR_MS + 1, END)

    def new_rows_when_page_3_is_answered(seen: Seen) -> None:
        if seen.page == 3 and fake.count("interest") <= 5:
            for k in range(1, 4):
                fake.add("interest", END - k, interest_row(END - k, interest="1"))

    # Page 4 is answered before page 3 adds the rows, so it shows the older listing.
    fake.latency = lambda seen: 0.03 if seen.page == 3 else 0.002
    fake.before_answer = new_rows_when_page_3_is_answered
    rows = await client.iter_interest_history(
        start_time=END - 20 * DAY_MS, end_time=END, concurrency=4
    ).collect()

    assert times_of(rows) == expected
    assert [seen.page for seen in fake.requests] == [1, 2, 3, 4, 5, 4, 5]  # stale pages again


async def test_identical_rows_are_all_kept(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    t = END - HOUR_MS
    for _ in range(150):  # the same record 150 times: identity is the whole row
        fake.add("borrow_repay", t, borrow_repay_row(t))
    fake.add("borrow_repay", t, borrow_repay_row(t, status="FAILED"))  # same tranId, other row

    rows = await client.iter_borrow_repay_records(
        type="BORROW", start_time=END - DAY_MS, end_time=END
    ).collect()

    assert Counter(row.status for row in rows) == {"CONFIRM": 150, "FAILED": 1}
    assert len({row.tran_id for row in rows}) == 1


async def test_identical_rows_shifted_by_new_ones_are_counted_not_merged(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    t = END - HOUR_MS
    for _ in range(230):
        fake.add("borrow_repay", t, borrow_repay_row(t))

    def two_more_before_page_2(seen: Seen) -> None:
        if seen.page == 2 and fake.count("borrow_repay") == 2:
            fake.add("borrow_repay", t, borrow_repay_row(t))
            fake.add("borrow_repay", t, borrow_repay_row(t))

    fake.before_answer = two_more_before_page_2
    rows = await client.iter_borrow_repay_records(
        type="BORROW", start_time=END - DAY_MS, end_time=END, concurrency=1
    ).collect()

    assert len(rows) == 230
    assert all(isinstance(row, BorrowRepayRecord) for row in rows)


async def test_a_record_added_below_the_position_is_not_taken_for_a_shift(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    for group_id in range(1000, 1250):
        fake.add("closed", END + group_id, closed_unit_row(group_id, END + group_id))

    def an_older_unit_before_page_2(seen: Seen) -> None:
        if seen.page == 2 and fake.count("closed") == 2:
            # Closed long ago, so it lands at the end of the listing, below the position.
            fake.add("closed", END - DAY_MS, closed_unit_row(1, END - DAY_MS))

    fake.before_answer = an_older_unit_before_page_2
    rows = await client.iter_closed_risk_units(concurrency=1).collect()

    assert [row.group_id for row in rows] == [*range(1249, 999, -1), 1]


# -- resuming ------------------------------------------------------------------------------------


async def test_resume_from_a_saved_position_continues_exactly(fake: FakeBinance) -> None:
    start = END - 150 * DAY_MS
    expected = add_hourly_interest(fake, start, END)
    first: list[InterestRecord] = []
    async with fake.client() as client:
        it = client.iter_interest_history(start_time=start, end_time=END)
        async for row in it:
            first.append(row)
            if len(first) == 2450:  # one window and a half page in
                break
        saved = json.dumps(it.position.to_dict())

    async with fake.client() as client:
        resumed = client.iter_interest_history(
            start_time=start, end_time=END, resume=Position.from_dict(json.loads(saved))
        )
        rest = await resumed.collect()

    assert times_of(first + rest) == expected


async def test_resume_keeps_the_pinned_end_when_end_time_was_left_out(fake: FakeBinance) -> None:
    async with fake.client() as client:
        now = client._clock.now_ms()
        expected = add_hourly_interest(fake, now - 10 * DAY_MS, now)
        it = client.iter_interest_history(start_time=now - 10 * DAY_MS)
        first = []
        async for row in it:
            first.append(row)
            if len(first) == 30:
                break
        position = it.position
        await asyncio.sleep(0.01)
        rest = await client.iter_interest_history(
            start_time=now - 10 * DAY_MS, resume=position
        ).collect()

    assert times_of(first + rest) == expected
    assert {seen.window[1] for seen in fake.requests} == {position.end_ms}


async def test_resume_at_a_window_edge_starts_the_next_window(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, YEAR_START, END)
    it = client.iter_interest_history(start_time=YEAR_START, end_time=END)
    first = []
    async for row in it:
        first.append(row)
        if len(first) == 2400:  # exactly the newest window
            break

    assert it.position.window == 1 and it.position.page == 1 and it.position.skip == 0
    rest = await client.iter_interest_history(
        start_time=YEAR_START, end_time=END, resume=it.position
    ).collect()
    assert times_of(first + rest) == expected


async def test_a_finished_walk_resumes_to_nothing(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, END - DAY_MS, END)
    it = client.iter_interest_history(start_time=END - DAY_MS, end_time=END)
    await it.collect()
    requests = len(fake.requests)

    again = client.iter_interest_history(start_time=END - DAY_MS, end_time=END,
                                         resume=it.position)

    assert await again.collect() == []
    assert len(fake.requests) == requests


async def test_a_position_from_other_arguments_is_refused(client: AsyncInstLoanClient) -> None:
    position = client.iter_interest_history(
        start_time=YEAR_START, end_time=END, asset="USDT"
    ).position

    with pytest.raises(InvalidParameterError, match="resume"):
        client.iter_interest_history(start_time=YEAR_START, end_time=END, asset="USDC",
                                     resume=position)
    with pytest.raises(InvalidParameterError, match="resume"):
        client.iter_force_liquidations(start_time=YEAR_START, end_time=END, resume=position)


def test_position_round_trips_through_a_json_ready_dict() -> None:
    position = Position(endpoint="interest_history", query="asset=USDT", start_ms=1,
                        end_ms=2, window=3, page=4, skip=5, total=600)

    data = json.loads(json.dumps(position.to_dict()))

    assert Position.from_dict(data) == position


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"endpoint": "x"}, InvalidParameterError),
        ({**Position("e", "", None, None).to_dict(), "page": "1"}, InvalidParameterTypeError),
        ({**Position("e", "", None, None).to_dict(), "extra": 1}, InvalidParameterError),
        ([1, 2], InvalidParameterTypeError),
    ],
)
def test_a_damaged_saved_position_is_refused(data: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="resume"):
        Position.from_dict(data)


# -- concurrency and streaming -----------------------------------------------------------------


async def test_concurrent_fetching_keeps_the_order(fake: FakeBinance) -> None:
    expected = add_hourly_interest(fake, YEAR_START, END)
    jitter = random.Random(5)
    fake.latency = lambda seen: jitter.uniform(0, 0.004)

    async with fake.client() as client:
        it = client.iter_interest_history(start_time=YEAR_START, end_time=END, concurrency=8)
        rows = await it.collect()

    assert times_of(rows) == expected
    assert 1 < fake.max_in_flight <= 8


async def test_concurrency_1_sends_one_request_at_a_time(fake: FakeBinance) -> None:
    add_hourly_interest(fake, END - 20 * DAY_MS, END)
    fake.latency = 0.001

    async with fake.client() as client:
        await client.iter_interest_history(
            start_time=END - 20 * DAY_MS, end_time=END, concurrency=1
        ).collect()

    assert fake.max_in_flight == 1


async def test_memory_stays_flat_however_long_the_range(fake: FakeBinance) -> None:
    start = END - 2 * 365 * DAY_MS  # 25 windows of 30 days, 360 rows each
    for t in range(END, start, -2 * HOUR_MS):
        fake.add("borrow_repay", t, borrow_repay_row(t))
    held: list[int] = []
    tasks: list[int] = []

    async with fake.client() as client:
        it = client.iter_borrow_repay_records(type="BORROW", asset="USDT", start_time=start,
                                              end_time=END, concurrency=4)
        async for _ in it:
            held.append(fake.rows_served - it.rows_yielded)
            tasks.append(len(our_tasks()))

    assert it.windows_total == 25 and it.rows_yielded == 8760
    assert max(held) <= 2 * 4 * 100
    assert max(tasks) <= 2 * 4


# -- stopping early -----------------------------------------------------------------------------


def only_the_first_page_answers(seen: Seen) -> float:
    """Latency that answers the newest window's page 1 and holds every other request."""
    return 0.0 if seen.page == 1 and seen.window[1] == END else 30.0


async def test_break_stops_fetching_and_leaves_nothing_running(fake: FakeBinance) -> None:
    add_hourly_interest(fake, YEAR_START, END)
    fake.latency = only_the_first_page_answers

    async with fake.client() as client:
        async for _ in client.iter_interest_history(start_time=YEAR_START, end_time=END,
                                                    concurrency=4):
            # The consumer's own work, while pages 2-5 are fetched.
            await eventually(lambda: fake.in_flight == 4, what="pages 2-5 on the wire")
            break
        await settle()

        assert our_tasks() == []
        await asyncio.sleep(0.02)
        assert len(fake.requests) == 5  # nothing new is started after the break
    # Requests already on the wire finish in the background (the client shields its sends
    # from cancellation: encode/httpcore#1093); closing the client ends them.
    assert fake.in_flight == 0
    assert all(b.in_flight == 0 for b in client.rate_limit_state().buckets.values())


async def test_break_stops_fetching_even_while_the_iterator_is_still_referenced(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, YEAR_START, END)
    fake.latency = only_the_first_page_answers

    it = client.iter_interest_history(start_time=YEAR_START, end_time=END, concurrency=4)
    async for _ in it:
        await eventually(lambda: fake.in_flight == 4, what="pages 2-5 on the wire")
        break
    await settle()
    await asyncio.sleep(0.02)

    assert our_tasks() == []
    assert len(fake.requests) == 5  # nothing new is started after the break
    await client.aclose()
    assert fake.in_flight == 0


async def test_cancelling_the_consumer_stops_fetching(fake: FakeBinance) -> None:
    add_hourly_interest(fake, YEAR_START, END)
    fake.latency = only_the_first_page_answers
    got: list[InterestRecord] = []

    async with fake.client() as client:
        async def consume() -> None:
            async for row in client.iter_interest_history(start_time=YEAR_START, end_time=END):
                got.append(row)

        task = asyncio.create_task(consume())
        await eventually(lambda: len(got) == 100 and fake.in_flight == 4,
                         what="page 1 consumed, the walk waiting for page 2")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        started = len(fake.requests)
        await asyncio.sleep(0.02)

        assert our_tasks() == []
        assert len(fake.requests) == started  # nothing new is started after the cancel
    assert fake.in_flight == 0  # what was on the wire ended with the client
    assert all(b.in_flight == 0 for b in client.rate_limit_state().buckets.values())


async def test_async_with_closes_the_iterator_on_exit(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, YEAR_START, END)
    fake.latency = only_the_first_page_answers

    async with client.iter_interest_history(start_time=YEAR_START, end_time=END) as it:
        async for _ in it:
            await eventually(lambda: fake.in_flight == 4, what="pages 2-5 on the wire")
            break

    assert our_tasks() == []
    assert [row async for row in it] == []
    assert len(fake.requests) == 5
    await client.aclose()
    assert fake.in_flight == 0


async def test_iterating_again_after_break_continues_where_it_stopped(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, END - 20 * DAY_MS, END)
    it = client.iter_interest_history(start_time=END - 20 * DAY_MS, end_time=END)
    first = []
    async for row in it:
        first.append(row)
        if len(first) == 42:
            break

    rest = await it.collect()

    assert times_of(first + rest) == expected


async def test_an_error_is_raised_where_it_happens_and_the_walk_can_resume(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    expected = add_hourly_interest(fake, YEAR_START, END)
    fake.fail_if = lambda seen: seen.window[1] < END  # every window but the newest
    it = client.iter_interest_history(start_time=YEAR_START, end_time=END)
    first: list[InterestRecord] = []

    async def walk() -> None:
        async for row in it:
            first.append(row)

    with pytest.raises(BadRequestError) as caught:
        await walk()
    fake.fail_if = None
    rest = await client.iter_interest_history(
        start_time=YEAR_START, end_time=END, resume=it.position
    ).collect()

    assert caught.value.code == -1130
    assert len(first) == 2400
    assert times_of(first + rest) == expected


# -- many iterators, one limiter ----------------------------------------------------------------


async def test_20_iterators_under_gather_see_no_429() -> None:
    fake = FakeBinance(ip_weight=100, window_seconds=0.1)
    days = range(END, END - 200 * DAY_MS, -DAY_MS)
    for t in days:
        fake.add("interest", t, interest_row(t))
        fake.add("borrow_repay", t, borrow_repay_row(t))
        fake.add("closed", t, closed_unit_row(t // DAY_MS, t))
    expected = {0: len(days), 1: sum(t >= END - 60 * DAY_MS for t in days), 2: len(days)}

    async with fake.client() as client:
        iterators: list[HistoryIterator[Any]] = []
        for i in range(20):
            if i % 3 == 0:
                iterators.append(client.iter_interest_history(
                    start_time=END - 200 * DAY_MS, end_time=END))
            elif i % 3 == 1:
                iterators.append(client.iter_borrow_repay_records(
                    type="BORROW", asset="USDT", start_time=END - 60 * DAY_MS, end_time=END))
            else:
                iterators.append(client.iter_closed_risk_units())
        results = await asyncio.gather(*(it.collect() for it in iterators))

    assert fake.rejected_429 == 0
    assert [len(rows) for rows in results] == [expected[i % 3] for i in range(20)]


# -- arguments ----------------------------------------------------------------------------------


async def test_start_time_is_required(client: AsyncInstLoanClient) -> None:
    with pytest.raises(TypeError, match="start_time"):
        client.iter_interest_history()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "error", "parameter"),
    [
        ({"start_time": datetime(2025, 1, 1)}, InvalidParameterError, "start_time"),
        ({"start_time": YEAR_START, "end_time": datetime(2025, 6, 1)}, InvalidParameterError,
         "end_time"),
        ({"start_time": END, "end_time": YEAR_START}, InvalidParameterError, "start_time"),
        ({"start_time": YEAR_START, "concurrency": 0}, InvalidParameterError, "concurrency"),
        ({"start_time": YEAR_START, "concurrency": 2.0}, InvalidParameterTypeError,
         "concurrency"),
        ({"start_time": "yesterday"}, InvalidParameterTypeError, "start_time"),
        ({"start_time": YEAR_START, "asset": " USDT"}, InvalidParameterError, "asset"),
        ({"start_time": YEAR_START, "resume": {"window": 1}}, InvalidParameterTypeError,
         "resume"),
    ],
)
async def test_bad_arguments_fail_before_any_request(
    fake: FakeBinance, client: AsyncInstLoanClient, kwargs: dict[str, Any],
    error: type[Exception], parameter: str,
) -> None:
    with pytest.raises(error) as caught:
        client.iter_interest_history(**kwargs)

    assert getattr(caught.value, "parameter", None) == parameter
    assert fake.requests == []


async def test_a_start_after_now_is_refused_when_end_defaults_to_now(
    client: AsyncInstLoanClient,
) -> None:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(InvalidParameterError, match="start_time"):
        client.iter_interest_history(start_time=tomorrow)


# -- progress and helpers -----------------------------------------------------------------------


async def test_progress_counters_follow_the_walk(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    rows = add_hourly_interest(fake, END - 150 * DAY_MS, END)
    it = client.iter_interest_history(start_time=END - 150 * DAY_MS, end_time=END)
    assert (it.rows_yielded, it.windows_done, it.windows_total, it.requests_made) == (0, 0, 2, 0)

    async for _ in it:
        if it.rows_yielded == 2400:  # the newest window is 100 days of hourly rows
            assert it.windows_done == 1
            assert it.requests_made >= 24

    assert (it.rows_yielded, it.windows_done) == (len(rows), 2)
    assert it.requests_made == len(fake.requests) == 24 + math.ceil((len(rows) - 2400) / 100)


async def test_to_pandas_explains_how_to_install_pandas_when_missing(
    client: AsyncInstLoanClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)

    with pytest.raises(ImportError, match="pip install pandas"):
        await client.iter_interest_history(start_time=END - DAY_MS, end_time=END).to_pandas()


async def test_to_pandas_builds_one_column_per_field_keeping_decimals(
    fake: FakeBinance, client: AsyncInstLoanClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = add_hourly_interest(fake, END - 2 * HOUR_MS, END)
    built: dict[str, Any] = {}

    class DataFrame:  # what the real pandas.DataFrame receives
        def __init__(self, data: dict[str, list[Any]], columns: list[str]) -> None:
            built.update(data=data, columns=columns)

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=DataFrame))
    frame = await client.iter_interest_history(start_time=END - DAY_MS, end_time=END).to_pandas()

    assert isinstance(frame, DataFrame)
    assert built["columns"] == ["group_id", "asset_name", "principal", "interest_rate",
                                "interest", "interest_timestamp"]
    assert built["data"]["interest"] == [Decimal("7.09447643")] * len(rows)
    assert all(type(value) is Decimal for value in built["data"]["principal"])


async def test_the_same_iterator_cannot_be_walked_twice_at_once(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    it = client.iter_interest_history(start_time=END - DAY_MS, end_time=END)
    walking = aiter(it)

    with pytest.raises(RuntimeError, match="already"):
        aiter(it)
    await walking.aclose()  # type: ignore[attr-defined]


async def test_aclose_from_another_task_ends_the_walk_of_the_task_iterating_it(
    fake: FakeBinance, client: AsyncInstLoanClient
) -> None:
    add_hourly_interest(fake, YEAR_START, END)
    fake.latency = only_the_first_page_answers
    it = client.iter_interest_history(start_time=YEAR_START, end_time=END)
    consumer = asyncio.create_task(it.collect())
    await eventually(lambda: it.position.page == 2 and fake.in_flight == 4,
                     what="page 1 consumed, the walk waiting for page 2")

    await it.aclose()

    assert len(await consumer) == 100
    assert our_tasks() == []
    await client.aclose()
    assert fake.in_flight == 0
