"""Properties that hold for any input (hypothesis), checked against the simulator's own parsing
and signature verification rather than against the client's code.

- Any parameter text (unicode, ``@``, ``+``, spaces, ``&``, ``=``, ``%``) is signed as sent: the
  simulator verifies the signature over the bytes it received, so a wrong encoding is a -1022.
  Business refusals (-3003, -27017, -1100) are fine: they come after the signature check.
- Decimal amounts of any exponent go on the wire positionally and arrive exactly.
- A history range is cut into windows that cover it exactly once, none longer than allowed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any, Final
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from binance_instloan import (
    AsyncInstLoanClient,
    AuthenticationError,
    InstLoanError,
    RateLimits,
)
from binance_instloan._models import Page
from binance_instloan._pagination import HistoryIterator, _Windows
from binance_instloan.simulator import Simulator

DAY_MS: Final = 86_400_000
POSITIONAL: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
# Shared fixtures are reused across examples on purpose: one simulator, one client.
SHARED: Final = settings(
    max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class BodyRecorder(httpx.AsyncBaseTransport):
    """Keeps the last request's decoded parameters (query and form body)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.sent: dict[str, str] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.query + b"&" + await request.aread()
        self.sent = {
            unquote(k): unquote(v)
            for k, _, v in (p.decode("ascii").partition("=") for p in raw.split(b"&") if p)
        }
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=31, units=1, rate_limits_enabled=False)


@pytest.fixture
def recorder(sim: Simulator) -> BodyRecorder:
    return BodyRecorder(sim.transport())


async def _client(sim: Simulator, recorder: BodyRecorder, role: str) -> AsyncInstLoanClient:
    creds = sim.credentials(role)  # type: ignore[arg-type]
    return AsyncInstLoanClient(creds.api_key, creds.api_secret, base_url=sim.base_url,
                               transport=recorder, rate_limits=RateLimits.unlimited())


@pytest.fixture
async def parent(sim: Simulator, recorder: BodyRecorder) -> AsyncIterator[AsyncInstLoanClient]:
    async with await _client(sim, recorder, "parent") as client:
        yield client


@pytest.fixture
async def credit(sim: Simulator, recorder: BodyRecorder) -> AsyncIterator[AsyncInstLoanClient]:
    async with await _client(sim, recorder, "credit") as client:
        yield client


# Text a user may pass: no surrogates (not encodable), no edge spaces (refused before sending).
_ANY_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("@+ &=%~-_.!*'();:$,/?#[]\"<>\\^`{|}"),
                       st.characters(codec="utf-8")),
    min_size=1, max_size=40,
).filter(lambda s: s == s.strip() and bool(s.strip()))


async def _signature_accepted(call: Any) -> None:
    try:
        await call
    except AuthenticationError as exc:
        pytest.fail(f"the simulator refused the signature: {exc}")
    except InstLoanError:
        pass  # a business refusal comes after the signature was verified


@SHARED
@given(local=_ANY_TEXT)
async def test_any_email_in_a_form_body_signs_and_verifies(
    parent: AsyncInstLoanClient, recorder: BodyRecorder, local: str,
) -> None:
    email = f"{local}@x.com"

    await _signature_accepted(parent.transfer_out(asset="USDT", amount="1", sub_email=email))

    assert recorder.sent["subEmail"] == email


@SHARED
@given(asset=_ANY_TEXT)
async def test_any_asset_in_a_query_string_signs_and_verifies(
    credit: AsyncInstLoanClient, recorder: BodyRecorder, asset: str,
) -> None:
    await _signature_accepted(credit.get_max_borrowable(asset=asset))

    assert recorder.sent["assetName"] == asset


_DECIMALS = st.builds(
    lambda digits, exponent: Decimal((0, tuple(int(d) for d in str(digits)), exponent)),
    st.integers(min_value=1, max_value=10**30),
    st.integers(min_value=-30, max_value=30),
)


@SHARED
@given(amount=_DECIMALS)
async def test_any_decimal_amount_is_sent_positionally_and_exactly(
    credit: AsyncInstLoanClient, sim: Simulator, recorder: BodyRecorder, amount: Decimal,
) -> None:
    group = sim.group_ids[0]
    # Binance's legal form, at most 20 digits either side (tests/test_strict_input.py: the rest).
    assume(amount.adjusted() < 20 and amount.as_tuple().exponent >= -20)  # type: ignore[operator]

    await _signature_accepted(credit.borrow(group_id=group, asset="USDT", amount=amount))

    sent = recorder.sent["amount"]
    assert POSITIONAL.fullmatch(sent), sent
    assert Decimal(sent) == amount
    if amount.as_tuple().exponent <= 0:  # type: ignore[operator]
        assert Decimal(sent).as_tuple() == amount.as_tuple()  # the digits given, zeros kept


@SHARED
@given(
    cents=st.integers(min_value=1, max_value=10**10),
    exponent=st.integers(min_value=-8, max_value=0),
    form=st.sampled_from(["decimal", "str", "scientific"]),
)
async def test_an_amount_the_exchange_accepts_comes_back_exactly(
    credit: AsyncInstLoanClient, sim: Simulator, cents: int, exponent: int, form: str,
) -> None:
    amount = Decimal(cents).scaleb(exponent)
    assume(amount <= 1000)  # within the unit's borrowing headroom
    # Strings must be plain decimals; a Decimal may be in any notation.
    forms: dict[str, Decimal | str] = {
        "decimal": amount, "str": format(amount, "f"), "scientific": Decimal(f"{amount:E}"),
    }
    given_as = forms[form]

    result = await credit.borrow(group_id=sim.group_ids[0], asset="USDT", amount=given_as)

    assert result.amount == amount
    assert Decimal(sim.executions[-1].params["amount"]) == amount


# -- window splitting ------------------------------------------------------------------------

_RANGES = st.tuples(
    st.integers(min_value=0, max_value=4_000_000_000_000),
    st.integers(min_value=0, max_value=400 * DAY_MS),
    st.sampled_from([1, 7, 30, 100]),
)


def _windows(start: int, end: int, days: int) -> Iterator[tuple[int, int]]:
    cut = _Windows(start, end, days * DAY_MS)
    for k in range(len(cut)):
        first, last = cut[k]
        assert first is not None and last is not None
        yield first, last


def _assert_exact_cover(windows: list[tuple[int, int]], start: int, end: int, days: int) -> None:
    assert windows[0][1] == end  # newest first
    assert windows[-1][0] == start
    for (first, _), (_, next_last) in itertools.pairwise(windows):
        assert next_last == first - 1  # no gap, no overlap
    assert all(first <= last for first, last in windows)
    assert all(last - first <= days * DAY_MS for first, last in windows)  # the server's rule
    assert sum(last - first + 1 for first, last in windows) == end - start + 1


@settings(max_examples=500, deadline=None)
@given(bounds=_RANGES)
def test_window_splitting_covers_any_range_exactly_once(bounds: tuple[int, int, int]) -> None:
    start, length, days = bounds
    end = start + length

    windows = list(_windows(start, end, days))

    _assert_exact_cover(windows, start, end, days)
    assert len(windows) == -(-(length + 1) // (days * DAY_MS))  # no more windows than needed


@settings(max_examples=60, deadline=None)
@given(bounds=_RANGES.filter(lambda b: b[1] <= 60 * b[2] * DAY_MS))
async def test_an_iterator_requests_each_window_of_its_range_once(
    bounds: tuple[int, int, int],
) -> None:
    start, length, days = bounds
    end = start + length
    asked: list[tuple[int | None, int | None, int]] = []

    async def fetch(first: int | None, last: int | None, page: int) -> Page[int]:
        asked.append((first, last, page))
        return Page(total=0, rows=())

    walk: HistoryIterator[int] = HistoryIterator(
        fetch, row_type=int, endpoint="interest_history", query="", start_ms=start, end_ms=end,
        max_span_days=days, newest_first=True, concurrency=3,
    )
    assert await walk.collect() == []

    windows = [(first, last) for first, last, _ in asked]
    assert all(page == 1 for *_, page in asked)
    assert len(set(windows)) == len(windows)
    _assert_exact_cover(sorted(windows, reverse=True), start, end, days)  # type: ignore[arg-type]
