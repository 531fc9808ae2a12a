"""Checks across keys that the types alone cannot make; each names the file, key and line."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from assistant.config.devices import (
    ACTUATOR_KINDS,
    DEVICE_CLASSES,
    DeviceConfig,
)
from assistant.config.sections import (
    Config,
)
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from assistant.config.nodes import NodeLoader


ID_RE = re.compile(r"^[a-z0-9_]+$")
_PIN_NAMES = {"cover": {"open", "close", "toggle", "sensor"}}
_AUDIO_RANGES = {"noise_suppression": (0, 4), "auto_gain_dbfs": (0, 31)}
_WAKE_RANGES = {"noise_suppression": (0, 4)}


def _check_ranges(section: Any, prefix: str, ranges: dict[str, tuple[int, int]],
                  loader: NodeLoader) -> None:
    """Whole-number settings where 0 means off, each within its range."""
    nodes: dict[str, yaml.Node] = section.__dict__.get("_nodes", {})
    for name, (low, high) in ranges.items():
        value = getattr(section, name)
        if not low <= value <= high:
            raise loader.error(f"{value} is out of range ({low}-{high}, 0 = off)", f"{prefix}.{name}",
                               nodes.get(name))


def check_audio(config: Config, loader: NodeLoader) -> None:
    _check_ranges(config.audio, "audio", _AUDIO_RANGES, loader)


def check_wake(config: Config, loader: NodeLoader) -> None:
    _check_ranges(config.wake, "wake", _WAKE_RANGES, loader)
    nodes: dict[str, yaml.Node] = config.wake.__dict__.get("_nodes", {})
    if config.wake.threshold is not None and not 0.0 < config.wake.threshold < 1.0:
        raise loader.error(f"{config.wake.threshold} is out of range (between 0 and 1)",
                           "wake.threshold", nodes.get("threshold"))


def check_llm(config: Config, loader: NodeLoader) -> None:
    """A key in the config is refused without being shown: the error goes to a terminal or a
    journal, where a key must never be."""
    from assistant.secrets import credential_in_url, looks_like_a_key

    llm = config.llm
    nodes: dict[str, yaml.Node] = llm.__dict__.get("_nodes", {})
    if llm.api_key_env and looks_like_a_key(llm.api_key_env):
        raise loader.error(
            "this must be the name of an environment variable (such as OPENAI_API_KEY), not "
            "the key itself; the value is not shown. Put the key in that variable (e.g. in "
            "/etc/assistant/secrets.env, mode 0600) or in llm.api_key_file",
            "llm.api_key_env", nodes.get("api_key_env"))
    url = urlsplit(llm.base_url)
    if credential_in_url(llm.base_url):
        raise loader.error(
            "the address carries a credential (a user:password@ or a key parameter); it is not "
            "shown. Give the server's address only; the key goes in the environment variable "
            "named by llm.api_key_env, or in llm.api_key_file", "llm.base_url",
            nodes.get("base_url"))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise loader.error("expected an http:// or https:// address", "llm.base_url",
                           nodes.get("base_url"))


def check_weather(config: Config, loader: NodeLoader) -> None:
    weather = config.weather
    nodes: dict[str, yaml.Node] = weather.__dict__.get("_nodes", {})
    for name, limit in (("latitude", 90.0), ("longitude", 180.0)):
        value = getattr(weather, name)
        if value is not None and not -limit <= value <= limit:
            raise loader.error(f"{value:g} is out of range (-{limit:g} to {limit:g} degrees)",
                               f"weather.{name}", nodes.get(name))
    if (weather.latitude is None) != (weather.longitude is None):
        missing = "longitude" if weather.longitude is None else "latitude"
        raise loader.error(f"a location needs both latitude and longitude; {missing} is "
                           "missing", f"weather.{missing}", next(iter(nodes.values()), None))
    for name in ("timeout_s", "cache_s"):
        if getattr(weather, name) <= 0:
            raise loader.error("must be more than 0", f"weather.{name}", nodes.get(name))


def check_web(config: Config, loader: NodeLoader) -> None:
    nodes: dict[str, yaml.Node] = config.web.__dict__.get("_nodes", {})
    if not 1 <= config.web.port <= 65535:
        raise loader.error(f"{config.web.port} is not a TCP port (1-65535)", "web.port",
                           nodes.get("port"))
    if config.web.history_days <= 0:
        raise loader.error("history_days must be more than 0", "web.history_days",
                           nodes.get("history_days"))


def check_feedback(config: Config, loader: NodeLoader) -> None:
    used = {pin: d.id for d in config.devices for pin in device_pins(d).values()}
    nodes: dict[str, yaml.Node] = config.feedback.__dict__.get("_nodes", {})
    pins = {"led_pin": config.feedback.led_pin, "button_pin": config.feedback.button_pin}
    for name, pin in pins.items():
        if pin is None:
            continue
        key = f"feedback.{name}"
        if not 0 <= pin <= 27:
            raise loader.error(f"GPIO {pin} is not a BCM pin number (0-27)", key, nodes.get(name))
        if pin in used:
            raise loader.error(f"GPIO {pin} is already used by {used[pin]!r}", key, nodes.get(name))
        used[pin] = key


def check_devices(config: Config, loader: NodeLoader, devices_node: yaml.Node | None) -> None:
    """Checks across devices: unique ids, unique pins, the pins each kind needs."""
    items = devices_node.value if isinstance(devices_node, yaml.SequenceNode) else []
    seen_ids: dict[str, int] = {}
    seen_pins: dict[int, str] = {}
    seen_names: dict[tuple[str, str | None, str, str | None], str] = {}
    for index, device in enumerate(config.devices):
        node = items[index] if index < len(items) else None
        nodes: dict[str, yaml.Node] = device.__dict__.get("_nodes", {})
        key = f"devices[{index}]"

        def fail(
            message: str, field_name: str = "", key: str = key, nodes: dict = nodes, node: yaml.Node | None = node
        ) -> ConfigError:
            where = nodes.get(field_name, node)
            return loader.error(message, f"{key}.{field_name}" if field_name else key, where)

        if not ID_RE.match(device.id):
            raise fail("an id is lower-case letters, digits and _ only", "id")
        if device.id in seen_ids:
            raise fail(f"duplicate device id {device.id!r} (first used in devices[{seen_ids[device.id]}])", "id")
        seen_ids[device.id] = index
        for spoken in (device.name, *device.aliases):
            norm = " ".join(spoken.lower().split())
            # One name may be used again in another area, or for another kind or class of
            # device ("is the phone charging" / "is the phone connected"): those tell them apart.
            other = seen_names.get((norm, device.area, device.kind, device.device_class))
            if other is not None and other != device.id:
                raise fail(f"the name {spoken!r} is already used by device {other!r} "
                           "in the same area (give one an area or another name)", "name")
            seen_names[(norm, device.area, device.kind, device.device_class)] = device.id
        classes = DEVICE_CLASSES.get(device.kind)
        if device.device_class is not None and (classes is None or device.device_class not in classes):
            known = ", ".join(sorted(classes)) if classes else "none for this kind"
            raise fail(f"unknown device_class {device.device_class!r} for a {device.kind} "
                       f"(known: {known})", "device_class")
        pins = device_pins(device)
        for role, pin in pins.items():
            field_name = "pin" if role == "pin" else "pins"
            if not 0 <= pin <= 27:
                raise fail(f"GPIO {pin} is not a BCM pin number (0-27)", field_name)
            if pin in seen_pins:
                raise fail(f"GPIO {pin} is already used by device {seen_pins[pin]!r}", field_name)
            seen_pins[pin] = device.id
        _check_kind(device, fail)


def _check_kind(device: DeviceConfig, fail: Any) -> None:
    kind = device.kind
    if device.mqtt is not None:
        _check_mqtt_device(device, fail)
        return
    if kind == "sensor":
        if device.source is None:
            raise fail("a sensor needs a source (cpu_temperature, ds18b20[:id] or a file path)", "source")
        if device.pin is not None or device.pins:
            raise fail("a sensor reads its source, not a pin", "pin")
        return
    if kind == "cover":
        allowed = _PIN_NAMES["cover"]
        unknown = set(device.pins) - allowed
        if unknown:
            raise fail(f"unknown cover pin {sorted(unknown)[0]!r} (use open, close, toggle, sensor)", "pins")
        has_pair = {"open", "close"} <= set(device.pins)
        has_toggle = "toggle" in device.pins or device.pin is not None
        if has_pair == has_toggle:
            raise fail("a cover needs either pins {open, close} or one momentary pin (pin or pins.toggle)", "pins")
        return
    if device.pins:
        raise fail(f"a {kind} uses one pin: write pin: N", "pins")
    if device.pin is None:
        raise fail(f"a {kind} needs a pin (BCM number)", "pin")
    if device.source is not None:
        raise fail(f"a {kind} has no source", "source")


def device_pins(device: DeviceConfig) -> dict[str, int]:
    """Every GPIO a device uses, by role; the only pins the assistant may ever touch."""
    pins = dict(device.pins)
    if device.pin is not None:
        pins["pin"] = device.pin
    return pins


def declared_pins(config: Config) -> set[int]:
    """Every pin the config allows the assistant to touch: devices, status LED, button."""
    pins = {pin for d in config.devices for pin in device_pins(d).values()}
    pins.update(p for p in (config.feedback.led_pin, config.feedback.button_pin) if p is not None)
    return pins


MQTT_ACTIONS = {"light": ("turn_on", "turn_off", "toggle"), "switch": ("turn_on", "turn_off", "toggle"),
                "fan": ("turn_on", "turn_off", "toggle"), "cover": ("open", "close", "stop"),
                "lock": ("lock", "unlock"), "binary_sensor": (), "sensor": ()}
"""The actions whose payload a device reached over MQTT may set (``MqttDeviceConfig.payloads``)."""
MQTT_STATES = {"light": ("on", "off"), "switch": ("on", "off"), "fan": ("on", "off"),
               "binary_sensor": ("on", "off"), "cover": ("open", "closed", "opening", "closing", "stopped"),
               "lock": ("locked", "unlocked", "locking", "unlocking", "jammed"), "sensor": ()}
"""The states a received value may be read as (``MqttDeviceConfig.states``)."""


def _bad_topic(topic: str | None) -> bool:
    return topic is not None and (not topic or "+" in topic or "#" in topic or "\0" in topic)


def _check_mqtt_device(device: DeviceConfig, fail: Any) -> None:
    """A device reached over MQTT: topics, payloads and states its kind can use, no pin."""
    mqtt = device.mqtt
    assert mqtt is not None
    kind = device.kind
    if device.pin is not None or device.pins or device.source is not None:
        raise fail("a device reached over MQTT has no pin, pins or source", "mqtt")
    topics = {"command_topic": mqtt.command_topic, "state_topic": mqtt.state_topic,
              "brightness_command_topic": mqtt.brightness_command_topic,
              "brightness_state_topic": mqtt.brightness_state_topic}
    for name, topic in topics.items():
        if _bad_topic(topic):
            raise fail(f"mqtt.{name} {topic!r} is not a topic one can publish to (no + or #)", "mqtt")
    if mqtt.state_topic is None:
        raise fail("a device reached over MQTT needs mqtt.state_topic (its state is what it reports)",
                   "mqtt")
    actuator = kind in ACTUATOR_KINDS
    if actuator and mqtt.command_topic is None:
        raise fail(f"a {kind} reached over MQTT needs mqtt.command_topic", "mqtt")
    if not actuator and (mqtt.command_topic or mqtt.brightness_command_topic):
        raise fail(f"a {kind} only reports: it has no command topic", "mqtt")
    for action in mqtt.payloads:
        if action not in MQTT_ACTIONS[kind]:
            allowed = ", ".join(MQTT_ACTIONS[kind]) or "none"
            raise fail(f"mqtt.payloads: {action!r} is not an action of a {kind} (use {allowed})", "mqtt")
    for value, state in mqtt.states.items():
        if state not in MQTT_STATES[kind]:
            allowed = ", ".join(MQTT_STATES[kind]) or "none: its value is a number"
            raise fail(f"mqtt.states: {value!r} -> {state!r} is not a state of a {kind} (use {allowed})",
                       "mqtt")
    levels = (mqtt.brightness_command_topic, mqtt.brightness_state_topic, mqtt.brightness_key)
    if any(levels) and not (device.dimmable and kind in ("light", "fan")):
        raise fail("a brightness (or speed) is for a dimmable light or fan only", "mqtt")
    if device.dimmable and not (mqtt.brightness_command_topic or (mqtt.command_key and mqtt.brightness_key)):
        raise fail("a dimmable device over MQTT needs mqtt.brightness_command_topic, or command_key "
                   "and brightness_key for JSON commands", "mqtt")
    if mqtt.brightness_scale < 1:
        raise fail("mqtt.brightness_scale is the device's full level, at least 1", "mqtt")
    if not mqtt.timeout_s > 0:
        raise fail("mqtt.timeout_s must be more than 0 seconds", "mqtt")


def check_mqtt(config: Config, loader: NodeLoader) -> None:
    """The mqtt section, and the devices that need it."""
    mqtt = config.mqtt
    if mqtt is None:
        for index, device in enumerate(config.devices):
            if device.mqtt is not None:
                nodes: dict[str, yaml.Node] = device.__dict__.get("_nodes", {})
                raise loader.error("a device reached over MQTT needs the top-level mqtt: section "
                                   "(the broker)", f"devices[{index}].mqtt", nodes.get("mqtt"))
        return
    nodes = mqtt.__dict__.get("_nodes", {})
    if not 0 < mqtt.port < 65536:
        raise loader.error(f"{mqtt.port} is not a TCP port (1-65535)", "mqtt.port", nodes.get("port"))
    if mqtt.keepalive_s < 5:
        raise loader.error("keepalive_s is at least 5 seconds", "mqtt.keepalive_s", nodes.get("keepalive_s"))
    for name in ("base_topic", "discovery_prefix"):
        topic = getattr(mqtt, name)
        if topic is not None and (_bad_topic(topic) or topic.startswith("/") or topic.endswith("/")):
            raise loader.error(f"{topic!r} is not a topic prefix (no + or #, no leading or trailing /)",
                               f"mqtt.{name}", nodes.get(name))
