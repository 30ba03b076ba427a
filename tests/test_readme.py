"""The README cannot drift: every Python example runs against the simulator, and its tables
(endpoints, errors, exit codes, commands) are checked against the code.

Examples are written as users write them (``AsyncInstLoanClient()`` with keys from the
environment). Here the environment holds simulator keys, and ``AsyncInstLoanClient`` is a
subclass that sends to an in-process simulator unless the example picks its own transport or
base URL (the simulator examples do).
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer.main

import binance_instloan
from binance_instloan import AsyncInstLoanClient, InstLoanError
from binance_instloan._cli._app import app
from binance_instloan._cli._failures import ExitCode
from binance_instloan._constants import ENDPOINTS
from binance_instloan.simulator import Simulator
from tests._redis import redis_missing

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(language: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every fenced block in ``language``."""
    return [
        (README.count("\n", 0, m.start()) + 1, m[2])
        for m in _BLOCK.finditer(README) if m[1] == language
    ]


PYTHON = blocks("python")
# Examples that need something the test suite may lack get their own tests below.
SPECIAL = ("from aiohttp", "from fastapi", "RedisLimiter(")
SCRIPTS = [b for b in PYTHON if not any(w in b[1] for w in SPECIAL)]
(AIOHTTP,) = [code for _, code in PYTHON if "from aiohttp" in code]
(FASTAPI,) = [code for _, code in PYTHON if "from fastapi" in code]
(REDIS,) = [code for _, code in PYTHON if "RedisLimiter(" in code]


class ExampleReachedItsLoop(BaseException):
    """Raised by the stand-in sleep: a bot example has done a round and would now wait."""


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start: end if end != -1 else None]


def table_rows(text: str) -> list[list[str]]:
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines() if line.startswith("|")
    ]
    return rows[2:]


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=0, history_days=365)


@pytest.fixture
def readme_env(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> Iterator[Simulator]:
    """Simulator keys in the environment, a simulator-bound client class, a scratch cwd."""
    credit = sim.credentials("credit")
    monkeypatch.setenv("BINANCE_API_KEY", credit.api_key)
    monkeypatch.setenv("BINANCE_API_SECRET", credit.api_secret or "")
    monkeypatch.delenv("BINANCE_PRIVATE_KEY", raising=False)
    keys = [sim.credentials("credit", g) for g in sim.group_ids]
    monkeypatch.setenv("CREDIT_KEYS", json.dumps([[k.api_key, k.api_secret] for k in keys]))

    class SimulatorBoundClient(AsyncInstLoanClient):
        def __init__(self, api_key: str | None = None, api_secret: str | None = None,
                     **kwargs: Any) -> None:
            if not {"transport", "http_client", "base_url"} & kwargs.keys():
                kwargs.update(base_url=sim.base_url, transport=sim.transport())
            super().__init__(api_key, api_secret, **kwargs)

    monkeypatch.setattr(binance_instloan, "AsyncInstLoanClient", SimulatorBoundClient)
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        if delay >= 1:
            raise ExampleReachedItsLoop
        return await real_sleep(delay, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.chdir(tmp_path)
    root, ours = logging.getLogger(), logging.getLogger("binance_instloan")
    saved = (root.handlers[:], root.level, ours.level)
    yield sim
    root.handlers[:], root.level = saved[0], saved[1]
    ours.setLevel(saved[2])


def run_example(code: str, name: str, *, main: bool = True) -> dict[str, Any]:
    """Run a README block as a script (top-level ``await`` allowed, as in ``python -m asyncio``),
    then any ``test_*`` functions it defines; returns its namespace."""
    compiled = compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {"__name__": "__main__" if main else "readme_example"}
    try:
        pending = eval(compiled, namespace)
        if inspect.iscoroutine(pending):
            asyncio.run(pending)
        for test_name, test in list(namespace.items()):
            if test_name.startswith("test_") and inspect.isfunction(test):
                outcome = test()
                if inspect.iscoroutine(outcome):
                    asyncio.run(outcome)
    except ExampleReachedItsLoop:
        pass
    return namespace


@pytest.mark.parametrize("code", [c for _, c in SCRIPTS], ids=[f"line-{n}" for n, _ in SCRIPTS])
def test_every_python_example_runs_against_the_simulator(
    readme_env: Simulator, code: str, capsys: pytest.CaptureFixture[str],
) -> None:
    run_example(code, "README.md")

    if "print(" in code:
        assert capsys.readouterr().out.strip()


async def test_the_aiohttp_example_serves_ltv_from_a_shared_client(
    readme_env: Simulator,
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    example = run_example(AIOHTTP, "README.md", main=False)
    async with TestClient(TestServer(example["app"])) as http:
        response = await http.get("/ltv")
        body = await response.json()

    assert response.status == 200
    assert [row["group_id"] for row in body] == readme_env.group_ids[:1]


async def test_the_fastapi_example_serves_ltv_when_fastapi_is_installed_else_compiles(
    readme_env: Simulator,
) -> None:
    if importlib.util.find_spec("fastapi") is None:
        # FastAPI is not a dependency: without it the example can only be compiled.
        assert compile(FASTAPI, "README.md", "exec") is not None
        return
    example = run_example(FASTAPI, "README.md", main=False)
    api = example["app"]
    # The lifespan as a server runs it, and requests through httpx's ASGI transport.
    async with api.router.lifespan_context(api), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://fastapi.test",
    ) as http:
        response = await http.get("/ltv")

    assert response.status_code == 200
    assert [row["group_id"] for row in response.json()] == readme_env.group_ids[:1]


@pytest.fixture
def redis_url() -> Iterator[str | None]:
    """``REDIS_URL``, or a redis-server of this test's own when one is installed, else None."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    server = shutil.which("redis-server")
    if server is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.01)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


def test_the_redis_example_runs_against_a_real_redis(
    readme_env: Simulator, redis_url: str | None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if redis_url is None:
        # Compiling alone would prove nothing: without a server the example is not run at all.
        redis_missing("redis-server not found")
    monkeypatch.setenv("REDIS_URL", redis_url)

    run_example(REDIS, "README.md")

    assert str(readme_env.group_ids[0]) in capsys.readouterr().out


def test_the_quickstart_is_the_two_commands_and_ci_runs_the_second() -> None:
    commands = [code.strip() for _, code in blocks("bash")]

    assert commands[:2] == [
        'pip install ".[cli]" && binance-instloan --sim demo',
        'pip install ".[test]" && pytest',
    ]
    assert 'pip install ".[test]" && pytest' in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_endpoint_table_matches_the_client_and_its_weights() -> None:
    rows = table_rows(section("Endpoints"))
    listed = set()
    for methods, http, path, weight, budget, _ in rows:
        endpoint = next(e for e in ENDPOINTS.values()
                        if e.path == path.strip("`") and e.method == http)
        assert (int(weight), budget) == (endpoint.weight, endpoint.budget.value), path
        listed.add(endpoint.name)
        for method in re.findall(r"`(\w+)\(", methods):
            doc = inspect.getdoc(getattr(AsyncInstLoanClient, method)) or ""
            assert f"{http} {endpoint.path}``" in doc, method

    assert listed == set(ENDPOINTS) - {"server_time"}


def test_the_error_table_matches_the_exception_tree() -> None:
    rows = table_rows(section("Errors"))
    documented = {}
    for name, parents, *_ in rows:
        cls = getattr(binance_instloan, name.strip("`"))
        documented[cls] = [p.strip().strip("`") for p in parents.split(",")]
        assert [b.__name__ for b in cls.__bases__] == documented[cls]

    exported = {
        obj for obj in vars(binance_instloan).values()
        if isinstance(obj, type) and issubclass(obj, InstLoanError)
        and obj.__module__ == "binance_instloan._errors"
    }
    assert exported <= documented.keys()


def test_the_exit_code_table_matches_the_command_line() -> None:
    rows = table_rows(section("CLI reference"))

    assert {int(code) for code, _ in rows} == {int(c) for c in ExitCode}


def test_the_cli_reference_names_every_command() -> None:
    reference = section("CLI reference")
    commands = typer.main.get_command(app).commands

    for name in commands:
        assert f"\n  {name}" in reference, name


def test_the_fastapi_and_aiohttp_examples_serve_group_id_as_the_same_json_type() -> None:
    served = [re.search(r'"group_id": ([^,]+),', code)[1] for code in (FASTAPI, AIOHTTP)]

    assert served == ["u.group_id", "u.group_id"]


def test_the_license_file_is_the_license_pyproject_declares() -> None:
    declared = re.search(r'^license = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)

    assert declared and declared[1] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")


def test_the_readme_names_every_extra_pyproject_declares() -> None:
    extras = re.search(r"\[project\.optional-dependencies\]\n(.*?)\n\[", (
        ROOT / "pyproject.toml").read_text(), re.S)
    assert extras
    names = re.findall(r"^([a-z]+) = \[", extras[1], re.M)
    listed = section("Quickstart")

    for name in set(names) - {"test"}:
        assert f"`{name}`" in listed, name


def test_the_faq_answers_what_a_newcomer_asks_first() -> None:
    faq = section("FAQ")

    for topic in ("asyncio.run", "Enable Spot & Margin Trading", "IP", "LTV", "liquidat",
                  "BINANCE_PRIVATE_KEY_PASSWORD", "private_key_password=", "--interval"):
        assert topic in faq, topic


def test_the_readme_states_the_real_watch_ltv_interval() -> None:
    command = typer.main.get_command(app).commands["watch-ltv"]
    (interval,) = [p for p in command.params if p.name == "interval"]

    assert f"Every {interval.default:g} seconds by default" in section("FAQ")
    assert f"--interval {interval.default:g}]" in section("CLI reference")


def test_the_readme_documents_every_environment_variable_the_client_reads() -> None:
    package = ROOT / "binance_instloan"
    source = "".join(
        (package / name).read_text() for name in ("_base_client.py", "_cli/_app.py")
    )
    for name in set(re.findall(r'"(BINANCE_[A-Z_]+)"', source)):
        assert f"`{name}`" in section("Quickstart"), name
