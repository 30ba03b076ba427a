"""An offline Binance Institutional Loan exchange, for tests, demos and users' own bots.

Written from the API reference, not from the client: it imports nothing private from
``binance_instloan``, so it catches the client's mistakes instead of sharing them.

    sim = Simulator(seed=7)
    async with sim.client() as client:        # in-process, no sockets
        units = await client.get_ltv_details()
    async with serve(sim) as base_url:         # real TCP on 127.0.0.1 (extra "sim")
        ...

A bot is tested against what Binance documents, no more and no less: a rule the simulator
invented would fail good code, a rule it skipped would pass bad code. The section numbers
below are those of the API reference (``INSTITUTIONAL_LOAN_API.md``).

Rules it enforces, and where they come from:

- §0: the 17 endpoints and ``/api/v3/time``, each with its documented method, weight and
  IP or UID budget, and the roles (parent, credit, collateral) that may call it.
- §1.2: GET parameters in the query; POST/DELETE in the query, a form body or both, the
  query winning; the API key in ``X-MBX-APIKEY`` (-2014 malformed, -2015 unknown).
- §1.3: every loan endpoint is SIGNED: ``timestamp`` and ``signature`` are mandatory.
- §1.4: HMAC-SHA256 (hex, any case), RSA PKCS#1 v1.5 and Ed25519 (base64) signatures, over
  the query then the body as received, joined with no separator, ``signature`` left out.
- §1.5: since 2026-01-15 the payload is percent-encoded before it is signed: a signature
  over the unencoded form, or bytes no encoder writes, is -1022.
- §1.6: ``timestamp`` in ms or µs, at most 1000 ms ahead and ``recvWindow`` behind (-1021);
  ``recvWindow`` defaults to 5000, takes 3 decimals and at most 60000 (-1131).
- §1.7: per-endpoint weight budgets per window (12,000 per IP, 180,000 per UID, 6,000 per IP
  on ``/api/*``), the used-weight headers, 429 with ``Retry-After``, 418 bans.
- §1.9: ``{"code", "msg"}`` errors; ``current``/``size`` paging (size 1..100), answers of
  ``{"total", "rows"}``, newest first; amounts as strings or bare numbers as documented.
- §1.11: history windows: 7 days by default, at most 100 days (-1127), interest-history's
  ``[max(startTime, now - 30 d), now]`` when only ``startTime`` is sent.
- §2.11: borrow-repay answers only the 30 days (with ``asset``) or 7 days (without) before
  ``endTime``: a longer window, up to 100 days, is narrowed without an error.
- §2.1-§2.15: each endpoint's rules and errors: ltv-details by role, close only when repaid
  (-27018), edit-member flags only FALSE to TRUE, transfer-out up to min(unit max, account max)
  (-27028), borrow up to the max borrowable (-27009), repay of min(available, requested),
  ``repayFrom``, max-borrowable's ``groupId`` rules and null for other callers, hourly
  interest (``interestRate`` is hourly).

Where the reference is silent or conflicting, what the simulator chose:

- §1.5 (silent: ``+`` or ``%20`` for a space, lower-case hex): any spelling that is a valid
  RFC 3986 query is accepted if signed as sent, ``+`` read as a space, as ``urlencode`` and
  Binance's own Python sample send it. A raw space, non-ASCII byte or broken ``%`` escape
  was never encoded: -1022.
- §1.4 (silent: a base64 signature sent without percent-encoding): accepted, since base64
  has no spaces a raw ``+`` could stand for.
- §1.7 (conflict: 418 on ``/sapi``): ``sapi_bans=True`` by default, as the SAPI General Info
  template (§1.0) says; a ban only follows requests sent after 429s, so it cannot fail a bot
  that backs off. ``sapi_bans=False`` plays the CAAS page: ``/sapi/*`` always 429.
- §1.7 (silent: how many 429s ban, and for how long): ``ban_after_violations=5`` 429s to one
  IP within one window ban it for ``ban_seconds=120``, the shortest documented ban, without
  escalation.
- §2.11 (conflict: 100 days versus 30/7 days): both: over 100 days is -1127, anything
  shorter is narrowed silently.
- §2.1 (conflict: weight 200 or 3000): 200, the current docs. §2.14, §2.16 (no weight
  documented): 100 and 200 (IP), as the reference suggests.
- §0 (silent: a wrong role's error): -1002 (HTTP 401); ltv-details and max-borrowable answer
  empty instead, as documented.
- §1.10 (silent: which generic code): unknown path 404 and wrong method 405, both -1099;
  an unexpected parameter -1104; an empty one -1105; a malformed value -1100; an
  out-of-range one -1130; ``startTime`` after ``endTime`` -3011; a zero amount -27000, more
  than 8 decimals -27016; at most 5 collateral accounts (-27002).
- §2.10 (silent: repaying more than is owed): repay moves min(available, requested, owed),
  interest first; REPAY rows come back as ``NORMAL_REPAY`` or ``FORCE_REPAY`` (§2.11).
- §2.7 (conflict: transfer-out "moves min()" versus -27028): a request above the maximum is
  refused with -27028; otherwise exactly the requested amount moves.
- §2.3 (silent: ``TRUE`` or ``true``): booleans and enums are matched case-insensitively.
- §1.8 (503 texts from other products): only injected with :meth:`Simulator.add_fault`.
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
