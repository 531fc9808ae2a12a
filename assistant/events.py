"""Pipeline events. Stages never call LEDs, logs or metrics; those subscribe here."""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_LOGGER = logging.getLogger(__name__)


class EventType(enum.StrEnum):
    READY = "ready"
    WAKE = "wake"
    WAKE_CHECK = "wake_check"
    """The second stage's verdict on the last wake: ok, and what whisper heard."""
    LISTENING = "listening"
    SPEECH_START = "speech_start"
    END_OF_SPEECH = "end_of_speech"
    TIMEOUT = "timeout"
    TRANSCRIPT = "transcript"
    INTENT = "intent"
    ACTIONS = "actions"
    REPLY = "reply"
    SPEAKING = "speaking"
    DONE = "done"
    ERROR = "error"
    STATE = "state"
    """An appliance state change for LEDs: idle, listening, thinking, speaking, error, muted."""


@dataclass
class Event:
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out; a failing subscriber is logged and never stops the pipeline."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def emit(self, type_: EventType, **data: Any) -> Event:
        event = Event(type_, data)
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:  # a LED or log sink must not break the assistant
                _LOGGER.exception("event subscriber failed on %s", type_.value)
        return event
