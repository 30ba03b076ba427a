"""The HTTP face of the simulated exchange: what Binance's front end checks before the engine runs.

For each request, in this order (reference section 1):

1. An IP under a ban gets 418 whatever it asks (with ``sapi_bans=False``: on ``/api/*`` only).
2. Routing: an unknown path is 404, a known path with another method 405 (``-1099`` bodies).
3. Injected faults that never reach the endpoint answer here, uncharged.
4. Weight is charged to the endpoint's own budget *after routing and before any auth check*,
   as Binance charges every request that reaches an endpoint: IP-limited endpoints per client
   IP at once, UID-limited ones per account as soon as the API key names one (a request with an
   unknown key has no UID to charge). Over budget: 429 with ``Retry-After``.
5. ``X-MBX-APIKEY``: missing or malformed is ``-2014``, unknown ``-2015``, both HTTP 401.
6. Parameters: the query string, plus the form body for POST/PUT/DELETE; a name twice in one
   place is ``-1101``; across places the query wins.
7. Signature over the exact received bytes (reference 1.4): the query then the body, each
   without its ``signature`` parameter, joined with no separator. Since 2026-01-15 that
   payload must be percent-encoded before it is signed (reference 1.5), which shows in the
   bytes two ways, both ``-1022``: a signature over the unencoded form does not match the
   encoded bytes sent, and bytes no encoder writes (a raw space or non-ASCII byte, a broken
   ``%`` escape) were never encoded. Any encoder's spelling passes: ``+`` or ``%20`` for a
   space, a raw or escaped ``@``, upper- or lower-case hex.
8. ``timestamp`` / ``recvWindow`` against the server clock (``-1102``, ``-1131``, ``-1021``).
9. The exchange accrues interest up to now, then handles the call; its ``SimError`` becomes
   ``{"code", "msg"}`` with its HTTP status, anything else a 500 ``-1000``.

Every answer from a known endpoint carries that endpoint's used-weight header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import unquote_to_bytes

import attrs

from ._endpoints import METHODS_BY_PATH, ROUTES, Route
from ._exchange import Account, Exchange, SimError
from ._faults import TCP_READ_TIMEOUT_HOLD_SECONDS, FaultSet
from ._http import MESSAGES, Outcome, Response, error_response, json_response
from ._keys import KeyRing, RegisteredKey
from ._ratelimit import RateLimiter, Subject

logger = logging.getLogger("binance_instloan.simulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

API_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9]{1,128}")
# What a percent-encoded payload looks like (reference 1.4, 1.5): a valid URI query (RFC 3986:
# unreserved and sub-delimiter characters, ':', '@', '/', '?', and %XX escapes in either
# case). Encoders differ in what they leave raw ('@', '+' for a space, lower-case hex in the
# reference's own Bash sample); what none leaves is a raw space, a raw non-ASCII byte or a
# broken escape, so those mark a payload that was never encoded. Possessive quantifiers: a
# long body that fails near its end must not send the matcher backtracking through every run.
_ENCODED_PAYLOAD: Final = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]++|%[0-9A-Fa-f]{2})*+")
_TIMESTAMP: Final = re.compile(r"[0-9]{1,20}")
_RECV_WINDOW: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,3})?")
_MICROSECOND_TIMESTAMPS: Final = 10**15  # 16 digits and more: microseconds (reference 1.6)
DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
_STRIPPED: Final = ("timestamp", "recvWindow")


@attrs.frozen
class Incoming:
    """One HTTP request as it arrived; raw query and body bytes keep signatures checkable."""

    method: str
    path: str
    query: bytes
    body: bytes
    api_key: str | None
    content_type: str | None
    client_ip: str


@attrs.define
class PathStats:
    """Per-path counters. ``responses`` counts answers delivered, by HTTP status."""

    requests: int = 0
    responses: dict[int, int] = attrs.field(factory=dict)
    throttled: int = 0  # 429s
    banned: int = 0  # 418s
    lost: int = 0  # answers that injected network faults kept from the client

    def record(self, outcome: Outcome) -> None:
        if outcome.network is not None:
            self.lost += 1
            return
        status = outcome.response.status
        self.responses[status] = self.responses.get(status, 0) + 1
        if status == 429:
            self.throttled += 1
        elif status == 418:
            self.banned += 1


class App:
    """The ASGI application; :meth:`dispatch` is the transport-neutral core."""

    def __init__(
        self,
        *,
        exchange: Exchange,
        keys: KeyRing,
        limiter: RateLimiter,
        faults: FaultSet,
        now_ms: Callable[[], int],
    ) -> None:
        self.exchange = exchange
        self.keys = keys
        self.limiter = limiter
        self.faults = faults
        self.now_ms = now_ms
        self.stats: dict[str, PathStats] = {}
        # Set by ``serve`` while a TCP server runs: held answers (read_timeout, latency) end
        # early when it stops, so shutting down never waits on them.
        self.stopping: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
        }
        client = scope.get("client")
        outcome = await self.dispatch(
            Incoming(
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"],
                body=b"".join(chunks),
                api_key=headers.get("x-mbx-apikey"),
                content_type=headers.get("content-type"),
                client_ip=client[0] if client else "127.0.0.1",
            )
        )
        await _send_outcome(self, outcome, send)

    async def dispatch(self, request: Incoming) -> Outcome:
        stats = self.stats.get(request.path)
        if stats is None:
            stats = self.stats[request.path] = PathStats()
        stats.requests += 1
        outcome = await self._dispatch(request)
        stats.record(outcome)
        return outcome

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the TCP server is stopping."""
        stopping = self.stopping
        if stopping is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await stopping.wait()

    async def _dispatch(self, request: Incoming) -> Outcome:
        now = self.now_ms()
        if self.limiter.limits.bans(request.path):
            banned_until = self.limiter.banned_until(request.client_ip, now)
            if banned_until is not None:
                return Outcome(self._banned(banned_until, now))
        route = ROUTES.get((request.method, request.path))
        if route is None:
            return Outcome(_not_routed(request))
        fault = self.faults.pick(request.method, request.path)
        if fault is not None:
            if fault.kind == "latency":
                await self.pause(fault.latency)
                now = self.now_ms()
            elif not fault.executes:
                # Lost before the endpoint: nothing charged, nothing executed.
                return fault.outcome(None)
        response = self._process(route, request, now)
        if fault is None or fault.kind == "latency":
            return Outcome(response)
        return fault.outcome(response)

    def _process(self, route: Route, request: Incoming, now: int) -> Response:
        subject: Subject | None = None
        try:
            if route.budget != "UID":
                subject = request.client_ip
                self._charge(route, subject, request.client_ip, now)
            if not route.signed:
                response = json_response(200, {"serverTime": now})
            else:
                key, account = self._authenticate(request.api_key)
                if route.budget == "UID":
                    subject = account.uid
                    self._charge(route, subject, request.client_ip, now)
                params = self._verified_params(route, request, key, now)
                self.exchange.advance_to(now)
                body = self.exchange.handle(route.method, route.path, account, params)
                response = json_response(200, body)
        except _Refused as refused:
            response = refused.response
        except SimError as exc:
            response = error_response(exc.status, exc.code, exc.msg)
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            response = error_response(500, -1000, MESSAGES[-1000])
        if subject is None:
            return response
        return response.with_header(
            route.weight_header, str(self.limiter.used(route.bucket, subject, now))
        )

    def _charge(self, route: Route, subject: Subject, ip: str, now: int) -> None:
        admission = self.limiter.charge(route.bucket, route.budget, subject, route.weight, now)
        if admission.admitted:
            return
        if self.limiter.limits.bans(route.path):
            self.limiter.record_violation(ip, now)
        msg = (
            f"Too much request weight used; current limit is {admission.limit} request weight "
            f"per {self.limiter.window_description()}. "
            "Please use WebSocket Streams for live updates to avoid polling the API."
        )
        headers = (("Retry-After", str(admission.retry_after)),)
        raise _Refused(error_response(429, -1003, msg, headers))

    def _banned(self, until: int, now: int) -> Response:
        msg = (
            f"Way too much request weight used; IP banned until {until}. "
            "Please use WebSocket Streams for live updates to avoid bans."
        )
        retry_after = max(1, -((now - until) // 1000))  # whole seconds, rounded up
        return error_response(418, -1003, msg, (("Retry-After", str(retry_after)),))

    def _authenticate(self, api_key: str | None) -> tuple[RegisteredKey, Account]:
        if not api_key or not API_KEY_PATTERN.fullmatch(api_key):
            raise SimError(-2014, "API-key format invalid.", 401)
        key = self.keys.get(api_key)
        account = self.exchange.accounts.get(key.uid) if key is not None else None
        if key is None or account is None:
            raise SimError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        return key, account

    def _verified_params(
        self, route: Route, request: Incoming, key: RegisteredKey, now: int
    ) -> dict[str, str]:
        body = request.body if _reads_body(route.method, request.content_type) else b""
        params = _decode(body)
        params.update(_decode(request.query))  # the query string wins (reference 1.2)
        signature = params.pop("signature", "")
        if not signature:
            raise _mandatory("signature")
        payload = _without_signature(request.query) + _without_signature(body)
        if not _ENCODED_PAYLOAD.fullmatch(payload):
            logger.info("-1022: the payload is not percent-encoded (reference 1.5): %r", payload)
            raise SimError(-1022, MESSAGES[-1022])
        if not key.verify(payload, signature):
            if _signed_before_encoding(key, payload, signature):
                logger.info("-1022: the signature covers the payload before percent-encoding; "
                            "since 2026-01-15 it must cover the bytes sent (reference 1.5)")
            raise SimError(-1022, MESSAGES[-1022])
        _check_timestamp(params, now)
        for name in _STRIPPED:
            params.pop(name, None)
        return params


class _Refused(Exception):
    """A finished answer that ends processing early (429s)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _not_routed(request: Incoming) -> Response:
    methods = METHODS_BY_PATH.get(request.path)
    if methods is None:
        return error_response(404, -1099, MESSAGES[-1099])
    return error_response(405, -1099, MESSAGES[-1099], (("Allow", ", ".join(methods)),))


def _reads_body(method: str, content_type: str | None) -> bool:
    if method == "GET":
        return False
    return content_type is None or content_type.split(";")[0].strip().lower() == (
        "application/x-www-form-urlencoded"
    )


def _decode(raw: bytes) -> dict[str, str]:
    """Form-urlencoded parameters, where '+' is a space (as any servlet container reads them)."""
    params: dict[str, str] = {}
    if not raw:
        return params
    for segment in raw.split(b"&"):
        if not segment:
            continue
        name, _, value = segment.partition(b"=")
        try:
            key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
            # A base64 signature has no spaces, so a raw '+' in it can only mean '+'.
            if key != "signature":
                value = value.replace(b"+", b" ")
            text = unquote_to_bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise SimError(-1100, "Illegal characters found in a parameter.") from None
        if key in params:
            raise SimError(-1101, "Duplicate values for a parameter detected.")
        params[key] = text
    return params


def _without_signature(raw: bytes) -> bytes:
    return b"&".join(
        segment
        for segment in raw.split(b"&")
        if unquote_to_bytes(segment.partition(b"=")[0]) != b"signature"
    )


def _signed_before_encoding(key: RegisteredKey, payload: bytes, signature: str) -> bool:
    """Whether ``signature`` covers ``payload`` as it read before percent-encoding."""
    spellings = {unquote_to_bytes(payload), unquote_to_bytes(payload.replace(b"+", b" "))}
    spellings.discard(payload)
    return any(key.verify(decoded, signature) for decoded in spellings)


def _mandatory(name: str) -> SimError:
    return SimError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _check_timestamp(params: dict[str, str], now_ms: int) -> None:
    raw = params.get("timestamp", "")
    if not raw:
        raise _mandatory("timestamp")
    if not _TIMESTAMP.fullmatch(raw):
        raise SimError(
            -1100,
            "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.",
        )
    stamp = int(raw)
    stamp_us = stamp if stamp >= _MICROSECOND_TIMESTAMPS else stamp * 1000
    recv_raw = params.get("recvWindow")
    recv_window = Decimal(DEFAULT_RECV_WINDOW_MS)
    if recv_raw is not None:
        if not _RECV_WINDOW.fullmatch(recv_raw):
            raise SimError(
                -1100,
                "Illegal characters found in parameter 'recvWindow'; "
                "legal range is '^[0-9]{1,20}(\\.[0-9]{1,3})?$'.",
            )
        recv_window = Decimal(recv_raw)
        if recv_window > MAX_RECV_WINDOW_MS:
            raise SimError(-1131, "recvWindow must be less than 60000")
    now_us = now_ms * 1000
    if stamp_us >= now_us + 1_000_000:
        raise SimError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_us - stamp_us > recv_window * 1000:
        raise SimError(-1021, MESSAGES[-1021])


async def _send_outcome(app: App, outcome: Outcome, send: Send) -> None:
    response = outcome.response
    body = response.body
    if outcome.network == "read_timeout":
        await app.pause(outcome.delay or TCP_READ_TIMEOUT_HOLD_SECONDS)
    elif outcome.network is not None:
        # A reset: announce the whole body, send half, then stop; the client reads an
        # incomplete response. An accepted socket cannot be refused, so "connect_error" over
        # TCP ends the same way, without the request having executed.
        await send(_start(response, max(len(body), 1)))
        await send({"type": "http.response.body", "body": body[: len(body) // 2],
                    "more_body": True})
        return
    await send(_start(response, len(body)))
    await send({"type": "http.response.body", "body": body})


def _start(response: Response, length: int) -> Message:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(length).encode("ascii")))
    return {"type": "http.response.start", "status": response.status, "headers": headers}


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
