"""Home Assistant MQTT discovery payloads, as pure functions of the config.

One HA device per appliance; one entity per declared device, on the platform its kind maps to,
plus the appliance's own entities. Payloads use Home Assistant's full key names (its
abbreviations are optional) and the fields of its discovery schemas
(``homeassistant/components/mqtt/{light/schema_basic,switch,fan,cover,lock,sensor,
binary_sensor,select,number,notify,button}.py``); ``tests/test_mqtt_discovery.py`` checks them
field by field. Topics: ``<prefix>/<platform>/<node_id>/<object_id>/config``, retained; an
empty retained payload removes an entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant import __version__
from assistant.config import DeviceConfig
from assistant.mqtt.settings import Topics

PLATFORMS = {"light": "light", "switch": "switch", "fan": "fan", "cover": "cover", "lock": "lock",
             "sensor": "sensor", "binary_sensor": "binary_sensor"}
SENSITIVITY_LEVELS = ("low", "medium", "high")

_SENSOR_CLASSES = {"°c": "temperature", "°f": "temperature", "c": "temperature", "k": "temperature",
                   "w": "power", "kw": "power", "kwh": "energy", "wh": "energy", "v": "voltage",
                   "a": "current", "lx": "illuminance", "hpa": "pressure", "ppm": "carbon_dioxide"}
_TOTALS = {"energy"}
_BINARY_WORDS = (("motion", "motion"), ("pir", "motion"), ("occupancy", "occupancy"),
                 ("presence", "presence"), ("garage", "garage_door"), ("door", "door"),
                 ("window", "window"), ("smoke", "smoke"), ("leak", "moisture"),
                 ("water", "moisture"), ("vibration", "vibration"))
_COVER_WORDS = (("garage", "garage"), ("gate", "gate"), ("blind", "blind"), ("shutter", "shutter"),
                ("curtain", "curtain"), ("awning", "awning"), ("window", "window"), ("door", "door"))


@dataclass(frozen=True)
class Appliance:
    """Who publishes: the HA device every entity belongs to."""

    node_id: str
    name: str
    topics: Topics
    prefix: str = "homeassistant"
    area: str | None = None
    configuration_url: str | None = None
    """The dashboard's address, once there is one."""

    def device(self) -> dict[str, Any]:
        out: dict[str, Any] = {"identifiers": [self.node_id], "name": self.name,
                               "manufacturer": "assistant (open source)",
                               "model": "Voice assistant appliance", "sw_version": __version__}
        if self.area:
            out["suggested_area"] = self.area
        if self.configuration_url:
            out["configuration_url"] = self.configuration_url
        return out

    def config_topic(self, platform: str, object_id: str) -> str:
        return f"{self.prefix}/{platform}/{self.node_id}/{object_id}/config"

    def common(self, object_id: str, name: str | None) -> dict[str, Any]:
        return {"name": name, "unique_id": f"{self.node_id}_{object_id}",
                "availability_topic": self.topics.status, "payload_available": "online",
                "payload_not_available": "offline", "device": self.device(),
                "origin": {"name": "assistant", "sw_version": __version__}, "qos": 1}


Discovery = tuple[str, dict[str, Any]]
"""(config topic, payload)."""


def device_discovery(app: Appliance, device: DeviceConfig) -> Discovery:
    """The discovery config of one declared device."""
    topics = app.topics
    platform = PLATFORMS[device.kind]
    payload = app.common(device.id, device.name)
    payload["state_topic"] = topics.device(device.id)
    if device.kind in ("light", "switch", "fan", "cover", "lock"):
        payload["command_topic"] = topics.device(device.id, "set")
    if device.kind == "light" and device.dimmable:
        payload.update(brightness_command_topic=topics.device(device.id, "brightness/set"),
                       brightness_state_topic=topics.device(device.id, "brightness"),
                       brightness_scale=100)
    elif device.kind == "fan" and device.dimmable:
        payload.update(percentage_command_topic=topics.device(device.id, "percentage/set"),
                       percentage_state_topic=topics.device(device.id, "percentage"),
                       speed_range_min=1, speed_range_max=100)
    elif device.kind == "cover":
        payload.update(payload_open="OPEN", payload_close="CLOSE",
                       payload_stop="STOP" if _can_stop(device) else None, state_open="open",
                       state_closed="closed", state_opening="opening", state_closing="closing")
        payload["device_class"] = device.device_class or _guess(device, _COVER_WORDS)
    elif device.kind == "lock":
        payload.update(payload_lock="LOCK", payload_unlock="UNLOCK", state_locked="LOCKED",
                       state_unlocked="UNLOCKED")
    elif device.kind == "sensor":
        payload.update(_sensor_fields(device))
    elif device.kind == "binary_sensor":
        payload.update(payload_on="ON", payload_off="OFF",
                       device_class=device.device_class or _guess(device, _BINARY_WORDS))
    if device.kind in ("light", "switch", "fan"):
        payload.update(payload_on="ON", payload_off="OFF")
    return app.config_topic(platform, device.id), _without_none(payload)


def _can_stop(device: DeviceConfig) -> bool:
    """A cover on two relays stops; one on a single button cannot (``covers.MomentaryCover``)."""
    return device.mqtt is not None or {"open", "close"} <= set(device.pins)


def _sensor_fields(device: DeviceConfig) -> dict[str, Any]:
    unit = (device.unit or "").strip()
    device_class = device.device_class or _SENSOR_CLASSES.get(unit.lower())
    source = device.source or ""
    if device_class is None and (source in ("cpu_temperature", "ds18b20") or source.startswith("ds18b20:")):
        device_class, unit = "temperature", unit or "°C"
    if unit.lower() in ("c", "f"):
        unit = f"°{unit.upper()}"
    out: dict[str, Any] = {"unit_of_measurement": unit or None, "device_class": device_class,
                           "state_class": "total_increasing" if device_class in _TOTALS else "measurement"}
    return out


def _guess(device: DeviceConfig, words: tuple[tuple[str, str], ...]) -> str | None:
    """Home Assistant's device class from the device's name (a "garage door" is a garage),
    when the config gives none (``device_class``)."""
    text = " ".join((device.name, device.id.replace("_", " "), *device.aliases)).lower()
    spoken = set(text.split())
    return next((cls for word, cls in words if word in spoken), None)


def appliance_discovery(app: Appliance, *, volume: bool, sensitivity: bool) -> list[Discovery]:
    """The appliance's own entities: assist state, last command, microphone mute, listen,
    announce (notify), and, when the lead wired them, volume and wake-word sensitivity."""
    t = app.topics
    out: list[Discovery] = [
        (app.config_topic("sensor", "assist_state"),
         {**app.common("assist_state", "Assist state"), "state_topic": t.entity("assist/state"),
          "icon": "mdi:account-voice"}),
        (app.config_topic("sensor", "last_command"),
         {**app.common("last_command", "Last command"), "state_topic": t.entity("last_command"),
          "json_attributes_topic": t.entity("last_command/attributes"), "icon": "mdi:comment-text"}),
        (app.config_topic("switch", "mute"),
         {**app.common("mute", "Microphone mute"), "state_topic": t.entity("mute"),
          "command_topic": t.entity("mute/set"), "payload_on": "ON", "payload_off": "OFF",
          "icon": "mdi:microphone-off"}),
        (app.config_topic("button", "listen"),
         {**app.common("listen", "Listen"), "command_topic": t.entity("ask"),
          "payload_press": "PRESS", "icon": "mdi:microphone"}),
        (app.config_topic("notify", "announce"),
         {**app.common("announce", "Announce"), "command_topic": t.entity("announce")}),
    ]
    if sensitivity:
        out.append((app.config_topic("select", "wake_sensitivity"),
                    {**app.common("wake_sensitivity", "Wake word sensitivity"),
                     "state_topic": t.entity("sensitivity"), "command_topic": t.entity("sensitivity/set"),
                     "options": list(SENSITIVITY_LEVELS), "entity_category": "config"}))
    if volume:
        out.append((app.config_topic("number", "volume"),
                    {**app.common("volume", "Speaker volume"), "state_topic": t.entity("volume"),
                     "command_topic": t.entity("volume/set"), "min": 0, "max": 100, "step": 1,
                     "unit_of_measurement": "%", "mode": "slider", "entity_category": "config"}))
    return out


def _without_none(payload: dict[str, Any]) -> dict[str, Any]:
    """Absent rather than null, except ``payload_stop``: HA reads null as "no stop"."""
    return {k: v for k, v in payload.items() if v is not None or k in ("payload_stop",)}
