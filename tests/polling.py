"""Waiting on threads in tests: poll a condition, bounded, never assert on time."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT_S = 3.0


def wait_for(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()
