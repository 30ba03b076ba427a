"""Serving a simulator over real TCP with uvicorn (the ``sim`` extra)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._simulator import Simulator

# Injected resets end a response on purpose; uvicorn reports each one as an application error.
_RESET_LOG_TEXT: Final = "ASGI callable returned without completing response."


class _DropInjectedResets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _RESET_LOG_TEXT


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:
        raise RuntimeError(
            'serving the simulator over TCP needs uvicorn: pip install ".[sim]"'
        ) from exc
    return uvicorn


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every answer (headers, then body) waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serve(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> AsyncIterator[str]:
    """Serve ``sim`` on ``host:port`` (0: any free port) while the block runs; yields the base URL.

    The server runs as a task of the current event loop and is stopped, connections closed,
    when the block exits.
    """
    uvicorn = _uvicorn()
    # Binding here rather than in uvicorn turns a busy port into an OSError for the caller
    # instead of uvicorn's SystemExit inside a task.
    sock = _bind(host, port)
    # log_config=None: a server embedded in someone's program leaves their logging set-up alone.
    config = uvicorn.Config(
        sim.app, log_config=None, log_level=log_level, access_log=False, lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    log_filter = _DropInjectedResets()
    error_log = logging.getLogger("uvicorn.error")
    error_log.addFilter(log_filter)
    stopping = asyncio.Event()
    sim.app.stopping = stopping
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
                raise RuntimeError("the simulator server stopped during startup")
            await asyncio.sleep(0.005)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{shown}:{bound_port}"
    finally:
        server.should_exit = True
        stopping.set()
        try:
            await task
        finally:
            if sim.app.stopping is stopping:
                sim.app.stopping = None
            error_log.removeFilter(log_filter)
            sock.close()


def run(sim: Simulator, host: str = "127.0.0.1", port: int = 8000, *,
        log_level: str = "info") -> None:
    """Serve ``sim`` until interrupted (Ctrl-C or SIGTERM), then return; blocking, for
    ``binance-instloan simulate``."""
    uvicorn = _uvicorn()
    error_log = logging.getLogger("uvicorn.error")
    log_filter = _DropInjectedResets()
    error_log.addFilter(log_filter)
    try:
        config = uvicorn.Config(sim.app, host=host, port=port, log_level=log_level,
                                lifespan="off")
        # uvicorn shuts down gracefully on Ctrl-C, then re-raises it; it was a request to stop.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    finally:
        error_log.removeFilter(log_filter)
