"""Defaults and the endpoint table: every path, method, weight and budget lives here, once.

Weights and budgets come from the API reference (section 0 and 1.7). Where the reference marks
a conflict, the choice is written next to the entry.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

DEFAULT_BASE_URL: Final = "https://api.binance.com"
DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
DEFAULT_MAX_RETRIES: Final = 3
# Binance gives up on a request after 10 s server-side; reading for longer lets us see its
# -1007 answer instead of cutting the connection and turning a clear "timeout" into "unknown".
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 15.0
DEFAULT_WRITE_TIMEOUT: Final = 10.0
DEFAULT_POOL_TIMEOUT: Final = 10.0
# How often the learned clock offset is refreshed even when nothing goes wrong.
CLOCK_REFRESH_SECONDS: Final = 300.0

API_KEY_HEADER: Final = "X-MBX-APIKEY"
USED_IP_WEIGHT_HEADER: Final = "X-SAPI-USED-IP-WEIGHT-1M"
USED_UID_WEIGHT_HEADER: Final = "X-SAPI-USED-UID-WEIGHT-1M"
USED_API_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"

PAGE_SIZE_MAX: Final = 100
PAGE_SIZE_DEFAULT: Final = 10
DAY_MS: Final = 86_400_000


class Budget(enum.StrEnum):
    """Which Binance rate budget an endpoint is charged to."""

    IP = "IP"  # per endpoint, per IP: 12,000 / minute
    UID = "UID"  # per endpoint, per account: 180,000 / minute
    API = "API"  # the shared /api/* budget (only the clock sync uses it): 6,000 / minute


@attrs.frozen
class Endpoint:
    """One REST endpoint: how to call it and what it costs."""

    name: str
    method: str
    path: str
    weight: int
    budget: Budget
    signed: bool = True
    # Longest startTime..endTime span the server accepts, in days (section 1.11); None: no rule.
    max_span_days: int | None = None

    @property
    def bucket(self) -> str:
        """The limiter bucket: each SAPI endpoint has its own budget; /api/* shares one."""
        if self.budget is Budget.API:
            return "API:/api"
        return f"{self.budget.value}:{self.path}"

    @property
    def is_write(self) -> bool:
        return self.method != "GET"


_G = "/sapi/v1/margin/loan-group"

ENDPOINTS: Final[dict[str, Endpoint]] = {
    e.name: e
    for e in (
        Endpoint("server_time", "GET", "/api/v3/time", 1, Budget.API, signed=False),
        # 200 per the current docs; older copies say 3000 (reference 2.1). We budget 200.
        Endpoint("ltv_details", "GET", f"{_G}/ltv-details", 200, Budget.IP),
        Endpoint("close_risk_unit", "DELETE", _G, 1000, Budget.UID),
        Endpoint("edit_member", "POST", f"{_G}/edit-member", 1000, Budget.UID),
        Endpoint("active_risk_units", "GET", "/sapi/v1/margin/loan-groups/activated", 10,
                 Budget.IP),
        Endpoint("closed_risk_units", "GET", "/sapi/v1/margin/loan-groups/closed", 1, Budget.IP),
        Endpoint("force_liquidation", "GET", f"{_G}/force-liquidation", 1, Budget.IP,
                 max_span_days=100),
        Endpoint("transfer_out", "POST", f"{_G}/transfer-out", 1, Budget.IP),
        Endpoint("force_liquidation_transfer", "GET", f"{_G}/force-liquidation-transfer-record",
                 1, Budget.IP, max_span_days=100),
        Endpoint("borrow", "POST", f"{_G}/borrow", 3000, Budget.UID),
        Endpoint("repay", "POST", f"{_G}/repay", 3000, Budget.UID),
        # The 100-day cap is further narrowed by the asset rule (30 days with asset, 7 without).
        Endpoint("borrow_repay", "GET", f"{_G}/borrow-repay", 10, Budget.IP, max_span_days=100),
        Endpoint("interest_history", "GET", f"{_G}/interest-history", 10, Budget.IP,
                 max_span_days=100),
        Endpoint("max_borrowable", "GET", f"{_G}/max-borrowable", 100, Budget.IP),
        # Undocumented weight (reference 2.14): budgeted like its sibling, 100 (IP).
        Endpoint("interest_rebate_balance", "GET", f"{_G}/interest-rebate-balance", 100, Budget.IP),
        Endpoint("interest_rebate_records", "GET", f"{_G}/interest-rebate-balance/records", 100,
                 Budget.IP),
        # The two 2025-05-16 endpoints have no page; budgeted as 200 (IP) per reference 2.16.
        Endpoint("loan_groups", "GET", "/sapi/v1/margin/loan-groups", 200, Budget.IP),
        Endpoint("loan_group", "GET", _G, 200, Budget.IP),
    )
}

# Borrow-repay records: how far back from endTime a window may reach (reference 2.11).
BORROW_REPAY_SPAN_DAYS_WITH_ASSET: Final = 30
BORROW_REPAY_SPAN_DAYS_WITHOUT_ASSET: Final = 7

# The send path (binance_instloan/_transport.py, _base_client.py).
# Connections (and requests signed at once: a request signed and then queued in the pool can
# outlive its recvWindow).
MAX_CONNECTIONS: Final = 100
# Idle connections are reused for this long by reads: a stale one only costs a GET retry.
KEEPALIVE_EXPIRY: Final = 30.0
# Writes reuse a connection only if it has been idle less than this. A server closes idle
# connections after a few seconds (uvicorn 5 s); a write sent just as it does never reaches it,
# yet cannot be told from one that executed, and would end as an OutcomeUnknownError.
WRITE_KEEPALIVE_EXPIRY: Final = 0.5
# Largest response body read; Binance's largest answers (100-row history pages) are ~100 KiB.
DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
