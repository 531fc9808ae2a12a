"""Home Assistant's MQTT discovery schemas, transcribed for the tests (HA is not installed here).

Read from github:home-assistant/core, ``homeassistant/components/mqtt/``: ``config.py``
(MQTT_BASE_SCHEMA, MQTT_RO_SCHEMA, MQTT_RW_SCHEMA), ``schemas.py`` (MQTT_ENTITY_COMMON_SCHEMA,
device and origin info), ``light/schema_basic.py`` (PLATFORM_SCHEMA_MODERN_BASIC, the part used
here), ``switch.py``, ``fan.py``, ``cover.py``, ``lock.py``, ``sensor.py``,
``binary_sensor.py``, ``select.py``, ``number.py``, ``notify.py``, ``button.py``, and
``discovery.py`` (the config topic's pattern). Each platform's DISCOVERY_SCHEMA is its
platform schema with ``extra=vol.REMOVE_EXTRA``: a key HA does not know is dropped without a
word, so a misspelt key would silently do nothing. ``problems`` therefore also reports unknown
keys. Templates, colours and the like that the appliance never sends are listed as plain
"template" keys so that they count as known.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

TOPIC_MATCHER = re.compile(r"(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config")
"""discovery.py: what follows the discovery prefix."""

Check = Callable[[Any], str | None]


def _is(kind: type | tuple[type, ...], what: str) -> Check:
    return lambda v: None if isinstance(v, kind) and not isinstance(v, bool) or (
        kind is bool and isinstance(v, bool)) else f"not {what}: {v!r}"


def pub_topic(v: Any) -> str | None:
    """util.valid_publish_topic: a valid topic with no wildcards."""
    if not isinstance(v, str) or not v or "\0" in v or len(v.encode()) > 65535:
        return f"not a topic: {v!r}"
    return f"wildcard in a publish topic: {v!r}" if "+" in v or "#" in v else None


def sub_topic(v: Any) -> str | None:
    """util.valid_subscribe_topic: '#' only as the last level, '+' only as a whole level."""
    if not isinstance(v, str) or not v or "\0" in v:
        return f"not a topic: {v!r}"
    levels = v.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return f"bad '#' in {v!r}"
        if "+" in level and level != "+":
            return f"bad '+' in {v!r}"
    return None


def one_of(*values: Any) -> Check:
    return lambda v: None if v in values else f"{v!r} not one of {values}"


def or_none(check: Check) -> Check:
    return lambda v: None if v is None else check(v)


STRING = _is(str, "a string")
BOOL = _is(bool, "true/false")
INT = _is(int, "an integer")
NUMBER = _is((int, float), "a number")
TEMPLATE = STRING


def positive_int(v: Any) -> str | None:
    return INT(v) or (None if v >= 0 else f"{v} < 0")


def int_min_1(v: Any) -> str | None:
    return INT(v) or (None if v >= 1 else f"{v} < 1")


def icon(v: Any) -> str | None:
    return STRING(v) or (None if re.fullmatch(r"[a-z0-9-]+:[a-z0-9-]+", v) else f"not an icon: {v!r}")


def list_of_str(v: Any) -> str | None:
    return None if isinstance(v, list) and all(isinstance(x, str) for x in v) else f"not a list of strings: {v!r}"


BINARY_SENSOR_CLASSES = one_of(
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door", "garage_door",
    "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy", "opening", "plug",
    "power", "presence", "problem", "running", "safety", "smoke", "sound", "tamper", "update",
    "vibration", "window")
COVER_CLASSES = one_of("awning", "blind", "curtain", "damper", "door", "garage", "gate", "shade",
                       "shutter", "window")
SWITCH_CLASSES = one_of("outlet", "switch")
SENSOR_CLASSES = one_of(
    "apparent_power", "aqi", "area", "atmospheric_pressure", "battery", "carbon_dioxide",
    "carbon_monoxide", "conductivity", "current", "data_rate", "data_size", "date", "distance",
    "duration", "energy", "energy_storage", "enum", "frequency", "gas", "humidity", "illuminance",
    "irradiance", "moisture", "monetary", "nitrogen_dioxide", "nitrogen_monoxide", "nitrous_oxide",
    "ozone", "ph", "pm1", "pm10", "pm25", "power_factor", "power", "precipitation",
    "precipitation_intensity", "pressure", "reactive_power", "signal_strength", "sound_pressure",
    "speed", "sulphur_dioxide", "temperature", "timestamp", "volatile_organic_compounds",
    "volatile_organic_compounds_parts", "voltage", "volume", "volume_flow_rate", "volume_storage",
    "water", "weight", "wind_speed")
STATE_CLASSES = one_of("measurement", "total", "total_increasing")
ENTITY_CATEGORIES = one_of("config", "diagnostic")

DEVICE_INFO = {  # schemas.MQTT_ENTITY_DEVICE_INFO_SCHEMA
    "identifiers": list_of_str, "connections": lambda v: None, "manufacturer": STRING,
    "model": STRING, "model_id": STRING, "name": STRING, "hw_version": STRING,
    "serial_number": STRING, "sw_version": STRING, "via_device": STRING,
    "suggested_area": STRING, "configuration_url": STRING,
}
ORIGIN_INFO = {"name": STRING, "sw_version": STRING, "support_url": STRING}  # name is required


def _nested(schema: dict[str, Check], required: tuple[str, ...] = ()) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, dict):
            return f"not a mapping: {v!r}"
        bad = [f"{k}: {p}" for k, x in v.items() if (p := schema[k](x) if k in schema else "unknown key")]
        bad += [f"{k}: required" for k in required if k not in v]
        return "; ".join(bad) or None

    return check


def _device(v: Any) -> str | None:
    problem = _nested(DEVICE_INFO)(v)
    if problem is None and not (v.get("identifiers") or v.get("connections")):
        problem = "a device needs at least one identifier"  # validate_device_has_at_least_one_identifier
    return problem


BASE = {"qos": one_of(0, 1, 2), "encoding": STRING}
ENTITY_COMMON = {  # schemas.MQTT_ENTITY_COMMON_SCHEMA (availability single + list, device, origin...)
    "availability_topic": sub_topic, "availability_template": TEMPLATE,
    "payload_available": STRING, "payload_not_available": STRING,
    "availability_mode": one_of("all", "any", "latest"), "availability": lambda v: None,
    "device": _device, "origin": _nested(ORIGIN_INFO, ("name",)), "enabled_by_default": BOOL,
    "entity_category": ENTITY_CATEGORIES, "icon": icon, "json_attributes_topic": sub_topic,
    "json_attributes_template": TEMPLATE, "object_id": STRING, "unique_id": STRING,
    "name": or_none(STRING),
}
RO = {**BASE, "state_topic": sub_topic, "value_template": TEMPLATE}
RW = {**BASE, "command_topic": pub_topic, "optimistic": BOOL, "retain": BOOL, "state_topic": sub_topic}

PLATFORMS: dict[str, tuple[dict[str, Check], tuple[str, ...]]] = {
    "light": ({**RW, **ENTITY_COMMON, "schema": one_of("basic"),
               "brightness_command_template": TEMPLATE, "brightness_command_topic": pub_topic,
               "brightness_scale": int_min_1, "brightness_state_topic": sub_topic,
               "brightness_value_template": TEMPLATE, "effect_list": list_of_str,
               "on_command_type": one_of("first", "last", "brightness"),
               "payload_off": STRING, "payload_on": STRING, "state_value_template": TEMPLATE,
               **{k: TEMPLATE for k in ("color_mode_state_topic", "color_temp_command_topic",
                                         "color_temp_state_topic", "rgb_command_topic", "hs_command_topic",
                                         "xy_command_topic", "white_command_topic", "effect_command_topic")},
               "white_scale": int_min_1, "max_mireds": positive_int, "min_mireds": positive_int},
              ("command_topic",)),
    "switch": ({**RW, **ENTITY_COMMON, "command_template": TEMPLATE, "payload_off": STRING,
                "payload_on": STRING, "state_off": STRING, "state_on": STRING,
                "value_template": TEMPLATE, "device_class": or_none(SWITCH_CLASSES)},
               ("command_topic",)),
    "fan": ({**RW, **ENTITY_COMMON, "command_template": TEMPLATE,
             "percentage_command_topic": pub_topic, "percentage_command_template": TEMPLATE,
             "percentage_state_topic": sub_topic, "percentage_value_template": TEMPLATE,
             "preset_mode_command_topic": pub_topic, "preset_modes": list_of_str,
             "preset_mode_state_topic": sub_topic, "speed_range_min": positive_int,
             "speed_range_max": positive_int, "payload_reset_percentage": STRING,
             "payload_reset_preset_mode": STRING, "payload_off": STRING, "payload_on": STRING,
             "payload_oscillation_off": STRING, "payload_oscillation_on": STRING,
             "oscillation_command_topic": pub_topic, "oscillation_state_topic": sub_topic,
             "direction_command_topic": pub_topic, "direction_state_topic": sub_topic,
             "state_value_template": TEMPLATE}, ("command_topic",)),
    "cover": ({**BASE, **ENTITY_COMMON, "command_topic": pub_topic,
               "device_class": or_none(COVER_CLASSES), "get_position_topic": sub_topic,
               "optimistic": BOOL, "payload_close": or_none(STRING), "payload_open": or_none(STRING),
               "payload_stop": or_none(STRING), "position_closed": INT, "position_open": INT,
               "retain": BOOL, "set_position_template": TEMPLATE, "set_position_topic": pub_topic,
               "state_closed": STRING, "state_closing": STRING, "state_open": STRING,
               "state_opening": STRING, "state_stopped": STRING, "state_topic": sub_topic,
               "tilt_command_topic": pub_topic, "tilt_status_topic": sub_topic,
               "value_template": TEMPLATE, "get_position_template": TEMPLATE}, ()),
    "lock": ({**RW, **ENTITY_COMMON, "code_format": STRING, "command_template": TEMPLATE,
              "payload_lock": STRING, "payload_unlock": STRING, "payload_open": STRING,
              "payload_reset": STRING, "state_jammed": STRING, "state_locked": STRING,
              "state_locking": STRING, "state_open": STRING, "state_opening": STRING,
              "state_unlocked": STRING, "state_unlocking": STRING, "value_template": TEMPLATE},
             ("command_topic",)),
    "sensor": ({**RO, **ENTITY_COMMON, "device_class": or_none(SENSOR_CLASSES),
                "expire_after": positive_int, "force_update": BOOL,
                "last_reset_value_template": TEMPLATE, "options": list_of_str,
                "suggested_display_precision": positive_int, "state_class": or_none(STATE_CLASSES),
                "unit_of_measurement": or_none(STRING)}, ("state_topic",)),
    "binary_sensor": ({**RO, **ENTITY_COMMON, "device_class": or_none(BINARY_SENSOR_CLASSES),
                       "expire_after": positive_int, "force_update": BOOL, "off_delay": positive_int,
                       "payload_off": STRING, "payload_on": STRING}, ("state_topic",)),
    "select": ({**RW, **ENTITY_COMMON, "command_template": TEMPLATE, "options": list_of_str,
                "value_template": TEMPLATE}, ("command_topic", "options")),
    "number": ({**RW, **ENTITY_COMMON, "command_template": TEMPLATE, "device_class": STRING,
                "max": NUMBER, "min": NUMBER, "mode": one_of("auto", "box", "slider"),
                "payload_reset": STRING, "step": NUMBER, "unit_of_measurement": or_none(STRING),
                "value_template": TEMPLATE}, ("command_topic",)),
    "notify": ({**BASE, **ENTITY_COMMON, "command_template": TEMPLATE, "command_topic": pub_topic,
                "retain": BOOL}, ("command_topic",)),
    "button": ({**BASE, **ENTITY_COMMON, "command_template": TEMPLATE, "command_topic": pub_topic,
                "device_class": or_none(one_of("identify", "restart", "update")),
                "payload_press": STRING, "retain": BOOL}, ("command_topic",)),
}


def problems(platform: str, payload: dict[str, Any]) -> list[str]:
    """Everything HA's discovery schema would reject or silently drop in ``payload``."""
    schema, required = PLATFORMS[platform]
    out = [f"{key}: unknown to HA's {platform} schema (dropped)" for key in payload if key not in schema]
    out += [f"{key}: {problem}" for key, value in payload.items() if key in schema
            and (problem := schema[key](value))]
    out += [f"{key}: required" for key in required if key not in payload]
    low, high = payload.get("speed_range_min", 1), payload.get("speed_range_max", 100)
    if platform == "fan" and not 0 < low < high:  # valid_speed_range_configuration
        out.append("speed_range_min must be > 0 and < speed_range_max")
    if platform == "number" and payload.get("min", 1) > payload.get("max", 100):  # validate_config
        out.append("max must be >= min")
    if platform == "cover" and "value_template" in payload and "state_topic" not in payload:
        out.append("value_template needs state_topic")  # validate_options
    return out
