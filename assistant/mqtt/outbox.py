"""The bounded queue between the assistant and the network: putting never blocks.

Two lanes, each with its drop policy:

- retained messages (states, discovery, availability): only the newest per topic waits, since
  an older state is worth nothing once a newer one exists; past ``retained_max`` topics the
  oldest is dropped and counted (every reconnect republishes everything anyway);
- transient messages (commands to devices, answers, wake claims): first in, first out, up to
  ``transient_max``; when full the oldest is dropped and counted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: str
    retain: bool = False
    qos: int = 1


class Outbox:
    def __init__(self, retained_max: int = 4096, transient_max: int = 256):
        self.retained_max = retained_max
        self.transient_max = transient_max
        self._retained: OrderedDict[str, Outgoing] = OrderedDict()
        self._transient: deque[Outgoing] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        """Messages dropped by either lane's policy since start."""

    def put(self, message: Outgoing) -> bool:
        """Queue a message; False when an older one had to be dropped to make room."""
        with self._cond:
            dropped = False
            if message.retain:
                self._retained.pop(message.topic, None)
                self._retained[message.topic] = message
                if len(self._retained) > self.retained_max:
                    self._retained.popitem(last=False)
                    dropped = True
            else:
                self._transient.append(message)
                if len(self._transient) > self.transient_max:
                    self._transient.popleft()
                    dropped = True
            self.dropped += dropped
            self._cond.notify()
            return not dropped

    def get(self, timeout: float | None = None) -> Outgoing | None:
        """The next message, transient ones first (a command is waited for; a state is not);
        None after ``timeout`` or once closed."""
        with self._cond:
            if not self._wait_for_item(timeout):
                return None
            if self._transient:
                return self._transient.popleft()
            return self._retained.popitem(last=False)[1]

    def _wait_for_item(self, timeout: float | None) -> bool:
        return self._cond.wait_for(lambda: self._closed or bool(self._transient or self._retained),
                                   timeout) and not self._closed

    def put_back(self, message: Outgoing) -> None:
        """A message that could not be sent goes back to the front of its lane, unless a newer
        one for the same topic is already waiting."""
        with self._cond:
            if message.retain:
                if message.topic not in self._retained:
                    self._retained[message.topic] = message
                    self._retained.move_to_end(message.topic, last=False)
            else:
                self._transient.appendleft(message)
                if len(self._transient) > self.transient_max:
                    self._transient.pop()
                    self.dropped += 1
            self._cond.notify()

    def clear_transient(self) -> int:
        with self._cond:
            count = len(self._transient)
            self._transient.clear()
            return count

    def __len__(self) -> int:
        with self._cond:
            return len(self._retained) + len(self._transient)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
