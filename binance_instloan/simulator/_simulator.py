"""The public facade: one object that is the exchange, its clock, its keys and its network."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import httpx

from ._app import API_KEY_PATTERN, App, PathStats, Receive, Scope, Send
from ._endpoints import METHODS_BY_PATH
from ._exchange import Account, Exchange, Execution
from ._faults import Fault, FaultKind, FaultSet
from ._keys import Credentials, KeyRing, KeyType
from ._ratelimit import Limits, RateLimiter
from ._transport import SimTransport

if TYPE_CHECKING:
    from binance_instloan import AsyncInstLoanClient

Role = Literal["parent", "credit", "collateral"]
_ROLES: Final = ("parent", "credit", "collateral")


class Simulator:
    """An offline Binance Institutional Loan exchange, deterministic from ``seed``.

    It is an ASGI application (also reachable as ``sim.app``): use it in-process with
    :meth:`client` or :meth:`transport`, or over TCP with :func:`serve`. Its clock is
    ``clock()`` (UNIX seconds, default ``time.time``) plus whatever :meth:`advance` added, plus
    :attr:`skew_ms`; every timestamp check, rate window and interest hour follows it.

    Rate limits (reference 1.7): each endpoint's weight is charged to its own budget per
    ``window_seconds``, ``ip_weight_limit`` per IP for IP-limited endpoints,
    ``uid_weight_limit`` per account for UID-limited ones, ``api_weight_limit`` per IP for
    ``/api/*``; over budget is 429 with ``Retry-After``, and ``ban_after_violations`` 429s to
    one IP in one window ban it for ``ban_seconds`` (418; 0 never bans). ``sapi_bans``
    (default True) decides whether ``/sapi/*`` bans at all, where Binance's pages conflict:
    True follows the SAPI General Info template, False the CAAS rate-limit page (``/sapi/*``
    always 429, bans on ``/api/*`` only). See :mod:`binance_instloan.simulator`.
    """

    base_url: Final = "http://127.0.0.1"

    def __init__(
        self,
        seed: int = 0,
        *,
        units: int = 3,
        assets: Sequence[str] = ("USDT", "USDC"),
        history_days: int = 0,
        ip_weight_limit: int = 12_000,
        uid_weight_limit: int = 180_000,
        api_weight_limit: int = 6_000,
        window_seconds: float = 60.0,
        rate_limits_enabled: bool = True,
        ban_after_violations: int = 5,
        ban_seconds: float = 120.0,
        sapi_bans: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if not isinstance(sapi_bans, bool):
            raise ValueError(f"sapi_bans must be a bool, not {sapi_bans!r}")
        self.seed = seed
        self._clock = clock if clock is not None else time.time
        self._advanced = 0.0
        #: How far the server clock runs ahead of (or, negative, behind) the base clock.
        self.skew_ms = 0
        self.exchange = Exchange(
            seed=seed, units=units, assets=assets, history_days=history_days,
            now_ms=self.now_ms,
        )
        self._keys = KeyRing(seed)
        # Every account gets its seed-derived HMAC key up front, so a restarted simulator
        # (say, behind `binance-instloan simulate`) accepts the credentials it printed before.
        for uid in self.exchange.accounts:
            self._keys.issue(uid, "hmac")
        self._limiter = RateLimiter(
            Limits(
                ip=ip_weight_limit, uid=uid_weight_limit, api=api_weight_limit,
                window_seconds=window_seconds, enabled=rate_limits_enabled,
                ban_after_violations=ban_after_violations, ban_seconds=ban_seconds,
                sapi_bans=sapi_bans,
            )
        )
        self._faults = FaultSet(seed)
        self.app = App(
            exchange=self.exchange, keys=self._keys, limiter=self._limiter,
            faults=self._faults, now_ms=self.now_ms,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    def __repr__(self) -> str:
        return f"<Simulator seed={self.seed} units={len(self.exchange.group_ids)}>"

    # -- clock -------------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The server clock, in milliseconds."""
        return int((self._clock() + self._advanced) * 1000) + self.skew_ms

    def advance(self, seconds: float) -> None:
        """Move the clock forward, accruing interest for every hour boundary passed."""
        if seconds < 0:
            raise ValueError("the clock only moves forward; use skew_ms for a clock that is off")
        self._advanced += seconds
        self.exchange.advance_to(self.now_ms())

    # -- accounts and keys -------------------------------------------------------------------

    @property
    def group_ids(self) -> list[int]:
        """The active risk units, in creation order."""
        return list(self.exchange.group_ids)

    @property
    def parent_email(self) -> str:
        return self.exchange.parent.email

    def credit_email(self, group_id: int | None = None) -> str:
        return self.exchange.credit_account(self._group(group_id)).email

    def collateral_emails(self, group_id: int | None = None) -> list[str]:
        return [a.email for a in self.exchange.collateral_accounts(self._group(group_id))]

    def credentials(
        self, role: Role = "credit", group_id: int | None = None, key_type: KeyType = "hmac"
    ) -> Credentials:
        """An API key of the ``role`` account of unit ``group_id`` (default: the first unit).

        HMAC keys are derived from the seed; RSA and Ed25519 key pairs (PKCS#8, needing the
        ``crypto`` extra) are generated once per account and type. The same call returns the
        same credentials. ``collateral`` means the unit's first collateral account.
        """
        return self._keys.issue(self._account(role, group_id).uid, key_type)

    def client(
        self,
        role: Role = "credit",
        group_id: int | None = None,
        key_type: KeyType = "hmac",
        **client_kwargs: Any,
    ) -> AsyncInstLoanClient:
        """An ``AsyncInstLoanClient`` bound to this simulator in-process, owning its transport."""
        from binance_instloan import AsyncInstLoanClient

        creds = self.credentials(role, group_id, key_type)
        return AsyncInstLoanClient(
            creds.api_key,
            creds.api_secret,
            private_key=creds.private_key_pem,
            base_url=self.base_url,
            transport=self.transport(),
            **client_kwargs,
        )

    def transport(self, *, client_ip: str = "127.0.0.1") -> httpx.AsyncBaseTransport:
        """A socket-free httpx transport into this simulator; requests come from ``client_ip``."""
        return SimTransport(self.app, client_ip=client_ip)

    def register_hmac_key(self, email: str, api_key: str, secret: str) -> None:
        """Accept ``api_key``/``secret`` (HMAC) for the account ``email``."""
        self._keys.register_hmac(self._by_email(email).uid, _checked_key(api_key), secret)

    def register_public_key(self, email: str, api_key: str, public_key_pem: str) -> None:
        """Accept ``api_key`` for the account ``email``, signed by this RSA or Ed25519 key."""
        self._keys.register_public(self._by_email(email).uid, _checked_key(api_key),
                                   public_key_pem)

    def _by_email(self, email: str) -> Account:
        account = self.exchange.account_by_email(email)
        if account is None:
            raise ValueError(f"no account with e-mail {email!r}")
        return account

    def _group(self, group_id: int | None) -> int:
        if group_id is not None:
            return group_id
        if not self.exchange.group_ids:
            raise ValueError("the simulator has no active risk unit")
        return self.exchange.group_ids[0]

    def _account(self, role: Role, group_id: int | None) -> Account:
        if role == "parent":
            return self.exchange.parent
        if role == "credit":
            return self.exchange.credit_account(self._group(group_id))
        if role == "collateral":
            accounts = self.exchange.collateral_accounts(self._group(group_id))
            if not accounts:
                raise ValueError("this risk unit has no collateral account")
            return accounts[0]
        raise ValueError(f"role must be one of {_ROLES}, not {role!r}")

    # -- faults ------------------------------------------------------------------------------

    def add_fault(
        self,
        kind: FaultKind,
        *,
        path: str | None = None,
        method: str | None = None,
        times: int | None = 1,
        probability: float | None = None,
        status: int | None = None,
        message: str | None = None,
        code: int | None = None,
        latency: float = 0.0,
        execute: bool = True,
    ) -> Fault:
        """Make matching requests fail; see :class:`Fault` for the kinds.

        ``path``/``method`` narrow the requests it hits (None: any); it hits ``times`` of them
        (None: no limit), or, with ``probability``, that random share (seeded). ``status``
        defaults per kind: 500, or 403 for ``html_403``, 400 for ``error_code`` and
        ``unknown_code``, 200 for ``unreadable_2xx`` and 502 for ``html_5xx``.
        """
        if path is not None and path not in METHODS_BY_PATH:
            raise ValueError(f"unknown endpoint path {path!r}")
        return self._faults.add(
            Fault(kind, path=path, method=method, times=times, probability=probability,
                  status=status, message=message, code=code, latency=latency,
                  execute=execute)
        )

    def remove_fault(self, fault: Fault) -> None:
        self._faults.remove(fault)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """The faults still active, in the order they were added."""
        return list(self._faults)

    # -- what happened -----------------------------------------------------------------------

    @property
    def executions(self) -> list[Execution]:
        """Every state change the exchange executed, oldest first."""
        return self.exchange.executions

    def execution_count(self, path: str | None = None, method: str | None = None) -> int:
        return sum(
            1
            for e in self.exchange.executions
            if (path is None or e.path == path) and (method is None or e.method == method)
        )

    @property
    def stats(self) -> Mapping[str, PathStats]:
        """Counters per request path: requests, responses by status, 429s, 418s, lost answers."""
        return self.app.stats

    def max_window_weight(self, bucket: str) -> int:
        """Most weight admitted in any one window for ``bucket`` (``"IP:<path>"``,
        ``"UID:<path>"`` or ``"API:/api"``), over every IP or UID."""
        return self._limiter.max_window_weight(bucket)


def _checked_key(api_key: str) -> str:
    if not API_KEY_PATTERN.fullmatch(api_key):
        raise ValueError("an API key is 1 to 128 letters and digits")
    return api_key
