"""No float reaches the caller: the raw-JSON methods hand out Decimals, and NaN/Infinity
(not JSON) make the answer unreadable instead of becoming a value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import respx

from binance_instloan import AsyncInstLoanClient, UnreadableResponseError

GROUPS = "/sapi/v1/margin/loan-groups"


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return []


async def test_numbers_from_get_loan_groups_are_decimals(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    api.get(GROUPS).respond(
        200, content=b'[{"groupId":1,"ltv":0.5,"rate":1e-3,"big":123456789012345678901.5}]')

    groups = await client.get_loan_groups()

    assert _floats(groups) == []
    assert groups[0]["ltv"] == Decimal("0.5")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
async def test_a_non_finite_literal_from_get_loan_groups_is_unreadable_not_a_float(
    api: respx.MockRouter, client: AsyncInstLoanClient, literal: bytes,
) -> None:
    api.get(GROUPS).respond(200, content=b'[{"groupId":1,"ltv":' + literal + b"}]")

    with pytest.raises(UnreadableResponseError):
        await client.get_loan_groups()


async def test_a_non_finite_literal_from_get_loan_group_is_retried_until_readable(
    api: respx.MockRouter, client: AsyncInstLoanClient,
) -> None:
    api.get("/sapi/v1/margin/loan-group").mock(side_effect=[
        respx.MockResponse(200, content=b'{"groupId":1,"ltv":NaN}'),
        respx.MockResponse(200, content=b'{"groupId":1,"ltv":"0.5"}'),
    ])

    group = await client.get_loan_group()

    assert group == {"groupId": 1, "ltv": "0.5"}
