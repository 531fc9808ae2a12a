"""A pure circuit breaker for the cloud path: after repeated failures, skip the cloud at once.

closed -> (``failures`` failures in a row) -> open -> (``cooldown_s`` later) -> half-open: one
probe request is let through; its success closes the breaker, its failure opens it again. While
open, ``allow()`` answers immediately, so a dead network costs no time per question.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

_LOGGER = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, failures: int = 2, cooldown_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold = max(1, failures)
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._probing or self.clock() - self._opened_at >= self.cooldown_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a request go out now? In half-open, only the one probe may."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._probing:
            self._probing = True
            _LOGGER.info("Cloud breaker half-open: one probe request")
            return True
        return False

    def record_success(self) -> None:
        if self._opened_at is not None:
            _LOGGER.info("Cloud breaker closed: the probe succeeded")
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            if self._opened_at is None or self._probing:
                _LOGGER.warning("Cloud breaker open for %.0f s after %d failure(s)",
                                self.cooldown_s, self._failures)
            self._opened_at = self.clock()
            self._probing = False
