"""The public surface: __all__ is complete and sorted, and the contract names exist."""

from __future__ import annotations

import inspect

import binance_instloan
from binance_instloan import AsyncInstLoanClient

CONTRACT_METHODS = [
    "get_ltv_details", "get_active_risk_units", "get_closed_risk_units",
    "get_force_liquidations", "get_force_liquidation_transfers", "get_borrow_repay_records",
    "get_interest_history", "get_max_borrowable", "get_interest_rebate_balance",
    "get_interest_rebate_records", "borrow", "repay", "add_collateral_account",
    "close_risk_unit", "transfer_out", "get_loan_groups", "get_loan_group",
    "iter_interest_history", "iter_borrow_repay_records", "iter_force_liquidations",
    "iter_force_liquidation_transfers", "iter_closed_risk_units", "iter_interest_rebate_records",
    "resolve_outcome",
]
CONTRACT_NAMES = [
    "AsyncInstLoanClient", "RateLimits", "InstLoanError", "APIConnectionError",
    "APITimeoutError", "OutcomeUnknownError", "APIStatusError", "BadRequestError",
    "AuthenticationError", "PermissionDeniedError", "RateLimitError", "IPBannedError",
    "RiskUnitError", "ServerError",
]


def test_all_is_sorted_and_every_name_exists() -> None:
    names = list(binance_instloan.__all__)
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        assert hasattr(binance_instloan, name), name


def test_every_public_name_of_the_package_is_in_all() -> None:
    exposed = {
        name for name, value in vars(binance_instloan).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert exposed - {"annotations"} <= set(binance_instloan.__all__)


def test_contract_names_are_exported() -> None:
    for name in CONTRACT_NAMES:
        assert name in binance_instloan.__all__, name


def test_contract_methods_exist_as_coroutines_or_iterators() -> None:
    for name in CONTRACT_METHODS:
        assert callable(getattr(AsyncInstLoanClient, name)), name


def test_constructor_signature_is_the_contract() -> None:
    params = inspect.signature(AsyncInstLoanClient).parameters
    assert list(params)[:12] == [
        "api_key", "api_secret", "private_key", "private_key_password", "base_url",
        "recv_window", "timeout", "max_retries", "rate_limits", "http_client", "transport",
        "backend",
    ]
    assert params["base_url"].default == "https://api.binance.com"
    assert params["recv_window"].default == 5000
    assert params["max_retries"].default == 3


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("binance_instloan").joinpath("py.typed").is_file()
