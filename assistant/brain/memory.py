"""Recent turns of the conversation, so that follow-ups ("and in the bedroom?") make sense.

Turns expire together: after ``timeout_s`` without a turn the next question starts afresh. The
system prompt is not stored here; it is built once and sent first, unchanged, on every request,
because llama.cpp's server (and the in-process Llama) reuse the KV cache of an identical prefix.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class Memory:
    def __init__(self, max_turns: int = 6, timeout_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.timeout_s = timeout_s
        self.clock = clock
        self._turns: deque[tuple[str, str]] = deque(maxlen=max(0, max_turns))
        self._last: float | None = None

    def _expire(self) -> None:
        if self._last is not None and self.clock() - self._last > self.timeout_s:
            self._turns.clear()
            self._last = None

    def messages(self) -> list[Message]:
        """The remembered turns as chat messages, oldest first ([] once they have expired)."""
        self._expire()
        out: list[Message] = []
        for user, assistant in self._turns:
            out.append({"role": "user", "content": user})
            out.append({"role": "assistant", "content": assistant})
        return out

    def add(self, user: str, assistant: str) -> None:
        self._expire()
        if self._turns.maxlen:
            self._turns.append((user, assistant))
        self._last = self.clock()

    def clear(self) -> None:
        self._turns.clear()
        self._last = None

    def __len__(self) -> int:
        self._expire()
        return len(self._turns)


def build_messages(system_prompt: str, history: list[Message], text: str) -> list[Message]:
    return [{"role": "system", "content": system_prompt}, *history,
            {"role": "user", "content": text}]
