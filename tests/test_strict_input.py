"""Input that could never be sent as meant is refused in the process, before any request."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal

import pytest
import respx

from binance_instloan import (
    AsyncInstLoanClient,
    ConfigurationError,
    InvalidParameterError,
)
from tests._support import KEY, SECRET

LOAN = "/sapi/v1/margin/loan-group"


@pytest.mark.parametrize(
    "api_key",
    [KEY + "\r\nX-Injected: 1", KEY + "\n", KEY + "\x00", "my key", " " + KEY, KEY + "\t",
     KEY + "é", "ключ" + KEY],
    ids=["CRLF", "LF", "NUL", "space inside", "leading space", "tab", "accent", "cyrillic"],
)
def test_an_api_key_that_cannot_travel_in_a_header_is_refused_by_the_constructor(
    api_key: str,
) -> None:
    with pytest.raises(ConfigurationError, match="printable ASCII") as caught:
        AsyncInstLoanClient(api_key, SECRET)

    assert api_key not in str(caught.value)


def test_a_normal_api_key_is_accepted() -> None:
    AsyncInstLoanClient("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", SECRET)


@pytest.mark.parametrize(
    "amount",
    ["1_000", "１００", "+5", " 5", "5 ", "1e3", "1E3", "-5", ".5", "5.", "0x10", "Infinity",
     "NaN", "1,5", "", "٣"],
)
async def test_an_amount_string_other_than_a_plain_ascii_decimal_is_refused_unsent(
    api: respx.MockRouter, client: AsyncInstLoanClient, amount: str,
) -> None:
    with pytest.raises(InvalidParameterError, match="amount"):
        await client.borrow(group_id=1, asset="USDT", amount=amount)

    assert api.calls.call_count == 0


@pytest.mark.parametrize(
    "amount",
    [Decimal("1E+30"), Decimal("1E+20"), 10**20, "1" * 21, Decimal("1E-21"),
     "0." + "0" * 20 + "1", Decimal("0.1000000000000000000000"), Decimal("1E+100000000"),
     Decimal("1E-100000000")],
    ids=["1E+30", "21 integer digits", "int of 21 digits", "str of 21 digits", "1E-21",
         "21 decimal places", "trailing zeros past 20 places", "1E+100000000", "1E-100000000"],
)
async def test_an_amount_beyond_binances_20_digits_either_side_is_refused_unsent(
    api: respx.MockRouter, client: AsyncInstLoanClient, amount: Decimal | int | str,
) -> None:
    with pytest.raises(InvalidParameterError, match="amount"):
        await client.repay(group_id=1, asset="USDT", amount=amount)

    assert api.calls.call_count == 0


@pytest.mark.parametrize("amount", [Decimal("1E+100000000"), Decimal("1E-100000000")])
async def test_a_huge_exponent_is_refused_without_writing_its_digits(
    client: AsyncInstLoanClient, amount: Decimal,
) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidParameterError):
            await client.transfer_out(asset="USDT", amount=amount)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 1_000_000  # formatting it would take 100 MB


@pytest.mark.parametrize(
    ("amount", "sent"),
    [("12345678901234567890.12345678901234567890", "12345678901234567890.12345678901234567890"),
     (Decimal("1E+19"), "10000000000000000000"), (Decimal("1E-20"), "0.00000000000000000001"),
     (10**20 - 1, "99999999999999999999"), ("0.5", "0.5")],
)
async def test_an_amount_at_the_edge_of_binances_form_is_sent_as_written(
    api: respx.MockRouter, client: AsyncInstLoanClient, amount: Decimal | int | str, sent: str,
) -> None:
    route = api.post(f"{LOAN}/borrow").respond(
        200, json={"transactionId": 1, "amount": sent, "status": "success"})

    await client.borrow(group_id=1, asset="USDT", amount=amount)

    assert f"amount={sent}&" in route.calls.last.request.content.decode()


@pytest.mark.parametrize("group_id", [2**63, 10**30])
async def test_a_group_id_beyond_a_64_bit_long_is_refused_unsent(
    api: respx.MockRouter, client: AsyncInstLoanClient, group_id: int,
) -> None:
    with pytest.raises(InvalidParameterError, match="group_id"):
        await client.close_risk_unit(group_id=group_id)

    assert api.calls.call_count == 0


async def test_a_page_number_beyond_a_64_bit_long_is_refused_unsent(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    with pytest.raises(InvalidParameterError, match="current"):
        await client.get_closed_risk_units(current=2**63)

    assert api.calls.call_count == 0


async def test_the_largest_64_bit_group_id_is_sent(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    route = api.delete(LOAN).respond(200, json={"groupId": 2**63 - 1, "status": "CLOSED"})

    result = await client.close_risk_unit(group_id=2**63 - 1)

    assert result.group_id == 2**63 - 1
    assert route.called
