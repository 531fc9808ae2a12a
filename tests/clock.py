"""A clock a test moves by hand (``clock.now += 60``), for code that takes a ``clock``."""

from __future__ import annotations


class Clock:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
