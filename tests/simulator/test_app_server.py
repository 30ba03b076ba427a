"""The simulator over real TCP on 127.0.0.1, served by uvicorn inside the test's event loop."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from app_requests import BORROW, FORM, LTV, sign, signed_get, signed_post

from binance_instloan.simulator import Simulator, serve

TRANSFER_OUT = "/sapi/v1/margin/loan-group/transfer-out"


async def test_signed_requests_and_a_reset_over_tcp() -> None:
    sim = Simulator(seed=1)
    sim.add_fault("reset", path=BORROW)

    async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        details = await signed_get(http, sim, sim.credentials(), LTV)
        with pytest.raises(httpx.RemoteProtocolError):
            await signed_post(
                http, sim, sim.credentials(), BORROW,
                [("groupId", str(sim.group_ids[0])), ("assetName", "USDT"), ("amount", "1")],
            )

    assert base_url.startswith("http://127.0.0.1:")
    assert details.status_code == 200
    assert details.headers["X-SAPI-USED-IP-WEIGHT-1M"] == "200"
    assert sim.execution_count(BORROW) == 1  # executed, then the answer was cut


async def test_a_urlencode_body_with_a_raw_at_sign_passes_over_tcp() -> None:
    sim = Simulator(seed=1)
    creds = sim.credentials("parent")
    query = urlencode([("asset", "USDT"), ("amount", "1")])
    body = urlencode([("subEmail", sim.collateral_emails()[0]),
                      ("timestamp", str(sim.now_ms()))], safe="@")
    signature = sign(creds, query + body)

    async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            f"{TRANSFER_OUT}?{query}", content=f"{body}&signature={signature}",
            headers={"X-MBX-APIKEY": creds.api_key, **FORM},
        )

    assert "@" in body
    assert response.status_code == 200, response.text


async def test_server_stops_promptly_while_holding_a_timed_out_answer() -> None:
    sim = Simulator(seed=1)
    sim.add_fault("read_timeout", latency=3600)

    # The answer is held for an hour: stopping must cut the hold short, not wait it out. A
    # minute is far beyond any delay a busy machine adds, and far below the hour.
    async with asyncio.timeout(60):
        async with serve(sim) as base_url, httpx.AsyncClient(base_url=base_url,
                                                             timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/api/v3/time")

    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.get(f"{base_url}/api/v3/time")


def test_run_serves_until_interrupted() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    program = (
        "from binance_instloan.simulator import Simulator, run\n"
        f"run(Simulator(), port={port}, log_level='warning')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", program], cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        response = _first_answer(f"http://127.0.0.1:{port}/api/v3/time", process)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)

    assert response.status_code == 200
    assert process.returncode == 0, stderr.decode()


def _first_answer(url: str, process: subprocess.Popen[bytes]) -> httpx.Response:
    deadline = time.monotonic() + 15
    while True:
        try:
            return httpx.get(url)
        except httpx.ConnectError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.02)  # the child is still importing and binding
