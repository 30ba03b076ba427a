"""An in-process httpx transport: requests go straight to the simulator, no sockets.

Unlike ``httpx.ASGITransport`` it can fail the way a network does: injected read timeouts,
resets and refused connections surface as the httpx exceptions a real connection raises, and a
request slower than the client's read timeout ends in ``httpx.ReadTimeout``.
"""

from __future__ import annotations

import asyncio
from typing import Final

import httpx

from ._app import App, Incoming

_READ_TIMEOUT_TEXT: Final = "The read operation timed out"


class SimTransport(httpx.AsyncBaseTransport):
    """Hands each request to ``app``; every request comes from ``client_ip``."""

    def __init__(self, app: App, *, client_ip: str = "127.0.0.1") -> None:
        self._app = app
        self._client_ip = client_ip

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        incoming = Incoming(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            body=body,
            api_key=request.headers.get("X-MBX-APIKEY"),
            content_type=request.headers.get("Content-Type"),
            client_ip=self._client_ip,
        )
        timeouts = request.extensions.get("timeout", {})
        read_timeout: float | None = timeouts.get("read")
        try:
            async with asyncio.timeout(read_timeout):
                outcome = await self._app.dispatch(incoming)
                if outcome.network == "read_timeout":
                    # Executed (or not) server-side, then the answer never comes.
                    if outcome.delay:
                        await asyncio.sleep(outcome.delay)
                    raise TimeoutError
        except TimeoutError:
            raise httpx.ReadTimeout(_READ_TIMEOUT_TEXT, request=request) from None
        if outcome.network == "reset":
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            )
        if outcome.network == "connect_error":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        response = outcome.response
        return httpx.Response(
            response.status,
            headers=list(response.headers),
            content=response.body,
            extensions={"http_version": b"HTTP/1.1"},
        )
