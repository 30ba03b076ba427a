"""Secrets stay secret: the API secret, the private key and request signatures never show up in a
``repr``, in the log (DEBUG included) or in the text of an exception.

Each key type runs one session against the simulator with retries, Binance errors, a clock
re-sync and an ``OutcomeUnknownError``, while the "binance_instloan" logger records at DEBUG and
a transport wrapper notes every signature that went on the wire.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final
from urllib.parse import unquote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from binance_instloan import (
    AsyncInstLoanClient,
    ConfigurationError,
    InstLoanError,
    OutcomeUnknownError,
)
from binance_instloan.simulator import Credentials, Simulator

LOAN: Final = "/sapi/v1/margin/loan-group"
KEY_TYPES: Final = ("hmac", "rsa", "ed25519")


class SignatureRecorder(httpx.AsyncBaseTransport):
    """Passes requests through, keeping each signature sent (as sent, and percent-decoded)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.signatures: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        payload = request.url.query.decode("ascii") + "&" + (await request.aread()).decode()
        for part in payload.split("&"):
            name, _, value = part.partition("=")
            if name == "signature":
                self.signatures += [value, unquote(value)]
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _secrets(creds: Credentials, signatures: list[str]) -> list[str]:
    """Everything that must never be shown: the secret, the key's lines, each signature."""
    found = list(signatures)
    if creds.api_secret:
        found.append(creds.api_secret)
    if creds.private_key_pem:
        found.append(creds.private_key_pem)
        # Any one line of the key's base64 body is key material too.
        found += [line for line in creds.private_key_pem.splitlines() if "-----" not in line]
    return [s for s in found if len(s) >= 16]


def _texts(error: BaseException) -> Iterator[str]:
    """What an exception shows: str, repr, the formatted traceback with its causes."""
    yield str(error)
    yield repr(error)
    yield "".join(traceback.format_exception(error))
    for name in ("params", "headers", "body", "how_to_check"):
        if hasattr(error, name):
            yield repr(getattr(error, name))


async def _session(sim: Simulator, key_type: str, recorder: SignatureRecorder,
                   errors: list[BaseException]) -> AsyncInstLoanClient:
    """Successes, retries, Binance errors, a re-sync and a lost answer, on one client."""
    creds = sim.credentials(key_type=key_type)  # type: ignore[arg-type]
    client = AsyncInstLoanClient(creds.api_key, creds.api_secret, private_key=creds.private_key_pem,
                                 base_url=sim.base_url, transport=recorder, recv_window=1000,
                                 max_retries=1)
    group = sim.group_ids[0]
    async with client:
        await client.get_ltv_details()
        sim.add_fault("status", path=f"{LOAN}/interest-history", times=1)
        await client.get_interest_history()  # retried after a 500
        sim.add_fault("error_code", status=429, code=-1003, path=f"{LOAN}/max-borrowable")
        await client.get_max_borrowable(asset="USDT")  # retried after the 1 s pause
        sim.skew_ms = 2000
        await client.get_ltv_details()  # -1021, re-sync, re-sent
        sim.add_fault("read_timeout", path=f"{LOAN}/interest-history", times=2)
        sim.add_fault("reset", path=f"{LOAN}/borrow")
        sim.add_fault("status", path=f"{LOAN}/repay")
        calls: list[Any] = [
            client.get_interest_history(),  # gives up: APITimeoutError
            client.borrow(group_id=group, asset="USDT", amount="1.5"),  # OutcomeUnknownError
            client.repay(group_id=group, asset="USDT", amount="1"),  # 500: OutcomeUnknownError
            client.borrow(group_id=group, asset="USDT", amount="1e12"),  # -27009
            client.transfer_out(asset="USDT", amount="1", sub_email="nobody@x.com"),  # -3003
        ]
        for call in calls:
            try:
                await call
            except InstLoanError as exc:
                errors.append(exc)
        unknown = next(e for e in errors if isinstance(e, OutcomeUnknownError))
        await client.resolve_outcome(unknown, deadline=5, poll_interval=0.05, settle=0)
    return client


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_no_secret_in_reprs_logs_or_exception_text(
    key_type: str, caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Simulator(seed=21, units=1, history_days=2)
    recorder = SignatureRecorder(sim.transport())
    errors: list[BaseException] = []
    caplog.set_level(logging.DEBUG, logger="binance_instloan")

    client = await _session(sim, key_type, recorder, errors)

    logs = [r.getMessage() for r in caplog.records] + [caplog.text]
    shown = [repr(client), repr(client._signer), *logs]
    for error in errors:
        shown += list(_texts(error))
    secrets = _secrets(sim.credentials(key_type=key_type),  # type: ignore[arg-type]
                       recorder.signatures)
    leaks = [s[:12] + "…" for s in secrets if any(s in text for text in shown)]
    assert leaks == []
    # The session did go through what it claims: signatures, retries, errors, a lost answer.
    assert len(recorder.signatures) >= 2 * 10
    assert {type(e).__name__ for e in errors} >= {
        "APITimeoutError", "OutcomeUnknownError", "RiskUnitError"}
    assert any("retrying" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_an_outcome_unknown_error_keeps_the_parameters_but_not_the_signature(
    key_type: str,
) -> None:
    sim = Simulator(seed=22, units=1)
    sim.add_fault("reset", path=f"{LOAN}/borrow")
    recorder = SignatureRecorder(sim.transport())
    creds = sim.credentials(key_type=key_type)  # type: ignore[arg-type]
    async with AsyncInstLoanClient(creds.api_key, creds.api_secret,
                                   private_key=creds.private_key_pem, base_url=sim.base_url,
                                   transport=recorder) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.borrow(group_id=sim.group_ids[0], asset="USDT", amount=Decimal("2.5"))
    error = caught.value
    assert error.params["amount"] == "2.5"
    assert "signature" not in error.params
    assert not any(sig in str(error) for sig in recorder.signatures)


async def test_the_httpx_request_log_carries_no_signature(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # httpx logs every request's full URL at INFO; a GET's URL holds its signature.
    sim = Simulator(seed=23, units=1)
    recorder = SignatureRecorder(sim.transport())
    creds = sim.credentials()
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.DEBUG, logger="httpcore")
    async with AsyncInstLoanClient(creds.api_key, creds.api_secret, base_url=sim.base_url,
                                   transport=recorder) as client:
        await client.get_max_borrowable(asset="USDT")

    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any("max-borrowable" in line for line in requests)  # the log line is there
    assert not any(sig in caplog.text for sig in recorder.signatures)


def test_a_private_key_that_is_not_pem_is_not_echoed() -> None:
    pem = Simulator(seed=24).credentials(key_type="ed25519").private_key_pem
    assert pem is not None
    body = "".join(line for line in pem.splitlines() if "-----" not in line)

    with pytest.raises(ConfigurationError) as caught:
        AsyncInstLoanClient("k" * 64, private_key=body)  # the PEM armour lost in a copy-paste

    assert body not in "".join(traceback.format_exception(caught.value))
    assert "value not shown" in str(caught.value)


def test_a_wrong_key_password_is_not_echoed() -> None:
    pem = Simulator(seed=25).credentials(key_type="ed25519").private_key_pem
    assert pem is not None
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"the-right-passphrase"),
    )

    with pytest.raises(ConfigurationError) as caught:
        AsyncInstLoanClient("k" * 64, private_key=encrypted,
                            private_key_password="a-wrong-passphrase-0123")

    text = "".join(traceback.format_exception(caught.value))
    assert "a-wrong-passphrase-0123" not in text
    assert "the-right-passphrase" not in text
    assert pem not in text


async def test_an_encrypted_private_key_signs_and_stays_hidden() -> None:
    sim = Simulator(seed=26, units=1)
    creds = sim.credentials(key_type="rsa")
    assert creds.private_key_pem is not None
    key = serialization.load_pem_private_key(creds.private_key_pem.encode(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase-of-the-key"),
    )
    async with AsyncInstLoanClient(creds.api_key, private_key=encrypted,
                                   private_key_password="passphrase-of-the-key",
                                   base_url=sim.base_url, transport=sim.transport()) as client:
        [unit] = await client.get_ltv_details()
        shown = repr(client) + repr(client._signer)
    assert unit.group_id == sim.group_ids[0]
    assert "passphrase-of-the-key" not in shown
    assert "PRIVATE KEY" not in shown
