"""Everything that touches httpx: building the HTTP client, sending bytes, classifying failures.

Keeping all of it here makes the I/O backend (plain httpx or our aiohttp transport) one choice in
one place, and keeps the rest of the package testable with any ``httpx.AsyncBaseTransport``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import ssl
from typing import Final, Literal

import httpx

from ._constants import KEEPALIVE_EXPIRY, MAX_CONNECTIONS
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
                redact(str(arg))
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
    keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """Build the HTTP client the API client owns.

    ``keepalive_expiry``: how long an idle connection may be reused. The client keeps a second
    pool with a short one for writes (see ``WRITE_KEEPALIVE_EXPIRY``); both share one
    ``ssl_context``, since loading the CA bundle is most of a client's construction time.
    """
    # Many tasks share one client; keeping connections alive avoids TLS handshakes between
    # bursts of history calls.
    limits = httpx.Limits(
        max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS,
        keepalive_expiry=keepalive_expiry,
    )
    if transport is not None:
        return httpx.AsyncClient(transport=transport, timeout=timeout)
    if ssl_context is None:
        ssl_context = httpx.create_ssl_context()
    if backend == "httpx":
        return httpx.AsyncClient(timeout=timeout, limits=limits, verify=ssl_context)
    if backend == "aiohttp":
        try:
            from ._aiohttp_transport import AiohttpTransport
        except ImportError as exc:
            raise ConfigurationError(
                'backend="aiohttp" needs the aiohttp extra: pip install ".[aiohttp]"'
            ) from exc
        return httpx.AsyncClient(
            transport=AiohttpTransport(
                max_connections=MAX_CONNECTIONS, keepalive_expiry=keepalive_expiry,
                ssl_context=ssl_context,
            ),
            timeout=timeout,
        )
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


def provably_not_sent(exc: httpx.RequestError) -> bool:
    """True when the request cannot have reached the server (so even a POST may be re-sent).

    Both backends raise ``ConnectError``/``ConnectTimeout`` only while connecting (the aiohttp
    transport maps aiohttp's connect-phase errors, and nothing else, to them).
    """
    if isinstance(exc, httpx.PoolTimeout):
        return True  # never got a connection
    if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return False
    cause = exc.__cause__
    if cause is None:
        return True
    # A user's own http_client may be httpx-aiohttp's, which maps every aiohttp
    # ClientConnectionError, including "server disconnected" after the request went out, to
    # ConnectTimeout. Only a failure to connect proves nothing was sent.
    if type(cause).__module__.startswith("aiohttp"):
        return type(cause).__name__ in {"ClientConnectorError", "ClientConnectorDNSError",
                                        "ClientConnectorSSLError",
                                        "ClientConnectorCertificateError", "ConnectionTimeoutError"}
    return True


class ResponseTooLargeError(httpx.TransportError):
    """The response body is larger than the client accepts."""


class DeadlineExceeded(httpx.TimeoutException):
    """The attempt, answer read whole, took longer than its deadline."""


def scrubbed(exc: httpx.RequestError) -> httpx.RequestError:
    """A copy of ``exc`` fit to chain to our errors: without its request, whose URL carries
    the signature, and without any cause whose text carries one."""
    copy = type(exc)(redact(str(exc)))
    cause = exc.__cause__
    if cause is not None and "signature=" not in str(cause):
        copy.__cause__ = cause
    return copy


def redact(text: str) -> str:
    """``text`` with any ``signature=...`` hidden."""
    return _SIGNATURE.sub("signature=<redacted>", text)


async def read_capped(
    http: httpx.AsyncClient, request: httpx.Request, max_bytes: int
) -> httpx.Response:
    """Send ``request`` and read its body, refusing one longer than ``max_bytes``.

    The declared length is checked before reading; the bytes are counted while reading, after
    decompression, so neither a lying header nor a compressed bomb gets past the cap.
    """
    response = await http.send(request, stream=True)
    try:
        declared = response.headers.get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > max_bytes:
            raise ResponseTooLargeError(
                f"the response declares {int(declared)} bytes, more than the "
                f"{max_bytes} accepted (max_response_bytes)"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ResponseTooLargeError(
                    f"the response body is larger than the {max_bytes} bytes accepted "
                    "(max_response_bytes)"
                )
            chunks.append(chunk)
    finally:
        await response.aclose()
    # The body is decoded already: the copy must not claim an encoding it no longer has.
    headers = [(k, v) for k, v in response.headers.raw
               if k.lower() not in (b"content-encoding", b"content-length",
                                    b"transfer-encoding")]
    return httpx.Response(
        response.status_code, headers=headers, content=b"".join(chunks), request=request,
        extensions={k: v for k, v in response.extensions.items()
                    if k in ("http_version", "reason_phrase")},
    )
