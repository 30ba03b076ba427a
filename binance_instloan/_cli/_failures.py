"""Exit codes, and one clear line for every error the command line can meet.

Each message names what happened (with Binance's HTTP status, ``code`` and ``msg`` when it
answered) and what to do next. Messages are built from the exceptions' public attributes,
which never hold credentials.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import attrs

from .._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    InvalidParameterError,
    InvalidParameterTypeError,
    IPBannedError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RiskUnitError,
    ServerError,
)


class ExitCode(enum.IntEnum):
    """The process exit status of ``binance-instloan``: one per class of failure."""

    OK = 0
    FAILURE = 1  # unexpected error (a bug: run with --debug and report it)
    USAGE = 2  # bad command line (typer's own code for usage errors)
    ALERT = 3  # watch-ltv: the LTV crossed --alert-above
    CONFIGURATION = 4  # missing or unusable credentials / settings
    INVALID_PARAMETER = 5  # refused before sending: nothing was sent
    AUTHENTICATION = 6  # key, signature, IP whitelist or permissions refused (-2014/-2015/-1022)
    RATE_LIMITED = 7  # 429 or 418 (IP banned)
    OUTCOME_UNKNOWN = 8  # a write may or may not have executed: check before retrying
    CONNECTION = 9  # no usable answer (connection failed, timed out)
    REFUSED = 10  # Binance refused the request (-27xxx, -3xxx, -11xx, 403, other codes)
    SERVER = 11  # Binance failed internally (5xx) on a read
    INTERRUPTED = 130  # Ctrl-C


@attrs.frozen
class Failure:
    """How the command line reports one exception: the line, any guidance, the exit code."""

    exit_code: ExitCode
    line: str
    details: tuple[str, ...] = ()


# What to do about the loan codes a user can act on (reference 1.10).
_RISK_HINTS: Final[Mapping[int, str]] = {
    -1024: "the unit is being liquidated; try again later",
    -1025: "a transaction is pending; try again in a moment",
    -27001: "check the group id with `binance-instloan ltv` or `units`",
    -27003: "that account already belongs to another risk unit",
    -27004: "the collateral account must be a sub-account of the same parent",
    -27005: "open a margin account for that sub-account first",
    -27007: "the credit account cannot also be a collateral account",
    -27008: "the new member's net equity must cover its maintenance margin",
    -27009: "check `binance-instloan max-borrowable ASSET` and borrow at most that",
    -27011: "there is nothing of that asset to repay",
    -27012: "not enough available margin; add collateral or borrow less",
    -27015: "not enough balance; fund the account or lower the amount",
    -27016: "use fewer decimal places for this asset",
    -27018: "repay every liability first (see `binance-instloan ltv`)",
    -27020: "the unit's LTV is too high to borrow; repay or add collateral",
    -27025: "wait until the previous transaction completes",
    -27026: "pass --sub-email for a member of the unit (parent key), or use the member's key",
    -27028: "transfer at most the max transfer-out shown by `binance-instloan ltv`",
    -27031: "a new collateral account can borrow or transfer 2 minutes after being added",
    -3003: "the margin account does not exist (check --sub-email)",
}


def describe(exc: BaseException) -> Failure:
    """The exit code and the message lines for ``exc``."""
    if isinstance(exc, OutcomeUnknownError):
        return _outcome_unknown(exc)
    if isinstance(exc, InvalidParameterError | InvalidParameterTypeError):
        return Failure(ExitCode.INVALID_PARAMETER, f"invalid {exc} (nothing was sent)")
    if isinstance(exc, ConfigurationError):
        return Failure(ExitCode.CONFIGURATION, f"{exc}{_configuration_hint(str(exc))}")
    if isinstance(exc, APIStatusError):
        return _status(exc)
    if isinstance(exc, APITimeoutError):
        return Failure(
            ExitCode.CONNECTION,
            f"no answer from Binance in time ({exc}). Check the network and --base-url, then "
            "try again",
        )
    answered = _status_cause(exc)
    if isinstance(exc, APIConnectionError) and answered is not None:
        return Failure(
            ExitCode.CONNECTION,
            f"a server answered, but not as the Binance API ({exc}). Check --base-url (or "
            "BINANCE_BASE_URL): it is the scheme and host only, like https://api.binance.com, "
            "without /sapi or another path",
        )
    if isinstance(exc, APIConnectionError):
        return Failure(
            ExitCode.CONNECTION,
            f"could not reach Binance ({exc}). Check the network and --base-url, then try again",
        )
    if isinstance(exc, ClientClosedError):
        return Failure(ExitCode.FAILURE, f"internal error: {exc}")
    return Failure(
        ExitCode.FAILURE,
        f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
    )


def _configuration_hint(message: str) -> str:
    """Guidance for the configuration errors a command-line option fixes; none for others."""
    if message.startswith(("no API key", "no signing credentials")):
        return (". On the command line: --api-key with --api-secret or --private-key; or --sim "
                "to use the built-in simulator")
    if "password" in message:
        return (". For an encrypted private key give --private-key-password or set "
                "BINANCE_PRIVATE_KEY_PASSWORD")
    return ""


def _status_cause(exc: BaseException) -> APIStatusError | None:
    """The HTTP error answer behind ``exc``, if a server did answer (e.g. a wrong base URL)."""
    seen = exc.__cause__
    for _ in range(5):  # a short chain; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, APIStatusError):
            return seen
        seen = seen.__cause__
    return None


def _answer(exc: APIStatusError) -> str:
    """``HTTP 400, code -27009: <msg>``: what Binance said, without our own decoration."""
    text = f"HTTP {exc.status_code}"
    if exc.code is not None:
        text += f", code {exc.code}"
    if exc.msg:
        text += f": {exc.msg}"
    return text


def _status(exc: APIStatusError) -> Failure:
    said = _answer(exc)
    where = f" {exc.method} {exc.path}" if exc.method else ""
    if isinstance(exc, IPBannedError):
        until = _utc(exc.until)
        return Failure(
            ExitCode.RATE_LIMITED,
            f"this IP is banned by Binance{' until ' + until if until else ''} ({said}). "
            "Stop every client on this IP until then; do not retry earlier, bans grow longer",
        )
    if isinstance(exc, RateLimitError):
        wait = f"{exc.retry_after:.0f} s" if exc.retry_after is not None else "a while"
        return Failure(
            ExitCode.RATE_LIMITED,
            f"request weight limit reached ({said}). Wait {wait} before retrying, and poll "
            "less often (other programs on this IP share the budget)",
        )
    if isinstance(exc, AuthenticationError):
        return Failure(
            ExitCode.AUTHENTICATION,
            f"Binance refused the credentials ({said}). Check the API key and secret or "
            "private key, the key's IP whitelist and its permissions (and that this key's "
            "account may call this endpoint)",
        )
    if isinstance(exc, PermissionDeniedError):
        return Failure(
            ExitCode.REFUSED,
            f"refused by Binance's firewall or a proxy ({said}). Check --base-url and any "
            "proxy, and slow down",
        )
    if isinstance(exc, RiskUnitError):
        hint = _RISK_HINTS.get(exc.code or 0, "see the Binance error code reference")
        return Failure(ExitCode.REFUSED, f"Binance refused{where} ({said}). {_cap(hint)}")
    if isinstance(exc, BadRequestError):
        return Failure(
            ExitCode.REFUSED,
            f"Binance rejected the request{where} ({said}). Check the arguments",
        )
    if isinstance(exc, ServerError):
        return Failure(
            ExitCode.SERVER,
            f"Binance failed internally{where} ({said}). Nothing was changed by this read; "
            "try again later",
        )
    return Failure(ExitCode.REFUSED, f"Binance answered with an error{where} ({said})")


def _outcome_unknown(exc: OutcomeUnknownError) -> Failure:
    params = exc.params
    group = params.get("groupId")
    asset = params.get("assetName") or params.get("asset")
    since = _utc((exc.sent_at_ms - 300_000) / 1000) if exc.sent_at_ms else None
    checks: list[str] = []
    path = exc.path.rsplit("/", 1)[-1]
    if path in ("borrow", "repay"):
        kind = "BORROW" if path == "borrow" else "REPAY"
        cmd = f"binance-instloan history borrow-repay --type {kind}"
        if group:
            cmd += f" --group-id {group}"
        if asset:
            cmd += f" --asset {asset}"
        if since:
            cmd += f" --since {since}"
        checks.append(cmd)
    if path == "edit-member":
        checks.append("binance-instloan units")
    elif path == "loan-group" or exc.method == "DELETE":
        checks.append("binance-instloan closed")
    checks.append("binance-instloan ltv" + (f" --group-id {group}" if group else ""))
    what = " ".join(f"{k}={v}" for k, v in params.items() if k not in ("recvWindow", "timestamp"))
    return Failure(
        ExitCode.OUTCOME_UNKNOWN,
        f"OUTCOME UNKNOWN: {exc.method} {exc.path} ({what}) may or may not have executed "
        f"({exc.reason}); it was NOT re-sent. Do not repeat it before checking",
        (
            "Check with: " + "  and  ".join(checks),
            f"Details: {exc.how_to_check}",
        ),
    )


def _utc(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
