"""Running one command: its event loop, its log level, and what its failures print."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer

from ._failures import ExitCode, describe
from ._session import Session

T = TypeVar("T")


def run_command(
    session: Session,
    work: Callable[[], Coroutine[Any, Any, T]],
    *,
    interrupted: Callable[[], None] | None = None,
    interrupted_code: ExitCode = ExitCode.INTERRUPTED,
    failed: Callable[[], None] | None = None,
) -> T:
    """Run one command's coroutine; turn errors into one line and an exit code.

    ``interrupted`` reports after Ctrl-C (then the exit code is ``interrupted_code``);
    ``failed`` adds to the error line what the command had done before it failed.
    """
    handler: logging.Handler | None = None
    logger = logging.getLogger("binance_instloan")
    previous_level = logger.level
    if session.options.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    else:
        handler = WaitNotice()
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        return asyncio.run(work())
    except KeyboardInterrupt:
        if interrupted is not None:
            interrupted()
        else:
            typer.echo("Interrupted.", err=True)
        raise typer.Exit(interrupted_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other command-line tools do.
        silence_stdout()
        raise typer.Exit(ExitCode.OK) from None
    except Exception as exc:
        fail(session, exc, after=failed)
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)


class WaitNotice(logging.Handler):
    """Says on stderr why the command is silent when the client waits for rate budget.

    Only the client's rate-budget wait records (logged at INFO when a wait is longer than a
    couple of seconds) are shown; the rest of its log stays behind ``--debug``.
    """

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        if not hasattr(record, "rate_budget_wait"):
            return
        try:
            sys.stderr.write(f"Note: {record.getMessage()}; it continues by itself.\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr gone: the wait itself still goes on
            pass


def silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # not a real file (a test runner's buffer): nothing will complain at exit


def fail(
    session: Session, exc: BaseException, *, after: Callable[[], None] | None = None,
) -> NoReturn:
    failure = describe(exc)
    if session.options.debug:
        traceback.print_exception(exc, file=sys.stderr)
    typer.echo(f"error: {failure.line}", err=True)
    for line in failure.details:
        typer.echo(f"  {line}", err=True)
    if after is not None:
        after()
    raise typer.Exit(failure.exit_code)
