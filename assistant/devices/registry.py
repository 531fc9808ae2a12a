"""Every configured device, built once at start; state saved after each change.

Only pins named in the config are ever opened: devices are created here from config.devices and
nowhere else, and the executor (assistant.brain.actions) can only reach devices by their id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gpiozero import Factory

from assistant.config import Config
from assistant.devices.build import build_device
from assistant.devices.kinds import Device, State
from assistant.devices.sensors import SYSFS_ROOT
from assistant.devices.state import StateStore
from assistant.errors import DeviceError

_LOGGER = logging.getLogger(__name__)

SECTION = "devices"


class DeviceRegistry:
    def __init__(self, devices: list[Device], store: StateStore | None = None):
        self._devices = {d.id: d for d in devices}
        self._store = store
        self._lock = threading.Lock()  # one action at a time: a snapshot never sees half a change
        self.listeners: list[Callable[[Device], None]] = []
        """Told after every state change, whatever caused it: an action, a sensor edge, a cover
        that stopped, a device over MQTT that reported (MQTT state publication listens here)."""
        for device in devices:
            device.watch(self._notify)

    @classmethod
    def from_config(cls, config: Config, pin_factory: Factory, store: StateStore | None = None,
                    *, sysfs_root: Path = SYSFS_ROOT, mqtt: Any = None) -> DeviceRegistry:
        """``mqtt``: the transport for devices reached over MQTT (``mqtt_device.MqttTransport``)."""
        devices: list[Device] = []
        try:
            for device_config in config.devices:
                try:
                    devices.append(build_device(device_config, pin_factory, sysfs_root, mqtt))
                except DeviceError:
                    raise
                except Exception as exc:  # gpiozero: pin in use, no PWM, bad pin...
                    raise DeviceError(f"cannot set up device {device_config.id!r}: {exc}") from exc
        except BaseException:
            for device in devices:
                device.close()
            raise
        registry = cls(devices, store)
        registry._start(config.state.restore)
        return registry

    def _start(self, restore: bool) -> None:
        saved = self._store.get(SECTION, {}) if self._store is not None else {}
        if not isinstance(saved, dict):
            saved = {}
        for device in self._devices.values():
            snapshot = saved.get(device.id)
            try:
                if restore and isinstance(snapshot, dict):
                    device.restore(snapshot)
                else:
                    device.reset()
            except Exception:  # a stale or odd snapshot must not stop the assistant starting
                _LOGGER.warning("Cannot restore %s from %r; it starts off", device.id, snapshot,
                                exc_info=True)
                device.reset()
        if restore and saved:
            _LOGGER.info("Restored the state of %d devices", len(saved))
        self.save()

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id) if isinstance(device_id, str) else None

    def __iter__(self) -> Iterator[Device]:
        return iter(list(self._devices.values()))

    def __len__(self) -> int:
        return len(self._devices)

    def apply(self, device_id: str, action: str, value: float | None = None) -> Device:
        """Run one action and save; raises DeviceError / UnknownDeviceError / gpiozero errors.

        Callers go through assistant.brain.actions.DeviceExecutor, which checks values first."""
        device = self.get(device_id)
        if device is None:
            raise DeviceError(f"unknown device {device_id!r}")
        with self._lock:
            device.apply(action, value)
            if action != "query":
                # Told before the save: the pin has changed already, and an fsync on an SD card
                # takes tens of ms (listeners only queue; they never block).
                self._notify(device)
                self.save()
        return device

    def _notify(self, device: Device) -> None:
        for listener in list(self.listeners):
            try:
                listener(device)
            except Exception:  # publication must never undo or block a change
                _LOGGER.exception("device listener failed for %s", device.id)

    def save(self) -> None:
        if self._store is None:
            return
        snapshots = {}
        for device in self._devices.values():
            snapshot = device.snapshot()
            if snapshot:
                snapshots[device.id] = snapshot
        self._store.put(SECTION, snapshots)

    def states(self) -> dict[str, State]:
        return {device.id: device.state for device in self._devices.values()}

    def attributes(self) -> dict[str, dict[str, Any]]:
        return {device.id: device.attributes for device in self._devices.values()}

    def close(self) -> None:
        for device in self._devices.values():
            try:
                device.close()
            except Exception:
                _LOGGER.warning("Error closing %s", device.id, exc_info=True)
