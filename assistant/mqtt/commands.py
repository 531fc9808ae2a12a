"""Commands from Home Assistant (or any broker client) on ``<base>/device/<id>/<leaf>``, run
through the one executor, as voice and the LLM tools are.

A command from MQTT counts as confirmed by whoever sent it: Home Assistant asked its user (or
its automation decided), so a lock or a cover acts without the spoken yes that voice needs.
Everything else is the executor's: the same validation, the same refusals, the same state
file. A payload that is not a command (wrong JSON, an out-of-range brightness, a device the
config does not declare) is logged and ignored; nothing undeclared is ever driven.

Commands arrive on paho's thread and wait in a bounded queue (``QUEUE_SIZE``; when full, the
new command is dropped and logged) for one worker thread: an action on a device over MQTT
waits for that device's answer, which arrives on paho's thread.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from dataclasses import dataclass
from typing import Any

from assistant.brain.types import Action
from assistant.config import DeviceConfig

_LOGGER = logging.getLogger(__name__)

QUEUE_SIZE = 64
_WORDS = {
    "light": {"ON": "turn_on", "OFF": "turn_off", "TOGGLE": "toggle"},
    "switch": {"ON": "turn_on", "OFF": "turn_off", "TOGGLE": "toggle"},
    "fan": {"ON": "turn_on", "OFF": "turn_off", "TOGGLE": "toggle"},
    "cover": {"OPEN": "open", "CLOSE": "close", "STOP": "stop"},
    "lock": {"LOCK": "lock", "UNLOCK": "unlock"},
}
_LEAVES = {"set": None, "brightness/set": ("light", "set_brightness"),
           "percentage/set": ("fan", "set_speed")}


@dataclass(frozen=True)
class Refused:
    """Why a message is not a command (logged, never acted on)."""

    reason: str


def parse_command(devices: dict[str, DeviceConfig], device_id: str, leaf: str,
                  payload: bytes) -> Action | Refused:
    """The action a command message asks for, or why it is none (pure)."""
    device = devices.get(device_id)
    if device is None or (device.mqtt is not None and device.mqtt.owner):
        return Refused(f"no device {device_id!r} here")
    if leaf not in _LEAVES:
        return Refused(f"no command topic {leaf!r}")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return Refused("the payload is not UTF-8 text")
    level = _LEAVES[leaf]
    if level is not None:
        kind, action = level
        if device.kind != kind or not device.dimmable:
            return Refused(f"the {device.kind} {device_id!r} has no level")
        try:
            value = float(text)
        except ValueError:
            return Refused(f"{text[:40]!r} is not a number")
        if not math.isfinite(value) or not 0 <= value <= 100:
            return Refused(f"{text[:40]!r} is out of range (0-100)")
        return Action(device_id, action, value)
    words = _WORDS.get(device.kind)
    if words is None:
        return Refused(f"a {device.kind} takes no commands")
    action_name = words.get(text.upper())
    if action_name is None:
        return Refused(f"{text[:40]!r} is not a command for a {device.kind} (use {', '.join(words)})")
    return Action(device_id, action_name)


class CommandWorker:
    """Runs parsed commands through the executor, one at a time, off paho's thread."""

    def __init__(self, executor: Any, devices: dict[str, DeviceConfig], prefix: str):
        self.executor = executor
        self.devices = devices
        self.prefix = prefix
        """``<base>/device/``: what comes before the device id in a command topic."""
        self.refused = 0
        self.dropped = 0
        self._queue: queue.Queue[Action | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="mqtt-commands", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def on_message(self, topic: str, payload: bytes) -> None:
        """paho's thread: parse, and queue what is a command."""
        device_id, _, leaf = topic.removeprefix(self.prefix).partition("/")
        found = parse_command(self.devices, device_id, leaf, payload)
        if isinstance(found, Refused):
            self.refused += 1
            _LOGGER.warning("MQTT: ignored %r on %s: %s", payload[:60], topic, found.reason)
            return
        try:
            self._queue.put_nowait(found)
        except queue.Full:
            self.dropped += 1
            _LOGGER.warning("MQTT: %d commands waiting; dropped %s %s", QUEUE_SIZE, found.action,
                            found.device)

    def _run(self) -> None:
        while True:
            action = self._queue.get()
            if action is None:
                return
            result = self.executor.run(action)
            if result.ok:
                _LOGGER.info("MQTT command %s %s: now %s", action.action, action.device, result.state)
            else:
                _LOGGER.info("MQTT command %s %s refused: %s", action.action, action.device,
                             result.error)

    def close(self) -> None:
        try:
            self._queue.put(None, timeout=1.0)
        except queue.Full:
            return
        self._thread.join(timeout=5.0)
