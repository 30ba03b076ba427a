"""The request pipeline shared by every endpoint coroutine.

limiter -> clock -> sign -> send -> classify -> (retry policy decides) -> parsed JSON
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol

import httpx

from ._clock import ServerClock, check_server_time
from ._constants import (
    CLOCK_REFRESH_SECONDS,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_POOL_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DEFAULT_RECV_WINDOW_MS,
    DEFAULT_WRITE_TIMEOUT,
    ENDPOINTS,
    MAX_CONNECTIONS,
    MAX_RECV_WINDOW_MS,
    WRITE_KEEPALIVE_EXPIRY,
    Endpoint,
)
from ._converter import ResponseFormatError, structure
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    ExecutedUnreadableError,
    InstLoanError,
    IPBannedError,
    OutcomeUnknownError,
    RateLimitError,
    UnreadableResponseError,
)
from ._limiter import LimiterState, Permit, RateLimiter, RateLimits
from ._models import (
    BorrowResult,
    CloseRiskUnitResult,
    EditMemberResult,
    RepayResult,
    TransferOutResult,
)
from ._response import (
    NonJSONBody,
    ResponseInfo,
    body_snippet,
    error_code,
    error_from_response,
    is_error_body,
    parse_body,
    proves_not_executed,
    used_weight,
)
from ._retry import GiveUp, RetryPolicy
from ._signing import Signer, encode_params, load_signer
from ._telemetry import telemetry_for
from ._transport import (
    Backend,
    DeadlineExceeded,
    build_request,
    check_base_url,
    create_http_client,
    provably_not_sent,
    read_capped,
    redact,
    redact_httpx_logs,
    scrubbed,
)
from ._types import NOT_GIVEN, NotGiven

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

logger = logging.getLogger("binance_instloan")

# What a Binance API key is made of: printable ASCII, no spaces (they are 64 letters and digits).
_API_KEY: Final = re.compile(r"[\x21-\x7e]+")

_CAPTURE: contextvars.ContextVar[list[ResponseInfo] | None] = contextvars.ContextVar(
    "binance_instloan_capture", default=None
)

# How to find out what happened to a write whose answer was lost.
_HOW_TO_CHECK: Final = {
    "borrow": "await client.resolve_outcome(err), or look for the BORROW in "
    "get_borrow_repay_records(type='BORROW', group_id=..., asset=...) around sent_at_ms and "
    "compare get_ltv_details() liabilities",
    "repay": "await client.resolve_outcome(err), or look for the REPAY in "
    "get_borrow_repay_records(type='REPAY', group_id=..., asset=...) around sent_at_ms "
    "(the amount repaid may be smaller than requested)",
    "transfer_out": "await client.resolve_outcome(err), or compare get_ltv_details() "
    "(maxTransferOutAmount, wallet equity) and the account's spot balance with before",
    "edit_member": "await client.resolve_outcome(err), or see whether the e-mail is a member "
    "in get_active_risk_units()",
    "close_risk_unit": "await client.resolve_outcome(err), or see whether the unit is in "
    "get_closed_risk_units() rather than get_active_risk_units()/get_ltv_details()",
}


# The result model of each write: a 2xx body that does not fit it is an unreadable answer.
_WRITE_RESULTS: Final[dict[str, type[Any]]] = {
    "borrow": BorrowResult,
    "repay": RepayResult,
    "transfer_out": TransferOutResult,
    "edit_member": EditMemberResult,
    "close_risk_unit": CloseRiskUnitResult,
}


class _ClosedInFlight(Exception):
    """The client was closed while this request was on the wire."""


class Limiter(Protocol):
    """What the client needs from a rate limiter (in-process or shared)."""

    async def acquire(self, bucket: str, weight: int) -> Permit: ...

    def pause_bucket(self, bucket: str, retry_after: float | None) -> None: ...

    def ban(self, retry_after: float | None) -> None: ...

    def state(self) -> LimiterState: ...


def _timeout(value: float | httpx.Timeout | NotGiven | None) -> httpx.Timeout:
    if isinstance(value, NotGiven):
        return httpx.Timeout(
            connect=DEFAULT_CONNECT_TIMEOUT, read=DEFAULT_READ_TIMEOUT,
            write=DEFAULT_WRITE_TIMEOUT, pool=DEFAULT_POOL_TIMEOUT,
        )
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(
            f"timeout must be positive seconds or an httpx.Timeout, not {value!r}"
        )
    return httpx.Timeout(float(value))


def _attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """Longest one attempt may take, answer read whole: connect + write + read timeouts.

    httpx's read timeout is per read, so a server dripping a byte at a time would otherwise
    hold a call (and its send slot) for ever.
    """
    parts = (timeout.connect, timeout.write, timeout.read)
    if any(part is None for part in parts):
        return None
    return float(sum(part for part in parts if part is not None))


def _mask(api_key: str | None) -> str:
    if not api_key:
        return "None"
    return f"'{api_key[:4]}…{api_key[-3:]}'" if len(api_key) > 10 else "'…'"


class _DefaultBaseURL(str):
    """The default ``base_url``: equal to Binance's URL, but told apart from that URL passed
    explicitly, which must win over ``BINANCE_BASE_URL``."""


_DEFAULT_BASE_URL: Final = _DefaultBaseURL(DEFAULT_BASE_URL)


class BaseClient:
    """Construction, lifecycle and the signed request pipeline."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        private_key: str | bytes | os.PathLike[str] | None = None,
        private_key_password: str | bytes | None = None,
        base_url: str = _DEFAULT_BASE_URL,
        recv_window: int = DEFAULT_RECV_WINDOW_MS,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        rate_limits: RateLimits | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backend: Backend = "httpx",
        limiter: Limiter | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("BINANCE_API_KEY")
        if base_url is _DEFAULT_BASE_URL:
            base_url = os.environ.get("BINANCE_BASE_URL") or DEFAULT_BASE_URL
        if api_secret is None and private_key is None:
            api_secret = os.environ.get("BINANCE_API_SECRET") or None
            if api_secret is None:
                private_key = os.environ.get("BINANCE_PRIVATE_KEY") or None
        if api_key is not None and not isinstance(api_key, str):
            raise ConfigurationError(f"api_key must be a str, not {type(api_key).__name__}")
        if rate_limits is not None and not isinstance(rate_limits, RateLimits):
            raise ConfigurationError(
                f"rate_limits must be a RateLimits, not {type(rate_limits).__name__}"
            )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError(
                f"http_client must be an httpx.AsyncClient, not {type(http_client).__name__}"
            )
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigurationError(
                "transport must be an httpx.AsyncBaseTransport, not "
                f"{type(transport).__name__}"
            )
        if limiter is not None and not all(
            callable(getattr(limiter, name, None))
            for name in ("acquire", "pause_bucket", "ban", "state")
        ):
            raise ConfigurationError(
                "limiter must provide acquire(), pause_bucket(), ban() and state() "
                "(a RateLimiter or RedisLimiter)"
            )
        if not api_key:
            raise ConfigurationError(
                "no API key: pass api_key= or set BINANCE_API_KEY (with BINANCE_API_SECRET or "
                "BINANCE_PRIVATE_KEY)"
            )
        if not _API_KEY.fullmatch(api_key):
            # The key goes into an HTTP header: CR/LF, NUL, spaces or non-ASCII would fail (or
            # split the header) only once a POST is on its way. The key itself is not echoed.
            raise ConfigurationError(
                "api_key must be printable ASCII without spaces (as Binance issues them); "
                "it contains a space, a control character or a non-ASCII character"
            )
        if isinstance(recv_window, bool) or not isinstance(recv_window, int) or not (
            1 <= recv_window <= MAX_RECV_WINDOW_MS
        ):
            raise ConfigurationError(
                f"recv_window must be an int from 1 to {MAX_RECV_WINDOW_MS} ms, not {recv_window!r}"
            )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError(f"max_retries must be an int >= 0, not {max_retries!r}")
        if http_client is not None and transport is not None:
            raise ConfigurationError("pass http_client or transport, not both")
        self._signer: Signer = load_signer(
            api_secret=api_secret, private_key=private_key,
            private_key_password=private_key_password,
        )
        self._api_key = api_key
        self._base_url = check_base_url(base_url)
        self._recv_window = str(recv_window)
        self._timeout = _timeout(timeout)
        self._max_retries = max_retries
        self._telemetry = telemetry_for(
            tracer_provider=tracer_provider, meter_provider=meter_provider, base_url=self._base_url
        )
        redact_httpx_logs()
        self._owns_http = http_client is None
        # Writes get a pool of their own whose idle connections expire fast: a write on a
        # connection the server is closing never arrives, yet is an unknown outcome. A user's
        # http_client or transport carries everything.
        if http_client is not None or transport is not None:
            self._http = http_client or create_http_client(
                backend=backend, transport=transport, timeout=self._timeout
            )
            self._write_http = self._http
        else:
            tls = httpx.create_ssl_context()  # loaded once, for both pools
            self._http = create_http_client(
                backend=backend, transport=None, timeout=self._timeout, ssl_context=tls
            )
            self._write_http = create_http_client(
                backend=backend, transport=None, timeout=self._timeout,
                keepalive_expiry=WRITE_KEEPALIVE_EXPIRY, ssl_context=tls,
            )
        self._deadline = _attempt_deadline(self._timeout)
        self._max_response_bytes = DEFAULT_MAX_RESPONSE_BYTES
        self._closed = False
        self._sends: set[asyncio.Task[httpx.Response]] = set()
        self._send_slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._clock = ServerClock(self._fetch_server_time, refresh_seconds=CLOCK_REFRESH_SECONDS)
        self.rate_limits = rate_limits if rate_limits is not None else RateLimits()
        self._limiter: Limiter = limiter or RateLimiter(
            self.rate_limits,
            now=self._clock.now,
            uncertainty=lambda: self._clock.uncertainty_ms / 1000.0,
        )
        # A shared limiter (e.g. RedisLimiter) counts windows on this client's Binance clock.
        bind_clock = getattr(limiter, "bind_clock", None)
        if callable(bind_clock):
            bind_clock(self._clock.now, lambda: self._clock.uncertainty_ms / 1000.0)
        clock_moved = getattr(self._limiter, "clock_moved", None)
        if callable(clock_moved):
            self._clock.on_adjust(clock_moved)
        self._retry = RetryPolicy(max_retries=max_retries, sleep=asyncio.sleep)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(api_key={_mask(self._api_key)}, "
            f"signer={self._signer.key_type}, base_url={self._base_url!r})"
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> BaseClient:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close what the client owns. A user-supplied ``http_client`` is left open."""
        if self._closed:
            return
        self._closed = True
        if self._sends:
            # Sends still on the wire (mostly ones whose callers were cancelled): the pool is
            # going away, so stopping them can no longer strand a slot.
            pending = set(self._sends)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._owns_http:
            await self._http.aclose()
            if self._write_http is not self._http:
                await self._write_http.aclose()

    close = aclose

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _ensure_open(self) -> None:
        if self._closed:
            raise ClientClosedError(
                "this client is closed; create a new AsyncInstLoanClient (or use it inside "
                "`async with`)"
            )

    # -- introspection -----------------------------------------------------------------------

    def rate_limit_state(self) -> LimiterState:
        """A read-only view of the limiter: used weight per bucket, pauses, bans."""
        return self._limiter.state()

    @property
    def clock_offset_ms(self) -> float:
        """Server time minus local time, as last learned from ``GET /api/v3/time``."""
        return self._clock.offset_ms

    @contextlib.contextmanager
    def capture_responses(self) -> Iterator[list[ResponseInfo]]:
        """Collect a :class:`ResponseInfo` (status, used weight, headers) for each call made
        inside the block by this task (and tasks it starts), without racing other tasks::

            with client.capture_responses() as seen:
                await client.get_ltv_details()
            print(seen[-1].used_weight)
        """
        seen: list[ResponseInfo] = []
        token = _CAPTURE.set(seen)
        try:
            yield seen
        finally:
            _CAPTURE.reset(token)

    # -- the pipeline --------------------------------------------------------------------------

    async def _fetch_server_time(self) -> int:
        body = await self._send_once(ENDPOINTS["server_time"], (), attempt_no=1)
        server_time = body.get("serverTime") if isinstance(body, dict) else None
        problem = check_server_time(server_time)
        if problem is not None:
            # Raised like a failed fetch: the call it was for was not sent, and is retried.
            raise APIConnectionError(
                f"GET /api/v3/time answered an implausible time ({problem}): "
                f"{body_snippet(repr(body).encode())}", method="GET", path="/api/v3/time",
            )
        assert isinstance(server_time, int)
        return server_time

    async def _call(self, endpoint: Endpoint, params: Sequence[tuple[str, str]] = ()) -> Any:
        """Send one API call with retries; return the parsed JSON body."""
        self._ensure_open()
        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            return await self._send_once(endpoint, params, attempt_no=attempts)

        return await self._telemetry.call(endpoint, self._retry, attempt)

    async def _send_once(
        self, endpoint: Endpoint, params: Sequence[tuple[str, str]], *, attempt_no: int,
    ) -> Any:
        method, path = endpoint.method, endpoint.path
        self._ensure_open()
        if endpoint.signed:
            try:
                await self._clock.ensure_synced()
            except (RateLimitError, ClientClosedError):
                raise
            except (APIConnectionError, APIStatusError) as exc:
                # The call itself was not sent, whatever happened to the time request, so
                # even a POST may be tried again.
                raise APIConnectionError(
                    f"{method} {path} not sent: learning the server time failed ({exc})",
                    method=method, path=path, request_sent=False,
                ) from exc
        try:
            permit = await self._telemetry.acquire(
                endpoint, self._limiter.acquire(endpoint.bucket, endpoint.weight)
            )
        except RateLimitError as exc:
            raise GiveUp(exc) from exc
        try:
            # Sign only once a connection slot is free: a request signed and then queued in
            # the pool can outlive its recvWindow.
            await self._acquire_send_slot(endpoint)
        except BaseException:
            permit.release()
            raise
        sent_params: dict[str, str] = dict(params)
        sent_at_ms = 0
        clock_generation = self._clock.generation
        try:
            if endpoint.signed:
                sent_at_ms = self._clock.now_ms()
                sent_params["recvWindow"] = self._recv_window
                sent_params["timestamp"] = str(sent_at_ms)
                encoded = encode_params(
                    [*params, ("recvWindow", self._recv_window), ("timestamp", str(sent_at_ms))]
                )
                encoded = f"{encoded}&signature={self._signer.sign(encoded)}"
            else:
                encoded = encode_params(params)
            http = self._write_http if endpoint.is_write else self._http
            request = build_request(
                http, method=method, url=self._base_url + path, encoded=encoded,
                api_key=self._api_key if endpoint.signed else None, timeout=self._timeout,
            )
        except BaseException:
            self._send_slots.release()
            permit.release()
            raise
        failure: tuple[InstLoanError, httpx.RequestError] | None = None
        try:
            # From here on _send owns the slot and the permit: they are given back when the
            # exchange ends, even if this caller is cancelled first.
            response = await self._telemetry.http(
                endpoint, self._send(http, request, endpoint, permit)
            )
        except _ClosedInFlight as exc:
            if endpoint.is_write:
                raise self._outcome_unknown(
                    endpoint, sent_params, sent_at_ms,
                    "the client was closed while the request was in flight",
                ) from exc
            raise ClientClosedError("the client was closed while this call was in flight") from exc
        except httpx.RequestError as exc:
            failure = (self._transport_failure(exc, endpoint, sent_params, sent_at_ms),
                       scrubbed(exc))
        if failure is not None:
            # Raised here, not in the except block, so that the httpx exception (its request's
            # URL carries the signature) is neither cause nor context; a copy without it is.
            error, cause = failure
            raise error from cause
        return await self._handle(
            endpoint, response, sent_params, sent_at_ms, attempt_no, clock_generation
        )

    async def _acquire_send_slot(self, endpoint: Endpoint) -> None:
        """Wait for a send slot, at most the pool timeout; refuse once the client closes."""
        try:
            if self._send_slots.locked():
                async with asyncio.timeout(self._timeout.pool):
                    await self._send_slots.acquire()
            else:
                await self._send_slots.acquire()  # free: no timer to arm
        except TimeoutError as exc:
            raise APITimeoutError(
                f"{endpoint.method} {endpoint.path} not sent: no send slot came free within "
                f"the pool timeout ({self._timeout.pool} s)",
                method=endpoint.method, path=endpoint.path, request_sent=False,
            ) from exc
        if self._closed:
            # Slots free up as aclose() stops the sends in flight; the calls queued behind them
            # must not go out on a client that is closing.
            self._send_slots.release()
            raise ClientClosedError("the client was closed before this call was sent")

    async def _send(
        self, http: httpx.AsyncClient, request: httpx.Request, endpoint: Endpoint,
        permit: Permit,
    ) -> httpx.Response:
        """Send in a task of its own, shielded from the caller's cancellation.

        httpcore 1.0.9 can lose a pool slot for good when a request is cancelled while the
        pool hands it a connection or while its response closes (encode/httpcore#1093);
        after enough cancellations every request waits for a slot that never frees. Letting
        the exchange finish in the background avoids that; a cancelled caller never learns
        the answer, which for a write it could not have trusted anyway.
        """
        try:
            task = asyncio.ensure_future(self._exchange(http, request))
        except BaseException:
            self._send_slots.release()
            permit.release()
            raise
        self._sends.add(task)
        task.add_done_callback(functools.partial(self._send_done, permit, endpoint))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if task.cancelled() and self._closed and not (current and current.cancelling()):
                raise _ClosedInFlight() from exc
            raise
        except RuntimeError as exc:
            if http.is_closed:
                raise ClientClosedError("the HTTP client was closed; create a new client") from exc
            raise

    async def _exchange(self, http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """One request and its whole answer, within the attempt deadline and the body cap.

        The deadline runs here, inside the shielded task, so a call whose caller was
        cancelled still gives its slot back within it.
        """
        if self._closed:
            raise ClientClosedError("the client was closed before this call was sent")
        deadline = asyncio.timeout(self._deadline)
        try:
            async with deadline:
                return await read_capped(http, request, self._max_response_bytes)
        except TimeoutError:
            if not deadline.expired():
                raise
        raise DeadlineExceeded(
            f"no complete answer within the attempt deadline of {self._deadline:g} s "
            "(connect + write + read timeouts)"
        )

    def _send_done(self, permit: Permit, endpoint: Endpoint, task: asyncio.Task[Any]) -> None:
        self._sends.discard(task)
        self._send_slots.release()
        if task.cancelled():
            permit.release()  # only aclose() cancels a send: this client sends nothing more
        elif (exc := task.exception()) is not None:
            # Without an answer the request may still reach Binance, possibly in the next
            # window: it keeps counting until that window began, unless it was never sent.
            never_sent = isinstance(exc, httpx.TransportError) and provably_not_sent(exc)
            permit.release(may_still_arrive=not never_sent)
        else:
            permit.release(used_weight=used_weight(task.result().headers, endpoint.budget.value))

    def _transport_failure(
        self, exc: httpx.RequestError, endpoint: Endpoint, sent: dict[str, str],
        sent_at_ms: int,
    ) -> InstLoanError:
        method, path = endpoint.method, endpoint.path
        not_sent = provably_not_sent(exc)
        logger.debug("%s %s failed: %s (request %s)", method, path, type(exc).__name__,
                     "not sent" if not_sent else "may have been sent")
        detail = redact(str(exc)) or "no details"
        if endpoint.is_write and not not_sent:
            return self._outcome_unknown(
                endpoint, sent, sent_at_ms,
                f"{type(exc).__name__} after the request may have been sent ({detail})",
            )
        cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
        return cls(
            f"{method} {path}: {type(exc).__name__}: {detail}",
            method=method, path=path, request_sent=not not_sent,
        )

    def _outcome_unknown(
        self, endpoint: Endpoint, sent: dict[str, str], sent_at_ms: int, reason: str,
        *, status_code: int | None = None, code: int | None = None,
    ) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            reason, method=endpoint.method, path=endpoint.path, params=sent,
            sent_at_ms=sent_at_ms, how_to_check=_HOW_TO_CHECK.get(endpoint.name, "query the state"),
            status_code=status_code, code=code,
        )

    async def _handle(
        self, endpoint: Endpoint, response: httpx.Response, sent: dict[str, str],
        sent_at_ms: int, attempt_no: int, clock_generation: int,
    ) -> Any:
        method, path = endpoint.method, endpoint.path
        status = response.status_code
        non_json = False
        try:
            body = parse_body(response.content)
        except NonJSONBody:
            body, non_json = None, True
        self._record(endpoint, response, attempt_no)
        if 200 <= status < 300:
            if endpoint.is_write:
                # A 2xx means Binance ran it (or may have): never a refusal, whatever the body.
                problem = _unreadable_write_result(endpoint, body, non_json)
                if problem is None:
                    return body
                raise self._executed_unreadable(
                    endpoint, response, body, sent, sent_at_ms, problem
                )
            if non_json:
                # Only this answer is broken: retried like a lost connection.
                raise UnreadableResponseError(
                    f"{method} {path} -> HTTP {status} with an unreadable body: "
                    f"{body_snippet(response.content)!r}",
                    method=method, path=path, status_code=status,
                    body=body_snippet(response.content), headers=response.headers,
                )
            if not is_error_body(body):
                return body
        error = error_from_response(response, body, non_json=non_json, method=method, path=path)
        logger.debug("%s %s -> HTTP %d code %s (attempt %d)", method, path, status, error.code,
                     attempt_no)
        if isinstance(error, IPBannedError):
            self._limiter.ban(error.retry_after)  # None: the limiter's default ban
        elif isinstance(error, RateLimitError):
            self._limiter.pause_bucket(endpoint.bucket, error.retry_after)
        elif error.code == -1021:
            try:
                await self._clock.resync(clock_generation)
            except (APIConnectionError, APIStatusError) as exc:
                # -1021 means not executed; the next attempt re-learns the clock again.
                raise APIConnectionError(
                    f"{method} {path} was refused (-1021) and re-learning the server time "
                    f"failed ({exc})", method=method, path=path, request_sent=False,
                ) from exc
        if endpoint.is_write and _may_have_executed(error):
            raise self._outcome_unknown(
                endpoint, sent, sent_at_ms, str(error), status_code=status, code=error.code,
            ) from error
        raise error

    def _executed_unreadable(
        self, endpoint: Endpoint, response: httpx.Response, body: Any, sent: dict[str, str],
        sent_at_ms: int, problem: str,
    ) -> ExecutedUnreadableError:
        status = response.status_code
        code, _ = error_code(body)
        return ExecutedUnreadableError(
            f"HTTP {status} means Binance executed it (or may have), but the answer cannot "
            f"be read: {problem}",
            method=endpoint.method, path=endpoint.path, params=sent, sent_at_ms=sent_at_ms,
            how_to_check=_HOW_TO_CHECK.get(endpoint.name, "query the state"),
            status_code=status, code=code, body=body_snippet(response.content),
        )

    def _record(self, endpoint: Endpoint, response: httpx.Response, attempt_no: int) -> None:
        seen = _CAPTURE.get()
        if seen is None or not endpoint.signed:
            return  # the clock sync is ours, not the caller's call
        seen.append(ResponseInfo(
            method=endpoint.method, path=endpoint.path, status_code=response.status_code,
            used_weight=used_weight(response.headers, endpoint.budget.value),
            budget=endpoint.budget.value, weight=endpoint.weight, attempts=attempt_no,
            headers=dict(response.headers),
        ))


def _may_have_executed(error: APIStatusError) -> bool:
    return proves_not_executed(error.status_code, error.code, error.msg) is None


def _unreadable_write_result(endpoint: Endpoint, body: Any, non_json: bool) -> str | None:
    """What keeps a 2xx answer to a write from being read as its result, or None."""
    if non_json:
        return "the body is not JSON (cut short, HTML, or malformed)"
    if is_error_body(body):
        return f"the body is an error object {body!r}"
    model = _WRITE_RESULTS.get(endpoint.name)
    if model is not None:
        try:
            structure(body, model)
        except ResponseFormatError as exc:
            return exc.details
    return None
