"""The simulator's own endpoint table, copied from the API reference (section 0 and 1.7).

It deliberately duplicates the client's table instead of importing it: a wrong weight or path on
either side then shows up as a failing test rather than as a shared mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

import attrs

Budget = Literal["IP", "UID", "API"]

_G: Final = "/sapi/v1/margin/loan-group"
_GS: Final = "/sapi/v1/margin/loan-groups"


@attrs.frozen
class Route:
    """One endpoint: its method and path, its weight and which budget pays for it."""

    method: str
    path: str
    weight: int
    budget: Budget
    signed: bool = True

    @property
    def bucket(self) -> str:
        """Name of the rate budget: each SAPI endpoint has its own, ``/api/*`` shares one."""
        if self.budget == "API":
            return "API:/api"
        return f"{self.budget}:{self.path}"

    @property
    def weight_header(self) -> str:
        return _WEIGHT_HEADERS[self.budget]


_WEIGHT_HEADERS: Final[Mapping[Budget, str]] = {
    "IP": "X-SAPI-USED-IP-WEIGHT-1M",
    "UID": "X-SAPI-USED-UID-WEIGHT-1M",
    "API": "X-MBX-USED-WEIGHT-1M",
}

ROUTES: Final[Mapping[tuple[str, str], Route]] = {
    (r.method, r.path): r
    for r in (
        # Spot clock endpoint: unsigned, weight 1 on the shared /api budget (reference 1.6).
        Route("GET", "/api/v3/time", 1, "API", signed=False),
        # 200 in the current docs; older copies say 3000 (reference 2.1).
        Route("GET", f"{_G}/ltv-details", 200, "IP"),
        Route("DELETE", _G, 1000, "UID"),
        Route("POST", f"{_G}/edit-member", 1000, "UID"),
        Route("GET", f"{_GS}/activated", 10, "IP"),
        Route("GET", f"{_GS}/closed", 1, "IP"),
        Route("GET", f"{_G}/force-liquidation", 1, "IP"),
        Route("POST", f"{_G}/transfer-out", 1, "IP"),
        Route("GET", f"{_G}/force-liquidation-transfer-record", 1, "IP"),
        Route("POST", f"{_G}/borrow", 3000, "UID"),
        Route("POST", f"{_G}/repay", 3000, "UID"),
        Route("GET", f"{_G}/borrow-repay", 10, "IP"),
        Route("GET", f"{_G}/interest-history", 10, "IP"),
        Route("GET", f"{_G}/max-borrowable", 100, "IP"),
        # Undocumented weight (reference 2.14): charged like its sibling records endpoint.
        Route("GET", f"{_G}/interest-rebate-balance", 100, "IP"),
        Route("GET", f"{_G}/interest-rebate-balance/records", 100, "IP"),
        # The two 2025-05-16 endpoints have no page; 200 (IP) as reference 2.16 suggests.
        Route("GET", _GS, 200, "IP"),
        Route("GET", _G, 200, "IP"),
    )
}

# Which methods each known path answers, for 405 replies that name them.
METHODS_BY_PATH: Final[Mapping[str, tuple[str, ...]]] = {
    path: tuple(m for (m, p) in ROUTES if p == path) for (_, path) in ROUTES
}
