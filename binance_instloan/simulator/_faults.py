"""Injected faults: what can go wrong between a client and Binance, on demand.

A fault matches requests by path and method, hits ``times`` of them (or a random share), and
either replaces the answer before the exchange sees the request, or lets the exchange execute it
first and then loses or spoils the answer: the "unknown outcome" a client must survive without
sending a borrow twice.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Final, Literal, get_args

import attrs

from ._http import MESSAGES, Outcome, Response, error_response

FaultKind = Literal[
    "latency", "status", "empty_5xx", "html_403", "error_code", "read_timeout", "reset",
    "connect_error", "unreadable_2xx", "html_5xx", "unknown_code",
]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)

# The 503 texts of reference 1.8, for ``add_fault("status", status=503, message=...)``.
MSG_503_UNKNOWN: Final = "Unknown error, please check your request or try again later."
MSG_503_UNAVAILABLE: Final = "Service Unavailable."
MSG_503_INTERNAL: Final = "Internal error; unable to process your request. Please try again."

# Kinds that may let the exchange run the request before the answer goes wrong.
_MAY_EXECUTE: Final = frozenset({
    "status", "empty_5xx", "read_timeout", "reset", "unreadable_2xx", "html_5xx", "unknown_code",
})
# Over TCP a read_timeout holds the answer this long unless ``latency`` says otherwise.
TCP_READ_TIMEOUT_HOLD_SECONDS: Final = 30.0

_WAF_PAGE: Final = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
    b'"http://www.w3.org/TR/html4/loose.dtd">\n'
    b'<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=iso-8859-1">\n'
    b"<TITLE>ERROR: The request could not be satisfied</TITLE>\n</HEAD><BODY>\n"
    b"<H1>403 ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n"
    b'<HR noshade size="1px">\nRequest blocked.\n'
    b"We can't connect to the server for this app or website at this time.\n"
    b"</BODY></HTML>\n"
)
# What a load balancer in front of Binance answers when the backend does not.
_GATEWAY_PAGE: Final = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


@attrs.define(eq=False)
class Fault:
    """One injected fault; ``hits`` counts the requests it has hit so far.

    Kinds (``execute`` only matters where it says so; "executed" means the exchange ran the
    request, charged its weight and recorded any state change):

    - ``latency``: wait ``latency`` seconds, then answer normally.
    - ``status``: HTTP ``status`` (500) with ``{"code": code or -1000, "msg": message}``;
      pass one of the ``MSG_503_*`` texts with ``status=503``. Executed first if ``execute``.
    - ``empty_5xx``: HTTP ``status`` (500) with an empty body. Executed first if ``execute``.
    - ``html_403``: a WAF block page in HTML. Never executed.
    - ``error_code``: HTTP ``status`` (400) with Binance ``code``/``message``, e.g. -1021,
      -1003 (add ``status=429``), -1006, -1007. Never executed.
    - ``read_timeout``: executed if ``execute``, then no answer: in-process the transport
      raises ``httpx.ReadTimeout`` (after ``latency`` seconds if given); over TCP the server
      holds the answer ``latency`` seconds (default 30).
    - ``reset``: executed if ``execute``, then the connection breaks mid-answer
      (``httpx.RemoteProtocolError``).
    - ``connect_error``: never reaches the exchange; in-process ``httpx.ConnectError``. Over TCP
      the connection was already accepted, so the answer is cut as for ``reset``.
    - ``unreadable_2xx``: executed if ``execute``; a 2xx answer (``status``, 200) whose body
      cannot be read: the exchange's own body cut in half, or ``message`` as the body (an
      HTML page, the zh docs' ``"status":success``). An exchange refusal (non-2xx) passes
      through unchanged: Binance does not answer 2xx to what it refused.
    - ``html_5xx``: HTTP ``status`` (502) with a load balancer's HTML page. Executed first if
      ``execute``.
    - ``unknown_code``: HTTP ``status`` (400) with ``code`` (-1000) and ``message``, answers
      that prove nothing (-1000, -1001, -3000). Executed first if ``execute``.
    """

    kind: FaultKind
    path: str | None = None
    method: str | None = None
    times: int | None = 1
    probability: float | None = None
    status: int | None = None
    message: str | None = None
    code: int | None = None
    latency: float = 0.0
    execute: bool = True
    hits: int = 0

    def __attrs_post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {self.kind!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for no limit")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.latency < 0:
            raise ValueError("latency must not be negative")
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    @property
    def executes(self) -> bool:
        """Whether the exchange runs the request before this fault spoils the answer."""
        return self.kind == "latency" or (self.execute and self.kind in _MAY_EXECUTE)

    def matches(self, method: str, path: str) -> bool:
        return (self.path is None or self.path == path) and (
            self.method is None or self.method == method
        )

    def outcome(self, executed: Response | None) -> Outcome:
        """The client's view once this fault hits; ``executed`` is the exchange's own answer."""
        kind = self.kind
        if kind == "status":
            code = self.code if self.code is not None else -1000
            msg = self.message if self.message is not None else MESSAGES[-1000]
            return Outcome(error_response(self.status or 500, code, msg))
        if kind == "empty_5xx":
            return Outcome(Response(self.status or 500, b""))
        if kind == "html_403":
            return Outcome(
                Response(self.status or 403, _WAF_PAGE, (("Content-Type", "text/html"),))
            )
        if kind == "error_code":
            return Outcome(self._error_code_response())
        if kind == "unreadable_2xx":
            return Outcome(self._unreadable(executed))
        if kind == "html_5xx":
            return Outcome(
                Response(self.status or 502, _GATEWAY_PAGE, (("Content-Type", "text/html"),))
            )
        if kind == "unknown_code":
            code = self.code if self.code is not None else -1000
            msg = self.message if self.message is not None else MESSAGES.get(code, MESSAGES[-1000])
            return Outcome(error_response(self.status or 400, code, msg))
        # The network faults: the client never reads a whole answer, whatever it was.
        answer = executed if executed is not None else error_response(500, -1000, MESSAGES[-1000])
        if kind == "read_timeout":
            return Outcome(answer, network="read_timeout", delay=self.latency)
        if kind == "reset":
            return Outcome(answer, network="reset")
        return Outcome(answer, network="connect_error")

    def _unreadable(self, executed: Response | None) -> Response:
        if executed is not None and not 200 <= executed.status < 300:
            return executed
        if self.message is not None:
            body = self.message.encode()
        elif executed is not None:
            body = executed.body[: max(len(executed.body) // 2, 1)]
        else:
            body = b'{"transactionId":'
        headers = executed.headers if executed is not None else ()
        return Response(self.status or 200, body, headers)

    def _error_code_response(self) -> Response:
        code = self.code if self.code is not None else -1000
        msg = self.message if self.message is not None else MESSAGES.get(code, MESSAGES[-1000])
        status = self.status or 400
        # Binance never sends a 429 or 418 without saying how long to back off.
        headers = (("Retry-After", "1"),) if status in (418, 429) else ()
        return error_response(status, code, msg, headers)


class FaultSet:
    """The active faults, in the order they were added; the first one that hits wins."""

    __slots__ = ("_faults", "_rng")

    def __init__(self, seed: int) -> None:
        self._faults: list[Fault] = []
        # Its own generator, so injecting faults never shifts the exchange's random draws.
        self._rng = random.Random(f"binance-instloan-sim-faults:{seed}")

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        if fault in self._faults:
            self._faults.remove(fault)

    def clear(self) -> None:
        self._faults.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault that hits this request, if any, counted as a hit."""
        for fault in self._faults:
            if not fault.matches(method, path):
                continue
            if fault.probability is not None and self._rng.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.exhausted:
                self._faults.remove(fault)
            return fault
        return None
