"""Responses as the simulator builds them, and the JSON encoding Binance uses.

A request's fate is an :class:`Outcome`: the response the exchange produced, plus, when a fault
was injected, what the network does with it (never delivered, cut halfway, late).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

NetworkFault = Literal["read_timeout", "reset", "connect_error"]

_JSON_TYPE: Final = ("Content-Type", "application/json;charset=UTF-8")

# Canonical texts of the generic codes (reference 1.10), used when a fault gives only a code.
MESSAGES: Final[Mapping[int, str]] = {
    -1000: "An unknown error occurred while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests queued.",
    -1004: "Server is busy, please wait and try again",
    -1006: "An unexpected response was received from the message bus. Execution status unknown.",
    -1007: "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
    -1008: "Spot server is currently overloaded with other requests. "
    "Please try again in a few minutes.",
    -1016: "This service is no longer available.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1099: "Not found, authenticated, or authorized",
    -3044: "System busy.",
}


@attrs.frozen
class Response:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def with_header(self, name: str, value: str) -> Response:
        return attrs.evolve(self, headers=(*self.headers, (name, value)))


@attrs.frozen
class Outcome:
    """What the client gets: a response, unless ``network`` says the connection fails."""

    response: Response
    network: NetworkFault | None = None
    # read_timeout: how long the server sits on the answer (0: in-process at once, over TCP
    # for TCP_READ_TIMEOUT_HOLD_SECONDS).
    delay: float = 0.0


def json_response(status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, encode_json(body), (_JSON_TYPE, *headers))


def error_response(
    status: int, code: int, msg: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return json_response(status, {"code": code, "msg": msg}, headers)


def encode_json(value: Any) -> bytes:
    """Compact JSON where a ``Decimal`` becomes a bare number literal with its exact digits.

    Binance's examples show money both as strings and as bare numbers (reference 1.9); the
    exchange picks per field by returning ``str`` or ``Decimal``. ``str(Decimal)`` is always a
    valid JSON number for finite values, ``0E-8`` included.
    """
    text = _ENCODER.encode(value)
    if _OPEN_JSON in text:
        text = text.replace(_OPEN_JSON, "").replace(_CLOSE_JSON, "")
    return text.encode("ascii")


def _default(value: Any) -> Any:
    # The C encoder cannot write raw text, so a Decimal travels as a string between control
    # characters, and the quotes and marks are cut out afterwards: two str.replace passes
    # instead of encoding every value in Python.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot encode {value!r} as JSON")
        return f"{_OPEN}{value}{_CLOSE}"
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


# Control characters no exchange string holds, and how the encoder writes them with the quotes.
_OPEN: Final = "\x00\x01"
_CLOSE: Final = "\x02\x00"
_OPEN_JSON: Final = '"\\u0000\\u0001'
_CLOSE_JSON: Final = '\\u0002\\u0000"'
# The exchange answers with trees, never cycles: skipping the circularity check is cheaper.
_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), allow_nan=False, check_circular=False, default=_default
)
