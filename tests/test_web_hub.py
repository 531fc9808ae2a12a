"""The fan-out to browsers never blocks the bus: bounded queues, drop-oldest, resync."""

from __future__ import annotations

import json
import time

import pytest

from assistant.events import EventBus, EventType
from assistant.web.hub import Client, Hub, TooManyClients


def test_a_browser_that_stops_reading_loses_the_oldest_and_is_told_to_resync():
    hub = Hub()
    bus = EventBus()
    bus.subscribe(hub.on_event)
    client = hub.subscribe()
    started = time.monotonic()
    for i in range(1000):
        bus.emit(EventType.TRANSCRIPT, text=f"n{i}")
    assert time.monotonic() - started < 5
    assert client.dropped == 1000 - client.size
    assert client.get(0) == ""  # resync first
    first = json.loads(client.get(0) or "{}")
    assert first["data"]["text"] == f"n{1000 - client.size}"


def test_clients_are_capped_and_closing_wakes_readers():
    hub = Hub(max_clients=2)
    a, _b = hub.subscribe(), hub.subscribe()
    with pytest.raises(TooManyClients):
        hub.subscribe()
    assert hub.watching.is_set()
    hub.unsubscribe(a)
    hub.subscribe()
    hub.close()
    assert not hub.watching.is_set()
    assert Client().get(0.01) is None


def test_no_browser_no_work():
    hub = Hub()
    hub.publish("level", {"dbfs": -40.0})  # nobody listens: nothing is serialized or kept
    client = hub.subscribe()
    assert client.get(0.01) is None
