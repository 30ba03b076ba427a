"""An offline Binance Institutional Loan exchange, for tests, demos and users' own bots.

Written from the API reference, not from the client: it imports nothing private from
``binance_instloan``, so it catches the client's mistakes instead of sharing them.

    sim = Simulator(seed=7)
    async with sim.client() as client:        # in-process, no sockets
        units = await client.get_ltv_details()
    async with serve(sim) as base_url:         # real TCP on 127.0.0.1 (extra "sim")
        ...
"""

from __future__ import annotations

from ._app import PathStats
from ._exchange import Execution, SimError
from ._faults import MSG_503_INTERNAL, MSG_503_UNAVAILABLE, MSG_503_UNKNOWN, Fault, FaultKind
from ._keys import Credentials
from ._server import run, serve
from ._simulator import Simulator

__all__ = [
    "MSG_503_INTERNAL",
    "MSG_503_UNAVAILABLE",
    "MSG_503_UNKNOWN",
    "Credentials",
    "Execution",
    "Fault",
    "FaultKind",
    "PathStats",
    "SimError",
    "Simulator",
    "run",
    "serve",
]
