"""``BINANCE_BASE_URL``: where ``AsyncInstLoanClient()`` sends when no ``base_url`` is passed."""

from __future__ import annotations

import pytest

from binance_instloan import AsyncInstLoanClient
from tests._support import KEY, SECRET


async def test_a_client_without_base_url_sends_to_binance_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINANCE_BASE_URL", "http://127.0.0.1:8000")

    async with AsyncInstLoanClient(KEY, SECRET) as client:
        assert "base_url='http://127.0.0.1:8000'" in repr(client)


async def test_an_explicit_base_url_wins_over_binance_base_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BINANCE_BASE_URL", "http://127.0.0.1:8000")

    async with AsyncInstLoanClient(KEY, SECRET, base_url="https://api.binance.com") as client:
        assert "base_url='https://api.binance.com'" in repr(client)


async def test_without_binance_base_url_the_client_sends_to_binance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BINANCE_BASE_URL", raising=False)

    async with AsyncInstLoanClient(KEY, SECRET) as client:
        assert "base_url='https://api.binance.com'" in repr(client)
