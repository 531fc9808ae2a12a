"""Payloads of devices reached over MQTT: pure functions from an action to messages, and from a
received message to a state. No I/O here; ``mqtt_device.MqttDevice`` does the talking.

Covers the three conventions most homes have (see the README's "Home Assistant and MQTT"):

- Tasmota: plain ``ON``/``OFF``/``TOGGLE`` on ``cmnd/<topic>/POWER``, the level on
  ``cmnd/<topic>/Dimmer``, the state as JSON on ``stat/<topic>/RESULT`` (``state_key: POWER``);
- Shelly (Gen1): plain ``on``/``off`` on ``shellies/<id>/relay/0/command``, the state plain on
  ``shellies/<id>/relay/0``; a dimmer's JSON on ``.../light/0/set`` and ``.../light/0/status``;
- zigbee2mqtt: JSON on ``zigbee2mqtt/<name>/set`` (``command_key: state``), the state as JSON
  on ``zigbee2mqtt/<name>`` (``state_key: state``), brightness 0-254.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from assistant.config import MqttDeviceConfig

Message = tuple[str, str]
"""(topic, payload) to publish."""

DEFAULT_PAYLOADS = {"turn_on": "ON", "turn_off": "OFF", "toggle": "TOGGLE", "open": "OPEN",
                    "close": "CLOSE", "stop": "STOP", "lock": "LOCK", "unlock": "UNLOCK"}
"""Home Assistant's own defaults, which Tasmota and zigbee2mqtt share (Shelly: lower case)."""

_ON_OFF = {"on": "on", "off": "off", "true": "on", "false": "off", "1": "on", "0": "off",
           "yes": "on", "no": "off"}
_DEFAULT_STATES: dict[str, dict[str, str]] = {
    "light": _ON_OFF, "switch": _ON_OFF, "fan": _ON_OFF, "binary_sensor": _ON_OFF,
    "cover": {"open": "open", "opened": "open", "closed": "closed", "close": "closed",
              "opening": "opening", "closing": "closing", "stopped": "stopped", "stop": "stopped"},
    "lock": {"locked": "locked", "lock": "locked", "unlocked": "unlocked", "unlock": "unlocked",
             "locking": "locking", "unlocking": "unlocking", "jammed": "jammed"},
}
UNKNOWN_WORDS = frozenset({"none", "null", "unknown", "unavailable"})
"""Values that say the device does not know (Home Assistant sends "None")."""

_ALIASES = {"cover": {"turn_on": "open", "turn_off": "close"},
            "lock": {"turn_on": "lock", "turn_off": "unlock"}}
"""As for GPIO devices (``kinds.Lock``, ``covers``): turn on locks a lock and opens a cover."""


class CodecError(ValueError):
    """A message that cannot be read, or an action that cannot be sent; the text says why."""


@dataclass(frozen=True)
class Reading:
    """What one received message said; None fields were not in it."""

    state: str | float | None = None
    level: int | None = None
    """Brightness or speed in % (0-100)."""
    unknown: bool = False
    """The device said it does not know its state."""


def effective_action(kind: str, action: str) -> str:
    return _ALIASES.get(kind, {}).get(action, action)


def encode(config: MqttDeviceConfig, kind: str, action: str, value: float | None,
           state: str | float | None) -> list[Message]:
    """The messages that carry out one action; ``state`` is the last reported one (a toggle of
    a cover needs it). Raises CodecError for what the device cannot be sent."""
    action = effective_action(kind, action)
    if config.command_topic is None:
        raise CodecError("it has no command topic")
    if action in ("set_brightness", "set_speed"):
        return _encode_level(config, value)
    if kind == "cover" and action == "toggle":
        action = "close" if state in ("open", "opening") else "open"
    payload = config.payloads.get(action, DEFAULT_PAYLOADS.get(action))
    if payload is None:
        raise CodecError(f"no payload for {action}")
    if config.command_key:
        return [(config.command_topic, json.dumps({config.command_key: payload}))]
    return [(config.command_topic, payload)]


def _encode_level(config: MqttDeviceConfig, value: float | None) -> list[Message]:
    if value is None or not math.isfinite(value) or not 0 <= value <= 100:
        raise CodecError(f"a level must be 0-100 %, not {value!r}")
    if value <= 0:
        off = config.payloads.get("turn_off", DEFAULT_PAYLOADS["turn_off"])
        assert config.command_topic is not None
        if config.command_key:
            return [(config.command_topic, json.dumps({config.command_key: off}))]
        return [(config.command_topic, off)]
    scaled = to_device_level(value, config.brightness_scale)
    if config.brightness_command_topic:
        return [(config.brightness_command_topic, str(scaled))]
    assert config.command_topic is not None and config.command_key and config.brightness_key
    on = config.payloads.get("turn_on", DEFAULT_PAYLOADS["turn_on"])
    return [(config.command_topic, json.dumps({config.command_key: on, config.brightness_key: scaled}))]


def to_device_level(percent: float, scale: int) -> int:
    """0-100 % to the device's 1..scale (never rounded down to 0, which would mean off)."""
    return max(1, min(scale, round(percent / 100.0 * scale)))


def to_percent(raw: float, scale: int) -> int:
    return max(0, min(100, round(raw / scale * 100.0)))


def expected(kind: str, action: str, value: float | None, state: str | float | None) -> frozenset[Any]:
    """The states that show an action was carried out; empty = any report will do."""
    action = effective_action(kind, action)
    if action == "toggle" and kind != "cover":
        return frozenset({"off"} if state == "on" else {"on"} if state == "off" else ())
    if action == "toggle":
        action = "close" if state in ("open", "opening") else "open"
    if action in ("set_brightness", "set_speed"):
        return frozenset({"off"} if value is not None and value <= 0 else {"on"})
    return {
        "turn_on": frozenset({"on"}), "turn_off": frozenset({"off"}),
        "open": frozenset({"open", "opening"}), "close": frozenset({"closed", "closing"}),
        "lock": frozenset({"locked"}), "unlock": frozenset({"unlocked"}),
    }.get(action, frozenset())


def decode(config: MqttDeviceConfig, kind: str, payload: bytes, scale: float = 1.0) -> Reading:
    """One message on the state topic. Raises CodecError for one that says nothing usable."""
    text = _text(payload)
    data: Any = None
    if config.state_key or config.brightness_key:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    level = None
    if isinstance(data, dict) and config.brightness_key and config.brightness_key in data:
        level = _level(data[config.brightness_key], config.brightness_scale)
    if config.state_key:
        if not isinstance(data, dict):
            raise CodecError(f"expected a JSON object with {config.state_key!r}, got {text[:60]!r}")
        if config.state_key not in data:
            if level is None:
                raise CodecError(f"no {config.state_key!r} in {text[:60]!r}")
            return Reading(level=level)
        raw: Any = data[config.state_key]
    else:
        raw = text
    reading = read_value(config, kind, raw, scale)
    return Reading(reading.state, level, reading.unknown)


def decode_level(config: MqttDeviceConfig, payload: bytes) -> int:
    """One message on the brightness state topic (a plain number)."""
    return _level(_text(payload), config.brightness_scale)


def read_value(config: MqttDeviceConfig, kind: str, raw: Any, scale: float = 1.0) -> Reading:
    """A state value (text, number or JSON value) as the device kind's state."""
    if raw is None:
        return Reading(unknown=True)
    word = _word(raw)
    if word.casefold() in UNKNOWN_WORDS or word == "":
        return Reading(unknown=True)
    if kind == "sensor":
        try:
            number = float(word)
        except ValueError as exc:
            raise CodecError(f"{word[:40]!r} is not a number") from exc
        if not math.isfinite(number):
            raise CodecError(f"{word!r} is not a finite number")
        return Reading(state=round(number * scale, 3))
    if word in config.states:
        return Reading(state=config.states[word])
    folded = {k.casefold(): v for k, v in config.states.items()}
    state = folded.get(word.casefold(), _DEFAULT_STATES.get(kind, {}).get(word.casefold()))
    if state is None:
        raise CodecError(f"{word[:40]!r} is not a state of a {kind}")
    return Reading(state=state)


def _text(payload: bytes) -> str:
    try:
        return payload.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise CodecError("the payload is not UTF-8 text") from exc


def _word(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return f"{raw:g}" if isinstance(raw, float) else str(raw)
    if isinstance(raw, str):
        return raw.strip()
    raise CodecError(f"{type(raw).__name__} is not a state")


def _level(raw: Any, scale: int) -> int:
    try:
        value = float(_word(raw))
    except (ValueError, CodecError) as exc:
        raise CodecError(f"level {raw!r} is not a number") from exc
    if not math.isfinite(value) or value < 0:
        raise CodecError(f"level {raw!r} is out of range")
    return to_percent(value, scale)
