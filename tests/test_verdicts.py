"""The verdict on every answer to a write, on both HTTP backends.

A desk that reads "refused" sends the borrow again; one that reads "executed" does not check.
So a write is reported refused only when the answer proves Binance did not run it (the
allow-list in ``_response.proves_not_executed``, printed in the README); a 2xx is never a
refusal; everything else is ``OutcomeUnknownError``, sent once and never again.

The answers come from a loopback HTTP server, so ``backend="httpx"`` and ``backend="aiohttp"``
read the very same bytes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from binance_instloan import (
    APIStatusError,
    AsyncInstLoanClient,
    ExecutedUnreadableError,
    OutcomeUnknownError,
    PermissionDeniedError,
    UnreadableResponseError,
)
from binance_instloan._response import (
    NOT_A_REFUSAL_CODES,
    NOT_EXECUTED_CODE_RANGES,
    NOT_EXECUTED_CODES,
    NOT_EXECUTED_STATUSES,
    proves_not_executed,
)
from tests._fast_pause import fast_pause_limiter
from tests._support import KEY, SECRET

LOAN = "/sapi/v1/margin/loan-group"
BACKENDS = ["httpx", "aiohttp"]

Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: object, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _error(status: int, code: int, msg: str = "message", **headers: str) -> Answer:
    return _json(status, {"code": code, "msg": msg}, **headers)


def _raw(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, body


HTML = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


class LoopbackBinance:
    """A tiny HTTP/1.1 server: the time endpoint answers the time, anything else the next
    queued answer (the last one repeats). ``hits`` counts what reached it per method and path."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.hits: Counter[str] = Counter()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await reader.readline()
            method, target, _ = request_line.decode("ascii").split(" ", 2)
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            path = target.partition("?")[0]
            if path == "/api/v3/time":
                status, headers, body = _json(200, {"serverTime": int(time.time() * 1000)})
            else:
                self.hits[f"{method} {path}"] += 1
                status, headers, body = (
                    self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
                )
            head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
        finally:
            writer.close()


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def binance() -> AsyncIterator[tuple[LoopbackBinance, str]]:
    server = LoopbackBinance()
    url = await server.start()
    yield server, url
    await server.stop()


@pytest.fixture(params=BACKENDS)
async def client(
    request: pytest.FixtureRequest, binance: tuple[LoopbackBinance, str],
) -> AsyncIterator[AsyncInstLoanClient]:
    _, url = binance
    async with AsyncInstLoanClient(KEY, SECRET, base_url=url, backend=request.param,
                                   limiter=fast_pause_limiter()) as c:
        c._retry.sleep = _no_sleep
        yield c


@pytest.fixture
def server(binance: tuple[LoopbackBinance, str]) -> LoopbackBinance:
    return binance[0]


def _borrow(client: AsyncInstLoanClient) -> Awaitable[Any]:
    return client.borrow(group_id=7, asset="USDT", amount=Decimal("1.5"))


WRITES: dict[str, tuple[str, Callable[[AsyncInstLoanClient], Awaitable[Any]]]] = {
    "borrow": (f"POST {LOAN}/borrow", _borrow),
    "repay": (f"POST {LOAN}/repay",
              lambda c: c.repay(group_id=7, asset="USDT", amount=Decimal("1.5"))),
    "transfer_out": (f"POST {LOAN}/transfer-out",
                     lambda c: c.transfer_out(asset="USDT", amount=Decimal("1.5"))),
    "edit_member": (f"POST {LOAN}/edit-member",
                    lambda c: c.add_collateral_account(group_id=7, sub_email="c@x.io",
                                                       enable_spot=True, enable_margin=True)),
    "close": (f"DELETE {LOAN}", lambda c: c.close_risk_unit(group_id=7)),
}


# -- the table: answers that prove the write did not execute -------------------------------------

NOT_EXECUTED: dict[str, Answer] = {
    "-1021 timestamp outside recvWindow": _error(400, -1021),
    "-1022 bad signature": _error(400, -1022),
    "-2014 bad API-key format": _error(400, -2014),
    "-2015 key, IP or permissions refused": _error(401, -2015),
    "-1002 not authorized": _error(401, -1002),
    "-1100 illegal characters": _error(400, -1100),
    "-1102 mandatory parameter": _error(400, -1102),
    "-1199 end of the -11xx range": _error(400, -1199),
    "-1003 at 400": _error(400, -1003, **{"Retry-After": "0"}),
    "429": _error(429, -1003, **{"Retry-After": "0"}),
    "418": _error(418, -1003, **{"Retry-After": "0"}),
    "401 without a code": _raw(401, b""),
    "403 firewall page": _raw(403, HTML, "text/html"),
    "-27009 above max borrowable": _error(400, -27009),
    "-27000 start of the -27xxx range": _error(400, -27000),
    "-27999 end of the -27xxx range": _error(400, -27999),
    "-1024 unit in liquidation": _error(400, -1024),
    "-1025 pending transactions": _error(400, -1025),
    "-3006 above max borrow": _error(400, -3006),
    "-3001 start of the -3xxx refusals": _error(400, -3001),
    "-3999 end of the -3xxx refusals": _error(400, -3999),
    "503 Service Unavailable.": _error(503, -1000, "Service Unavailable."),
}

# -- everything else: the outcome is unknown ------------------------------------------------------

UNKNOWN: dict[str, Answer] = {
    "-1000 unknown error at 400": _error(
        400, -1000, "An unknown error occurred while processing the request."),
    "-1001 at 500": _error(500, -1001, "Internal error; unable to process your request."),
    "-1001 at 400": _error(400, -1001),
    "-1006 at 400": _error(400, -1006),
    "-1007 at 408": _error(408, -1007),
    "-3000 internal server error": _error(400, -3000, "Internal server error."),
    "-3044 system busy": _error(400, -3044, "System busy."),
    "408 without a body": _raw(408, b""),
    "HTML 502": _raw(502, HTML, "text/html"),
    "empty 500": _raw(500, b""),
    "503 unknown error": _error(503, -1000, "Unknown error, please check your request."),
    "-27009 at 500": _error(500, -27009),
    "HTML 400 from a proxy": _raw(400, HTML, "text/html"),
    "404 without a body": _raw(404, b""),
    "a code Binance adds later": _error(400, -9999),
    "400 without a code": _json(400, {"msg": "bad"}),
}

# -- a 2xx: executed (or may have), but the answer cannot be read ------------------------------

UNREADABLE_2XX: dict[str, Answer] = {
    "HTML 200": _raw(200, HTML, "text/html"),
    "JSON cut short": _raw(200, b'{"transactionId":1,"amo'),
    "unquoted status, as in the zh docs": _raw(
        200, b'{"transactionId":1,"amount":1,"status":success}'),
    "empty object": _json(200, {}),
    "empty body": _raw(200, b""),
    "error object at 200": _error(200, -1000),
    "business refusal code at 200": _error(200, -27009),
    "NaN amount": _raw(200, b'{"transactionId":1,"amount":NaN}'),
    "a list": _json(200, [1]),
}


@pytest.mark.parametrize("answer", list(NOT_EXECUTED.values()), ids=list(NOT_EXECUTED))
async def test_an_answer_that_proves_nothing_executed_is_a_refusal(
    client: AsyncInstLoanClient, server: LoopbackBinance, answer: Answer,
) -> None:
    server.answers = [answer]

    with pytest.raises(APIStatusError) as caught:
        await _borrow(client)

    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.status_code == answer[0]


@pytest.mark.parametrize("answer", list(UNKNOWN.values()), ids=list(UNKNOWN))
async def test_an_answer_that_proves_nothing_is_an_unknown_outcome_sent_once(
    client: AsyncInstLoanClient, server: LoopbackBinance, answer: Answer,
) -> None:
    server.answers = [answer]

    with pytest.raises(OutcomeUnknownError) as caught:
        await _borrow(client)

    assert server.hits[f"POST {LOAN}/borrow"] == 1
    assert caught.value.status_code == answer[0]
    assert caught.value.params["amount"] == "1.5"


@pytest.mark.parametrize("answer", list(UNREADABLE_2XX.values()), ids=list(UNREADABLE_2XX))
async def test_an_unreadable_2xx_to_a_write_says_executed_not_refused(
    client: AsyncInstLoanClient, server: LoopbackBinance, answer: Answer,
) -> None:
    server.answers = [answer]

    with pytest.raises(ExecutedUnreadableError) as caught:
        await _borrow(client)

    assert server.hits[f"POST {LOAN}/borrow"] == 1
    assert "executed" in str(caught.value)
    assert caught.value.status_code == 200


@pytest.mark.parametrize("write", list(WRITES))
async def test_every_write_answered_with_an_html_200_is_executed_unreadable(
    client: AsyncInstLoanClient, server: LoopbackBinance, write: str,
) -> None:
    route, call = WRITES[write]
    server.answers = [_raw(200, HTML, "text/html")]

    with pytest.raises(ExecutedUnreadableError):
        await call(client)

    assert server.hits[route] == 1


@pytest.mark.parametrize("write", list(WRITES))
async def test_every_write_answered_with_minus_1000_is_unknown_and_sent_once(
    client: AsyncInstLoanClient, server: LoopbackBinance, write: str,
) -> None:
    route, call = WRITES[write]
    server.answers = [_error(400, -1000)]

    with pytest.raises(OutcomeUnknownError):
        await call(client)

    assert server.hits[route] == 1


async def test_an_executed_unreadable_borrow_is_accepted_by_resolve_outcome(
    client: AsyncInstLoanClient, server: LoopbackBinance,
) -> None:
    server.answers = [_raw(200, b'{"transactionId":1,"amount":1,"status":success}')]
    with pytest.raises(ExecutedUnreadableError) as caught:
        await _borrow(client)
    server.answers = [_json(200, {"total": 1, "rows": [{
        "tranId": 1, "timestamp": caught.value.sent_at_ms, "assetName": "USDT", "amount": "1.5",
        "type": "BORROW", "status": "CONFIRM",
    }]})]

    verdict = await client.resolve_outcome(caught.value, deadline=5, poll_interval=0.05)

    assert verdict.executed


@pytest.mark.parametrize(
    "body",
    [b'{"transactionId":"12317283617","amount":"1.5","status":"success"}',
     b'{"transactionId":12317283617,"amount":1.5}'],
    ids=["id as a string", "number id, no status"],
)
async def test_a_borrow_result_is_read_with_a_string_id_or_without_status(
    client: AsyncInstLoanClient, server: LoopbackBinance, body: bytes,
) -> None:
    server.answers = [_raw(200, body)]

    result = await _borrow(client)

    assert (result.transaction_id, result.amount) == (12317283617, Decimal("1.5"))


# -- GETs: a broken 200 is a broken answer, retried like any other -------------------------------

@pytest.mark.parametrize(
    "broken",
    [_raw(200, HTML, "text/html"), _raw(200, b'[{"groupId":1,"ltv'), _raw(200, b"[NaN]")],
    ids=["HTML 200", "JSON cut short", "NaN"],
)
async def test_a_get_answered_with_a_broken_200_is_retried(
    client: AsyncInstLoanClient, server: LoopbackBinance, broken: Answer,
) -> None:
    server.answers = [broken, _json(200, [])]

    assert await client.get_ltv_details() == []
    assert server.hits[f"GET {LOAN}/ltv-details"] == 2


async def test_a_get_that_only_gets_broken_200s_raises_unreadable_not_a_firewall_refusal(
    client: AsyncInstLoanClient, server: LoopbackBinance,
) -> None:
    server.answers = [_raw(200, HTML, "text/html")]

    with pytest.raises(UnreadableResponseError) as caught:
        await client.get_ltv_details()

    assert not isinstance(caught.value, PermissionDeniedError)
    assert caught.value.status_code == 200
    assert server.hits[f"GET {LOAN}/ltv-details"] == 4  # the first try and max_retries=3


# -- the table itself ------------------------------------------------------------------------------

def test_every_code_of_the_table_has_a_test_row() -> None:
    codes = {json.loads(body)["code"] for status, _, body in NOT_EXECUTED.values()
             if body.startswith(b"{") and status < 500}
    assert set(NOT_EXECUTED_CODES) <= codes
    for low, high, _ in NOT_EXECUTED_CODE_RANGES:
        assert {low, high} <= codes
    statuses = {status for status, _, _ in NOT_EXECUTED.values()}
    assert set(NOT_EXECUTED_STATUSES) <= statuses
    unknown_codes = {json.loads(body).get("code") for _, _, body in UNKNOWN.values()
                     if body.startswith(b"{")}
    assert unknown_codes >= NOT_A_REFUSAL_CODES


def test_no_2xx_ever_proves_a_write_did_not_execute() -> None:
    for status in (200, 201, 202, 204):
        for code in (None, -1021, -27009, -1003):
            assert proves_not_executed(status, code, None) is None



def test_the_readme_table_names_every_answer_the_code_treats_as_not_executed() -> None:
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| Answer to a POST / DELETE |"):]
    table = table[: table.index("\n\n")]

    for code in NOT_EXECUTED_CODES:
        assert f"`{code}`" in table, code
    for low, high, _ in NOT_EXECUTED_CODE_RANGES:
        assert f"`{high}` to `{low}`" in table, (low, high)
    for status in NOT_EXECUTED_STATUSES:
        assert f"HTTP {status}" in table, status
    for code in NOT_A_REFUSAL_CODES:
        assert f"`{code}`" in text[text.index("| Answer to a POST / DELETE |"):], code
    assert "HTTP 503 with \"Service Unavailable.\"" in table
