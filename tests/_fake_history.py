"""A fake Binance for the paged history endpoints, strict where Binance is strict.

It keeps records per endpoint and answers pages newest first, as reference 1.9/1.11 describe:
``{"total": N, "rows": [...]}``, ``size`` at most 100 (else -1130), a ``startTime..endTime``
span no longer than the endpoint allows (else -1127: 100 days; borrow-repay 30 days with
``asset`` and 7 without), both with HTTP 400. Each endpoint has its own weight budget per
window of the real clock, reported in ``X-SAPI-USED-IP-WEIGHT-1M``; a request past it gets 429.
``/api/v3/time`` answers the real time.

Every handled request is recorded, and ``in_flight`` counts those still being answered (each
waits ``latency`` seconds), so tests can see what an iterator asked for and when it stopped.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Final

import attrs
import httpx

from binance_instloan import AsyncInstLoanClient, RateLimits

DAY_MS: Final = 86_400_000
LOAN: Final = "/sapi/v1/margin/loan-group"

# name: (path, weight (IP), maximum span in days or None)
ENDPOINTS: Final = {
    "interest": (f"{LOAN}/interest-history", 10, 100),
    "borrow_repay": (f"{LOAN}/borrow-repay", 10, 100),
    "liquidations": (f"{LOAN}/force-liquidation", 1, 100),
    "transfers": (f"{LOAN}/force-liquidation-transfer-record", 1, 100),
    "closed": ("/sapi/v1/margin/loan-groups/closed", 1, None),
    "rebates": (f"{LOAN}/interest-rebate-balance/records", 100, None),
}
_BY_PATH: Final = {path: name for name, (path, _, _) in ENDPOINTS.items()}
_REBATE_TYPES: Final = {"0": "ADD", "1": "DEDUCT", "2": "INTEREST_OFFSET"}


@attrs.frozen
class Seen:
    """One history request as the fake received it."""

    endpoint: str
    params: dict[str, str]

    @property
    def window(self) -> tuple[int, int]:
        return int(self.params["startTime"]), int(self.params["endTime"])

    @property
    def page(self) -> int:
        return int(self.params.get("current", "1"))


@attrs.define
class _Record:
    time_ms: int
    seq: int
    row: dict[str, Any]


class FakeBinance:
    """The history endpoints over an ``httpx.MockTransport``; see the module docstring."""

    def __init__(
        self,
        *,
        ip_weight: int = 12_000,
        window_seconds: float = 60.0,
        latency: float | Callable[[Seen], float] = 0.0,
    ) -> None:
        self.ip_weight = ip_weight
        self.window_seconds = window_seconds
        self.latency = latency
        self._records: dict[str, list[_Record]] = defaultdict(list)
        self._seq = 0
        self._used: dict[tuple[str, int], int] = defaultdict(int)
        self.requests: list[Seen] = []
        self.rows_served = 0
        self.rejected_429 = 0
        self.rejected_400 = 0
        self.in_flight = 0
        self.max_in_flight = 0
        #: Added to every ``total`` (the force-liquidation example says 2 and sends 1 row).
        self.overstate_total = 0
        #: Requests it says yes to are answered with -1130 (HTTP 400), as a broken one would be.
        self.fail_if: Callable[[Seen], bool] | None = None
        #: Called with each history request before it is answered (to add records mid-walk).
        self.before_answer: Callable[[Seen], None] | None = None

    # -- data ------------------------------------------------------------------------------

    def add(self, endpoint: str, time_ms: int, row: dict[str, Any]) -> None:
        """Store a record; the later of two records with the same time is listed first."""
        self._seq += 1
        bisect.insort(self._records[endpoint], _Record(time_ms, self._seq, row),
                      key=lambda r: (-r.time_ms, -r.seq))

    def count(self, endpoint: str) -> int:
        return sum(1 for seen in self.requests if seen.endpoint == endpoint)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def client(self, **kwargs: Any) -> AsyncInstLoanClient:
        kwargs.setdefault(
            "rate_limits",
            RateLimits(ip_weight=self.ip_weight, window_seconds=self.window_seconds),
        )
        return AsyncInstLoanClient(
            "fake-api-key-0123456789", "fake-secret-0123456789",
            base_url="http://127.0.0.1", transport=self.transport, **kwargs,
        )

    # -- serving -------------------------------------------------------------------------------

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        now = time.time()
        if request.url.path == "/api/v3/time":
            return httpx.Response(200, json={"serverTime": int(now * 1000)})
        endpoint = _BY_PATH.get(request.url.path)
        if endpoint is None:
            return _error(404, -1000, f"no such path {request.url.path}")
        path, weight, _ = ENDPOINTS[endpoint]
        # Weight is counted when a request arrives, as Binance does.
        bucket = (path, math.floor(now / self.window_seconds))
        if self._used[bucket] + weight > self.ip_weight:
            self.rejected_429 += 1
            retry_after = max(1, math.ceil((bucket[1] + 1) * self.window_seconds - now))
            return _error(429, -1003, "Too much request weight used; current limit is "
                          f"{self.ip_weight} request weight per window.",
                          {"Retry-After": str(retry_after)})
        self._used[bucket] += weight
        headers = {"X-SAPI-USED-IP-WEIGHT-1M": str(self._used[bucket])}
        params = dict(request.url.params)
        if "timestamp" not in params or "signature" not in params:
            return _error(400, -1102, "Mandatory parameter 'timestamp' was not sent.", headers)
        seen = Seen(endpoint, {k: val for k, val in params.items()
                               if k not in ("timestamp", "signature", "recvWindow")})
        self.requests.append(seen)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            latency = self.latency(seen) if callable(self.latency) else self.latency
            if latency:
                await asyncio.sleep(latency)
            if self.before_answer is not None:
                self.before_answer(seen)
            if self.fail_if is not None and self.fail_if(seen):
                return self._bad(-1130, "Data sent for parameter 'endTime' is not valid.",
                                 headers)
            return self._answer(seen, int(time.time() * 1000), headers)
        finally:
            self.in_flight -= 1

    def _answer(self, seen: Seen, now_ms: int, headers: dict[str, str]) -> httpx.Response:
        endpoint, params = seen.endpoint, seen.params
        max_days = ENDPOINTS[endpoint][2]
        current, size = int(params.get("current", "1")), int(params.get("size", "10"))
        if not 1 <= size <= 100:
            return self._bad(-1130, "Data sent for parameter 'size' is not valid.", headers)
        if current < 1:
            return self._bad(-1130, "Data sent for parameter 'current' is not valid.", headers)
        records = self._records[endpoint]
        if max_days is not None:
            if endpoint == "borrow_repay":
                max_days = 30 if "asset" in params else 7
            start, end = _window(endpoint, params, now_ms)
            if start > end:
                return self._bad(-1130, "Data sent for parameter 'startTime' is not valid.",
                                 headers)
            if end - start > max_days * DAY_MS:
                return self._bad(-1127, f"More than {max_days * 24} hours between startTime "
                                 "and endTime.", headers)
            records = [r for r in records if start <= r.time_ms <= end]
        elif "endTime" in params:
            start = int(params.get("startTime", "0"))
            records = [r for r in records if start <= r.time_ms <= int(params["endTime"])]
        rows = [r.row for r in _filtered(endpoint, records, params)]
        page = rows[(current - 1) * size: current * size]
        self.rows_served += len(page)
        body = json.dumps({"total": len(rows) + self.overstate_total, "rows": page})
        return httpx.Response(200, content=body.encode(), headers={
            **headers, "Content-Type": "application/json"})

    def _bad(self, code: int, msg: str, headers: dict[str, str]) -> httpx.Response:
        self.rejected_400 += 1
        return _error(400, code, msg, headers)


def _window(endpoint: str, params: dict[str, str], now_ms: int) -> tuple[int, int]:
    """The range Binance applies, defaults included (reference 1.11)."""
    start = int(params["startTime"]) if "startTime" in params else None
    end = int(params["endTime"]) if "endTime" in params else None
    if start is None and end is None:
        return now_ms - 7 * DAY_MS, now_ms
    if end is None:
        assert start is not None
        if endpoint == "interest":
            return max(start, now_ms - 30 * DAY_MS), now_ms
        return start, now_ms
    if start is None:
        return end - 7 * DAY_MS, end
    return start, end


def _filtered(endpoint: str, records: list[_Record], params: dict[str, str]) -> list[_Record]:
    if endpoint in ("interest", "borrow_repay") and "asset" in params:
        records = [r for r in records if r.row["assetName"] == params["asset"]]
    if endpoint == "borrow_repay":
        wanted = params["type"]
        records = [r for r in records
                   if (r.row["type"] == "BORROW") == (wanted == "BORROW")]
    if endpoint == "rebates" and "type" in params:
        records = [r for r in records if r.row["type"] == _REBATE_TYPES[params["type"]]]
    return records


def _error(
    status: int, code: int, msg: str, headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg}, headers=headers)


# -- records as Binance sends them (reference 2.5-2.15) -------------------------------------


def interest_row(time_ms: int, *, asset: str = "USDT", group_id: int = 2,
                 interest: str = "7.09447643") -> dict[str, Any]:
    return {"groupId": group_id, "assetName": asset, "principal": "851340.57601652",
            "interestRate": "0.00000833", "interest": interest, "interestTimestamp": time_ms}


def borrow_repay_row(time_ms: int, *, tran_id: int = 1648963682, type: str = "BORROW",
                     amount: str = "300", status: str = "CONFIRM",
                     asset: str = "USDT") -> dict[str, Any]:
    row: dict[str, Any] = {"tranId": tran_id, "assetName": asset, "amount": amount,
                           "status": status, "type": type, "timestamp": time_ms}
    if type != "BORROW":
        row.update(principal="298", interest="2")
    return row


def liquidation_row(time_ms: int, *, group_id: int = 6) -> dict[str, Any]:
    return {
        "groupId": group_id, "startLtv": 1, "endLtv": 0,
        "liquidationStartTime": time_ms, "liquidationEndTime": time_ms + 1000,
        "totalNetEquity": "16671.5507973", "totalMaintenanceMargin": "0",
        "totalLiability": "16667.926",
        "liquidationSnapshot": {
            "snapshots": [{"subEmail": "a@test.com", "memberType": "CREDIT",
                           "walletType": "PORTFOLIO_MARGIN", "netEquity": "12671.05079731",
                           "maintainMargin": "0E-8"}],
            "liabilities": {"assetName": "USDT", "principal": "11667.926",
                            "interest": "5000"},
        },
    }


def transfer_row(time_ms: int, *, liquidation_id: int = 56) -> dict[str, Any]:
    return {"liquidationId": liquidation_id, "liquidationTransferRecord": [{
        "transferTime": time_ms, "fromUid": 1000277033525, "fromAccountType": "SPOT",
        "toUid": 1000277033505, "toAccountType": "PORTFOLIO_MARGIN", "status": "CONFIRM",
        "assets": [{"assetName": "BTC", "amount": "0.5"}]}]}


def closed_unit_row(group_id: int, close_time: int) -> dict[str, Any]:
    return {"groupId": group_id, "parentEmail": "parent@test.com",
            "creditEmail": f"credit{group_id}@test.com", "enabled": False,
            "createTime": close_time - 1000, "closeTime": close_time}


def rebate_row(time_ms: int, *, type: str = "ADD", delta: str = "5000.00000000") -> dict[str, Any]:
    return {"type": type, "rebateAsset": "USDT", "delta": delta, "createTime": time_ms}
