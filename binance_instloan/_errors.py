"""Exceptions raised by binance-instloan.

Every exception the client raises on purpose derives from :class:`InstLoanError`::

    InstLoanError
    ├── InvalidParameterError (also ValueError)    bad value, caught before sending
    ├── InvalidParameterTypeError (also TypeError) wrong type, caught before sending
    ├── ClientClosedError                          the client was closed
    ├── ResponseFormatError (also ValueError)      a 2xx body that does not fit the model
    ├── LimiterUnavailableError                    the shared (Redis) limiter is unreachable
    ├── APIConnectionError                         no usable answer from Binance
    │   └── APITimeoutError                        connect/read/write/pool timeout
    ├── OutcomeUnknownError                        a POST/DELETE may or may not have executed
    └── APIStatusError                             Binance answered with an error
        ├── BadRequestError                        400, -11xx parameter errors
        ├── AuthenticationError                    401, -2014, -2015, -1022
        ├── PermissionDeniedError                  403 (WAF), HTML bodies
        ├── RateLimitError                         429, -1003
        │   └── IPBannedError                      418
        ├── RiskUnitError                          -27xxx, -1024, -1025, -3xxx loan codes
        └── ServerError                            5xx

``ConfigurationError`` (also ``ValueError``) is raised by the constructor for unusable settings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "IPBannedError",
    "InstLoanError",
    "InvalidParameterError",
    "InvalidParameterTypeError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "RiskUnitError",
    "ServerError",
]


class InstLoanError(Exception):
    """Base class of every error raised by binance-instloan."""


class ConfigurationError(InstLoanError, ValueError):
    """The client was constructed with settings it cannot work with."""


class InvalidParameterError(InstLoanError, ValueError):
    """A parameter has a bad value. Raised before anything is sent."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class InvalidParameterTypeError(InstLoanError, TypeError):
    """A parameter has the wrong type. Raised before anything is sent."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


class ClientClosedError(InstLoanError, RuntimeError):
    """The client was closed; create a new one instead of reusing it."""


class APIConnectionError(InstLoanError):
    """The request got no usable answer (connection failed, reset, or protocol error).

    ``request_sent`` is False only when the request provably never left this process (the
    connection could not be opened): only then is it safe to send a POST again.
    """

    def __init__(
        self, message: str, *, method: str = "", path: str = "", request_sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class OutcomeUnknownError(InstLoanError):
    """A POST/DELETE may have reached Binance, but no answer says whether it executed.

    It is never re-sent automatically: re-sending a borrow that did execute doubles the loan.
    Check the effect first (``client.resolve_outcome(err)``, the borrow-repay records or
    ltv-details), then decide.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        params: Mapping[str, str],
        sent_at_ms: int,
        how_to_check: str,
        status_code: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(
            f"{method} {path}: outcome unknown ({message}); it was NOT re-sent. "
            f"Parameters sent: {_format_params(params)}. Check before retrying: {how_to_check}"
        )
        self.reason = message
        self.method = method
        self.path = path
        self.params = dict(params)
        self.sent_at_ms = sent_at_ms
        self.how_to_check = how_to_check
        self.status_code = status_code
        self.code = code


def _format_params(params: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(none)"


class APIStatusError(InstLoanError):
    """Binance answered with an HTTP error status or an error body (``{"code", "msg"}``)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None,
        msg: str | None,
        headers: Mapping[str, str],
        body: Any = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.msg = msg
        self.headers = dict(headers)
        self.body = body
        self.method = method
        self.path = path


class BadRequestError(APIStatusError):
    """The request was malformed (HTTP 400, the -11xx parameter codes)."""


class AuthenticationError(APIStatusError):
    """The API key or signature was refused (HTTP 401, -2014, -2015, -1022)."""


class PermissionDeniedError(APIStatusError):
    """Refused by Binance's WAF (HTTP 403) or answered with an HTML page."""


class RateLimitError(APIStatusError):
    """A request-rate limit was hit (HTTP 429, -1003), or a pause is longer than allowed."""

    def __init__(self, message: str, *, retry_after: float | None, **kwargs: Any) -> None:
        kwargs.setdefault("status_code", 429)
        kwargs.setdefault("code", None)
        kwargs.setdefault("msg", None)
        kwargs.setdefault("headers", {})
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.until = time.time() + retry_after if retry_after is not None else None


class IPBannedError(RateLimitError):
    """The IP is banned (HTTP 418) until ``until`` (a UNIX timestamp in seconds)."""

    def __init__(
        self, message: str, *, retry_after: float | None, until: float | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("status_code", 418)
        super().__init__(message, retry_after=retry_after, **kwargs)
        if until is not None:
            self.until = until


class RiskUnitError(APIStatusError):
    """Binance refused the loan operation (-27xxx, -1024, -1025, -3xxx)."""


class ServerError(APIStatusError):
    """Binance failed internally (HTTP 5xx)."""
