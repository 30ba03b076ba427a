"""The public client: every endpoint coroutine on one object."""

from __future__ import annotations

from ._outcome import OutcomeMethods
from ._resources._history import HistoryMethods
from ._resources._iterators import IteratorMethods
from ._resources._loans import LoanMethods
from ._resources._risk_units import RiskUnitMethods


class AsyncInstLoanClient(
    OutcomeMethods, IteratorMethods, RiskUnitMethods, LoanMethods, HistoryMethods
):
    """Asyncio client for Binance's Institutional Loan API.

    ``AsyncInstLoanClient(api_key=None, api_secret=None, *, private_key=None,
    private_key_password=None, base_url="https://api.binance.com", recv_window=5000,
    timeout=..., max_retries=3, rate_limits=None, http_client=None, transport=None,
    backend="httpx", limiter=None, tracer_provider=None, meter_provider=None)``

    Credentials not passed come from ``BINANCE_API_KEY``, ``BINANCE_API_SECRET`` and
    ``BINANCE_PRIVATE_KEY`` (a path to a PKCS#8 PEM file); ``base_url`` not passed comes from
    ``BINANCE_BASE_URL`` when set (e.g. a simulator started with ``binance-instloan simulate``).
    One client serves many tasks at once; use it with ``async with`` or call ``aclose()``. A
    ``http_client`` you pass is yours to close; a ``transport`` (e.g. the simulator's) is owned
    by the client.
    ``backend="aiohttp"`` runs the same requests over aiohttp (extra ``aiohttp``).
    ``tracer_provider``/``meter_provider`` (extra ``otel``; default: OpenTelemetry's global
    ones) record a span per call and the client's metrics; see the README's "Monitoring".
    """

    async def __aenter__(self) -> AsyncInstLoanClient:
        self._ensure_open()
        return self
