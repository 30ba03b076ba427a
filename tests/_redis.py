"""What the tests do when they need Redis and this machine has none.

Locally they skip, and ``tests/conftest.py`` sums the skips up in one line at the end of the
run, so nobody mistakes a green run without Redis for the full suite. Under CI (``CI=true``)
they fail: CI must prove the fleet limiter, not quietly leave it out.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

REDIS_SERVER = shutil.which("redis-server")
# Every Redis skip reason starts with this; conftest counts the skips by it.
SKIP_PREFIX = "needs Redis"
HOW_TO_GET_IT = "install redis-server (apt install redis-server) or run bash .ci/run"


def redis_missing(reason: str) -> NoReturn:
    """Skip the test that needs Redis (fail it under CI), saying why and how to fix it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must provide Redis (.ci/run installs redis-server)")
    pytest.skip(f"{SKIP_PREFIX}: {reason}")
