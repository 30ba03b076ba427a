"""``backend="aiohttp"``: an httpx transport over an ``aiohttp.ClientSession`` we configure.

Owning this layer (instead of the ``httpx-aiohttp`` adapter) is what keeps two promises on
aiohttp:

- nothing under the client re-sends a request. aiohttp sends an "idempotent" request (DELETE
  included) a second time after its connection drops (``ClientSession._retry_connection``); a
  ``close_risk_unit`` Binance executed would reach it twice. That switch is turned off, and a
  trace hook refuses a second connection for the same request in case a future aiohttp
  re-sends by another path.
- every failure becomes an httpx exception the client classifies, with a message that holds
  neither the URL's query nor the body: aiohttp's own errors print the signed URL.
  Connect-phase failures become ``httpx.ConnectError``/``ConnectTimeout`` (nothing was sent);
  everything after becomes a read or protocol error (the request may have been sent).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, Final

import aiohttp
import httpx
import yarl

_CHUNK: Final = 64 * 1024


class _ResendRefused(Exception):
    """aiohttp tried to open a second connection for a request already attempted once."""


async def _one_connection_per_request(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: object,
) -> None:
    attempt = ctx.trace_request_ctx
    if attempt is None:
        return
    if attempt.connected:
        raise _ResendRefused
    attempt.connected = True


class _Attempt:
    __slots__ = ("connected",)

    def __init__(self) -> None:
        self.connected = False


def _trace_config() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_start.append(_one_connection_per_request)
    trace.on_connection_reuseconn.append(_one_connection_per_request)
    return trace


def _describe(exc: BaseException) -> str:
    """The OS error text, never ``str(exc)``: aiohttp's messages carry the request URL."""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return f"{type(exc).__name__}: {os_error.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _mapped(exc: BaseException) -> httpx.TransportError:
    """The httpx exception for an aiohttp/OS failure. Order matters: subclasses first."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout("timed out connecting to the server (nothing sent)")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(f"could not connect (nothing sent): {_describe(exc)}")
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout("timed out waiting for the response")
    if isinstance(exc, _ResendRefused):
        return httpx.RemoteProtocolError(
            "the connection failed after the request may have been sent; not re-sent"
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("server disconnected without a complete response")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError("malformed or incomplete response body")
    if isinstance(exc, aiohttp.ClientResponseError):
        # A garbage status line or headers; the message would quote the request URL.
        return httpx.RemoteProtocolError(
            f"malformed response (HTTP status {exc.status})" if exc.status
            else "malformed response"
        )
    if isinstance(exc, OSError):
        return httpx.ReadError(f"connection failed: {_describe(exc)}")
    return httpx.RemoteProtocolError(f"the HTTP exchange failed: {_describe(exc)}")


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        error: httpx.TransportError | None = None
        content = self._response.content
        while True:
            try:
                chunk = await content.readany()
            except (aiohttp.ClientError, OSError) as exc:
                error = _mapped(exc)
                break
            if not chunk:
                self._complete = True
                return
            yield chunk
        # Raised outside the except block: the aiohttp exception (and the URL in it) must not
        # ride along as __context__.
        raise error

    async def aclose(self) -> None:
        if self._complete:
            self._response.release()
        else:
            # Unread bytes would poison the next request on this connection.
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests over one ``aiohttp.ClientSession``, created on first use (it must
    be made inside the running event loop)."""

    def __init__(
        self, *, max_connections: int, keepalive_expiry: float | None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        # Loading the CA bundle takes milliseconds: here, not on the event loop's first request.
        self._ssl_context: ssl.SSLContext = ssl_context or httpx.create_ssl_context()

    def _open_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, keepalive_timeout=self._keepalive_expiry,
            ssl=self._ssl_context,
        )
        # trust_env=False: with it aiohttp looks up netrc and proxy settings in a worker thread
        # on every request (two thread hops, ~500 us a call here); httpx-aiohttp left it off too.
        session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False, trace_configs=[_trace_config()],
        )
        # aiohttp re-sends GET/PUT/DELETE once when the connection drops; for a DELETE that
        # Binance executed that is a second execution. aiohttp's own test client turns it off
        # the same way (aiohttp/test_utils.py).
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        if self._session is None:
            self._session = self._open_session()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        connect, pool = timeouts.get("connect"), timeouts.get("pool")
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=timeouts.get("read"),
        )
        error: httpx.TransportError | None = None
        try:
            response = await self._session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # the signed bytes, not re-quoted
                headers=[(k.decode("latin-1"), v.decode("latin-1"))
                         for k, v in request.headers.raw if k.lower() != b"host"],
                data=request.content or None,
                allow_redirects=False,
                compress=None,
                timeout=timeout,
                trace_request_ctx=_Attempt(),
            )
        except (aiohttp.ClientError, OSError, _ResendRefused) as exc:
            error = _mapped(exc)
        if error is not None:
            raise error
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("latin-1", "replace")
        return httpx.Response(
            response.status, headers=response.raw_headers, stream=_Body(response),
            request=request, extensions=extensions,
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
