"""The devices section: kinds, pins or MQTT topics, and the scenes of the extra sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DeviceKind = Literal["light", "switch", "fan", "cover", "lock", "binary_sensor", "sensor"]
ACTUATOR_KINDS = ("light", "switch", "fan", "cover", "lock")


@dataclass(frozen=True)
class SceneAction:
    device: str
    """A device id or a spoken name (its name or an alias)."""
    action: str
    """turn_on, turn_off, toggle, set_brightness, set_speed, open, close, lock, unlock."""
    value: float | None = None
    """For set_brightness and set_speed: 0-100 (%)."""


@dataclass(frozen=True)
class SceneConfig:
    """One sentence (or several) that runs several actions, in the extra sentences file."""

    sentences: tuple[str, ...]
    """hassil templates: "movie time", "(start|begin) [the] movie"."""
    actions: tuple[SceneAction, ...]
    reply: str | None = None
    """Said when every action ran; None = the actions, said one by one."""


@dataclass(frozen=True)
class MqttDeviceConfig:
    """A device reached over MQTT instead of a pin (Tasmota, Shelly, zigbee2mqtt, another
    appliance). Its state is what the broker last said; ``assistant.devices.mqtt_device``."""

    command_topic: str | None = None
    """Where commands go (every kind but the sensors needs one)."""
    state_topic: str | None = None
    """Where the device reports its state (required: a device that never answers is unknown)."""
    command_key: str | None = None
    """JSON commands: the field the action's payload goes in ({"state": "ON"} for zigbee2mqtt);
    None = the payload is sent as plain text."""
    state_key: str | None = None
    """JSON states: the field the state is read from ("state", "POWER", "ison", "temperature");
    None = the whole payload is the state."""
    payloads: dict[str, str] = field(default_factory=dict)
    """Action -> payload sent, over the kind's defaults (turn_on: ON, open: OPEN, lock: LOCK...)."""
    states: dict[str, str] = field(default_factory=dict)
    """Value received -> state (on/off, open/closed/opening/closing, locked/unlocked), over
    the defaults, which read ON/OFF/true/false/1/0 and the HA state words, any case."""
    brightness_command_topic: str | None = None
    """A plain level on a topic of its own (Tasmota's cmnd/.../Dimmer); a fan's speed too."""
    brightness_state_topic: str | None = None
    """A plain level reported on a topic of its own."""
    brightness_key: str | None = None
    """The level's field in JSON states (and JSON commands)."""
    brightness_scale: int = 100
    """The device's full level: 100 (Tasmota, Shelly), 254 (zigbee2mqtt), 255."""
    timeout_s: float = 3.0
    """How long a command waits for the device to report the new state before it counts as
    not done (the reply says so)."""
    owner: str | None = None
    """The appliance (its base topic) that owns this device, for one learned from another
    appliance: its Home Assistant discovery is that appliance's job."""


@dataclass(frozen=True)
class DeviceConfig:
    id: str
    name: str
    kind: DeviceKind
    area: str | None = None
    aliases: tuple[str, ...] = ()
    pin: int | None = None
    """The one GPIO (BCM number) of a light, switch, fan, lock, binary sensor or momentary cover."""
    pins: dict[str, int] = field(default_factory=dict)
    """Named pins: a cover's {open, close} relays, or {toggle, sensor} for a momentary relay + reed switch."""
    dimmable: bool = False
    """Light: PWM brightness. Fan: PWM speed."""
    active_high: bool = True
    """False for relay boards that switch on a low level."""
    source: str | None = None
    """Sensor: cpu_temperature, ds18b20, ds18b20:<1-wire id>, or a file path (e.g. a sysfs value)."""
    unit: str | None = None
    scale: float = 1.0
    """Sensor: the value read is multiplied by this (e.g. 0.001 for millidegrees)."""
    pull_up: bool = True
    """Binary sensor / reed switch: use the internal pull-up."""
    confirm: bool = False
    """Ask for a spoken yes before a repaired, doubtful or LLM-chosen change (as for locks and
    covers, which always get this care)."""
    travel_s: float = 1.0
    """Cover: how long the open/close relay stays on, or the momentary pulse length."""
    device_class: str | None = None
    """What a sensor measures, a binary sensor senses or a cover is, in Home Assistant's words
    (temperature, humidity, battery; motion, door, moisture; garage, curtain, blind ...): the
    questions "what is the humidity in the bathroom", "are any windows open" find it by it."""
    mqtt: MqttDeviceConfig | None = None
    """Reached over MQTT (topics, payloads) instead of a pin; needs the top-level mqtt section."""


DEVICE_CLASSES: dict[str, frozenset[str]] = {
    "binary_sensor": frozenset((
        "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
        "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
        "occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety",
        "smoke", "sound", "tamper", "update", "vibration", "window"
    )),
    "sensor": frozenset((
        "apparent_power", "aqi", "atmospheric_pressure", "battery", "carbon_dioxide",
        "carbon_monoxide", "current", "data_rate", "data_size", "date", "distance", "duration",
        "energy", "energy_storage", "frequency", "gas", "humidity", "illuminance", "irradiance",
        "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide", "nitrous_oxide", "ozone",
        "pm1", "pm10", "pm25", "power", "power_factor", "precipitation",
        "precipitation_intensity", "pressure", "reactive_power", "signal_strength",
        "sound_pressure", "speed", "sulphur_dioxide", "temperature", "volatile_organic_compounds",
        "volatile_organic_compounds_parts", "voltage", "volume", "volume_storage", "water",
        "weight", "wind_speed"
    )),
    "cover": frozenset((
        "awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade", "shutter",
        "window"
    )),
}
"""Home Assistant's device classes, for the kinds that have them."""

