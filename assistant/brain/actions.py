"""The one action executor: every device change, from local intents or an LLM tool, passes here.

It never raises on bad input. An unknown device, an action the kind cannot do, or a value out of
range comes back as ``ok=False`` with a reason that can be spoken, and no pin is touched.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from assistant.brain.types import Action, ActionResult
from assistant.devices.registry import DeviceRegistry
from assistant.errors import DeviceError

_LOGGER = logging.getLogger(__name__)

# How a refusal reads: "The hallway motion can't be turned on."
_PAST = {
    "turn_on": "turned on",
    "turn_off": "turned off",
    "toggle": "toggled",
    "set_brightness": "dimmed",
    "set_speed": "set to a speed",
    "open": "opened",
    "close": "closed",
    "stop": "stopped",
    "lock": "locked",
    "unlock": "unlocked",
    "query": "read",
}
_LEVELS = {"set_brightness": "brightness", "set_speed": "speed"}


class DeviceExecutor:
    """Implements brain.types.Executor on a DeviceRegistry."""

    def __init__(self, registry: DeviceRegistry):
        self.registry = registry

    def run(self, action: Action) -> ActionResult:
        try:
            return self._run(action)
        except Exception:  # the last guard: a bug here must not take the assistant down
            _LOGGER.exception("Action %r failed unexpectedly", action)
            return _refuse(action, "Sorry, that didn't work.")

    def _run(self, action: Action) -> ActionResult:
        device_id, name = action.device, action.action
        device = self.registry.get(device_id) if isinstance(device_id, str) else None
        if device is None:
            _LOGGER.info("Refused %s on unknown device %r", name, device_id)
            return _refuse(action, f"I don't know a device called {device_id}")
        if name not in _PAST:
            _LOGGER.info("Refused unknown action %r on %s", name, device.id)
            verb = str(name).replace("_", " ")
            return _refuse(action, f"I don't know how to {verb} the {device.name}.")
        if name not in device.supported_actions:
            _LOGGER.info("Refused %s on %s (%s)", name, device.id, device.kind)
            return _refuse(action, f"The {device.name} can't be {_PAST[name]}.")
        value, problem = _check_value(name, action.value)
        if problem:
            _LOGGER.info("Refused %s on %s: value %r", name, device.id, action.value)
            return _refuse(action, problem)
        try:
            self.registry.apply(device.id, name, value)
        except DeviceError as exc:  # a refusal with words fit to speak ("still moving")
            _LOGGER.info("Refused %s on %s: %s", name, device.id, exc)
            return _refuse(action, str(exc))
        except Exception as exc:  # gpiozero or the OS: log the detail, speak a short phrase
            _LOGGER.error("Action %s on %s failed: %s", name, device.id, exc, exc_info=True)
            return _refuse(action, f"The {device.name} didn't respond.")
        state = device.state
        attributes = device.attributes
        if name == "query":
            _LOGGER.info("Queried %s: %s %s", device.id, state, attributes)
            if state is None:
                # A device over MQTT that never reported says so (its state is unknown).
                unknown = getattr(device, "unknown_reply", None)
                return ActionResult(action, ok=False, state=None, attributes=attributes,
                                    error=unknown or f"I can't read the {device.name} right now.")
        else:
            shown = "" if value is None else f" {value:g}"
            _LOGGER.info("Ran %s%s on %s: now %s %s", name, shown, device.id, state, attributes)
        return ActionResult(action, ok=True, state=state, attributes=attributes)


def _check_value(name: str, raw: Any) -> tuple[float | None, str | None]:
    """A level action needs a number from 0 to 100; other actions ignore the value."""
    if name not in _LEVELS:
        return None, None
    what = _LEVELS[name]
    if raw is None:
        return None, f"Which {what}? Say a number from 0 to 100 percent."
    try:
        value = float(raw) if not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= 100:
        return None, f"The {what} must be between 0 and 100 percent."
    return value, None


def _refuse(action: Action, error: str) -> ActionResult:
    return ActionResult(action, ok=False, error=error)
