"""Everything that touches httpx: building the HTTP client, sending bytes, classifying failures.

Keeping all of it here makes the I/O backend (plain httpx or httpx-aiohttp) one choice in one
place, and keeps the rest of the package testable with any ``httpx.AsyncBaseTransport``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Final, Literal

import httpx

from ._errors import ConfigurationError

Backend = Literal["httpx", "aiohttp"]

_FORM: Final = {"Content-Type": "application/x-www-form-urlencoded"}
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


def check_base_url(base_url: str) -> str:
    """Return ``base_url`` without a trailing slash, or refuse it.

    The API key travels in a header, so anything but https is refused, except loopback hosts
    where simulators listen.
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url {base_url!r} is not a valid URL") from exc
    if url.scheme == "https" and url.host:
        return base_url.rstrip("/")
    if url.scheme == "http" and _is_loopback(url.host):
        return base_url.rstrip("/")
    raise ConfigurationError(
        f"base_url {base_url!r} must use https (plain http is allowed only for loopback "
        "hosts such as 127.0.0.1, where simulators run): the API key would travel in clear"
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_SIGNATURE = re.compile(r"signature=[^&\s\"']*")


class _RedactSignatures(logging.Filter):
    """Hides ``signature=...`` in httpx's "HTTP Request: GET <url>" INFO lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _SIGNATURE.sub("signature=<redacted>", str(arg))
                if isinstance(arg, httpx.URL | str) and "signature=" in str(arg) else arg
                for arg in record.args
            )
        return True


def redact_httpx_logs() -> None:
    """Keep signatures out of httpx's request log, which prints whole URLs at INFO.

    A filter on the "httpx" logger is the one place that sees those lines; adding it is
    idempotent and changes nothing but the signature's text.
    """
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactSignatures) for f in httpx_logger.filters):
        httpx_logger.addFilter(_RedactSignatures())


def create_http_client(
    *,
    backend: Backend,
    transport: httpx.AsyncBaseTransport | None,
    timeout: httpx.Timeout,
) -> httpx.AsyncClient:
    """Build the HTTP client the API client owns."""
    # Many tasks share one client; keeping every connection alive avoids TLS handshakes
    # between bursts of history calls.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=30)
    if transport is not None:
        return httpx.AsyncClient(transport=transport, timeout=timeout)
    if backend == "httpx":
        return httpx.AsyncClient(timeout=timeout, limits=limits)
    if backend == "aiohttp":
        try:
            from httpx_aiohttp import HttpxAiohttpClient
        except ImportError as exc:
            raise ConfigurationError(
                'backend="aiohttp" needs the aiohttp extra: pip install ".[aiohttp]"'
            ) from exc
        client: httpx.AsyncClient = HttpxAiohttpClient(timeout=timeout, limits=limits)
        return client
    raise ConfigurationError(f'backend must be "httpx" or "aiohttp", not {backend!r}')


def build_request(
    http: httpx.AsyncClient,
    *,
    method: str,
    url: str,
    encoded: str,
    api_key: str | None,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """Build the request carrying ``encoded`` exactly: GET in the query, others in a form body.

    ``encoded`` is already percent-encoded and signed; httpx leaves ``%XX`` escapes and
    unreserved characters untouched, so the bytes on the wire are the bytes that were signed.
    """
    headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
    if method == "GET" or not encoded:
        target = f"{url}?{encoded}" if encoded else url
        return http.build_request(method, target, headers=headers, timeout=timeout)
    headers.update(_FORM)
    return http.build_request(
        method, url, headers=headers, content=encoded.encode("ascii"), timeout=timeout
    )


def provably_not_sent(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the server (so even a POST may be re-sent)."""
    if isinstance(exc, httpx.PoolTimeout):
        return True  # never got a connection
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return False
    cause = exc.__cause__
    if cause is None:
        return True
    # httpx-aiohttp maps every aiohttp ClientConnectionError, including "server disconnected"
    # after the request went out, to ConnectTimeout. Only a failure to connect proves nothing
    # was sent.
    module = type(cause).__module__
    if module.startswith("aiohttp"):
        return type(cause).__name__ in {"ClientConnectorError", "ClientConnectorDNSError",
                                        "ClientConnectorSSLError",
                                        "ClientConnectorCertificateError", "ConnectionTimeoutError"}
    return True



