"""One small class per device kind, each wrapping gpiozero devices built from a DeviceConfig.

Every class takes the pin factory explicitly and only opens the pins its config names. The common
surface is ``state``, ``attributes``, ``supported_actions``, ``apply(action, value)``,
``snapshot()`` / ``restore(snapshot)`` and ``close()``. Values are checked by the executor
(assistant.brain.actions) before they get here; ``apply`` refuses what a kind cannot do anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gpiozero import LED, PWMLED, DigitalInputDevice, Factory, OutputDevice, PWMOutputDevice

from assistant.config import DeviceConfig
from assistant.devices.sensors import SYSFS_ROOT, SensorReader
from assistant.errors import DeviceError

_LOGGER = logging.getLogger(__name__)

State = str | float | None
Snapshot = dict[str, Any]
_ON_OFF = frozenset({"turn_on", "turn_off", "toggle", "query"})


class Device:
    """Base: a named device that can at least be queried."""

    kind = "device"
    supported_actions: frozenset[str] = frozenset({"query"})

    def __init__(self, config: DeviceConfig):
        self.config = config
        self.id = config.id
        self.name = config.name
        self._on_change: Callable[[Device], None] | None = None

    def watch(self, on_change: Callable[[Device], None]) -> None:
        """Be told of state changes no action made: a sensor edge, a cover's travel ending, a
        device over MQTT reporting (the registry's listeners hear of both kinds)."""
        self._on_change = on_change

    def _changed(self) -> None:
        if self._on_change is not None:
            try:
                self._on_change(self)
            except Exception:  # a listener must not break a gpiozero callback thread
                _LOGGER.exception("state listener failed for %s", self.id)

    @property
    def state(self) -> State:
        return None

    @property
    def attributes(self) -> dict[str, Any]:
        return {}

    def apply(self, action: str, value: float | None = None) -> None:
        if action not in self.supported_actions:
            raise DeviceError(f"The {self.name} can't do {action!r}.")
        if action != "query":
            self._apply(action, value)

    def _apply(self, action: str, value: float | None) -> None:
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        return {}

    def restore(self, snapshot: Snapshot) -> None:
        """Bring the device back to a snapshot; the default (sensors) has nothing to restore."""

    def reset(self) -> None:
        """The start state when nothing is restored: off, or unknown for covers."""

    def close(self) -> None:
        pass


class OnOffDevice(Device):
    """A light, switch or fan on one output; with PWM, a level in % (brightness or speed)."""

    def __init__(self, config: DeviceConfig, output: Any, level_key: str | None = None,
                 level_action: str | None = None):
        super().__init__(config)
        self._out = output
        self._level_key = level_key
        self._last_level = 100  # what turn_on goes back to after a dimmed light is switched off
        extra = {level_action} if level_action else set()
        self.supported_actions = _ON_OFF | extra
        self._level_action = level_action

    @property
    def is_on(self) -> bool:
        return bool(self._out.value)

    @property
    def level(self) -> int:
        return round(float(self._out.value) * 100)

    @property
    def state(self) -> State:
        return "on" if self.is_on else "off"

    @property
    def attributes(self) -> dict[str, Any]:
        return {self._level_key: self.level} if self._level_key else {}

    def _apply(self, action: str, value: float | None) -> None:
        if action == "toggle":
            action = "turn_off" if self.is_on else "turn_on"
        if action == "turn_on":
            self._set_level(self._last_level)
        elif action == "turn_off":
            self._out.off()
        elif action == self._level_action and value is not None:
            level = max(0, min(100, round(value)))
            if level > 0:
                self._last_level = level
            self._set_level(level)

    def _set_level(self, level: int) -> None:
        if self._level_key is None:
            self._out.on()
        elif level <= 0:
            self._out.off()
        else:
            self._out.value = level / 100

    def snapshot(self) -> Snapshot:
        return {"on": self.is_on, "level": self._last_level}

    def restore(self, snapshot: Snapshot) -> None:
        level = snapshot.get("level")
        if isinstance(level, int | float) and 0 < level <= 100:
            self._last_level = round(level)
        if snapshot.get("on") is True:
            self._set_level(self._last_level)
        else:
            self._out.off()

    def reset(self) -> None:
        self._out.off()

    def close(self) -> None:
        self._out.close()


class Lock(Device):
    """An electric strike or lock on a relay: relay energised = unlocked, de-energised = locked.

    So a power cut or a crash leaves the door locked (fail-secure). Like Home Assistant's
    HassTurnOn / HassTurnOff, turn_on locks and turn_off unlocks. There is no toggle: an
    ambiguous command should never unlock a door.
    """

    kind = "lock"
    supported_actions = frozenset({"lock", "unlock", "turn_on", "turn_off", "query"})

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        super().__init__(config)
        self._relay = OutputDevice(config.pin, active_high=config.active_high, initial_value=False,
                                   pin_factory=pin_factory)

    @property
    def state(self) -> State:
        return "unlocked" if self._relay.is_active else "locked"

    def _apply(self, action: str, value: float | None) -> None:
        if action in ("lock", "turn_on"):
            self._relay.off()
        else:
            self._relay.on()

    def snapshot(self) -> Snapshot:
        return {"locked": not self._relay.is_active}

    def restore(self, snapshot: Snapshot) -> None:
        # A restart never unlocks a door, whatever was saved: unlocking takes a command.
        if snapshot.get("locked") is False:
            _LOGGER.info("%s was unlocked before the restart; it starts locked", self.id)
        self._relay.off()

    def close(self) -> None:
        self._relay.close()


class BinarySensor(Device):
    """A digital input: "on" when active. With pull_up (the default) active means pulled low,
    e.g. a contact to ground; a sensor that drives its output high (a PIR) wants pull_up: false."""

    kind = "binary_sensor"

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        super().__init__(config)
        self._input = DigitalInputDevice(config.pin, pull_up=config.pull_up,
                                         pin_factory=pin_factory)
        self._input.when_activated = self._input.when_deactivated = lambda: self._changed()

    @property
    def state(self) -> State:
        return "on" if self._input.is_active else "off"

    def close(self) -> None:
        self._input.close()


class Sensor(Device):
    """A value read from a file (no pin): a temperature or anything sysfs exposes."""

    kind = "sensor"

    def __init__(self, config: DeviceConfig, sysfs_root: Path = SYSFS_ROOT):
        super().__init__(config)
        self._reader = SensorReader(config.source or "", config.scale, sysfs_root)

    @property
    def state(self) -> State:
        return self._reader.read()

    @property
    def attributes(self) -> dict[str, Any]:
        return {"unit": self.config.unit} if self.config.unit else {}


class Light(OnOffDevice):
    """An LED or lamp; dimmable = PWM brightness in %."""

    kind = "light"

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        if config.dimmable:
            out: Any = PWMLED(config.pin, active_high=config.active_high, initial_value=0,
                              pin_factory=pin_factory)
            super().__init__(config, out, "brightness", "set_brightness")
        else:
            out = LED(config.pin, active_high=config.active_high, initial_value=False,
                      pin_factory=pin_factory)
            super().__init__(config, out)


class Switch(OnOffDevice):
    """A relay or any on/off load; active_high: false for relay boards that switch on low."""

    kind = "switch"

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        out = OutputDevice(config.pin, active_high=config.active_high, initial_value=False,
                           pin_factory=pin_factory)
        super().__init__(config, out)


class Fan(OnOffDevice):
    """A fan on a relay, or on a PWM driver when dimmable (speed in %)."""

    kind = "fan"

    def __init__(self, config: DeviceConfig, pin_factory: Factory):
        if config.dimmable:
            out: Any = PWMOutputDevice(config.pin, active_high=config.active_high, initial_value=0,
                                       pin_factory=pin_factory)
            super().__init__(config, out, "speed", "set_speed")
        else:
            out = OutputDevice(config.pin, active_high=config.active_high, initial_value=False,
                               pin_factory=pin_factory)
            super().__init__(config, out)
