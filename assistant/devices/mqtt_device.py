"""A device reached over MQTT instead of a pin: a Tasmota plug, a Shelly relay, a zigbee2mqtt
bulb, or a device another appliance owns. It has the surface of every device kind
(``kinds.Device``), so intents, LLM tools, confirmation and state queries treat it as they treat
a GPIO device; the executor remains the one way to change it.

Its state is what the device last reported on its state topic; until then it is unknown
(``None``), and a query says so. An action publishes the command, then waits up to
``mqtt.timeout_s`` for the device to report the state the action asks for: only then has the
action been carried out, and a reply may say so. A broker that is not connected refuses at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from assistant.config import DeviceConfig, MqttDeviceConfig
from assistant.devices import mqtt_codec as codec
from assistant.devices.kinds import Device, State
from assistant.errors import DeviceError

_LOGGER = logging.getLogger(__name__)

_ON_OFF = frozenset({"turn_on", "turn_off", "toggle", "query"})
_ACTIONS: dict[str, frozenset[str]] = {
    "light": _ON_OFF, "switch": _ON_OFF, "fan": _ON_OFF,
    "cover": frozenset({"open", "close", "stop", "toggle", "turn_on", "turn_off", "query"}),
    "lock": frozenset({"lock", "unlock", "turn_on", "turn_off", "query"}),
    "sensor": frozenset({"query"}), "binary_sensor": frozenset({"query"}),
}
_LEVEL = {"light": ("brightness", "set_brightness"), "fan": ("speed", "set_speed")}


class MqttTransport(Protocol):
    """What a device needs of the MQTT client (``assistant.mqtt.link.MqttLink``)."""

    @property
    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int = 1) -> bool:
        """Queue a message (never blocks); False when it was not accepted."""
        ...

    def subscribe(self, topic: str, callback: Callable[[str, bytes], None]) -> None:
        """Be called with (topic, payload) for every message on ``topic``, after each connect."""
        ...


class MqttDevice(Device):
    def __init__(self, config: DeviceConfig, transport: MqttTransport,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(config)
        assert config.mqtt is not None
        self.mqtt: MqttDeviceConfig = config.mqtt
        self.kind = config.kind
        self.transport = transport
        self.clock = clock
        level = _LEVEL.get(self.kind) if config.dimmable else None
        self._level_key = level[0] if level else None
        self.supported_actions = _ACTIONS[self.kind] | ({level[1]} if level else set())
        self._state: State = None
        self._level: int | None = None
        self._reports = 0
        self._cond = threading.Condition()
        self._warned: set[str] = set()
        self._owner_online: bool | None = None
        assert self.mqtt.state_topic is not None  # config.py checks it
        transport.subscribe(self.mqtt.state_topic, self._on_state)
        if self.mqtt.owner:
            transport.subscribe(f"{self.mqtt.owner}/status", self._on_owner)
        if self.mqtt.brightness_state_topic:
            transport.subscribe(self.mqtt.brightness_state_topic, self._on_level)

    @property
    def owner(self) -> str | None:
        """The appliance that owns it (its base topic), when it is another appliance's."""
        return self.mqtt.owner

    @property
    def owner_online(self) -> bool | None:
        """What the owning appliance's availability topic last said; None before it said anything."""
        return self._owner_online

    @property
    def state(self) -> State:
        with self._cond:
            return self._state

    @property
    def attributes(self) -> dict[str, Any]:
        with self._cond:
            out: dict[str, Any] = {}
            if self._level_key is not None and self._level is not None:
                out[self._level_key] = self._level if self._state == "on" else 0
            if self.config.unit:
                out["unit"] = self.config.unit
            return out

    @property
    def unknown_reply(self) -> str:
        """What a query says while nothing was reported (the executor speaks it)."""
        return f"The {self.name} has not reported its state yet, so it is unknown."

    # -- actions (the executor's thread) -----------------------------------------------------
    def _apply(self, action: str, value: float | None) -> None:
        if not self.transport.connected:
            raise DeviceError(f"I can't reach the {self.name}: the MQTT broker is not connected.")
        if self._owner_online is False:
            raise DeviceError(f"I can't reach the {self.name}: the appliance it belongs to is offline.")
        with self._cond:
            state, reports = self._state, self._reports
        try:
            messages = codec.encode(self.mqtt, self.kind, action, value, state)
        except codec.CodecError as exc:
            raise DeviceError(f"The {self.name} can't do that ({exc}).") from exc
        wanted = codec.expected(self.kind, action, value, state)
        for topic, payload in messages:
            if not self.transport.publish(topic, payload, qos=1):
                raise DeviceError(f"I couldn't send that to the {self.name}.")
        _LOGGER.debug("%s: sent %s, waiting for %s", self.id, messages, sorted(map(str, wanted)))
        if not self._wait(wanted, reports, value if self._level_key else None):
            raise DeviceError(f"I sent the command, but the {self.name} didn't confirm it.")

    def _wait(self, wanted: frozenset[Any], reports: int, level: float | None) -> bool:
        """Until the device reports a wanted state (or, for an empty set, anything at all)."""
        deadline = self.clock() + self.mqtt.timeout_s

        def done() -> bool:
            if not wanted:
                return self._reports > reports
            # Already there counts: a Shelly does not report a state it keeps.
            return self._state in wanted and self._level_ok(level)

        with self._cond:
            while not done():
                left = deadline - self.clock()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _level_ok(self, level: float | None) -> bool:
        if level is None or level <= 0 or (self.mqtt.brightness_key is None
                                           and self.mqtt.brightness_state_topic is None):
            return True  # a device that never reports its level is judged by its state
        # The device's scale rounds: 50 % is 127 of 254, read back as 50 %.
        tolerance = 100.0 / self.mqtt.brightness_scale + 0.5
        return self._level is not None and abs(self._level - level) <= tolerance

    # -- reports (the MQTT client's thread) -------------------------------------------------
    def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            reading = codec.decode(self.mqtt, self.kind, payload, self.config.scale)
        except codec.CodecError as exc:
            self._warn_once(str(exc), "%s: ignored a message on %s: %s", self.id, topic, exc)
            return
        state: State = None if reading.unknown else reading.state
        if state == "stopped":
            # Home Assistant's reading: a cover stopped half-way is open unless it was closing.
            state = "closed" if self._state in ("closed", "closing") else "open"
        self._update(state, reading.level, keep_state=reading.state is None and not reading.unknown)

    def _on_owner(self, _topic: str, payload: bytes) -> None:
        """The owning appliance's availability (its last will says offline)."""
        self._owner_online = payload == b"online"

    def _on_level(self, topic: str, payload: bytes) -> None:
        try:
            level = codec.decode_level(self.mqtt, payload)
        except codec.CodecError as exc:
            self._warn_once(str(exc), "%s: ignored a message on %s: %s", self.id, topic, exc)
            return
        self._update(None, level, keep_state=True)

    def _update(self, state: State, level: int | None, keep_state: bool) -> None:
        with self._cond:
            before = (self._state, self._level)
            if not keep_state:
                self._state = state
            if level is not None:
                self._level = level
            self._reports += 1
            changed = before != (self._state, self._level)
            self._cond.notify_all()
        if changed:
            _LOGGER.debug("%s reported %s %s", self.id, self._state, self._level)
            self._changed()

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key in self._warned:
            _LOGGER.debug(message, *args)
            return
        if len(self._warned) < 32:
            self._warned.add(key)
        _LOGGER.warning(message, *args)
