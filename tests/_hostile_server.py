"""A loopback HTTP/1.1 server whose every byte the test decides: drops, drips, garbage.

Each test passes a handler ``async def handler(conn, request) -> None`` that answers (or
refuses to answer) one parsed request; ``GET /api/v3/time`` is answered for it unless the
handler is told otherwise, so signed calls can learn the clock. The server records every
request it read, so a test can say "the write reached the server exactly once"::

    async def drop(conn: Conn, request: Request) -> None:
        conn.close()  # read the request, then hang up without an answer

    async with HostileServer(drop) as server:
        ...
        assert server.count("DELETE") == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query or self.body.decode(), keep_blank_values=True))


@dataclass
class Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    # When this connection last finished an answer: the server's idle clock.
    idle_since: float = field(default_factory=time.monotonic)

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()

    async def until_closed(self) -> None:
        """Wait until the client hangs up, answering nothing."""
        while await self.reader.read(65536):
            pass

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    def answer(self, body: object, *, status: int = 200, headers: dict[str, str] | None = None,
               ) -> None:
        raw = json.dumps(body).encode()
        head = {"Content-Type": "application/json", "Content-Length": str(len(raw)),
                **(headers or {})}
        self.write(_head(status, head) + raw)
        self.idle_since = time.monotonic()


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


Handler = Callable[[Conn, Request], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if length := int(headers.get("content-length", "0")):
        body = await reader.readexactly(length)
    url = urlsplit(target)
    return Request(method, url.path, url.query, headers, body)


class HostileServer:
    def __init__(self, handler: Handler, *, answer_time: bool = True) -> None:
        self._handler = handler
        self._answer_time = answer_time
        self.requests: list[Request] = []
        self.open_connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def stop_listening(self) -> None:
        """Refuse new connections; the open ones carry on."""
        assert self._server is not None
        self._server.close()

    def count(self, method: str, path_end: str = "") -> int:
        return sum(1 for r in self.requests if r.method == method and r.path.endswith(path_end))

    async def __aenter__(self) -> HostileServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.open_connections += 1
        conn = Conn(reader, writer)
        try:
            while not writer.is_closing():
                request = await _read_request(reader)
                if request is None:
                    break
                if self._answer_time and request.path == "/api/v3/time":
                    conn.answer({"serverTime": int(time.time() * 1000)})
                    continue
                self.requests.append(request)
                await self._handler(conn, request)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Stopped by __aexit__: end quietly (asyncio logs a cancelled connection task).
            pass
        finally:
            self.open_connections -= 1
            self._writers.discard(writer)
            writer.close()
            self._tasks.discard(task)


async def wait_until(condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Poll ``condition`` until it holds; a guard against hangs, not a measured wait."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
