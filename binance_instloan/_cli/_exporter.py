"""``exporter``: serve risk-unit LTVs and the client's own metrics to Prometheus.

One poll loop reads ``ltv-details`` no faster than its budget allows (the rule of
``watch-ltv``); Prometheus scrapes a snapshot of the last good answer, served from
prometheus-client's HTTP server thread, so a scrape never waits on Binance. When a poll
fails (Binance unreachable, the key refused, a rate-limit pause) the exporter keeps serving:
``binance_instloan_up`` drops to 0 and ``binance_instloan_last_success_timestamp_seconds``
says how old the unit values are. Prometheus samples are float64, so the Decimal values are
rounded to about 15 significant digits on the way out, and only there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, cast

import attrs
import typer
from rich.console import Console

from .._client import AsyncInstLoanClient
from .._errors import InstLoanError
from .._models import RiskUnitDetails
from ._failures import ExitCode
from ._output import console as make_console
from ._runner import run_command
from ._session import Session
from ._watch import min_interval

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

DEFAULT_PORT: Final = 9477
_NS: Final = "binance_instloan_"
# OTel attribute names carry our prefix; Prometheus labels are already namespaced by metric.
_ATTR_PREFIX: Final = "binance_instloan."
_UNIT_SUFFIX: Final = {"s": "_seconds"}


@attrs.frozen
class _Snapshot:
    units: tuple[RiskUnitDetails, ...] = ()
    up: bool = False
    last_success: float | None = None
    polls: int = 0
    failures: tuple[tuple[str, int], ...] = ()


class ExporterCollector:
    """Turns the last poll and the client's OpenTelemetry metrics into Prometheus families."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self._reader = reader
        self.snapshot = _Snapshot()

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot  # one reference read: the poll loop swaps whole snapshots
        yield from _unit_families(snap)
        yield from _otel_families(self._reader.get_metrics_data())


def _unit_families(snap: _Snapshot) -> Iterator[Metric]:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    up = GaugeMetricFamily(_NS + "up", "1 if the last ltv-details poll succeeded, else 0")
    up.add_metric([], 1.0 if snap.up else 0.0)
    yield up
    last = GaugeMetricFamily(
        _NS + "last_success_timestamp_seconds",
        "UNIX time of the last successful poll: the unit values below are this old",
    )
    if snap.last_success is not None:
        last.add_metric([], snap.last_success)
    yield last
    polls = CounterMetricFamily(_NS + "exporter_polls", "ltv-details polls, by result",
                                labels=["result"])
    failed = sum(count for _, count in snap.failures)
    polls.add_metric(["ok"], float(snap.polls - failed))
    polls.add_metric(["error"], float(failed))
    yield polls
    errors = CounterMetricFamily(_NS + "exporter_poll_errors", "Failed polls, by error class",
                                 labels=["error_type"])
    for error_type, count in snap.failures:
        errors.add_metric([error_type], float(count))
    yield errors

    per_unit: list[tuple[str, str, Callable[[RiskUnitDetails], Any]]] = [
        ("ltv", "Loan-to-value ratio of the risk unit", lambda u: u.ltv),
        ("total_net_equity", "Total net equity of the risk unit (USDT)",
         lambda u: u.total_net_equity),
        ("total_liability", "Total liability of the risk unit (USDT)",
         lambda u: u.total_liability),
        ("total_maintenance_margin", "Total maintenance margin of the risk unit (USDT)",
         lambda u: u.total_maintenance_margin),
        ("max_transfer_out", "Largest amount that may be transferred out now (USDT)",
         lambda u: u.max_transfer_out_amount),
        ("max_allowed_borrow_limit", "Max allowed borrow limit of the risk unit (USDT)",
         lambda u: u.max_allowed_borrow_limit),
        ("unit_update_timestamp_seconds", "Binance's update time of the unit's figures",
         lambda u: u.update_time.timestamp()),
    ]
    for name, doc, value in per_unit:
        family = GaugeMetricFamily(_NS + name, doc, labels=["group_id"])
        for unit in snap.units:
            v = value(unit)
            if v is not None:
                family.add_metric([str(unit.group_id)], float(v))
        yield family
    liability = GaugeMetricFamily(
        _NS + "liability", "Outstanding loan of one asset, principal plus interest (asset units)",
        labels=["group_id", "asset"],
    )
    for unit in snap.units:
        for debt in unit.liabilities:
            liability.add_metric([str(unit.group_id), debt.asset_name],
                                 float(debt.principal + debt.interest))
    yield liability


def _prom_name(name: str, unit: str) -> str:
    base = name.replace(".", "_")
    return base + _UNIT_SUFFIX.get(unit, "")


def _labels(attributes: Any) -> dict[str, str]:
    return {
        key.removeprefix(_ATTR_PREFIX).replace(".", "_"): str(value)
        for key, value in (attributes or {}).items()
    }


def _otel_families(data: MetricsData | None) -> Iterator[Metric]:
    """The client's OpenTelemetry metrics, named as OTel's Prometheus exporters name them."""
    from opentelemetry.sdk.metrics.export import Gauge, Histogram, Sum
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
    )

    if data is None:
        return
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                name = _prom_name(metric.name, metric.unit or "")
                points: list[Any] = list(metric.data.data_points)
                keys = sorted({k for p in points for k in _labels(p.attributes)})
                if isinstance(metric.data, Sum) and metric.data.is_monotonic:
                    counter = CounterMetricFamily(name, metric.description or name, labels=keys)
                    for p in points:
                        labels = _labels(p.attributes)
                        counter.add_metric([labels.get(k, "") for k in keys], float(p.value))
                    yield counter
                elif isinstance(metric.data, Sum | Gauge):
                    gauge = GaugeMetricFamily(name, metric.description or name, labels=keys)
                    for p in points:
                        labels = _labels(p.attributes)
                        gauge.add_metric([labels.get(k, "") for k in keys], float(p.value))
                    yield gauge
                elif isinstance(metric.data, Histogram):
                    histogram = HistogramMetricFamily(name, metric.description or name,
                                                      labels=keys)
                    for p in points:
                        labels = _labels(p.attributes)
                        histogram.add_metric(
                            [labels.get(k, "") for k in keys],
                            _cumulative(p.explicit_bounds, p.bucket_counts), float(p.sum),
                        )
                    yield histogram


def _cumulative(bounds: Sequence[float], counts: Sequence[int]) -> list[tuple[str, float]]:
    buckets: list[tuple[str, float]] = []
    total = 0
    for bound, count in zip([*bounds, float("inf")], counts, strict=False):
        total += count
        buckets.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(total)))
    return buckets


class Exporter:
    """Polls ``ltv-details`` into the collector's snapshot; the HTTP server is separate."""

    def __init__(
        self, client: AsyncInstLoanClient, collector: ExporterCollector, *,
        group_id: int | None, interval: float, err_console: Console,
        sleep: Callable[[float], Awaitable[None]], wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._collector = collector
        self._group_id = group_id
        self._sleep = sleep
        self._err = err_console
        self._wall_clock = wall_clock
        floor = min_interval(client)
        if interval < floor:
            err_console.print(
                f"--interval {interval:g} s is faster than the ltv-details budget allows; "
                f"polling every {floor:g} s instead", markup=False, highlight=False,
            )
        self.interval = max(interval, floor)

    async def poll_once(self) -> None:
        snap = self._collector.snapshot
        try:
            units = await self._client.get_ltv_details(group_id=self._group_id)
        except InstLoanError as exc:
            failures = dict(snap.failures)
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            self._collector.snapshot = attrs.evolve(
                snap, up=False, polls=snap.polls + 1, failures=tuple(sorted(failures.items())),
            )
            # The class and Binance's code only: the message may name an e-mail address.
            code = getattr(exc, "code", None)
            self._err.print(
                f"poll failed: {type(exc).__name__}" + (f" (code {code})" if code else "")
                + "; still serving, binance_instloan_up=0", markup=False, highlight=False,
            )
            return
        self._collector.snapshot = attrs.evolve(
            snap, units=tuple(units), up=True, last_success=self._wall_clock(),
            polls=snap.polls + 1,
        )

    async def run(self, max_polls: int | None = None) -> None:
        polls = 0
        while True:
            await self.poll_once()
            polls += 1
            if max_polls is not None and polls >= max_polls:
                return
            await self._sleep(self.interval)


def client_metrics() -> tuple[MeterProvider, InMemoryMetricReader]:
    """A meter provider of the exporter's own, so the client's metrics reach ``/metrics``."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


@contextlib.contextmanager
def serving(collector: ExporterCollector, host: str, port: int) -> Iterator[int]:
    """Serve ``/metrics`` from a thread while the block runs; yields the bound port."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app
    from prometheus_client.exposition import ThreadingWSGIServer

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per scrape on stderr helps no one

    registry = CollectorRegistry(auto_describe=False)
    registry.register(cast("Collector", collector))
    server = make_server(host, port, make_wsgi_app(registry), ThreadingWSGIServer,
                         handler_class=QuietHandler)
    # A short poll so that stopping (which waits for the loop to notice) is quick.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="binance-instloan-exporter", daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def serve_exporter(
    make_client: Callable[[MeterProvider], AsyncInstLoanClient], *, host: str, port: int,
    group_id: int | None, interval: float, max_polls: int | None, console: Console,
    err_console: Console, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Create the client, serve ``/metrics`` and poll until ``max_polls`` (or forever)."""
    meter_provider, reader = client_metrics()
    collector = ExporterCollector(reader)
    try:
        async with make_client(meter_provider) as client:
            exporter = Exporter(client, collector, group_id=group_id, interval=interval,
                                err_console=err_console, sleep=sleep)
            with serving(collector, host, port) as bound:
                console.print(
                    f"serving http://{host}:{bound}/metrics (polling ltv-details every "
                    f"{exporter.interval:g} s)", markup=False, highlight=False,
                )
                if on_ready is not None:
                    on_ready(bound)
                await exporter.run(max_polls)
    finally:
        meter_provider.shutdown()


def exporter(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535, help="TCP port of /metrics (0: any free port).",
    )] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (0.0.0.0: every interface; the figures are "
        "balances, so open it only to your Prometheus).",
    )] = "127.0.0.1",
    group_id: Annotated[int | None, typer.Option(
        "--group-id", help="Risk unit (groupId) [default: every unit the key sees].",
        show_default=False,
    )] = None,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.0, help="Seconds between ltv-details polls (never faster than "
        "the budget).",
    )] = 15.0,
    max_polls: Annotated[int | None, typer.Option(
        "--max-polls", min=1, help="Stop after this many polls.", show_default=False,
    )] = None,
) -> None:
    """Serve LTVs and the client's metrics to Prometheus on /metrics (extra: exporter)."""
    try:
        import opentelemetry.sdk.metrics  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError:
        typer.echo("error: the exporter needs the 'exporter' extra: "
                   'pip install ".[exporter]"', err=True)
        raise typer.Exit(ExitCode.CONFIGURATION) from None
    session = ctx.obj
    if not isinstance(session, Session):  # pragma: no cover - the callback always sets it
        raise RuntimeError("the command line was not initialised")

    async def work() -> None:
        await serve_exporter(
            lambda meters: session.client("parent", group_id, meter_provider=meters),
            host=host, port=port, group_id=group_id, interval=interval, max_polls=max_polls,
            console=make_console(), err_console=make_console(stderr=True),
            sleep=session.runtime.sleep,
        )

    run_command(session, work, interrupted=lambda: typer.echo("Exporter stopped.", err=True),
                interrupted_code=ExitCode.OK)
