"""Turning an HTTP response into parsed JSON or the matching exception."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

import attrs
import httpx

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    IPBannedError,
    PermissionDeniedError,
    RateLimitError,
    RiskUnitError,
    ServerError,
)
from ._retry_after import read_retry_after

_AUTH_CODES: Final = frozenset({-2014, -2015, -1022, -1002})
_RISK_CODES: Final = frozenset({-1024, -1025})
# -1006/-1007 say outright that the execution status is unknown.
UNKNOWN_OUTCOME_CODES: Final = frozenset({-1006, -1007})
# 503 with this text is a definite failure; other 5xx answers may hide an executed request.
SERVICE_UNAVAILABLE_MSG: Final = "Service Unavailable."


# -- the verdict on a write: the one place that says which answers prove "not executed" ----------
#
# A desk that reads "refused" sends the borrow again, so a write is reported refused only when
# the answer proves Binance did not run it. This is an allow-list: an answer it does not name
# (-1000, -1001, -3000, 408, a 4xx HTML page, a code Binance adds next year) leaves the outcome
# unknown. README "Retries and money safety" prints the same table; tests walk every row.

# Codes Binance sends only when it refused the request before or instead of executing it.
NOT_EXECUTED_CODES: Final[Mapping[int, str]] = {
    -1002: "the API key is not authorized for this request",
    -1003: "rate limit: refused before processing",
    -1021: "timestamp outside recvWindow: refused before processing",
    -1022: "signature invalid: refused before processing",
    -2014: "API-key format invalid",
    -2015: "API key, IP or permissions refused",
    -1024: "the risk unit is being liquidated: refused",
    -1025: "pending transactions: refused",
}
# Code ranges of refusals: parameter checks, and the loan and margin business refusals.
NOT_EXECUTED_CODE_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (-1199, -1100, "a parameter check failed: refused before processing"),
    (-27999, -27000, "the loan business check refused it"),
    (-3999, -3001, "the margin business check refused it"),
)
# Codes inside those ranges that do not prove a refusal: "Internal server error" and
# "System busy" can be said by a backend that may already have moved the money.
NOT_A_REFUSAL_CODES: Final = frozenset({-3000, -3044})
# HTTP statuses that prove the request was stopped in front of the matching engine.
NOT_EXECUTED_STATUSES: Final[Mapping[int, str]] = {
    401: "the API key was refused",
    403: "Binance's web application firewall blocked it",
    418: "the IP is banned: refused before processing",
    429: "rate limit: refused before processing",
}


def proves_not_executed(status: int, code: int | None, msg: str | None) -> str | None:
    """Why an answer to a POST/DELETE proves it did not execute, or None: the outcome is unknown.

    Any 2xx means executed (or may have); any 5xx may hide an executed request (reference
    1.8), except a 503 "Service Unavailable.", a definite failure.
    """
    if 200 <= status < 300:
        return None
    if status >= 500:
        if status == 503 and msg == SERVICE_UNAVAILABLE_MSG:
            return "503 Service Unavailable: a definite failure"
        return None
    if status in NOT_EXECUTED_STATUSES:
        return NOT_EXECUTED_STATUSES[status]
    if status < 400 or code is None or code in NOT_A_REFUSAL_CODES | UNKNOWN_OUTCOME_CODES:
        return None
    if code in NOT_EXECUTED_CODES:
        return NOT_EXECUTED_CODES[code]
    for low, high, why in NOT_EXECUTED_CODE_RANGES:
        if low <= code <= high:
            return why
    return None


@attrs.frozen
class ResponseInfo:
    """What one call learned from Binance's response headers."""

    method: str
    path: str
    status_code: int
    used_weight: int | None  # X-SAPI-USED-IP/UID-WEIGHT-1M for this endpoint's budget
    budget: str
    weight: int
    attempts: int
    headers: Mapping[str, str]


class NonJSONBody(Exception):
    """The body was not JSON (an HTML WAF page, a proxy's error page, a body cut short)."""


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259) and no amount, rate or LTV can be either:
    # mapping them to Decimal would hand the caller a value that raises or lies in every
    # comparison, so the body is unreadable rather than "successfully" poisoned.
    raise ValueError(f"{name} is not a JSON number")


def parse_body(content: bytes) -> Any:
    """Parse a JSON body with every non-integer number as an exact Decimal; never a float."""
    if not content.strip():
        return None
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise NonJSONBody() from exc


def body_snippet(content: bytes, limit: int = 120) -> str:
    """The start of a body as text, for error messages (never the whole of a large page)."""
    return content[:limit].decode("utf-8", "replace").strip()


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds, clamped (see ``_retry_after``); None if absent or unreadable."""
    return read_retry_after(headers.get("Retry-After"))


def error_code(body: Any) -> tuple[int | None, str | None]:
    """The Binance ``code`` and ``msg`` of an error body, when it has them."""
    if isinstance(body, dict):
        code, msg = body.get("code"), body.get("msg")
        if isinstance(code, int) and not isinstance(code, bool):
            return code, msg if isinstance(msg, str) else None
    return None, None


def is_error_body(body: Any) -> bool:
    """A 2xx body that is really an error (some SAPI gateways answer 200 with a negative code)."""
    code, _ = error_code(body)
    return code is not None and code < 0 and set(body) <= {"code", "msg", "data"}


def error_from_response(
    response: httpx.Response, body: Any, *, non_json: bool, method: str, path: str,
) -> APIStatusError:
    """Map one error response to the exception class that names it."""
    status = response.status_code
    headers = response.headers
    code, msg = error_code(body)
    if non_json:
        msg = msg or f"non-JSON body: {body_snippet(response.content)!r}"
    what = f"{method} {path} -> HTTP {status}"
    if code is not None:
        what += f", code {code}"
    if msg:
        what += f": {msg}"
    kwargs: dict[str, Any] = {
        "status_code": status, "code": code, "msg": msg, "headers": dict(headers),
        "body": body, "method": method, "path": path,
    }
    retry_after = retry_after_seconds(headers)
    if status == 418:
        return IPBannedError(what + _ban_hint(retry_after), retry_after=retry_after, **kwargs)
    if status == 429 or code == -1003:
        return RateLimitError(what, retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServerError(what, **kwargs)
    if status == 403 or non_json:
        return PermissionDeniedError(
            what + " (refused by Binance's web application firewall or a proxy)", **kwargs
        )
    if status == 401 or code in _AUTH_CODES:
        return AuthenticationError(what + _auth_hint(code), **kwargs)
    if code is not None and _is_risk_code(code):
        return RiskUnitError(what, **kwargs)
    if status == 400 or (code is not None and -1199 <= code <= -1100):
        return BadRequestError(what, **kwargs)
    return APIStatusError(what, **kwargs)


def _is_risk_code(code: int) -> bool:
    return code in _RISK_CODES or -27999 <= code <= -27000 or -3999 <= code <= -3000


def _ban_hint(retry_after: float | None) -> str:
    if retry_after is None:
        return " (IP banned)"
    return f" (IP banned for {retry_after:.0f} s; nothing is sent until then)"


def _auth_hint(code: int | None) -> str:
    if code == -1022:
        return " (check api_secret / private_key matches the API key)"
    if code == -2015:
        return " (check the API key, its IP whitelist and its permissions)"
    return ""


def used_weight(headers: httpx.Headers, budget: str) -> int | None:
    name = {
        "IP": "X-SAPI-USED-IP-WEIGHT-1M",
        "UID": "X-SAPI-USED-UID-WEIGHT-1M",
        "API": "X-MBX-USED-WEIGHT-1M",
    }[budget]
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None
