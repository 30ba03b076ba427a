"""``binance-instloan exporter``: /metrics over HTTP, read back with Prometheus's own parser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from typer.testing import CliRunner

from binance_instloan import AsyncInstLoanClient
from binance_instloan._cli._app import app
from binance_instloan._cli._exporter import (
    Exporter,
    ExporterCollector,
    client_metrics,
    serving,
)
from binance_instloan._cli._session import Runtime
from binance_instloan.simulator import Simulator


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class Running:
    sim: Simulator
    exporter: Exporter
    port: int

    async def scrape(self) -> str:
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{self.port}/metrics")
        assert response.status_code == 200
        return response.text

    async def value(self, name: str, **labels: str) -> float | None:
        for family in text_string_to_metric_families(await self.scrape()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    return float(sample.value)
        return None


def _start(
    sim: Simulator, make: Callable[[Any], AsyncInstLoanClient],
) -> Callable[[], AsyncIterator[Running]]:
    async def running() -> AsyncIterator[Running]:
        meters, reader = client_metrics()
        collector = ExporterCollector(reader)
        async with make(meters) as client:
            exporter = Exporter(client, collector, group_id=None, interval=1.0,
                                err_console=Console(stderr=True), sleep=_no_sleep)
            with serving(collector, "127.0.0.1", 0) as port:
                yield Running(sim, exporter, port)
        meters.shutdown()

    return running


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, history_days=3)


@pytest.fixture
async def running(sim: Simulator) -> AsyncIterator[Running]:
    start = _start(sim, lambda meters: sim.client("parent", meter_provider=meters,
                                                  max_retries=0))
    async for r in start():
        yield r


async def _sim_units(sim: Simulator) -> list[Any]:
    async with sim.client("parent") as client:
        return await client.get_ltv_details()


async def test_each_units_ltv_is_served_as_the_simulator_reports_it(running: Running) -> None:
    await running.exporter.poll_once()
    for unit in await _sim_units(running.sim):
        assert await running.value("binance_instloan_ltv", group_id=str(unit.group_id)) == float(
            unit.ltv)


async def test_net_equity_liabilities_transfer_out_and_borrow_limit_are_served(
    running: Running,
) -> None:
    group = running.sim.group_ids[0]
    async with running.sim.client(group_id=group) as credit:
        await credit.borrow(group_id=group, asset="USDT", amount=Decimal("25"))
    await running.exporter.poll_once()
    (unit,) = [u for u in await _sim_units(running.sim) if u.group_id == group]
    g = str(group)
    assert await running.value("binance_instloan_total_net_equity", group_id=g) == float(
        unit.total_net_equity)
    (usdt,) = [d for d in unit.liabilities if d.asset_name == "USDT"]
    assert await running.value("binance_instloan_liability", group_id=g, asset="USDT") == float(
        usdt.principal + usdt.interest)
    if unit.max_transfer_out_amount is not None:
        assert await running.value("binance_instloan_max_transfer_out", group_id=g) == float(
            unit.max_transfer_out_amount)
    if unit.max_allowed_borrow_limit is not None:
        assert await running.value("binance_instloan_max_allowed_borrow_limit",
                                   group_id=g) == float(unit.max_allowed_borrow_limit)


async def test_a_successful_poll_sets_up_and_the_success_time(running: Running) -> None:
    assert await running.value("binance_instloan_up") == 0.0
    await running.exporter.poll_once()
    assert await running.value("binance_instloan_up") == 1.0
    assert await running.value("binance_instloan_last_success_timestamp_seconds") is not None


async def test_the_clients_own_metrics_are_served(running: Running) -> None:
    await running.exporter.poll_once()
    assert await running.value("binance_instloan_calls_total", endpoint="ltv_details") == 1.0
    assert await running.value("http_client_request_duration_seconds_count",
                               http_response_status_code="200") is not None
    assert await running.value("binance_instloan_rate_limit_used_weight",
                               bucket="IP:/sapi/v1/margin/loan-group/ltv-details") is not None


async def test_unreachable_binance_keeps_serving_with_up_0_and_the_old_success_time(
    running: Running,
) -> None:
    await running.exporter.poll_once()
    last_success = await running.value("binance_instloan_last_success_timestamp_seconds")
    group = str(running.sim.group_ids[0])
    ltv = await running.value("binance_instloan_ltv", group_id=group)
    running.sim.add_fault("connect_error", times=None)
    await running.exporter.poll_once()
    assert await running.value("binance_instloan_up") == 0.0
    assert await running.value("binance_instloan_last_success_timestamp_seconds") == last_success
    assert await running.value("binance_instloan_ltv", group_id=group) == ltv
    assert await running.value("binance_instloan_exporter_poll_errors_total",
                               error_type="APIConnectionError") == 1.0


async def test_a_refused_key_keeps_serving_with_up_0(sim: Simulator) -> None:
    start = _start(sim, lambda meters: AsyncInstLoanClient(
        "not-a-key-the-simulator-knows", "secret", base_url=sim.base_url,
        transport=sim.transport(), meter_provider=meters))
    async for r in start():
        await r.exporter.poll_once()
        await r.exporter.poll_once()
        assert await r.value("binance_instloan_up") == 0.0
        assert await r.value("binance_instloan_exporter_polls_total", result="error") == 2.0
        assert await r.value("binance_instloan_last_success_timestamp_seconds") is None


async def test_polling_is_never_faster_than_the_ltv_details_budget(sim: Simulator) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    meters, reader = client_metrics()
    async with sim.client("parent") as client:
        exporter = Exporter(client, ExporterCollector(reader), group_id=None, interval=0.01,
                            err_console=Console(stderr=True), sleep=sleep)
        await exporter.run(max_polls=3)
    meters.shutdown()
    # ltv-details weighs 200 of 12,000 per minute: one poll a second at the most.
    assert slept == [1.0, 1.0]


def test_the_exporter_command_serves_the_simulator_and_stops_after_max_polls(
    sim: Simulator,
) -> None:
    result = CliRunner().invoke(
        app, ["--sim", "exporter", "--port", "0", "--max-polls", "1"],
        obj=Runtime(simulator=sim, sleep=_no_sleep),
    )
    assert result.exit_code == 0, result.output
    assert "serving http://127.0.0.1:" in result.output
