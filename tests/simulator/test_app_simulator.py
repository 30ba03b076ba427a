"""The public facade: construction, clock, accounts, credentials, the bound client."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from app_requests import BORROW, LTV, TIME, signed_post

import binance_instloan.simulator as simulator_package
from binance_instloan.simulator import Simulator

NOW_S = 1_750_000_020.0


def test_package_exports_exactly_its_public_names() -> None:
    public = {name for name in dir(simulator_package) if not name.startswith("_")}
    modules = {"annotations"}  # from __future__
    assert set(simulator_package.__all__) == {
        name for name in public - modules
        if not isinstance(getattr(simulator_package, name), type(simulator_package))
    }


def test_simulator_imports_nothing_private_from_the_client() -> None:
    from pathlib import Path

    sources = Path(simulator_package.__file__).parent.glob("*.py")
    for source in sources:
        text = source.read_text("utf-8")
        assert "from binance_instloan._" not in text, source.name
        assert "from .._" not in text, source.name
        assert "import binance_instloan._" not in text, source.name


def test_clock_is_pinned_by_clock() -> None:
    sim = Simulator(clock=lambda: NOW_S)

    assert sim.now_ms() == 1_750_000_020_000


def test_clock_defaults_to_real_time() -> None:
    import time

    sim = Simulator()
    before = time.time()
    now_ms = sim.now_ms()
    after = time.time()

    assert int(before * 1000) <= now_ms <= int(after * 1000)


def test_advance_moves_the_clock_forward() -> None:
    sim = Simulator(clock=lambda: NOW_S)

    sim.advance(1.5)

    assert sim.now_ms() == 1_750_000_021_500


def test_advance_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="forward"):
        Simulator().advance(-1)


def test_skew_shifts_the_server_clock() -> None:
    sim = Simulator(clock=lambda: NOW_S)

    sim.skew_ms = -2000

    assert sim.now_ms() == 1_750_000_018_000


def test_advance_accrues_interest_on_the_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulator(clock=lambda: NOW_S)
    seen: list[int] = []
    monkeypatch.setattr(sim.exchange, "advance_to", seen.append)

    sim.advance(3600)

    assert seen == [1_750_003_620_000]


def test_accounts_are_described_by_email() -> None:
    sim = Simulator(units=2)

    assert len(sim.group_ids) == 2
    assert sim.exchange.account_by_email(sim.parent_email) == sim.exchange.parent
    assert sim.credit_email(sim.group_ids[1]) != sim.credit_email()
    assert sim.collateral_emails()
    assert sim.credit_email() not in sim.collateral_emails()


def test_hmac_credentials_are_deterministic_from_the_seed() -> None:
    assert Simulator(seed=3).credentials() == Simulator(seed=3).credentials()
    assert Simulator(seed=3).credentials() != Simulator(seed=4).credentials()


def test_each_role_has_its_own_key() -> None:
    sim = Simulator()

    keys = {sim.credentials(role).api_key for role in ("parent", "credit", "collateral")}

    assert len(keys) == 3


def test_credentials_hide_their_secrets_in_repr() -> None:
    creds = Simulator().credentials()

    assert creds.api_secret is not None
    assert creds.api_secret not in repr(creds)


def test_asymmetric_credentials_are_issued_once_per_account() -> None:
    sim = Simulator()

    first = sim.credentials(key_type="ed25519")

    assert sim.credentials(key_type="ed25519") == first
    assert first.api_key != sim.credentials().api_key


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role"):
        Simulator().credentials("admin")  # type: ignore[arg-type]


def test_unknown_key_type_is_refused() -> None:
    with pytest.raises(ValueError, match="key_type"):
        Simulator().credentials(key_type="dsa")  # type: ignore[arg-type]


def test_registering_a_key_for_an_unknown_email_is_refused() -> None:
    with pytest.raises(ValueError, match="no account"):
        Simulator().register_hmac_key("nobody@example.com", "Key1", "secret")


def test_registering_a_malformed_api_key_is_refused() -> None:
    sim = Simulator()

    with pytest.raises(ValueError, match="letters and digits"):
        sim.register_hmac_key(sim.parent_email, "bad key", "secret")


def test_one_api_key_cannot_belong_to_two_accounts() -> None:
    sim = Simulator()
    sim.register_hmac_key(sim.parent_email, "SharedKey", "s1")

    with pytest.raises(ValueError, match="another account"):
        sim.register_hmac_key(sim.credit_email(), "SharedKey", "s2")


async def test_executions_record_each_state_change() -> None:
    sim = Simulator(clock=lambda: NOW_S)
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as http:
        await signed_post(
            http, sim, sim.credentials(), BORROW,
            [("groupId", str(sim.group_ids[0])), ("assetName", "USDT"), ("amount", "2")],
        )
        await http.get(LTV)

    (execution,) = sim.executions
    assert (execution.method, execution.path, execution.at_ms) == ("POST", BORROW, sim.now_ms())
    assert execution.uid == sim.exchange.credit_account(sim.group_ids[0]).uid
    assert sim.execution_count(BORROW, "POST") == 1
    assert sim.execution_count(method="DELETE") == 0


async def test_simulator_is_an_asgi_app() -> None:
    sim = Simulator(clock=lambda: NOW_S)
    transport = httpx.ASGITransport(app=sim)

    async with httpx.AsyncClient(transport=transport, base_url=sim.base_url) as http:
        response = await http.get(TIME)

    assert response.json() == {"serverTime": 1_750_000_020_000}


async def test_asgi_lifespan_completes_startup_and_shutdown() -> None:
    sim = Simulator()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await sim({"type": "lifespan"}, receive, send)

    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete", "lifespan.shutdown.complete"
    ]


@pytest.mark.parametrize("key_type", ["hmac", "ed25519"])
async def test_client_is_bound_to_the_simulator(key_type: Any) -> None:
    sim = Simulator(seed=8)

    async with sim.client(key_type=key_type) as client:
        units = await client.get_ltv_details()

    assert [unit.group_id for unit in units] == [sim.group_ids[0]]


async def test_client_for_the_parent_sees_every_unit() -> None:
    sim = Simulator(seed=8)

    async with sim.client("parent") as client:
        units = await client.get_ltv_details()

    assert sorted(unit.group_id for unit in units) == sorted(sim.group_ids)
