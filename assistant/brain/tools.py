"""Device tools for the language models, generated from the configured devices.

Two small tools keep the prompt short for small models:

- ``control_device(device, action, value?)``: device is an enum of configured actuator ids, action
  an enum of the actions at least one of them supports, value 0-100 for brightness / speed;
- ``get_device_state(device)``: any configured device, sensors included.

Everything a model produces is validated here before it reaches the shared Executor: unknown
tool, malformed JSON, unknown device, an action the device cannot do, an out-of-range value or an
extra argument (``pin``) is refused with an error the model can read and the user can hear. Only
configured device ids can ever reach the executor, whatever the transcript asked for.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.brain.types import Action, ActionResult, Executor
from assistant.config import DeviceConfig

_LOGGER = logging.getLogger(__name__)

CONTROL = "control_device"
QUERY = "get_device_state"
_LEVEL_ACTIONS = ("set_brightness", "set_speed")
_ON_OFF = ("turn_on", "turn_off", "toggle")


def device_actions(device: DeviceConfig) -> tuple[str, ...]:
    """What a model may ask of a device; mirrors the device kinds (a lock has no toggle)."""
    kind = device.kind
    if kind == "light":
        return _ON_OFF + (("set_brightness",) if device.dimmable else ())
    if kind == "fan":
        return _ON_OFF + (("set_speed",) if device.dimmable else ())
    if kind == "switch":
        return _ON_OFF
    if kind == "cover":
        return ("open", "close", "toggle")
    if kind == "lock":
        return ("lock", "unlock")
    return ()  # sensors: get_device_state only


@dataclass
class ToolOutcome:
    """One tool call, handled: what goes back to the model, and what the user may hear."""

    content: str
    """JSON for the model's tool message."""
    ok: bool
    result: ActionResult | None = None
    spoken: str = ""
    """A short sentence for the user (the error, or the new state)."""
    held: bool = False
    """Not run: it waits for the user's spoken yes (spoken is the question to ask)."""


class DeviceTools:
    def __init__(self, devices: Sequence[DeviceConfig], executor: Executor,
                 hold: Callable[[Action], str | None] | None = None):
        self.executor = executor
        self.hold = hold
        """Asked before a change runs: a question means "not before the user says yes"."""
        self.devices: dict[str, DeviceConfig] = {d.id: d for d in devices}
        self.actions = {d.id: device_actions(d) for d in devices}
        self.actuators = [d for d in devices if self.actions[d.id]]
        seen: dict[str, None] = {}
        for d in self.actuators:
            seen.update(dict.fromkeys(self.actions[d.id]))
        self.all_actions = tuple(seen)

    # -- what the model sees ----------------------------------------------------------------
    def describe(self) -> str:
        """One line per device for the system prompt: id, name, area, kind, actions."""
        lines = []
        for d in self.devices.values():
            where = f" in the {d.area}" if d.area else ""
            acts = ", ".join(self.actions[d.id]) or "read only"
            lines.append(f"- {d.id}: {d.name}{where} ({d.kind}; {acts})")
        return "Devices:\n" + "\n".join(lines) if lines else "There are no devices."

    def specs(self) -> list[dict[str, Any]]:
        """OpenAI function tools; empty when no device is configured."""
        tools: list[dict[str, Any]] = []
        if self.actuators:
            names = "; ".join(f"{d.id} = {d.name}" + (f" ({d.area})" if d.area else "")
                              for d in self.actuators)
            tools.append(_function(CONTROL, f"Switch, dim, open, close or lock a device: {names}.",
                                   self.control_schema(), ["device", "action"]))
        if self.devices:
            names = "; ".join(f"{d.id} = {d.name}" for d in self.devices.values())
            tools.append(_function(QUERY, f"Read a device's current state: {names}.",
                                   {"device": {"type": "string", "enum": list(self.devices)}},
                                   ["device"]))
        return tools

    def control_schema(self) -> dict[str, Any]:
        return {
            "device": {"type": "string", "enum": [d.id for d in self.actuators]},
            "action": {"type": "string", "enum": list(self.all_actions)},
            "value": {"type": "integer", "minimum": 0, "maximum": 100,
                      "description": "percent, only for set_brightness / set_speed"},
        }

    def command_schema(self, only: Sequence[str] | None = None,
                       query: bool = True) -> dict[str, Any]:
        """One JSON object for grammar-constrained local models: control or query in one.

        ``only`` narrows the enums to the devices the user named: a small model then cannot
        pick a device nobody mentioned, nor an action none of them can do. ``query: False``
        leaves reading out, for a sentence that is no question (SmolLM2-135M otherwise picks it
        for most commands).
        """
        ids = [i for i in self.devices if only is None or i in only]
        actions = dict.fromkeys(a for i in ids for a in self.actions[i])
        if not actions:
            query = True  # a sensor named in a command: reading it is all there is
        return {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": [*actions, *(["query"] if query else [])]},
                "device": {"type": "string", "enum": ids},
                "value": {"type": "integer", "minimum": 0, "maximum": 100},
            },
            "required": ["device", "action"],
        }

    # -- validation and execution -----------------------------------------------------------
    def validate(self, name: str, arguments: str | Mapping[str, Any] | None) -> Action | str:
        """The Action a tool call asks for, or an error sentence. Touches nothing."""
        if name not in (CONTROL, QUERY):
            return f"Unknown tool {name!r}; use {CONTROL} or {QUERY}."
        if isinstance(arguments, str) or arguments is None:
            try:
                args = json.loads(arguments or "{}")
            except ValueError:
                return "The tool arguments were not valid JSON."
        else:
            args = dict(arguments)
        if not isinstance(args, dict):
            return "The tool arguments must be a JSON object."
        allowed = {"device", "action", "value"} if name == CONTROL else {"device"}
        extra = sorted(set(args) - allowed)
        if extra:
            return f"Unknown argument {extra[0]!r}; only configured devices can be used."
        device_id = args.get("device")
        device = self.devices.get(device_id) if isinstance(device_id, str) else None
        if device is None:
            known = ", ".join(self.devices) or "none"
            return f"I don't know a device called {device_id}. Known devices: {known}."
        if name == QUERY:
            return Action(device.id, "query")
        action = args.get("action")
        if action not in self.actions[device.id]:
            can = ", ".join(self.actions[device.id]) or "nothing"
            return f"The {device.name} can't do {action}; it can: {can}."
        raw = args.get("value")
        if action not in _LEVEL_ACTIONS:
            return Action(device.id, action)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            return f"Say how much for the {device.name}, from 0 to 100 percent."
        if not 0 <= raw <= 100:
            return f"The level for the {device.name} must be between 0 and 100 percent."
        return Action(device.id, action, float(raw))

    def call(self, name: str, arguments: str | Mapping[str, Any] | None) -> ToolOutcome:
        checked = self.validate(name, arguments)
        if isinstance(checked, str):
            _LOGGER.info("Refused tool call %s(%.200s): %s", name, arguments, checked)
            return ToolOutcome(json.dumps({"ok": False, "error": checked}), ok=False,
                               spoken=checked)
        question = self.hold(checked) if self.hold and checked.action != "query" else None
        if question:
            # A model's reading of a sentence is itself a guess: locks, covers and devices marked
            # confirm: true change only after a spoken yes, which the local brain waits for.
            _LOGGER.info("Tool call %s on %s waits for a yes", checked.action, checked.device)
            return ToolOutcome(json.dumps({
                "ok": False, "done": False, "needs_confirmation": True, "ask_user": question,
                "note": "Nothing was changed. Ask the user exactly this question; it runs only "
                        "if they answer yes."}), ok=False, spoken=question, held=True)
        result = self.executor.run(checked)
        spoken = self.spoken(result)
        payload = result.to_json()
        if result.attributes:
            payload["attributes"] = result.attributes
        return ToolOutcome(json.dumps(payload), ok=result.ok, result=result, spoken=spoken)

    def spoken(self, result: ActionResult) -> str:
        """A plain sentence for a result, for when the model cannot phrase one itself."""
        if not result.ok:
            return result.error or "Sorry, that didn't work."
        device = self.devices.get(result.action.device)
        name = device.name if device else result.action.device
        state = result.state
        if isinstance(state, float):
            unit = result.attributes.get("unit", "")
            return f"The {name} reads {state:g}{' ' + unit if unit else ''}."
        level = next((f" at {v}%" for k, v in result.attributes.items()
                      if k in ("brightness", "speed") and state == "on"), "")
        return f"The {name} is {state}{level}." if state is not None else "Done."


def _function(name: str, description: str, properties: dict[str, Any],
              required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required,
                       "additionalProperties": False},
    }}


def _norm(text: str) -> str:
    return " " + " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) + " "


def mentioned_devices(devices: Sequence[DeviceConfig], text: str) -> list[str]:
    """Ids of the devices a sentence names (name, alias, id words, or area + kind)."""
    said = _norm(text)
    found = []
    for d in devices:
        phrases = [d.name, *d.aliases, d.id.replace("_", " ")]
        if d.area:
            phrases.append(f"{d.area} {d.kind.replace('_', ' ')}")
        if any(_norm(p) in said for p in phrases):
            found.append(d.id)
    return found
