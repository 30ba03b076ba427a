"""The typer application: the global options and every command."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from .. import __version__
from .._errors import InstLoanError
from .._pagination import Position
from . import _exporter
from ._failures import ExitCode
from ._output import console, display, fitted
from ._parse import AmountOutOfRange, ValueProblem, parse_amount, parse_time, wire_amount
from ._runner import run_command
from ._session import SIM_HISTORY_DAYS, GlobalOptions, Runtime, Session

app = typer.Typer(
    name="binance-instloan",
    help=(
        "Binance Institutional Loan from the command line. Add --sim to any command to run it "
        "against the built-in simulator (no keys, no network); try `binance-instloan --sim demo`."
    ),
    no_args_is_help=True,
    add_completion=False,
    # Our own handler prints one line per error; rich tracebacks could show local variables.
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class HistorySource(enum.StrEnum):
    interest = "interest"
    borrow_repay = "borrow-repay"
    liquidations = "liquidations"
    liquidation_transfers = "liquidation-transfers"
    closed = "closed"
    rebates = "rebates"


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"


class RepaySource(enum.StrEnum):
    MARGIN = "MARGIN"
    SPOT = "SPOT"


# -- plumbing ----------------------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        typer.echo(f"binance-instloan {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    sim: Annotated[bool, typer.Option(
        "--sim", help="Run against the built-in simulator (seeded, a year of history).",
    )] = False,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", help="API key [default: $BINANCE_API_KEY].", show_default=False,
    )] = None,
    api_secret: Annotated[str | None, typer.Option(
        "--api-secret", help="HMAC secret [default: $BINANCE_API_SECRET].", show_default=False,
    )] = None,
    private_key: Annotated[str | None, typer.Option(
        "--private-key", help="RSA/Ed25519 PKCS#8 PEM file [default: $BINANCE_PRIVATE_KEY].",
        show_default=False,
    )] = None,
    private_key_password: Annotated[str | None, typer.Option(
        "--private-key-password", envvar="BINANCE_PRIVATE_KEY_PASSWORD",
        help="Password of an encrypted --private-key [default: $BINANCE_PRIVATE_KEY_PASSWORD; "
        "the variable keeps it out of the process list].", show_default=False, show_envvar=False,
    )] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="API base URL [default: $BINANCE_BASE_URL, else https://api.binance.com].",
        show_default=False,
    )] = None,
    debug: Annotated[bool, typer.Option(
        "--debug", help="Show tracebacks and the client's DEBUG log (never credentials).",
    )] = False,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.",
    )] = False,
) -> None:
    if sim and base_url is not None:
        raise typer.BadParameter("--base-url and --sim exclude each other", param_hint="--sim")
    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime()
    options = GlobalOptions(
        sim=sim, api_key=api_key, api_secret=api_secret, private_key=private_key,
        private_key_password=private_key_password, base_url=base_url, debug=debug,
    )
    ctx.obj = Session(options, runtime)


def _session(ctx: typer.Context) -> Session:
    session = ctx.obj
    if not isinstance(session, Session):  # pragma: no cover - the callback always sets it
        raise RuntimeError("the command line was not initialised")
    return session


def _stdout() -> Console:
    return console()


def _stderr() -> Console:
    return console(stderr=True)


def _amount(value: str) -> Decimal:
    try:
        return parse_amount(value)
    except AmountOutOfRange as exc:
        # Well-formed but not an amount Binance accepts: refused here, as the SDK refuses
        # invalid parameters, rather than sent to come back as -1100.
        typer.echo(f"error: invalid {exc} (nothing was sent)", err=True)
        raise typer.Exit(ExitCode.INVALID_PARAMETER) from None
    except ValueProblem as exc:
        raise typer.BadParameter(str(exc)) from None


def _alert_level(value: str) -> Decimal:
    percent = value.endswith("%")
    try:
        level = parse_amount(value[:-1] if percent else value)
    except ValueProblem:
        raise typer.BadParameter(f"{value!r} is not an LTV like 0.8 or 80%") from None
    if percent:
        level = level / 100
    # LTV is a ratio (liabilities / equity), and Binance liquidates well below 1: a level
    # above 1 (say 80, meant as percent) would never alert.
    if level > 1:
        raise typer.BadParameter(
            f"{value!r} is not an LTV: LTV is a ratio such as 0.8 (80%), and Binance liquidates "
            f"before it reaches 1. Did you mean {level / 100} (or {value}%)?"
        )
    return level


def _confirm(yes: bool, question: str) -> None:
    if yes:
        return
    try:
        confirmed = typer.confirm(question, default=False, err=True)
    except typer.Abort:  # end of input or Ctrl-C at the prompt
        confirmed = False
        typer.echo("", err=True)
    if not confirmed:
        typer.echo("Cancelled: nothing was sent.", err=True)
        raise typer.Exit(ExitCode.FAILURE)


GroupOption = Annotated[int | None, typer.Option(
    "--group-id", help="Risk unit (groupId).", show_default=False,
)]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
Amount = Annotated[Decimal, typer.Argument(
    parser=_amount, help="Amount: ASCII digits with an optional '.', like 100 or 0.5 (sent as "
    "shown at the prompt).",
    show_default=False,
)]


# -- read-only commands ------------------------------------------------------------------------


@app.command()
def ltv(ctx: typer.Context, group_id: GroupOption = None) -> None:
    """Risk unit details: LTV, equity, liabilities (GET ltv-details, weight 200)."""
    session = _session(ctx)

    async def work() -> None:
        async with session.client("parent", group_id) as client:
            units = await client.get_ltv_details(group_id=group_id)
        out = _stdout()
        if not units:
            out.print("No risk unit is visible to this key (ltv-details returned an empty list).")
            return
        out.print(fitted(out, [
            "group", "LTV", "liability", "net equity", "maint. margin", "max transfer-out",
            "owed + interest", "updated",
        ], [[
            str(u.group_id), display(u.ltv), display(u.total_liability),
            display(u.total_net_equity), display(u.total_maintenance_margin),
            display(u.max_transfer_out_amount),
            "\n".join(
                f"{d.asset_name} {display(d.principal)} + {display(d.interest)}"
                for d in u.liabilities
            ) or "-",
            display(u.update_time),
        ] for u in units], whole=[True] * 8))

    run_command(session, work)


@app.command()
def units(ctx: typer.Context) -> None:
    """Active risk units and their members (parent key; GET loan-groups/activated)."""
    session = _session(ctx)

    async def work() -> None:
        async with session.client("parent") as client:
            found = await client.get_active_risk_units()
        rows = [
            [str(u.group_id), display(u.create_time), m.email, display(m.type),
             "yes" if m.enable_spot else "no", "yes" if m.enable_margin else "no"]
            for u in found for m in u.members
        ]
        out = _stdout()
        out.print(fitted(out, ["group", "created", "member", "type", "spot", "margin"], rows,
                         whole=[True, True, True, True, True, True])
                  if rows else "No active risk unit.")

    run_command(session, work)


@app.command()
def closed(ctx: typer.Context) -> None:
    """Closed risk units (credit key; GET loan-groups/closed, every page)."""
    session = _session(ctx)

    async def work() -> None:
        async with session.client("credit") as client:
            found = await client.iter_closed_risk_units().collect()
        rows = [
            [str(u.group_id), u.parent_email, u.credit_email, display(u.enabled),
             display(u.create_time), display(u.close_time)] for u in found
        ]
        out = _stdout()
        out.print(fitted(out, ["group", "parent", "credit", "enabled", "created", "closed"],
                         rows, whole=[True] * 6)
                  if rows else "No closed risk unit.")

    run_command(session, work)


@app.command("max-borrowable")
def max_borrowable(
    ctx: typer.Context,
    asset: Annotated[str, typer.Argument(help="Asset, e.g. USDT.")],
    group_id: GroupOption = None,
) -> None:
    """How much of ASSET the risk unit can borrow now (GET max-borrowable, weight 100)."""
    session = _session(ctx)

    async def work() -> None:
        async with session.client("credit", group_id) as client:
            found = await client.get_max_borrowable(asset=asset, group_id=group_id)
        if found.max_borrowable_amount is None:
            _stdout().print("No data: this key has no matching risk unit.")
        else:
            _stdout().print(f"{display(found.max_borrowable_amount)} {asset.upper()}")

    run_command(session, work)


# -- money movements ---------------------------------------------------------------------------


@app.command()
def borrow(
    ctx: typer.Context,
    group: Annotated[int, typer.Argument(help="Risk unit (groupId).")],
    asset: Annotated[str, typer.Argument(help="Asset to borrow, e.g. USDT.")],
    amount: Amount,
    yes: Yes = False,
) -> None:
    """Borrow AMOUNT of ASSET into the risk unit's credit account (credit key)."""
    session = _session(ctx)
    _confirm(yes, f"Borrow {wire_amount(amount)} {asset.upper()} into risk unit {group}?")

    async def work() -> None:
        async with session.client("credit", group) as client:
            result = await client.borrow(group_id=group, asset=asset, amount=amount)
        _stdout().print(f"Borrowed {display(result.amount)} {asset.upper()} in risk unit {group} "
                        f"(transaction {result.transaction_id}, status {result.status}).")

    run_command(session, work)


@app.command()
def repay(
    ctx: typer.Context,
    group: Annotated[int, typer.Argument(help="Risk unit (groupId).")],
    asset: Annotated[str, typer.Argument(help="Asset to repay, e.g. USDT.")],
    amount: Amount,
    source: Annotated[RepaySource | None, typer.Option(
        "--from", case_sensitive=False, help="Wallet to repay from [Binance default: MARGIN].",
        show_default=False,
    )] = None,
    yes: Yes = False,
) -> None:
    """Repay up to AMOUNT of ASSET (Binance repays min(available, requested); credit key)."""
    session = _session(ctx)
    wallet = f" from {source.value}" if source is not None else ""
    _confirm(
        yes, f"Repay up to {wire_amount(amount)} {asset.upper()}{wallet} in risk unit {group}?",
    )

    async def work() -> None:
        async with session.client("credit", group) as client:
            result = await client.repay(
                group_id=group, asset=asset, amount=amount,
                repay_from=None if source is None else source.value,
            )
        note = "" if result.amount == amount else f" of {wire_amount(amount)} requested"
        _stdout().print(f"Repaid {display(result.amount)} {asset.upper()}{note} in risk unit "
                        f"{group} (transaction {result.transaction_id}).")

    run_command(session, work)


@app.command("transfer-out")
def transfer_out(
    ctx: typer.Context,
    asset: Annotated[str, typer.Argument(help="Asset to move, e.g. USDT.")],
    amount: Amount,
    sub_email: Annotated[str | None, typer.Option(
        "--sub-email", help="Member to move funds for (needed with the parent key).",
        show_default=False,
    )] = None,
    yes: Yes = False,
) -> None:
    """Move ASSET from a member's margin wallet to its own spot wallet."""
    session = _session(ctx)
    who = sub_email or "this key's account"
    _confirm(
        yes, f"Transfer {wire_amount(amount)} {asset.upper()} out of the margin wallet of {who}?",
    )

    async def work() -> None:
        async with session.client("parent" if sub_email else "credit") as client:
            await client.transfer_out(asset=asset, amount=amount, sub_email=sub_email)
        _stdout().print(
            f"Transfer-out of {wire_amount(amount)} {asset.upper()} accepted (Binance moves at "
            "most the smaller of the unit's and the account's max transfer-out)."
        )

    run_command(session, work)


@app.command("add-member")
def add_member(
    ctx: typer.Context,
    group: Annotated[int, typer.Argument(help="Risk unit (groupId).")],
    email: Annotated[str, typer.Argument(help="Sub-account e-mail to add as collateral.")],
    spot: Annotated[bool, typer.Option("--spot/--no-spot", help="Count its spot wallet.")] = True,
    margin: Annotated[bool, typer.Option(
        "--margin/--no-margin", help="Count its margin wallet.",
    )] = True,
    yes: Yes = False,
) -> None:
    """Add a collateral account to a risk unit (parent key). Members can never be removed."""
    session = _session(ctx)
    wallets = " and ".join(w for w, on in (("spot", spot), ("margin", margin)) if on) or "no"
    _confirm(yes, f"Add {email} to risk unit {group} with its {wallets} wallet(s) as collateral? "
                  "Members can never be removed and enabled wallets never disabled")

    async def work() -> None:
        async with session.client("parent") as client:
            await client.add_collateral_account(
                group_id=group, sub_email=email, enable_spot=spot, enable_margin=margin,
            )
        _stdout().print(f"Added {email} to risk unit {group}.")

    run_command(session, work)


@app.command()
def close(
    ctx: typer.Context,
    group: Annotated[int, typer.Argument(help="Risk unit (groupId).")],
    yes: Yes = False,
) -> None:
    """Close a fully repaid risk unit (credit key); all collateral accounts are unlinked."""
    session = _session(ctx)
    _confirm(yes, f"Close risk unit {group}? This cannot be undone")

    async def work() -> None:
        async with session.client("credit", group) as client:
            result = await client.close_risk_unit(group_id=group)
        status = f" ({display(result.status)})" if result.status is not None else ""
        _stdout().print(f"Closed risk unit {group}{status}.")

    run_command(session, work)


# -- history -----------------------------------------------------------------------------------


@app.command()
def history(
    ctx: typer.Context,
    source: Annotated[HistorySource, typer.Argument(help="Which history.", show_default=False)],
    since: Annotated[str | None, typer.Option(
        "--since", help="Start: ISO date/time (UTC unless zoned) or an age like 365d, 12h.",
        show_default=False,
    )] = None,
    until: Annotated[str | None, typer.Option(
        "--until", help="End, same forms [default: now].", show_default=False,
    )] = None,
    group_id: GroupOption = None,
    asset: Annotated[str | None, typer.Option(
        "--asset", help="Only this asset (interest, borrow-repay).", show_default=False,
    )] = None,
    type_: Annotated[str | None, typer.Option(
        "--type", help="borrow-repay: BORROW or REPAY; rebates: ADD, DEDUCT, INTEREST_OFFSET.",
        show_default=False,
    )] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = (
        OutputFormat.table
    ),
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of stdout.", show_default=False,
        dir_okay=False,
    )] = None,
    resume: Annotated[str | None, typer.Option(
        "--resume", help="Continue an interrupted export from the position it printed "
        "(the same --output: it must be the file that export left).",
        show_default=False,
    )] = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr [default: if a terminal].",
        show_default=False,
    )] = None,
) -> None:
    """Export a whole history, streamed through the paginating iterators."""
    from ._history import ExportRequest, ExportState, UsageProblem, export, stopped, summary

    session = _session(ctx)
    try:
        request = ExportRequest(
            kind=source.value,
            since=_time(since, "--since"),
            until=_time(until, "--until"),
            group_id=group_id, asset=asset, type=type_, format=fmt.value,
            output=None if output is None else str(output),
            resume=_position(resume),
            progress=progress,
        )
        request.check()
    except UsageProblem as exc:
        raise typer.BadParameter(str(exc)) from None
    state = ExportState()
    err = _stderr()

    def report(why: str) -> Callable[[], None]:
        def echo() -> None:
            if why == "Stopped" and state.rows_written == 0 and request.resume is None:
                return  # nothing was written: the error says it all, and a rerun starts over
            for line in stopped(request, state, why=why):
                typer.echo(line, err=True)

        return echo

    run_command(
        session, lambda: export(session, request, state, err),
        interrupted=report("Interrupted"), failed=report("Stopped"),
    )
    typer.echo(summary(request, state) + ".", err=True)


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueProblem as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None


def _position(value: str | None) -> Position | None:
    if value is None:
        return None
    try:
        return Position.from_dict(json.loads(value))
    except (ValueError, InstLoanError) as exc:
        raise typer.BadParameter(
            f"not a position printed by an interrupted export: {exc}", param_hint="--resume",
        ) from None


# -- watching ----------------------------------------------------------------------------------


@app.command("watch-ltv")
def watch_ltv(
    ctx: typer.Context,
    group_id: GroupOption = None,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.0, help="Seconds between polls (never faster than the budget).",
    )] = 10.0,
    alert_above: Annotated[Decimal, typer.Option(
        "--alert-above", parser=_alert_level,
        help="Alert when an LTV is above this ratio: 0.8 or 80% (at most 1).",
    )] = Decimal("0.8"),
    command: Annotated[str | None, typer.Option(
        "--exec", help="Run this shell command on each crossing (gets INSTLOAN_GROUP_ID, "
        "INSTLOAN_LTV) and keep watching, instead of exiting with status 3.",
        show_default=False,
    )] = None,
    max_polls: Annotated[int | None, typer.Option(
        "--max-polls", min=1, help="Stop after this many polls.", show_default=False,
    )] = None,
) -> None:
    """Poll LTVs, print changes, and alert when one crosses --alert-above."""
    from ._watch import watch_ltv as watch

    session = _session(ctx)

    async def work() -> ExitCode:
        async with session.client("parent", group_id) as client:
            return await watch(
                client, group_id=group_id, interval=interval, alert_above=alert_above,
                command=command, max_polls=max_polls, console=_stdout(), err_console=_stderr(),
                sleep=session.runtime.sleep,
            )

    code = run_command(session, work)
    if code != ExitCode.OK:
        raise typer.Exit(code)


app.command("exporter")(_exporter.exporter)

# -- the simulator -----------------------------------------------------------------------------


@app.command()
def demo(ctx: typer.Context) -> None:
    """A short guided tour on the built-in simulator (implies --sim)."""
    from ._demo import run_demo

    session = _session(ctx)
    run_command(session, lambda: run_demo(session.runtime.sim(), _stdout()))


@app.command()
def simulate(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(
        "--port", min=0, max=65535, help="TCP port (0: any free port).",
    )] = 8000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated exchange.")] = 0,
    history_days: Annotated[int, typer.Option(
        "--history-days", min=0, help="Days of prefilled history.",
    )] = SIM_HISTORY_DAYS,
    sapi_bans: Annotated[bool, typer.Option(
        "--sapi-bans/--no-sapi-bans",
        help="Ban an IP with 418 after repeated 429s on /sapi (Binance's sources conflict; "
             "--no-sapi-bans answers 429 only).",
    )] = True,
) -> None:
    """Serve the simulator on 127.0.0.1 over TCP; prints the base URL and test credentials."""
    from ._simulate import serve_forever

    session = _session(ctx)
    run_command(
        session,
        lambda: serve_forever(session.runtime, port=port, seed=seed, history_days=history_days,
                              sapi_bans=sapi_bans),
        interrupted=lambda: typer.echo("Simulator stopped.", err=True),
        interrupted_code=ExitCode.OK,
    )
    typer.echo("Simulator stopped.", err=True)
