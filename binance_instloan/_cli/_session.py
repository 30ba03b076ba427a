"""Which client a command gets: one for the user's keys, or one bound to the simulator.

With ``--sim`` every command talks to an in-process :class:`~binance_instloan.simulator.Simulator`
(seeded, a year of history) using the simulator's key of the account that may call the
endpoint: the parent for parent-only endpoints, else the credit account of the unit named.
``--api-key`` with ``--sim`` sends the given keys to the simulator instead (it answers -2015 for
keys it does not know), which is how to try a key setup without touching Binance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from .._client import AsyncInstLoanClient

if TYPE_CHECKING:
    from ..simulator import Simulator

Role = Literal["parent", "credit", "collateral"]

SIM_SEED: Final = 0
SIM_HISTORY_DAYS: Final = 365


def _default_simulator() -> Simulator:
    from ..simulator import Simulator

    return Simulator(seed=SIM_SEED, history_days=SIM_HISTORY_DAYS)


@attrs.define
class Runtime:
    """What the command line runs on, replaceable in tests (``CliRunner.invoke(obj=...)``).

    ``simulator``: the simulator ``--sim`` uses (built on first use when None);
    ``sleep``: how watch-ltv waits between polls; ``client_kwargs``: extra
    ``AsyncInstLoanClient`` arguments for every client.
    """

    simulator: Simulator | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    client_kwargs: dict[str, Any] = attrs.Factory(dict)
    make_simulator: Callable[[], Simulator] = _default_simulator

    def sim(self) -> Simulator:
        if self.simulator is None:
            self.simulator = self.make_simulator()
        return self.simulator


@attrs.frozen
class GlobalOptions:
    """The options given before the command. ``repr`` hides the credentials."""

    sim: bool = False
    api_key: str | None = attrs.field(default=None, repr=False)
    api_secret: str | None = attrs.field(default=None, repr=False)
    private_key: str | None = attrs.field(default=None, repr=False)
    private_key_password: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    debug: bool = False


@attrs.define
class Session:
    """The options and runtime of one command-line run; makes its clients."""

    options: GlobalOptions
    runtime: Runtime = attrs.Factory(Runtime)

    @property
    def simulated(self) -> bool:
        return self.options.sim

    def client(
        self, role: Role = "credit", group_id: int | None = None, **kwargs: Any,
    ) -> AsyncInstLoanClient:
        """A client for the account ``role`` (only used with ``--sim``) of unit ``group_id``."""
        extra = {**self.runtime.client_kwargs, **kwargs}
        opts = self.options
        if not opts.sim:
            if opts.base_url is not None:
                extra.setdefault("base_url", opts.base_url)
            return AsyncInstLoanClient(
                opts.api_key, opts.api_secret, private_key=opts.private_key,
                private_key_password=opts.private_key_password, **extra,
            )
        sim = self.runtime.sim()
        if opts.api_key is not None:
            return AsyncInstLoanClient(
                opts.api_key, opts.api_secret, private_key=opts.private_key,
                private_key_password=opts.private_key_password, base_url=sim.base_url,
                transport=sim.transport(), **extra,
            )
        try:
            return sim.client(role=role, group_id=group_id, **extra)
        except (KeyError, ValueError):
            # A unit the simulator never had still reaches it (with the first unit's key), so
            # the user sees the exchange's own answer (-27001) rather than a local guess.
            return sim.client(role=role, **extra)
