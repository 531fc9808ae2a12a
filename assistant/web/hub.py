"""Fan-out from the event bus to the browsers' event streams, never blocking the bus.

Each browser has a bounded queue. When one is full (a phone on a bad link stops reading), the
oldest message is dropped and the stream is told to resync: the page then fetches the state
afresh, so a slow reader loses nothing it cannot get back and never slows the audio loop.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from assistant.brain.types import ActionResult
from assistant.events import Event

_LOGGER = logging.getLogger(__name__)

CLIENT_QUEUE = 256
MAX_CLIENTS = 8
"""Each stream holds a server thread; a household needs a few."""
LEVEL_EVERY_S = 0.2
STATES_EVERY_S = 1.0
"""Inputs (motion, a reed switch) and covers finishing their travel change with no action;
sensors (a file read each, a 1-wire bus scan) are looked at with their readings, each minute."""
READINGS_EVERY_S = 60.0
LEVEL_STEP_DB = 1.0
"""A level within this of the last one sent is not sent again."""


class TooManyClients(Exception):
    pass


class Client:
    def __init__(self, size: int = CLIENT_QUEUE):
        self.size = size
        self.dropped = 0
        self.closed = False
        self._items: deque[str] = deque()
        self._cond = threading.Condition()
        self._gap = False

    def put(self, message: str) -> None:
        with self._cond:
            if len(self._items) >= self.size:
                self._items.popleft()  # drop-oldest: the newest state matters most
                self.dropped += 1
                self._gap = True
            self._items.append(message)
            self._cond.notify()

    def get(self, timeout: float) -> str | None:
        """The next message; '' when messages were dropped (resync); None on timeout/close."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            if self._gap:
                self._gap = False
                return ""
            return self._items.popleft() if self._items else None

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Hub:
    def __init__(self, max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.time):
        self.max_clients = max_clients
        self.clock = clock
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self.watching = threading.Event()
        """Set while at least one browser is connected (the sampler runs faster then)."""

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def subscribe(self) -> Client:
        with self._lock:
            if len(self._clients) >= self.max_clients:
                raise TooManyClients
            client = Client()
            self._clients.append(client)
            self.watching.set()
        return client

    def unsubscribe(self, client: Client) -> None:
        client.close()
        with self._lock:
            if client in self._clients:
                self._clients.remove(client)
            if not self._clients:
                self.watching.clear()

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """One message to every browser, stamped with the wall time it was published (ms), which
        the page compares with its own clock on arrival (the event-to-browser latency)."""
        with self._lock:
            clients = list(self._clients)
        if not clients:
            return
        message = json.dumps({"type": kind, "t": self.clock() * 1000.0, "data": data},
                             default=str, ensure_ascii=False)
        for client in clients:
            client.put(message)

    def on_event(self, event: Event) -> None:
        self.publish(event.type.value, event.data)

    def on_result(self, result: ActionResult) -> None:
        """The executor's listener: a device changed."""
        self.publish("device", {"id": result.action.device, "state": result.state,
                                "attributes": result.attributes})

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
            self.watching.clear()
        for client in clients:
            client.close()


class Sampler:
    """One thread for what changes without an event: the microphone level (5 per second) and
    the devices' states (each second) while a browser watches, and the sensors' readings for
    the charts (each minute, always)."""

    def __init__(self, hub: Hub, registry: Any, history: Any, level: Any = None,
                 clock: Callable[[], float] = time.monotonic):
        self.hub = hub
        self.registry = registry
        self.history = history
        self.level = level
        self.clock = clock
        self._stop = threading.Event()
        self._states: dict[str, Any] = {}
        self._sent_level: float | None = None
        self._thread = threading.Thread(target=self._run, name="web-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.hub.watching.set()  # wakes the thread if it waits for a browser
        self._thread.join(timeout=5)

    def _run(self) -> None:
        next_reading = self.clock()
        next_states = next_level = 0.0
        while not self._stop.is_set():
            now = self.clock()
            if now >= next_reading:
                self._read_sensors()
                next_reading = now + READINGS_EVERY_S
            if self.hub.watching.is_set():
                if now >= next_states:
                    self._send_states()
                    next_states = now + STATES_EVERY_S
                if self.level is not None and now >= next_level:
                    self._send_level()
                    next_level = now + LEVEL_EVERY_S
                due = min(next_reading, next_states, next_level if self.level else next_states)
                self._stop.wait(max(0.0, due - self.clock()))
            else:
                self._states.clear()  # a new browser starts from a fresh snapshot
                self._sent_level = None
                self.hub.watching.wait(max(0.0, next_reading - self.clock()))

    def _read_sensors(self) -> None:
        for device in self.registry:
            if device.kind == "sensor":
                try:
                    value = device.state
                except Exception:  # a sensor read must not stop the sampler
                    _LOGGER.debug("reading %s failed", device.id, exc_info=True)
                    continue
                if isinstance(value, int | float):
                    self.history.record_reading(device.id, float(value))
                if self.hub.watching.is_set():
                    self._changed(device.id, (value, device.attributes))

    def _changed(self, device_id: str, snapshot: tuple[Any, Any]) -> None:
        if self._states.get(device_id) != snapshot:
            if device_id in self._states:
                self.hub.publish("device", {"id": device_id, "state": snapshot[0],
                                            "attributes": snapshot[1]})
            self._states[device_id] = snapshot

    def _send_states(self) -> None:
        for device in self.registry:
            if device.kind == "sensor":
                continue
            try:
                snapshot = (device.state, device.attributes)
            except Exception:
                continue
            self._changed(device.id, snapshot)

    def _send_level(self) -> None:
        level = self.level.level_dbfs()
        if level is None or not math.isfinite(level):
            return
        if self._sent_level is None or abs(level - self._sent_level) >= LEVEL_STEP_DB:
            self._sent_level = level
            self.hub.publish("level", {"dbfs": round(level, 1)})
