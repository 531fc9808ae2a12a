"""Every device's state on the broker, retained, whatever changed it: voice, Home Assistant, the
button, a sensor edge, a cover that stopped, a device over MQTT that reported.

The registry tells ``StatePublisher.on_device`` after each change (``DeviceRegistry.listeners``);
sensors that read a file have no edges, so they are read every ``sensor_poll_s`` and published
when their value moved. Payloads follow Home Assistant's defaults (``discovery``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from assistant.config import DeviceConfig
from assistant.mqtt.settings import Topics

_LOGGER = logging.getLogger(__name__)

SENSOR_POLL_S = 30.0
"""How often sensors without edges (files, the CPU temperature) are read for publication."""
NONE = "None"
"""Home Assistant's payload for "unknown" on every platform used here."""

_UPPER = {"on": "ON", "off": "OFF", "locked": "LOCKED", "unlocked": "UNLOCKED", "locking": "LOCKING",
          "unlocking": "UNLOCKING", "jammed": "JAMMED"}


def state_messages(topics: Topics, device: DeviceConfig, state: Any,
                   attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """(topic, payload) pairs that say a device's state, as its discovery config reads them."""
    topic = topics.device(device.id)
    if state is None:
        out = [(topic, NONE)]
    elif device.kind == "sensor":
        out = [(topic, _number(state))]
    elif device.kind == "cover":
        out = [(topic, str(state))]
    else:
        out = [(topic, _UPPER.get(str(state), str(state)))]
    if device.kind == "light" and device.dimmable:
        level = attributes.get("brightness")
        if isinstance(level, int | float) and level > 0:  # HA ignores a brightness of 0
            out.append((topics.device(device.id, "brightness"), _number(level)))
    elif device.kind == "fan" and device.dimmable:
        level = attributes.get("speed")
        payload = _number(level) if isinstance(level, int | float) else NONE
        out.append((topics.device(device.id, "percentage"), payload))
    return out


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return NONE
    return str(int(number)) if number.is_integer() else f"{number:g}"


class StatePublisher:
    def __init__(self, link: Any, topics: Topics, registry: Any, sensor_poll_s: float | None = None):
        self.link = link
        self.topics = topics
        self.registry = registry
        self.sensor_poll_s = SENSOR_POLL_S if sensor_poll_s is None else sensor_poll_s
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="mqtt-sensors", daemon=True)

    def start(self) -> None:
        self.registry.listeners.append(self.on_device)
        self._thread.start()

    def on_device(self, device: Any) -> None:
        """Registry listener (any thread): queue the device's state if it changed."""
        if getattr(device, "owner", None):
            return  # another appliance's device: that appliance publishes it
        self._publish(device, force=False)

    def publish_all(self, force: bool = True) -> None:
        for device in self.registry:
            if not getattr(device, "owner", None):
                self._publish(device, force)

    def _publish(self, device: Any, force: bool) -> None:
        try:
            messages = state_messages(self.topics, device.config, device.state, device.attributes)
        except Exception:  # a sensor read or a bug must not stop the others
            _LOGGER.exception("cannot read %s for publication", device.id)
            return
        for topic, payload in messages:
            with self._lock:
                if not force and self._last.get(topic) == payload:
                    continue
                self._last[topic] = payload
            self.link.publish(topic, payload, retain=True)

    def _poll(self) -> None:
        while not self._stop.wait(self.sensor_poll_s):
            for device in self.registry:
                if device.kind == "sensor" and not getattr(device, "owner", None) and \
                        getattr(device, "mqtt", None) is None:
                    self._publish(device, force=False)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
