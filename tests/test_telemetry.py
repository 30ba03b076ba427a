"""OpenTelemetry spans and metrics, read back with the SDK's in-memory exporter and reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from binance_instloan import (
    APIStatusError,
    AsyncInstLoanClient,
    ConfigurationError,
    Outcome,
    OutcomeUnknownError,
    RateLimiter,
    RateLimits,
)
from binance_instloan.simulator import Simulator

LOAN = "/sapi/v1/margin/loan-group"
LTV = f"{LOAN}/ltv-details"
FAST = {"deadline": 5.0, "poll_interval": 0.05, "settle": 0.1}


class Otel:
    """A tracer and a meter provider whose output the test can read."""

    def __init__(self) -> None:
        self.spans_out = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_out))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def kwargs(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self) -> list[ReadableSpan]:
        return list(self.spans_out.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        (found,) = [s for s in self.spans() if s.name == name]
        return found

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for m in scope.metrics if m.name == metric
            for point in m.data.data_points
        ]

    def value(self, metric: str, **labels: Any) -> Any:
        """The sum of a counter's points (or a histogram's counts) whose labels match."""
        total = 0
        for point in self.points(metric):
            attrs = dict(point.attributes)
            if all(attrs.get(k.replace("__", ".")) == v for k, v in labels.items()):
                total += point.count if hasattr(point, "count") else point.value
        return total

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def otel() -> Iterator[Otel]:
    o = Otel()
    yield o
    o.shutdown()


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, history_days=3)


async def _no_sleep(seconds: float) -> None:
    return None


async def test_a_call_is_one_span_with_each_http_attempt_as_a_child(
    sim: Simulator, otel: Otel
) -> None:
    async with sim.client(**otel.kwargs()) as client:
        await client.get_ltv_details()
    call = otel.span("binance_instloan.ltv_details")
    attempt = otel.span(f"GET {LTV}")
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert attempt.kind is SpanKind.CLIENT
    assert dict(call.attributes or {}) == {
        "binance_instloan.endpoint": "ltv_details",
        "http.request.method": "GET",
        "url.path": LTV,
        "binance_instloan.weight": 200,
        "binance_instloan.bucket": f"IP:{LTV}",
        "binance_instloan.budget": "IP",
        "binance_instloan.attempts": 1,
        "binance_instloan.outcome_unknown": False,
        "http.response.status_code": 200,
    }
    assert attempt.attributes is not None
    assert attempt.attributes["http.response.status_code"] == 200
    assert attempt.attributes["url.path"] == LTV
    assert attempt.attributes["server.address"] == urlsplit(sim.base_url).hostname


async def test_the_clock_sync_is_a_child_span_of_the_first_call(
    sim: Simulator, otel: Otel
) -> None:
    async with sim.client(**otel.kwargs()) as client:
        await client.get_ltv_details()
    call = otel.span("binance_instloan.ltv_details")
    sync = otel.span("GET /api/v3/time")
    assert sync.parent is not None and sync.parent.span_id == call.context.span_id


async def test_calls_are_counted_by_endpoint(sim: Simulator, otel: Otel) -> None:
    async with sim.client(**otel.kwargs()) as client:
        await client.get_ltv_details()
        await client.get_ltv_details()
    assert otel.value("binance_instloan.calls", binance_instloan__endpoint="ltv_details") == 2
    assert otel.value("binance_instloan.errors") == 0


async def test_errors_are_counted_by_endpoint_and_class(sim: Simulator, otel: Otel) -> None:
    sim.add_fault("error_code", path=LTV, status=400, code=-1102, message="bad parameter")
    async with sim.client(**otel.kwargs()) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.get_ltv_details()
    error_class = type(caught.value).__name__
    assert otel.value("binance_instloan.errors", binance_instloan__endpoint="ltv_details",
                      error__type=error_class) == 1
    call = otel.span("binance_instloan.ltv_details")
    assert call.attributes is not None and call.attributes["error.type"] == error_class


async def test_a_429_pause_is_recorded_with_its_length_and_the_call_retried(
    sim: Simulator, otel: Otel
) -> None:
    sim.add_fault("error_code", path=LTV, status=429, code=-1003)
    ahead = 0.0

    async def fast_forward(seconds: float) -> None:  # the limiter's clock jumps the pause
        nonlocal ahead
        ahead += seconds

    limiter = RateLimiter(RateLimits(), now=lambda: time.time() + ahead, sleep=fast_forward)
    async with sim.client(limiter=limiter, **otel.kwargs()) as client:
        await client.get_ltv_details()
    assert otel.value("binance_instloan.rate_limit.pauses",
                      http__response__status_code=429) == 1
    (pause,) = otel.points("binance_instloan.rate_limit.pause.duration")
    # The simulator asks for 1 s; no 429 pause is shorter than the default 5 s.
    assert pause.sum == 5.0
    assert otel.value("binance_instloan.retries", binance_instloan__reason="rate_limit") == 1
    call = otel.span("binance_instloan.ltv_details")
    assert call.attributes is not None and call.attributes["binance_instloan.attempts"] == 2
    assert [e.name for e in call.events] == [
        "binance_instloan.rate_limit.pause", "binance_instloan.retry",
    ]


async def test_a_failed_get_is_retried_and_counted_by_reason(
    sim: Simulator, otel: Otel
) -> None:
    sim.add_fault("status", path=LTV, status=500)
    async with sim.client(**otel.kwargs()) as client:
        client._retry.sleep = _no_sleep
        await client.get_ltv_details()
    assert otel.value("binance_instloan.retries", binance_instloan__reason="transient") == 1
    attempts = [s for s in otel.spans() if s.name == f"GET {LTV}"]
    assert sorted(s.attributes["http.response.status_code"] for s in attempts) == [200, 500]


async def test_time_waiting_for_rate_budget_is_recorded_per_bucket(
    sim: Simulator, otel: Otel
) -> None:
    async with sim.client(**otel.kwargs()) as client:
        await client.get_ltv_details()
    assert otel.value("binance_instloan.rate_limit.wait.duration",
                      binance_instloan__bucket=f"IP:{LTV}") == 1


async def test_used_weight_is_the_value_binance_reported(sim: Simulator, otel: Otel) -> None:
    async with sim.client(**otel.kwargs()) as client:
        with client.capture_responses() as seen:
            await client.get_ltv_details()
    (point,) = [p for p in otel.points("binance_instloan.rate_limit.used_weight")
                if p.attributes["binance_instloan.bucket"] == f"IP:{LTV}"]
    assert point.value == seen[-1].used_weight


async def test_clients_sharing_a_meter_provider_each_report_used_weight(
    sim: Simulator, otel: Otel
) -> None:
    async with sim.client("parent", **otel.kwargs()) as parent, sim.client(
        **otel.kwargs()
    ) as credit:
        await parent.get_ltv_details()
        await credit.get_max_borrowable(asset="USDT", group_id=sim.group_ids[0])
    buckets = {p.attributes["binance_instloan.bucket"]
               for p in otel.points("binance_instloan.rate_limit.used_weight")}
    assert {f"IP:{LTV}", f"IP:{LOAN}/max-borrowable"} <= buckets


async def test_an_unknown_outcome_is_flagged_on_the_span_and_counted(
    sim: Simulator, otel: Otel
) -> None:
    sim.add_fault("read_timeout", path=f"{LOAN}/borrow", execute=True)
    async with sim.client(recv_window=300, **otel.kwargs()) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.borrow(group_id=sim.group_ids[0], asset="USDT", amount=Decimal("12.34"))
    call = otel.span("binance_instloan.borrow")
    assert call.attributes is not None
    assert call.attributes["binance_instloan.outcome_unknown"] is True
    assert call.attributes["error.type"] == "OutcomeUnknownError"
    assert call.attributes["binance_instloan.attempts"] == 1
    assert otel.value("binance_instloan.outcome_unknown", binance_instloan__endpoint="borrow") == 1
    assert otel.value("binance_instloan.retries") == 0


async def test_resolving_an_unknown_outcome_counts_the_verdict(
    sim: Simulator, otel: Otel
) -> None:
    sim.add_fault("read_timeout", path=f"{LOAN}/borrow", execute=True)
    async with sim.client(recv_window=300, **otel.kwargs()) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.borrow(group_id=sim.group_ids[0], asset="USDT", amount=Decimal("12.34"))
        result = await client.resolve_outcome(caught.value, **FAST)
    assert result.outcome is Outcome.EXECUTED
    assert otel.value("binance_instloan.outcome_resolutions",
                      binance_instloan__verdict=str(Outcome.EXECUTED)) == 1


async def test_no_span_or_metric_carries_a_key_signature_or_email(
    sim: Simulator, otel: Otel
) -> None:
    creds = sim.credentials("parent")
    email = sim.collateral_emails()[0]
    sim.add_fault("reset", path=f"{LOAN}/edit-member", execute=False)
    async with sim.client("parent", **otel.kwargs()) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.add_collateral_account(group_id=sim.group_ids[0], sub_email=email,
                                                enable_spot=True, enable_margin=True)
    seen: list[str] = []
    for span in otel.spans():
        seen += [str(v) for v in (span.attributes or {}).values()]
        seen += [span.name, *(e.name for e in span.events)]
        seen += [str(v) for e in span.events for v in (e.attributes or {}).values()]
        seen.append(str(span.status.description))
    data = otel.reader.get_metrics_data()
    assert data is not None
    seen.append(data.to_json())
    text = "\n".join(seen)
    assert "@" not in text
    assert "signature" not in text.lower()
    assert creds.api_key not in text
    assert creds.api_secret is not None and creds.api_secret not in text


def test_without_a_provider_configured_the_client_takes_the_no_op_path() -> None:
    from binance_instloan._telemetry import telemetry_for

    telemetry = telemetry_for(tracer_provider=None, meter_provider=None,
                              base_url="https://api.binance.com")
    assert telemetry.enabled is False


def test_a_tracer_provider_that_is_not_one_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="tracer_provider"):
        AsyncInstLoanClient("key", "secret", tracer_provider="console")  # type: ignore[arg-type]


def test_without_opentelemetry_installed_calls_work_and_providers_are_refused() -> None:
    script = textwrap.dedent("""
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        from binance_instloan import ConfigurationError
        from binance_instloan.simulator import Simulator

        async def main():
            sim = Simulator(seed=1, history_days=1)
            async with sim.client() as client:
                units = await client.get_ltv_details()
            try:
                sim.client(tracer_provider=object())
            except ConfigurationError as exc:
                print(len(units), "refused:", exc)

        asyncio.run(main())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "refused: tracer_provider/meter_provider need opentelemetry-api" in done.stdout


def test_the_global_providers_are_used_when_none_are_passed() -> None:
    # In a child process: the global providers can be set only once per process.
    script = textwrap.dedent("""
        import asyncio
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from binance_instloan.simulator import Simulator

        spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

        async def main():
            async with Simulator(seed=1, history_days=1).client() as client:
                await client.get_ltv_details()

        asyncio.run(main())
        names = sorted(s.name for s in spans.get_finished_spans())
        metric_names = {m.name for r in reader.get_metrics_data().resource_metrics
                        for sc in r.scope_metrics for m in sc.metrics}
        print(names, "binance_instloan.calls" in metric_names)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "'binance_instloan.ltv_details'" in done.stdout
    assert done.stdout.strip().endswith("True")
