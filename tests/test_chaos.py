"""Chaos: thousands of mixed calls from many tasks against a simulator that fails at random.

One client, shared by every task, against the built-in simulator with random faults (5xx, resets
and read timeouts after the action executed, refused connections; after executing: unreadable
2xx answers, -1000 answers, HTML 5xx pages, and dropped answers to DELETEs), a 429 storm, one 418
ban and a 2-second jump of the server clock. Then the invariants money depends on:

- no POST executed twice: every write carries a unique amount, so each execution the simulator
  recorded maps to one call, and a call that returned, or failed with a definite error, executed
  exactly once, or not at all (the closes, DELETEs of a unit that still owes, never execute);
- every ``OutcomeUnknownError`` is settled by ``resolve_outcome`` (borrow, repay) or by the
  simulator's records (transfer-out: Binance keeps no history of them) in agreement with what
  really happened;
- the history iterators lose and repeat no row: each walk equals its range read afterwards,
  without faults and without the iterator;
- nothing but ``InstLoanError`` reaches the caller; no task outlives the client, and over TCP no
  pool slot is held once the calls are done, no connection stays open once it is closed;
- the simulator never saw more weight in one window than the client's budget allows.

The simulator counts weight without refusing any (``rate_limits_enabled=False``), so its
per-window maximum measures the client's pacing. Budgets are Binance's real ones on a
half-second window (120 times faster than the real minute). ``run_chaos`` is shared with
``benchmarks/chaos_long.py``, the longer run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Final, Literal

import httpx
import pytest

from binance_instloan import (
    AsyncInstLoanClient,
    ExecutedUnreadableError,
    InstLoanError,
    Outcome,
    OutcomeUnknownError,
    RateLimits,
)
from binance_instloan.simulator import MSG_503_UNAVAILABLE, Execution, Simulator, serve

LOAN: Final = "/sapi/v1/margin/loan-group"
BORROW: Final = f"{LOAN}/borrow"
REPAY: Final = f"{LOAN}/repay"
TRANSFER_OUT: Final = f"{LOAN}/transfer-out"
DAY_MS: Final = 86_400_000

Op = Literal[
    "ltv", "max_borrowable", "interest_page", "borrow_repay_page", "closed", "iter_reference",
    "iter_live", "borrow", "repay", "transfer_out", "close",
]
# Relative frequency of each kind of call in the plan.
MIX: Final[dict[Op, int]] = {
    "ltv": 6, "max_borrowable": 6, "interest_page": 10, "borrow_repay_page": 8, "closed": 5,
    "iter_reference": 6, "iter_live": 4, "borrow": 15, "repay": 12, "transfer_out": 28,
    "close": 3,
}
# Each write's amount is its base plus its call number in millionths: unique per path.
_AMOUNT_BASE: Final = {"borrow": Decimal(2), "repay": Decimal(1), "transfer_out": Decimal(0)}
_PATHS: Final = {"borrow": BORROW, "repay": REPAY, "transfer_out": TRANSFER_OUT, "close": LOAN}


@dataclasses.dataclass(frozen=True)
class ChaosConfig:
    """The run's size, its faults and its budgets."""

    calls: int = 2000
    tasks: int = 100
    seed: int = 7
    p_500: float = 0.025  # 500 with a Binance body, after executing
    p_502_empty: float = 0.015  # 502 with an empty body, after executing
    p_503_unavailable: float = 0.01  # "Service Unavailable.": a definite failure, not executed
    p_reset: float = 0.02  # the connection breaks after the action executed
    p_read_timeout: float = 0.01  # the answer never comes, after the action executed
    p_connect_error: float = 0.005  # refused before anything was sent
    p_unreadable_2xx: float = 0.01  # a 2xx cut in half, after executing
    p_unknown_code: float = 0.01  # 400 -1000 (proves nothing), after executing
    p_html_5xx: float = 0.01  # a load balancer's HTML 502, after executing
    p_drop_delete: float = 0.3  # the answer to a DELETE is lost, after executing
    storm_429s: int = 40  # 429 answers of the storm (Retry-After: 1)
    clock_jump_ms: int = 2000
    recv_window: int = 1000  # below the jump, so the jump forces -1021 and a re-sync
    # Binance's budgets, per window_seconds instead of per minute.
    window_seconds: float = 0.5
    ip_weight: int = 12_000
    uid_weight: int = 180_000
    api_weight: int = 6_000
    # The share of the plan started before the storm, the ban and the clock jump begin.
    storm_at: float = 0.25
    ban_at: float = 0.5
    jump_at: float = 0.7

    def budget(self, bucket: str) -> int:
        """The weight allowed per window for a bucket (``IP:...``, ``UID:...``, ``API:...``)."""
        prefix = bucket.partition(":")[0]
        return {"IP": self.ip_weight, "UID": self.uid_weight, "API": self.api_weight}[prefix]


@dataclasses.dataclass
class WriteCall:
    """One borrow, repay or transfer-out and what the caller saw."""

    op: str
    path: str
    amount: str
    result: Literal["ok", "unknown", "refused"]
    error: InstLoanError | None = None


@dataclasses.dataclass
class Walk:
    """One iterator walk: its arguments, the rows it yielded, and whether it finished."""

    kwargs: dict[str, Any]
    rows: list[Any]
    complete: bool


@dataclasses.dataclass
class ChaosReport:
    """What happened, for the invariants and the printed summary."""

    seconds: float = 0.0
    calls: Counter[str] = dataclasses.field(default_factory=Counter)
    errors: Counter[str] = dataclasses.field(default_factory=Counter)
    wire: Counter[str] = dataclasses.field(default_factory=Counter)
    writes: list[WriteCall] = dataclasses.field(default_factory=list)
    walks: list[Walk] = dataclasses.field(default_factory=list)
    foreign: list[BaseException] = dataclasses.field(default_factory=list)
    # (call, outcome claimed, whether it really executed)
    resolutions: list[tuple[WriteCall, Outcome, bool]] = dataclasses.field(default_factory=list)
    double_executions: list[tuple[str, str, int]] = dataclasses.field(default_factory=list)
    unmatched_executions: list[Execution] = dataclasses.field(default_factory=list)
    write_violations: list[str] = dataclasses.field(default_factory=list)
    walk_violations: list[str] = dataclasses.field(default_factory=list)
    over_budget: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    leaked_tasks: list[str] = dataclasses.field(default_factory=list)
    held_slots: list[str] = dataclasses.field(default_factory=list)
    open_connections: int = 0
    in_flight_weight: int = 0
    clock_offset_ms: float = 0.0
    clock_uncertainty_ms: float = 0.0

    def summary(self) -> str:
        unknown = sum(w.result == "unknown" for w in self.writes)
        executed_unknown = sum(really for _, _, really in self.resolutions)
        lines = [
            f"chaos: {sum(self.calls.values())} calls in {self.seconds:.1f} s",
            "  calls:    " + _counts(self.calls),
            "  errors:   " + _counts(self.errors),
            "  wire:     " + _counts(self.wire),
            f"  writes:   {len(self.writes)}, outcome unknown {unknown} "
            f"(really executed {executed_unknown}), "
            f"resolutions {_counts(Counter(str(o) for _, o, _ in self.resolutions))}",
            f"  walks:    {len(self.walks)}, complete {sum(w.complete for w in self.walks)}, "
            f"rows {sum(len(w.rows) for w in self.walks)}",
            f"  clock offset after the jump: {self.clock_offset_ms:.0f} ms "
            f"(± {self.clock_uncertainty_ms:.0f} ms)",
            f"  violations: double executions {len(self.double_executions)}, unmatched "
            f"executions {len(self.unmatched_executions)}, writes {len(self.write_violations)}, "
            f"walks {len(self.walk_violations)}, foreign exceptions {len(self.foreign)}, "
            f"over budget {len(self.over_budget)}, leaked tasks {len(self.leaked_tasks)}, "
            f"held pool slots {len(self.held_slots)}, open connections "
            f"{self.open_connections}, in-flight weight {self.in_flight_weight}",
        ]
        return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "-"


class CountingTransport(httpx.AsyncBaseTransport):
    """Passes requests through and counts what came back: statuses, Binance codes, failures."""

    def __init__(self, inner: httpx.AsyncBaseTransport, counts: Counter[str]) -> None:
        self.inner = inner
        self._counts = counts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
            # Over TCP a broken answer fails while its body is read: read it here to count it.
            body = await response.aread()
        except httpx.TransportError as exc:
            self._counts[type(exc).__name__] += 1
            raise
        status = response.status_code
        if status >= 400:
            code = _code(body)
            self._counts[f"HTTP {status}" + (f" {code}" if code is not None else "")] += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _code(body: bytes) -> int | None:
    marker = body.find(b'"code":')
    if marker < 0:
        return None
    digits = body[marker + 7:].split(b",")[0].split(b"}")[0]
    try:
        return int(digits)
    except ValueError:
        return None


def make_simulator(config: ChaosConfig) -> Simulator:
    # Weight is counted per window but never refused: its maximum then shows our pacing.
    return Simulator(seed=config.seed, units=1, history_days=40, rate_limits_enabled=False,
                     window_seconds=config.window_seconds)


def _plan(config: ChaosConfig) -> list[Op]:
    rng = random.Random(config.seed)
    ops = list(MIX)
    return rng.choices(ops, weights=[MIX[o] for o in ops], k=config.calls)


def _add_random_faults(sim: Simulator, config: ChaosConfig, *, tcp: bool) -> None:
    # Over TCP a read timeout is a held answer; the client's read timeout cuts it short.
    hold = 0.3 if tcp else 0.0
    sim.add_fault("status", status=500, times=None, probability=config.p_500)
    sim.add_fault("empty_5xx", status=502, times=None, probability=config.p_502_empty)
    sim.add_fault("status", status=503, message=MSG_503_UNAVAILABLE, execute=False, times=None,
                  probability=config.p_503_unavailable)
    sim.add_fault("reset", times=None, probability=config.p_reset)
    sim.add_fault("read_timeout", times=None, probability=config.p_read_timeout, latency=hold)
    sim.add_fault("connect_error", times=None, probability=config.p_connect_error)
    sim.add_fault("reset", method="DELETE", times=None, probability=config.p_drop_delete)
    sim.add_fault("unreadable_2xx", times=None, probability=config.p_unreadable_2xx)
    sim.add_fault("unknown_code", times=None, probability=config.p_unknown_code)
    sim.add_fault("html_5xx", times=None, probability=config.p_html_5xx)


def chaos_client(sim: Simulator, config: ChaosConfig, counts: Counter[str],
                 base_url: str | None = None) -> AsyncInstLoanClient:
    """A client of the credit account, on Binance's budgets per ``window_seconds``."""
    creds = sim.credentials()
    inner = sim.transport() if base_url is None else httpx.AsyncHTTPTransport()
    limits = RateLimits(ip_weight=config.ip_weight, uid_weight=config.uid_weight,
                        api_weight=config.api_weight, window_seconds=config.window_seconds,
                        max_pause_seconds=5.0)
    return AsyncInstLoanClient(
        creds.api_key, creds.api_secret, base_url=base_url or sim.base_url,
        transport=CountingTransport(inner, counts), recv_window=config.recv_window,
        rate_limits=limits, timeout=httpx.Timeout(5.0, read=0.25),
    )


async def run_chaos(sim: Simulator, config: ChaosConfig, *,
                    base_url: str | None = None) -> ChaosReport:
    """Run the plan against ``sim`` (in-process, or over TCP at ``base_url``); check it."""
    report = ChaosReport()
    client = chaos_client(sim, config, report.wire, base_url)
    plan = _plan(config)
    async with client:
        ref_end = sim.now_ms() - 1000
        references = await _reference_specs(client, ref_end)
        run_start = ref_end
        _add_random_faults(sim, config, tcp=base_url is not None)
        started = time.perf_counter()
        events = _Events(sim, config)
        cursor = iter(range(config.calls))

        async def worker() -> None:
            for index in cursor:
                events.reached(index)
                op = plan[index]
                report.calls[op] += 1
                try:
                    await _one_call(client, sim, op, index, references, run_start, report)
                except InstLoanError as exc:
                    report.errors[type(exc).__name__] += 1
                except Exception as exc:  # the invariant: nothing outside our tree
                    report.foreign.append(exc)

        await asyncio.gather(*(worker() for _ in range(config.tasks)))
        report.seconds = time.perf_counter() - started
        sim.clear_faults()
        report.clock_offset_ms = client.clock_offset_ms
        report.clock_uncertainty_ms = client._clock.uncertainty_ms
        state = client.rate_limit_state()
        for name in state.buckets:
            seen, budget = sim.max_window_weight(name), config.budget(name)
            if seen > budget:
                report.over_budget[name] = (seen, budget)
        await _check_writes(client, sim, report)
        await _check_walks(client, report)
        # Read after the checks: a request that failed without an answer may still arrive, so
        # it counts as in flight until the next window began.
        state = client.rate_limit_state()
        report.in_flight_weight = sum(b.in_flight for b in state.buckets.values())
        pool = _pool(client)
        connections = [] if pool is None else pool.connections
        report.held_slots = [] if pool is None else _held_slots(pool)
    for _ in range(3):
        await asyncio.sleep(0)  # let cancelled helpers finish
    report.leaked_tasks = [repr(t) for t in _our_tasks()]
    report.open_connections = sum(not c.is_closed() for c in connections)
    return report


class _Events:
    """Starts the storm, the ban and the clock jump when the plan reaches them."""

    def __init__(self, sim: Simulator, config: ChaosConfig) -> None:
        self._sim = sim
        self._config = config
        self._done: set[str] = set()

    def reached(self, index: int) -> None:
        share = index / self._config.calls
        config = self._config
        if share >= config.storm_at and self._once("storm"):
            self._sim.add_fault("error_code", status=429, code=-1003, times=config.storm_429s,
                                probability=0.5)
        if share >= config.ban_at and self._once("ban"):
            # Retry-After: 1, well below max_pause_seconds: the client waits it out.
            self._sim.add_fault("error_code", status=418, code=-1003, times=1)
        if share >= config.jump_at and self._once("jump"):
            self._sim.skew_ms = config.clock_jump_ms

    def _once(self, name: str) -> bool:
        if name in self._done:
            return False
        self._done.add(name)
        return True


# -- the calls -------------------------------------------------------------------------------

# A walk: the iterator (``interest`` or ``borrow_repay``) and its arguments.
WalkSpec = dict[str, Any]


async def _reference_specs(client: AsyncInstLoanClient, end: int) -> list[WalkSpec]:
    """Walks over ranges that end before the run, so that no row can arrive in them."""
    specs: list[WalkSpec] = [
        # One window (100 days at most), a few pages.
        {"kind": "interest", "start_time": end - 4 * DAY_MS, "end_time": end},
        {"kind": "interest", "asset": "USDC", "start_time": end - 7 * DAY_MS, "end_time": end},
        # 7-day windows without an asset, 30-day windows with one: several windows.
        {"kind": "borrow_repay", "type": "REPAY", "start_time": end - 36 * DAY_MS,
         "end_time": end},
        {"kind": "borrow_repay", "type": "BORROW", "asset": "USDT",
         "start_time": end - 40 * DAY_MS, "end_time": end},
    ]
    for spec in specs:
        assert await listing(client, spec), f"the reference walk {spec} needs rows"
    return specs


def _walk(client: AsyncInstLoanClient, spec: WalkSpec) -> Any:
    kwargs = {k: v for k, v in spec.items() if k != "kind"}
    if spec["kind"] == "interest":
        return client.iter_interest_history(**kwargs)
    return client.iter_borrow_repay_records(**kwargs)


async def listing(client: AsyncInstLoanClient, spec: WalkSpec) -> list[Any]:
    """The rows of a walk's range read without the iterator: one-day slices, newest first,
    page by page (the slices concurrently)."""
    filters = {k: v for k, v in spec.items() if k not in ("kind", "start_time", "end_time")}
    fetch: Callable[..., Awaitable[Any]] = (
        client.get_interest_history if spec["kind"] == "interest"
        else client.get_borrow_repay_records
    )

    async def one_slice(top: int) -> list[Any]:
        bottom = max(spec["start_time"], top - DAY_MS + 1)
        rows: list[Any] = []
        current = 1
        while True:
            page = await fetch(start_time=bottom, end_time=top, current=current, size=100,
                               **filters)
            rows.extend(page.rows)
            if len(page.rows) < 100:
                return rows
            current += 1

    tops = range(spec["end_time"], spec["start_time"] - 1, -DAY_MS)
    slices = await asyncio.gather(*(one_slice(top) for top in tops))
    return [row for rows in slices for row in rows]


async def _one_call(client: AsyncInstLoanClient, sim: Simulator, op: Op, index: int,
                    references: list[WalkSpec], run_start: int, report: ChaosReport) -> None:
    if op in _PATHS:
        await _write(client, op, index, sim.group_ids[0], report)
        return
    reads: dict[str, Callable[[], Awaitable[object]]] = {
        "ltv": lambda: client.get_ltv_details(),
        "max_borrowable": lambda: client.get_max_borrowable(asset="USDC" if index % 2 else "USDT"),
        "interest_page": lambda: client.get_interest_history(size=100, current=1 + index % 3),
        "borrow_repay_page": lambda: client.get_borrow_repay_records(
            type="REPAY" if index % 2 else "BORROW", asset="USDT", size=50),
        "closed": lambda: client.get_closed_risk_units(),
    }
    if op in reads:
        await reads[op]()
        return
    if op == "iter_reference":
        spec = references[index % len(references)]
    else:
        # Over rows written during the run: it ends a second in the past, so no row can still
        # arrive in its range.
        spec = {"kind": "borrow_repay", "type": "BORROW" if index % 2 else "REPAY",
                "asset": "USDT", "start_time": run_start,
                "end_time": sim.now_ms() - 1000}
    record = Walk(spec, [], complete=False)
    report.walks.append(record)
    walk = _walk(client, spec)
    async with walk:
        async for row in walk:
            record.rows.append(row)
    record.complete = True


async def _write(client: AsyncInstLoanClient, op: str, index: int, group: int,
                 report: ChaosReport) -> None:
    # A close has no amount: the unit owes, so Binance refuses every one (-27018).
    amount = _AMOUNT_BASE.get(op, Decimal(0)) + Decimal(index + 1).scaleb(-6)
    call = WriteCall(op, _PATHS[op], format(amount, "f") if op != "close" else "", "ok")
    report.writes.append(call)
    try:
        if op == "close":
            await client.close_risk_unit(group_id=group)
        elif op == "borrow":
            await client.borrow(group_id=group, asset="USDT", amount=amount)
        elif op == "repay":
            await client.repay(group_id=group, asset="USDT", amount=amount)
        else:
            await client.transfer_out(asset="USDT", amount=amount)
    except OutcomeUnknownError as exc:
        call.result, call.error = "unknown", exc
        raise
    except InstLoanError as exc:
        call.result, call.error = "refused", exc
        raise


# -- the checks ------------------------------------------------------------------------------

async def _check_writes(client: AsyncInstLoanClient, sim: Simulator,
                        report: ChaosReport) -> None:
    executions: dict[tuple[str, str], list[Execution]] = {}
    for e in sim.executions:
        executions.setdefault((e.path, e.params.get("amount", "")), []).append(e)
    calls = {(w.path, w.amount): w for w in report.writes}
    for (path, amount), found in executions.items():
        if len(found) > 1:
            report.double_executions.append((path, amount, len(found)))
        if (path, amount) not in calls:
            report.unmatched_executions.extend(found)
    for call in report.writes:
        found = executions.get((call.path, call.amount), [])
        if call.result == "ok" and len(found) != 1:
            report.write_violations.append(f"{call} returned but executed {len(found)} times")
        if call.result == "refused" and found:
            report.write_violations.append(f"{call} failed definitely but executed")
        if call.result == "unknown":
            assert isinstance(call.error, OutcomeUnknownError)
            await _check_unknown(client, call, call.error, found, report)


async def _check_unknown(client: AsyncInstLoanClient, call: WriteCall,
                         error: OutcomeUnknownError, found: list[Execution],
                         report: ChaosReport) -> None:
    executed = bool(found)
    if error.params.get("amount", "") != call.amount:
        report.write_violations.append(f"{call}: the error does not carry the amount sent")
    if call.op == "transfer_out":
        # No transfer-out history exists: only the simulator's records can settle it.
        report.resolutions.append((call, Outcome.EXECUTED if executed else Outcome.NOT_EXECUTED,
                                   executed))
        return
    resolution = await client.resolve_outcome(error, deadline=10, poll_interval=0.1, settle=0)
    report.resolutions.append((call, resolution.outcome, executed))
    ids = {getattr(c, "tran_id", None) for c in resolution.candidates}
    truth = {e.result.get("transactionId") for e in found}
    problem = None
    if resolution.outcome is Outcome.EXECUTED and ids != truth:
        problem = f"resolved EXECUTED by {ids}, really {truth or 'not executed'}"
    elif resolution.outcome is Outcome.NOT_EXECUTED and executed:
        problem = f"resolved NOT_EXECUTED, but it executed as {truth}"
    elif resolution.outcome is Outcome.AMBIGUOUS and not truth <= ids:
        problem = f"AMBIGUOUS, and the candidates miss the execution {truth}"
    elif resolution.outcome is Outcome.UNKNOWN:
        problem = "still UNKNOWN long after recvWindow"
    elif call.op == "borrow" and resolution.outcome is Outcome.AMBIGUOUS:
        problem = "AMBIGUOUS, though no other borrow has its amount"
    if problem is not None:
        report.write_violations.append(f"{call}: {problem}")


async def _check_walks(client: AsyncInstLoanClient, report: ChaosReport) -> None:
    expected_rows: dict[str, list[Any]] = {}
    for walk in report.walks:
        key = repr(sorted(walk.kwargs.items()))
        if key not in expected_rows:
            expected_rows[key] = await listing(client, walk.kwargs)
        expected = expected_rows[key]
        if walk.complete and walk.rows != expected:
            report.walk_violations.append(
                f"{walk.kwargs}: {len(walk.rows)} rows, a fault-free walk has {len(expected)}")
        if not walk.complete and walk.rows != expected[: len(walk.rows)]:
            report.walk_violations.append(f"{walk.kwargs}: the rows before the error differ")


def _pool(client: AsyncInstLoanClient) -> Any:
    """httpcore's pool behind the counting transport (None in-process)."""
    transport: Any = client._http._transport
    return getattr(transport.inner, "_pool", None)


def _held_slots(pool: Any) -> list[str]:
    """Requests still registered, and connections neither idle nor closed."""
    return [repr(r.request) for r in pool._requests] + [
        repr(c) for c in pool.connections if not (c.is_idle() or c.is_closed())
    ]


def _our_tasks() -> list[asyncio.Task[Any]]:
    """Tasks still alive besides this one and the TCP server's own."""
    current = asyncio.current_task()
    return [
        t for t in asyncio.all_tasks()
        if t is not current
        and "uvicorn" not in getattr(getattr(t.get_coro(), "cr_code", None), "co_filename", "")
    ]


def assert_invariants(report: ChaosReport, config: ChaosConfig) -> None:
    """Every invariant of the module docstring, plus evidence that each fault really struck."""
    assert sum(report.calls.values()) == config.calls
    assert report.foreign == []
    assert report.double_executions == []
    assert report.unmatched_executions == []
    assert report.write_violations == []
    assert report.walk_violations == []
    assert report.over_budget == {}
    assert report.leaked_tasks == []
    assert report.held_slots == []
    assert report.open_connections == 0
    assert report.in_flight_weight == 0
    # The faults struck, and the client went through each of them.
    wire = report.wire
    assert sum(n for status, n in wire.items() if status.startswith("HTTP 5")) >= 5
    assert wire["RemoteProtocolError"] + wire["ReadTimeout"] >= 2
    assert wire["HTTP 429 -1003"] >= 5
    assert wire["HTTP 418 -1003"] == 1
    assert wire["HTTP 400 -1021"] >= 1
    # The jump was learned as exactly as the last sync's round trip allows (a fixed tolerance
    # would fail whenever a busy machine slows that round trip).
    assert abs(report.clock_offset_ms - config.clock_jump_ms) <= report.clock_uncertainty_ms
    assert any(w.result == "unknown" for w in report.writes)
    assert any(really for _, _, really in report.resolutions)
    assert sum(w.result == "ok" for w in report.writes) > len(report.writes) // 2
    assert sum(w.complete for w in report.walks) > len(report.walks) // 2


# -- the tests -------------------------------------------------------------------------------

async def test_two_thousand_calls_from_a_hundred_tasks_survive_chaos() -> None:
    config = ChaosConfig()
    sim = make_simulator(config)

    report = await run_chaos(sim, config)

    print("\n" + report.summary())
    assert_invariants(report, config)
    # The faults that spoil a write's answer after it executed struck, and were read right.
    assert any(isinstance(w.error, ExecutedUnreadableError) for w in report.writes)
    assert any(w.op == "close" and w.result == "unknown" for w in report.writes)
    assert report.wire["HTTP 400 -1000"] >= 1


async def test_chaos_over_real_tcp_leaves_no_connection_behind() -> None:
    config = ChaosConfig(calls=300, tasks=30, storm_429s=10, seed=11)
    sim = make_simulator(config)
    async with serve(sim) as base_url:
        report = await run_chaos(sim, config, base_url=base_url)

    print("\n" + report.summary())
    assert_invariants(report, config)


@pytest.mark.parametrize("moment", ["first-sync", "re-sync-after-1021"])
async def test_a_write_whose_clock_sync_fails_once_is_sent_once_the_clock_is_known(
    moment: str,
) -> None:
    sim = Simulator(seed=13, units=1, rate_limits_enabled=False)
    async with sim.client(recv_window=1000) as client:
        if moment == "re-sync-after-1021":
            await client.get_ltv_details()
            sim.skew_ms = 2000
        sim.add_fault("status", path="/api/v3/time", times=1)

        result = await client.borrow(group_id=sim.group_ids[0], asset="USDT", amount="1.25")

    assert result.amount == Decimal("1.25")
    assert sim.execution_count(path=BORROW) == 1


# -- the faults that spoil an answer after the write executed, one by one, on both backends -------

_SPOILERS: Final = ["unreadable_2xx", "unknown_code", "html_5xx", "reset"]


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
@pytest.mark.parametrize("executed", [True, False], ids=["executed", "not-executed"])
@pytest.mark.parametrize("kind", _SPOILERS)
async def test_a_borrow_whose_answer_is_spoiled_is_unknown_sent_once_and_resolved(
    backend: Literal["httpx", "aiohttp"], executed: bool, kind: Any,
) -> None:
    sim = Simulator(seed=17, units=1, rate_limits_enabled=False)
    creds = sim.credentials()
    async with serve(sim) as base_url, AsyncInstLoanClient(
        creds.api_key, creds.api_secret, base_url=base_url, backend=backend, recv_window=1000,
    ) as client:
        await client.get_ltv_details()  # the clock is known: the fault hits the borrow
        sim.add_fault(kind, path=BORROW, execute=executed)
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.borrow(group_id=sim.group_ids[0], asset="USDT", amount="1.25")
        resolution = await client.resolve_outcome(caught.value, deadline=10,
                                                  poll_interval=0.1, settle=0)

    assert sim.execution_count(path=BORROW) == int(executed)
    assert resolution.outcome is (Outcome.EXECUTED if executed else Outcome.NOT_EXECUTED)


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
async def test_a_close_whose_answer_is_lost_after_it_executed_is_unknown_and_resolved(
    backend: Literal["httpx", "aiohttp"],
) -> None:
    sim = Simulator(seed=19, units=1, rate_limits_enabled=False)  # no history: owes nothing
    creds = sim.credentials()
    async with serve(sim) as base_url, AsyncInstLoanClient(
        creds.api_key, creds.api_secret, base_url=base_url, backend=backend, recv_window=1000,
    ) as client:
        await client.get_ltv_details()
        sim.add_fault("reset", method="DELETE")
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.close_risk_unit(group_id=sim.group_ids[0])
        resolution = await client.resolve_outcome(caught.value, deadline=10,
                                                  poll_interval=0.1, settle=0)

    assert sim.execution_count(method="DELETE") == 1
    assert resolution.outcome is Outcome.EXECUTED


async def test_an_unreadable_2xx_to_a_get_is_retried_against_the_simulator() -> None:
    sim = Simulator(seed=23, units=1, rate_limits_enabled=False)
    async with sim.client() as client:
        client._retry.sleep = _no_sleep
        sim.add_fault("unreadable_2xx", path=f"{LOAN}/ltv-details", times=2)

        details = await client.get_ltv_details()

    assert [d.group_id for d in details] == sim.group_ids


async def _no_sleep(seconds: float) -> None:
    return None
