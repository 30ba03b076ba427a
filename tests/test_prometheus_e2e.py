"""The exporter scraped by a real Prometheus, read back through Prometheus's query API.

Needs the ``prometheus`` and ``promtool`` binaries (Debian's ``prometheus`` package; ``.ci/run``
installs it). Without them the test fails under CI=true and is skipped, saying why, elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from binance_instloan._cli._exporter import Exporter, ExporterCollector, client_metrics, serving
from binance_instloan.simulator import Simulator

MONITORING = Path(__file__).resolve().parent.parent / "monitoring"
# Prometheus starts, scrapes every second and answers queries well inside this on any machine.
DEADLINE_SECONDS = 60.0


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        reason = f"`{name}` is not installed (apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run this test")
        pytest.skip(f"SKIPPED LOUDLY: {reason}")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, history_days=3)


@pytest.fixture
async def exporter_port(sim: Simulator) -> AsyncIterator[int]:
    meters, reader = client_metrics()
    collector = ExporterCollector(reader)
    async with sim.client("parent", meter_provider=meters) as client:
        exporter = Exporter(client, collector, group_id=None, interval=1.0,
                            err_console=Console(stderr=True), sleep=asyncio.sleep)
        with serving(collector, "127.0.0.1", 0) as port:
            polling = asyncio.create_task(exporter.run())
            try:
                yield port
            finally:
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
    meters.shutdown()


@pytest.fixture
def prometheus(tmp_path: Path, exporter_port: int) -> Iterator[str]:
    binary = _binary("prometheus")
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "rule_files:\n  - alerts.yml\n"
        "scrape_configs:\n  - job_name: binance_instloan\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter_port}']\n"
    )
    port = _free_port()
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [binary, f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


async def _query(prometheus: str, expr: str, *, until_not: float | None = None) -> float:
    """The value of ``expr``, waiting for a first sample (or for one other than ``until_not``)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    last = None
    async with httpx.AsyncClient(base_url=prometheus, timeout=5.0) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                body = (await http.get("/api/v1/query", params={"query": expr})).json()
                last = body
                result = body.get("data", {}).get("result", [])
                if result:
                    value = float(result[0]["value"][1])
                    if until_not is None or value != until_not:
                        return value
            await asyncio.sleep(0.2)
    raise AssertionError(f"no new sample of {expr} within {DEADLINE_SECONDS:g} s: {last}")


async def _ltv(sim: Simulator, group: int) -> Decimal:
    async with sim.client("parent") as client:
        (unit,) = await client.get_ltv_details(group_id=group)
    return unit.ltv


async def test_prometheus_scrapes_the_ltv_and_sees_it_move_after_a_borrow(
    sim: Simulator, prometheus: str,
) -> None:
    # The alert rules Prometheus loads here are the shipped ones; promtool vets them first.
    promtool = _binary("promtool")
    checked = subprocess.run([promtool, "check", "rules", str(MONITORING / "alerts.yml")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    group = sim.group_ids[0]
    series = f'binance_instloan_ltv{{group_id="{group}"}}'
    before = await _query(prometheus, series)
    assert before == float(await _ltv(sim, group))

    async with sim.client(group_id=group) as credit:
        await credit.borrow(group_id=group, asset="USDT", amount=Decimal("500"))

    after = await _query(prometheus, series, until_not=before)
    assert after > before
    assert after == float(await _ltv(sim, group))
    assert await _query(prometheus, 'up{job="binance_instloan"}') == 1.0


async def test_every_dashboard_query_is_accepted_by_prometheus(prometheus: str) -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    async with httpx.AsyncClient(base_url=prometheus, timeout=5.0) as http:
        await _query(prometheus, "vector(1)")  # up and answering
        for expr in exprs:
            concrete = expr.replace("$group_id", ".*").replace("$__rate_interval", "1m")
            body = (await http.get("/api/v1/query", params={"query": concrete})).json()
            assert body["status"] == "success", (expr, body)
