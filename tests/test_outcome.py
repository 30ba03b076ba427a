"""resolve_outcome settles OutcomeUnknownError from the effects visible on the simulator."""

from __future__ import annotations

from decimal import Decimal

import pytest

import binance_instloan._outcome
from binance_instloan import Outcome, OutcomeUnknownError
from binance_instloan.simulator import Simulator

LOAN = "/sapi/v1/margin/loan-group"
FAST = {"deadline": 5.0, "poll_interval": 0.05, "settle": 0.1}


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, history_days=3)


async def _unknown(call: object) -> OutcomeUnknownError:
    with pytest.raises(OutcomeUnknownError) as caught:
        await call  # type: ignore[misc]
    return caught.value


@pytest.mark.parametrize("kind", ["read_timeout", "reset", "status"])
async def test_borrow_that_executed_is_reported_executed(sim: Simulator, kind: str) -> None:
    sim.add_fault(kind, path=f"{LOAN}/borrow", execute=True, status=500 if kind == "status" else None)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.borrow(group_id=sim.group_ids[0], asset="USDT",
                                           amount=Decimal("12.34")))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.EXECUTED
    assert [c.amount for c in result.candidates] == [Decimal("12.34")]
    assert sim.execution_count(path=f"{LOAN}/borrow") == 1


async def test_borrow_that_did_not_execute_is_reported_not_executed(sim: Simulator) -> None:
    sim.add_fault("read_timeout", path=f"{LOAN}/borrow", execute=False)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.borrow(group_id=sim.group_ids[0], asset="USDT",
                                           amount=Decimal("12.34")))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.NOT_EXECUTED
    assert "recvWindow" in result.explanation
    assert sim.execution_count(path=f"{LOAN}/borrow") == 0


async def test_two_equal_borrows_in_the_window_are_ambiguous(sim: Simulator) -> None:
    group = sim.group_ids[0]
    async with sim.client(recv_window=300) as client:
        first_sent_at_ms = sim.now_ms()
        await client.borrow(group_id=group, asset="USDT", amount="7")
        sim.add_fault("reset", path=f"{LOAN}/borrow", execute=True)
        err = await _unknown(client.borrow(group_id=group, asset="USDT", amount="7"))
        # As if sent when the first one was, so both fall inside the search window however
        # long the machine took between them (a fixed shift bet on less than a second).
        err.sent_at_ms = first_sent_at_ms
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.AMBIGUOUS
    assert len(result.candidates) == 2


async def test_repay_of_exactly_the_amount_is_reported_executed(sim: Simulator) -> None:
    sim.add_fault("reset", path=f"{LOAN}/repay", execute=True)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.repay(group_id=sim.group_ids[0], asset="USDT",
                                          amount=Decimal("2.5")))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.EXECUTED
    assert [c.amount for c in result.candidates] == [Decimal("2.5")]


async def test_a_smaller_repay_is_ambiguous_not_assumed_to_be_ours(sim: Simulator) -> None:
    group = sim.group_ids[0]
    sim.add_fault("read_timeout", path=f"{LOAN}/repay", execute=True)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.repay(group_id=group, asset="USDT",
                                          amount=Decimal("999999999")))
        result = await client.resolve_outcome(err, **FAST)
    # Binance moved min(available, requested): the record is smaller than the request, and
    # another task's repay would look the same, so the resolver shows it instead of picking.
    assert result.outcome is Outcome.AMBIGUOUS
    assert result.candidates[0].amount < Decimal("999999999")
    assert "min(available, requested)" in result.explanation


async def test_another_smaller_repay_is_not_taken_for_one_that_did_not_execute(
    sim: Simulator,
) -> None:
    group = sim.group_ids[0]
    async with sim.client(recv_window=300) as client:
        sim.add_fault("read_timeout", path=f"{LOAN}/repay", execute=False)
        err = await _unknown(client.repay(group_id=group, asset="USDT", amount="5"))
        await client.repay(group_id=group, asset="USDT", amount="4")  # someone else's
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is not Outcome.EXECUTED


async def test_repay_that_did_not_execute(sim: Simulator) -> None:
    sim.add_fault("status", path=f"{LOAN}/repay", status=502, execute=False)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.repay(group_id=sim.group_ids[0], asset="USDT", amount="1"))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.NOT_EXECUTED


@pytest.mark.parametrize(("execute", "expected"),
                         [(True, Outcome.EXECUTED), (False, Outcome.NOT_EXECUTED)])
async def test_add_collateral_account(sim: Simulator, execute: bool, expected: Outcome) -> None:
    spare = next(a.email for a in sim.exchange.accounts.values()
                 if a.role == "collateral" and a.group_id is None)
    sim.add_fault("read_timeout", path=f"{LOAN}/edit-member", execute=execute)
    async with sim.client(role="parent", recv_window=300) as client:
        err = await _unknown(client.add_collateral_account(
            group_id=sim.group_ids[0], sub_email=spare, enable_spot=True, enable_margin=True))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is expected


@pytest.mark.parametrize(("execute", "expected"),
                         [(True, Outcome.EXECUTED), (False, Outcome.NOT_EXECUTED)])
async def test_close_risk_unit(execute: bool, expected: Outcome) -> None:
    sim = Simulator(seed=5)  # no history: units start with nothing owed
    sim.add_fault("reset", path=LOAN, method="DELETE", execute=execute)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.close_risk_unit(group_id=sim.group_ids[0]))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is expected


@pytest.mark.parametrize(("execute", "expected"),
                         [(True, Outcome.EXECUTED), (False, Outcome.NOT_EXECUTED)])
async def test_transfer_out_compared_with_a_snapshot(
    sim: Simulator, execute: bool, expected: Outcome
) -> None:
    sim.add_fault("read_timeout", path=f"{LOAN}/transfer-out", execute=execute)
    async with sim.client(recv_window=300) as client:
        before = await client.get_ltv_details()
        err = await _unknown(client.transfer_out(asset="USDT", amount="1"))
        result = await client.resolve_outcome(err, before=before, **FAST)
    assert result.outcome is expected


async def test_transfer_out_without_a_snapshot_stays_unknown(sim: Simulator) -> None:
    sim.add_fault("read_timeout", path=f"{LOAN}/transfer-out", execute=True)
    async with sim.client(recv_window=300) as client:
        err = await _unknown(client.transfer_out(asset="USDT", amount="1"))
        result = await client.resolve_outcome(err, **FAST)
    assert result.outcome is Outcome.UNKNOWN
    assert "before=" in result.explanation


class _SteppingClock:
    """Stands in for ``time`` in the resolver: each reading is 60 ms after the one before,
    however long the checks between them really took, so the number of checks made before the
    deadline does not depend on how busy the machine is."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 0.06
        return self.now


async def test_deadline_before_the_evidence_settles_reports_unknown(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(binance_instloan._outcome, "time", _SteppingClock())
    sim.add_fault("read_timeout", path=f"{LOAN}/borrow", execute=False)
    async with sim.client(recv_window=60_000) as client:
        err = await _unknown(client.borrow(group_id=sim.group_ids[0], asset="USDT", amount="3"))
        result = await client.resolve_outcome(err, deadline=0.2, poll_interval=0.05, settle=0.1)
    assert result.outcome is Outcome.UNKNOWN
    assert result.checks >= 2


async def test_resolving_something_else_is_refused(sim: Simulator) -> None:
    async with sim.client() as client:
        with pytest.raises(TypeError):
            await client.resolve_outcome(ValueError("nope"))  # type: ignore[arg-type]
