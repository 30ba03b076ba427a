"""Exceptions raised by binance-instloan.

Every exception the client raises on purpose derives from :class:`InstLoanError`::

    InstLoanError
    ├── InvalidParameterError (also ValueError)    bad value, caught before sending
    ├── InvalidParameterTypeError (also TypeError) wrong type, caught before sending
    ├── ClientClosedError                          the client was closed
    ├── ResponseFormatError (also ValueError)      a 2xx body that does not fit the model
    ├── LimiterUnavailableError                    the shared (Redis) limiter is unreachable
    ├── APIConnectionError                         no usable answer from Binance
    │   ├── APITimeoutError                        connect/read/write/pool timeout
    │   └── UnreadableResponseError                a GET's 2xx answer could not be read
    ├── OutcomeUnknownError                        a POST/DELETE may or may not have executed
    │   └── ExecutedUnreadableError                a 2xx to a POST/DELETE that cannot be read
    └── APIStatusError                             Binance answered with an error
        ├── BadRequestError                        400, -11xx parameter errors
        ├── AuthenticationError                    401, -2014, -2015, -1022
        ├── PermissionDeniedError                  403 (WAF), HTML 4xx bodies
        ├── RateLimitError                         429, -1003
        │   └── IPBannedError                      418
        ├── RiskUnitError                          -27xxx, -1024, -1025, -3xxx loan codes
        └── ServerError                            5xx

``ConfigurationError`` (also ``ValueError``) is raised by the constructor for unusable settings.

Every error pickles with its attributes, so one raised in a ``ProcessPoolExecutor`` worker
reaches the parent intact (an ``OutcomeUnknownError`` must never arrive as ``BrokenProcessPool``).
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
    "ExecutedUnreadableError",
    "IPBannedError",
    "InstLoanError",
    "InvalidParameterError",
    "InvalidParameterTypeError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitError",
    "RiskUnitError",
    "ServerError",
    "UnreadableResponseError",
]

# Response headers worth keeping on an error; cookies a WAF or proxy sets are not among them.
_SECRET_HEADERS = frozenset({"set-cookie", "cookie", "authorization", "x-mbx-apikey"})


def _rebuild(cls: type[InstLoanError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A plain, picklable copy of response headers without cookies or keys."""
    return {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}


class InstLoanError(Exception):
    """Base class of every error raised by binance-instloan."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce replays __init__(*args), which the keyword-only constructors
        # below cannot take: unpickling would fail and a ProcessPoolExecutor would report
        # BrokenProcessPool instead of the error. Rebuild from args and attributes instead.
        return (_rebuild, (type(self), self.args, self.__dict__))


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


class UnreadableResponseError(APIConnectionError):
    """A GET was answered 2xx with a body that cannot be read (cut short, an HTML page, not JSON).

    Nothing is wrong with the request, only with that answer, so it is retried like a lost
    connection; this is raised once the retries are used up. ``body`` is the start of the
    answer as text.
    """

    def __init__(
        self, message: str, *, method: str, path: str, status_code: int, body: str,
        headers: Mapping[str, str],
    ) -> None:
        super().__init__(message, method=method, path=path, request_sent=True)
        self.status_code = status_code
        self.body = body
        self.headers = safe_headers(headers)


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


class ExecutedUnreadableError(OutcomeUnknownError):
    """Binance answered a POST/DELETE with 2xx, so it executed (or may have), but the answer
    cannot be read: a body cut short, HTML, ``{}`` where a result belongs, an error object.

    Never a refusal and never re-sent: settle it with ``client.resolve_outcome(err)`` like
    any ``OutcomeUnknownError``. ``body`` is the start of the answer as text.
    """

    def __init__(self, message: str, *, body: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body = body


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
        self.headers = safe_headers(headers)
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
