"""OpenTelemetry spans and metrics for every call, when the application asks for them.

The client holds one :class:`Telemetry`. Without ``opentelemetry-api``, or with no tracer or
meter provider configured (the API's global default is a no-op proxy), it is the disabled base
class, whose hooks hand back what they were given: the per-call path gains three method
calls and nothing else. Otherwise :class:`_OTelTelemetry` records:

span ``binance_instloan.<endpoint>`` (INTERNAL), one per call
    ``binance_instloan.endpoint``, ``http.request.method``, ``url.path``,
    ``binance_instloan.weight``, ``binance_instloan.bucket``, ``binance_instloan.budget``,
    ``binance_instloan.attempts``, ``binance_instloan.outcome_unknown``,
    ``http.response.status_code`` (of the final answer), and on failure ``error.type`` (the
    exception class) and ``binance_instloan.code`` (Binance's error code). Events
    ``binance_instloan.retry`` and ``binance_instloan.rate_limit.pause``.
    child span ``<METHOD> <path>`` (CLIENT), one per HTTP attempt (the clock sync included)
        ``http.request.method``, ``server.address``, ``server.port``, ``url.path``,
        ``http.response.status_code``, ``error.type``, ``binance_instloan.used_weight``.

Nothing here reads the query string, the body, the headers other than the used weight, or an
exception's message: those hold the signature, the API key and e-mail addresses.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlsplit

from ._constants import Endpoint
from ._errors import (
    APIStatusError,
    ConfigurationError,
    InstLoanError,
    IPBannedError,
    OutcomeUnknownError,
    RateLimitError,
)
from ._response import used_weight
from ._retry import retry_reason
from ._retry_after import DEFAULT_BAN_SECONDS, DEFAULT_PAUSE_SECONDS, pause_seconds

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
except ImportError:  # the ``otel`` extra is not installed
    otel_metrics = None  # type: ignore[assignment]
    otel_trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import httpx
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from opentelemetry.trace import Span, TracerProvider

    from ._outcome import OutcomeResolution
    from ._retry import RetryPolicy

__all__ = ["INSTRUMENTATION_NAME", "Telemetry", "telemetry_for"]

T = TypeVar("T")

INSTRUMENTATION_NAME: Final = "binance_instloan"
_P: Final = "binance_instloan."
# Used-weight values are validated where they are parsed; this only keeps a hostile value
# from skewing a gauge.
_MAX_WEIGHT: Final = 10**9
_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
)


class Telemetry:
    """The hooks the client calls; this base class records nothing and costs nothing."""

    __slots__ = ()
    enabled: bool = False

    def call(
        self, endpoint: Endpoint, run: RetryPolicy, attempt: Callable[[], Awaitable[T]],
    ) -> Awaitable[T]:
        """The call's result, running ``attempt`` under the retry policy ``run``."""
        return run.run(attempt, is_write=endpoint.is_write)

    def acquire(self, endpoint: Endpoint, waiting: Awaitable[T]) -> Awaitable[T]:
        """``waiting`` (the limiter's acquire), timed."""
        return waiting

    def http(
        self, endpoint: Endpoint, sending: Awaitable[httpx.Response],
    ) -> Awaitable[httpx.Response]:
        """``sending`` (one HTTP exchange), as a child span."""
        return sending

    def resolved(self, resolution: OutcomeResolution) -> OutcomeResolution:
        """Count a ``resolve_*`` verdict."""
        return resolution


_DISABLED: Final = Telemetry()


def _configured_tracer_provider(provider: Any) -> Any:
    if provider is not None:
        if not callable(getattr(provider, "get_tracer", None)):
            raise ConfigurationError(
                f"tracer_provider must be an OpenTelemetry TracerProvider, not "
                f"{type(provider).__name__}"
            )
        return provider
    provider = otel_trace.get_tracer_provider()
    # The API's default: a proxy to nothing until the application sets a provider.
    if isinstance(provider, otel_trace.ProxyTracerProvider | otel_trace.NoOpTracerProvider):
        return None
    return provider


def _configured_meter_provider(provider: Any) -> Any:
    if provider is not None:
        if not callable(getattr(provider, "get_meter", None)):
            raise ConfigurationError(
                f"meter_provider must be an OpenTelemetry MeterProvider, not "
                f"{type(provider).__name__}"
            )
        return provider
    provider = otel_metrics.get_meter_provider()
    if isinstance(provider, otel_metrics.NoOpMeterProvider) or type(
        provider
    ).__name__ == "_ProxyMeterProvider":
        return None
    return provider


def telemetry_for(
    *,
    tracer_provider: TracerProvider | None,
    meter_provider: MeterProvider | None,
    base_url: str,
) -> Telemetry:
    """The client's telemetry: the given providers, else the global ones, else disabled.

    The global providers are read once, here: configure OpenTelemetry before creating clients.
    """
    if otel_trace is None or otel_metrics is None:
        if tracer_provider is not None or meter_provider is not None:
            raise ConfigurationError(
                "tracer_provider/meter_provider need opentelemetry-api: "
                "pip install '.[otel]'"
            )
        return _DISABLED
    tracers = _configured_tracer_provider(tracer_provider)
    meters = _configured_meter_provider(meter_provider)
    if tracers is None and meters is None:
        return _DISABLED
    return _OTelTelemetry(tracers, meters, base_url)


def _histogram(meter: Any, name: str, *, unit: str, description: str,
               explicit_bucket_boundaries_advisory: tuple[float, ...]) -> Any:
    try:
        return meter.create_histogram(
            name, unit=unit, description=description,
            explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
        )
    except TypeError:  # opentelemetry-api < 1.23 has no bucket advice: the SDK's defaults apply
        return meter.create_histogram(name, unit=unit, description=description)


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


class _Call:
    """What one call's attempts learn, for its span."""

    __slots__ = ("attempts", "endpoint", "last_status", "pending_retry", "span")

    def __init__(self, endpoint: Endpoint, span: Span | None) -> None:
        self.endpoint = endpoint
        self.span = span
        self.attempts = 0
        self.last_status: int | None = None
        self.pending_retry: str | None = None


# The call whose attempt is being sent, so the attempt can report its status to the call span.
_CURRENT_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "binance_instloan_current_call", default=None
)


class _OTelTelemetry(Telemetry):
    __slots__ = (
        "_attempt_duration",
        "_call_duration",
        "_calls",
        "_errors",
        "_pause_length",
        "_pauses",
        "_port",
        "_resolutions",
        "_retries",
        "_server",
        "_tracer",
        "_unknown",
        "_used",
        "_used_gauge",
        "_wait",
    )
    enabled = True

    def __init__(self, tracer_provider: Any, meter_provider: Any, base_url: str) -> None:
        from . import __version__

        split = urlsplit(base_url)
        self._server = split.hostname or ""
        self._port = split.port or (443 if split.scheme == "https" else 80)
        self._tracer = (
            tracer_provider.get_tracer(INSTRUMENTATION_NAME, __version__)
            if tracer_provider is not None else None
        )
        self._used: dict[str, int] = {}
        self._used_gauge: Any = None
        self._calls = self._errors = self._retries = self._pauses = None
        self._unknown = self._resolutions = None
        self._call_duration = self._attempt_duration = self._wait = self._pause_length = None
        if meter_provider is None:
            return
        meter = meter_provider.get_meter(INSTRUMENTATION_NAME, __version__)
        self._calls = meter.create_counter(
            _P + "calls", unit="{call}", description="API calls, by endpoint and outcome",
        )
        self._errors = meter.create_counter(
            _P + "errors", unit="{call}", description="Failed API calls, by error class",
        )
        self._call_duration = _histogram(
            meter,
            _P + "call.duration", unit="s",
            description="Time from call to result, retries and rate-limit waits included",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._attempt_duration = _histogram(
            meter,
            "http.client.request.duration", unit="s",
            description="Duration of HTTP client requests.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._wait = _histogram(
            meter,
            _P + "rate_limit.wait.duration", unit="s",
            description="Time spent waiting for rate budget before sending",
            explicit_bucket_boundaries_advisory=(0.0, *_DURATION_BUCKETS),
        )
        self._retries = meter.create_counter(
            _P + "retries", unit="{retry}", description="Attempts re-sent, by reason",
        )
        self._pauses = meter.create_counter(
            _P + "rate_limit.pauses", unit="{pause}",
            description="429 pauses and 418 bans Binance imposed",
        )
        self._pause_length = _histogram(
            meter,
            _P + "rate_limit.pause.duration", unit="s",
            description="Length of the 429 pauses and 418 bans (Retry-After)",
            explicit_bucket_boundaries_advisory=(1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                                                 900.0, 3600.0, 86400.0),
        )
        self._unknown = meter.create_counter(
            _P + "outcome_unknown", unit="{call}",
            description="Writes whose outcome is unknown (OutcomeUnknownError)",
        )
        self._resolutions = meter.create_counter(
            _P + "outcome_resolutions", unit="{resolution}",
            description="resolve_* verdicts on unknown outcomes",
        )
        used_doc = "Used weight of the current window per bucket, as Binance last reported"
        if callable(getattr(meter, "create_gauge", None)):
            # A synchronous gauge is one instrument for every client on this meter; the
            # observable kind would keep only the first client's callback.
            self._used_gauge = meter.create_gauge(
                _P + "rate_limit.used_weight", unit="{weight}", description=used_doc,
            )
        else:  # opentelemetry-api < 1.23
            meter.create_observable_gauge(
                _P + "rate_limit.used_weight", callbacks=[self._observe_used], unit="{weight}",
                description=used_doc,
            )

    # -- the call -----------------------------------------------------------------------------

    def call(
        self, endpoint: Endpoint, run: RetryPolicy, attempt: Callable[[], Awaitable[T]],
    ) -> Awaitable[T]:
        return self._call(endpoint, run, attempt)

    async def _call(
        self, endpoint: Endpoint, run: RetryPolicy, attempt: Callable[[], Awaitable[T]],
    ) -> T:
        started = time.perf_counter()
        attrs = {_P + "endpoint": endpoint.name, "http.request.method": endpoint.method}
        scope: contextlib.AbstractContextManager[Span | None] = contextlib.nullcontext()
        if self._tracer is not None:
            scope = self._tracer.start_as_current_span(
                _P + endpoint.name,
                attributes={
                    **attrs,
                    "url.path": endpoint.path,
                    _P + "weight": endpoint.weight,
                    _P + "bucket": endpoint.bucket,
                    _P + "budget": endpoint.budget.value,
                },
                record_exception=False,  # an exception's message may name an e-mail address
                set_status_on_exception=False,
            )
        with scope as span:
            state = _Call(endpoint, span)
            token = _CURRENT_CALL.set(state)
            try:
                result = await run.run(self._attempts(endpoint, state, attempt),
                                       is_write=endpoint.is_write)
            except BaseException as exc:
                self._finish(endpoint, state, attrs, started, exc)
                raise
            finally:
                _CURRENT_CALL.reset(token)
            self._finish(endpoint, state, attrs, started, None)
            return result

    def _attempts(
        self, endpoint: Endpoint, state: _Call, attempt: Callable[[], Awaitable[T]],
    ) -> Callable[[], Awaitable[T]]:
        async def counted() -> T:
            if state.pending_retry is not None:
                reason, state.pending_retry = state.pending_retry, None
                if self._retries is not None:
                    self._retries.add(1, {_P + "endpoint": endpoint.name, _P + "reason": reason})
                if state.span is not None:
                    state.span.add_event(_P + "retry", {_P + "reason": reason})
            state.attempts += 1
            try:
                return await attempt()
            except InstLoanError as exc:
                self._attempt_failed(endpoint, state, exc)
                raise

        return counted

    def _attempt_failed(self, endpoint: Endpoint, state: _Call, exc: InstLoanError) -> None:
        state.pending_retry = retry_reason(exc, is_write=endpoint.is_write)
        if isinstance(exc, RateLimitError) and exc.status_code in (418, 429):
            # Raised by _handle for Binance's answer; the limiter's own refusals arrive wrapped.
            banned = isinstance(exc, IPBannedError)
            # The pause the limiter applies for this answer: the same reading and clamp.
            seconds = pause_seconds(exc.retry_after,
                                    DEFAULT_BAN_SECONDS if banned else DEFAULT_PAUSE_SECONDS)
            attrs: dict[str, Any] = {_P + "bucket": "*" if banned else endpoint.bucket,
                     "http.response.status_code": exc.status_code}
            if self._pauses is not None and self._pause_length is not None:
                self._pauses.add(1, attrs)
                self._pause_length.record(seconds, attrs)
            if state.span is not None:
                state.span.add_event(_P + "rate_limit.pause",
                                     {**attrs, _P + "pause_seconds": seconds})

    def _finish(
        self, endpoint: Endpoint, state: _Call, attrs: dict[str, Any], started: float,
        exc: BaseException | None,
    ) -> None:
        span = state.span
        unknown = isinstance(exc, OutcomeUnknownError)
        if span is not None:
            span.set_attribute(_P + "attempts", state.attempts)
            span.set_attribute(_P + "outcome_unknown", unknown)
            if exc is None and state.last_status is not None:
                span.set_attribute("http.response.status_code", state.last_status)
            if exc is not None:
                span.set_attribute("error.type", _error_type(exc))
                status = getattr(exc, "status_code", None)
                if isinstance(status, int):
                    span.set_attribute("http.response.status_code", status)
                if isinstance(exc, APIStatusError) and exc.code is not None:
                    span.set_attribute(_P + "code", exc.code)
                span.set_status(otel_trace.StatusCode.ERROR, _error_type(exc))
        if self._calls is None or self._call_duration is None or self._errors is None:
            return
        labels = dict(attrs)
        if exc is not None:
            labels["error.type"] = _error_type(exc)
            self._errors.add(1, labels)
            if unknown and self._unknown is not None:
                self._unknown.add(1, {_P + "endpoint": endpoint.name})
        self._calls.add(1, labels)
        self._call_duration.record(time.perf_counter() - started, labels)

    # -- the parts of an attempt -----------------------------------------------------------

    def acquire(self, endpoint: Endpoint, waiting: Awaitable[T]) -> Awaitable[T]:
        if self._wait is None:
            return waiting
        return self._timed_acquire(endpoint, waiting)

    async def _timed_acquire(self, endpoint: Endpoint, waiting: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await waiting
        finally:
            if self._wait is not None:
                self._wait.record(time.perf_counter() - started, {_P + "bucket": endpoint.bucket})

    def http(
        self, endpoint: Endpoint, sending: Awaitable[httpx.Response],
    ) -> Awaitable[httpx.Response]:
        return self._http(endpoint, sending)

    async def _http(
        self, endpoint: Endpoint, sending: Awaitable[httpx.Response],
    ) -> httpx.Response:
        attrs: dict[str, Any] = {
            "http.request.method": endpoint.method,
            "server.address": self._server,
            "server.port": self._port,
        }
        started = time.perf_counter()
        span = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                f"{endpoint.method} {endpoint.path}",
                kind=otel_trace.SpanKind.CLIENT,
                attributes={**attrs, "url.path": endpoint.path},
            )
        try:
            if span is None:
                response = await sending
            else:
                # Current while the exchange starts, so spans of an httpx instrumentation the
                # application runs nest under this attempt.
                with otel_trace.use_span(span, end_on_exit=False, record_exception=False,
                                         set_status_on_exception=False):
                    response = await sending
        except BaseException as exc:
            attrs["error.type"] = _error_type(exc)
            if span is not None:
                span.set_attribute("error.type", attrs["error.type"])
                span.set_status(otel_trace.StatusCode.ERROR, attrs["error.type"])
                span.end()
            self._record_attempt(started, attrs)
            raise
        status = response.status_code
        attrs["http.response.status_code"] = status
        call = _CURRENT_CALL.get()
        if call is not None and call.endpoint is endpoint:
            call.last_status = status
        if status >= 400:
            attrs["error.type"] = str(status)
        weight = used_weight(response.headers, endpoint.budget.value)
        if weight is not None and not 0 <= weight <= _MAX_WEIGHT:
            weight = None
        if weight is not None:
            if self._used_gauge is not None:
                self._used_gauge.set(weight, {_P + "bucket": endpoint.bucket})
            else:
                self._used[endpoint.bucket] = weight
        if span is not None:
            span.set_attribute("http.response.status_code", status)
            if weight is not None:
                span.set_attribute(_P + "used_weight", weight)
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(otel_trace.StatusCode.ERROR)
            span.end()
        self._record_attempt(started, attrs)
        return response

    def _record_attempt(self, started: float, attrs: dict[str, Any]) -> None:
        if self._attempt_duration is not None:
            self._attempt_duration.record(time.perf_counter() - started, attrs)

    def _observe_used(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        return [Observation(value, {_P + "bucket": bucket})
                for bucket, value in list(self._used.items())]

    # -- resolutions -------------------------------------------------------------------------

    def resolved(self, resolution: OutcomeResolution) -> OutcomeResolution:
        if self._resolutions is not None:
            self._resolutions.add(1, {_P + "action": resolution.action,
                                      _P + "verdict": str(resolution.outcome)})
        if self._tracer is not None:
            span = otel_trace.get_current_span()
            span.add_event(_P + "outcome_resolved", {_P + "action": resolution.action,
                                                     _P + "verdict": str(resolution.outcome)})
        return resolution
