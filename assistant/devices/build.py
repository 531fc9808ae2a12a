"""The device for one config entry: the one place that knows every kind's class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpiozero import Factory

from assistant.config import DeviceConfig
from assistant.devices.covers import MomentaryCover, RelayCover
from assistant.devices.kinds import BinarySensor, Device, Fan, Light, Lock, Sensor, Switch
from assistant.devices.mqtt_device import MqttDevice
from assistant.devices.sensors import SYSFS_ROOT
from assistant.errors import DeviceError


def build_device(config: DeviceConfig, pin_factory: Factory,
                 sysfs_root: Path = SYSFS_ROOT, mqtt: Any = None) -> Device:
    """The device for one config entry; only the pins that entry names are opened. ``mqtt``:
    the transport for devices reached over MQTT (``mqtt_device.MqttTransport``)."""
    kind = config.kind
    if config.mqtt is not None:
        if mqtt is None:
            raise DeviceError(f"{config.id!r} is reached over MQTT, and MQTT is not set up")
        return MqttDevice(config, mqtt)
    if kind == "sensor":
        return Sensor(config, sysfs_root)
    if kind == "cover":
        if {"open", "close"} <= set(config.pins):
            return RelayCover(config, pin_factory)
        return MomentaryCover(config, pin_factory)
    classes: dict[str, Any] = {"light": Light, "switch": Switch, "fan": Fan, "lock": Lock,
                               "binary_sensor": BinarySensor}
    if kind not in classes:
        raise DeviceError(f"unknown device kind {kind!r}")
    device: Device = classes[kind](config, pin_factory)
    return device
