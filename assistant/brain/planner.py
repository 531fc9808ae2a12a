"""One recognized sentence (intent, response key, slots) -> a plan on configured devices (no I/O).

Targets are found as Home Assistant's default agent finds them (``assistant.brain.targets``):
name + area, domain, device class, the appliance's own area first when none is said, all of
them for "everywhere"; a name that several devices share is asked about ("Which one: ...?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.brain.classes import said_class, state_word
from assistant.brain.plan import IntentMatch, UnknownEntity
from assistant.brain.targets import Found, Wanted, match_targets, prefer_area, which_one
from assistant.brain.types import Action
from assistant.config import DeviceConfig

Slots = dict[str, tuple[Any, str]]
"""Recognized entities: slot name -> (value, the words that matched)."""

TIMER_INTENTS = frozenset({
    "HassStartTimer", "HassCancelTimer", "HassCancelAllTimers", "HassIncreaseTimer",
    "HassDecreaseTimer", "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus",
})
"""Timer sentences are planned with no actions; LocalBrain hands them to its TimerManager."""
HERE_RESPONSES = frozenset({"lights_here", "lights_area", "fans_area", "cover_device_class",
                            "brightness", "class_only"})
"""Responses of sentences that name no area and mean the one the appliance stands in
("turn on the lights", "open the curtains"); "everywhere" sentences have others."""
KIND_WORDS = {"light": frozenset({"light", "lights", "lighting", "lamp", "lamps"}),
              "fan": frozenset({"fan", "fans"})}
"""Words that name a kind, not one device (Home Assistant's <light> rule): "the bedroom lamp"
in a bedroom whose light is called "bedroom light" means that light."""
_PLURAL = {"light": "lights", "switch": "switches", "fan": "fans", "cover": "covers",
           "lock": "locks", "binary_sensor": "sensors", "sensor": "sensors"}
_CLASS_PLURAL = {"garage": "garage doors", "carbon_monoxide": "carbon monoxide sensors",
                 "moisture": "water sensors", "battery": "batteries", "battery_charging":
                 "batteries", "cold": "things", "heat": "things", "connectivity": "devices",
                 "plug": "devices", "power": "devices", "presence": "devices", "running":
                 "devices", "update": "updates", "vibration": "things", "moving": "things",
                 "safety": "things", "problem": "problems"}
_TEMPERATURE_UNITS = {"°c", "°f", "c", "f", "degc", "degf", "celsius", "fahrenheit"}
_COUNTS = ("any", "all", "which", "how_many")


@dataclass(frozen=True)
class _Targets:
    devices: tuple[DeviceConfig, ...]
    group: str | None = None
    choose: bool = False
    """Look-alikes of one name: ask which one before anything runs."""


def _listed(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    values = value[0] if isinstance(value, tuple) else value
    return frozenset(str(v) for v in values) if isinstance(values, list) else frozenset({str(values)})


class Planner:
    def __init__(self, devices: dict[str, DeviceConfig], text: str, intent: str,
                 response: str | None, slots: Slots, area: str | None = None):
        self.devices = devices
        self.text = text
        self.intent = intent
        self.response = response or "default"
        self.slots = slots
        self.area = area
        """The appliance's own area (``Config.area``)."""

    def plan(self) -> IntentMatch | UnknownEntity | None:
        intent = self.intent
        if intent in TIMER_INTENTS:
            return self._match(reply="timer")
        simple = {"AssistantStop": "stop", "HassNevermind": "silent",
                  "HassGetCurrentTime": "time", "HassGetCurrentDate": "date"}
        if intent in simple:
            return self._match(reply=simple[intent])  # type: ignore[arg-type]
        if intent in ("HassTurnOn", "HassTurnOff"):
            return self._switch(intent == "HassTurnOn")
        if intent == "HassLightSet" and "brightness" in self.slots:
            return self._level("set_brightness", "brightness", "light")
        if intent == "HassFanSetSpeed" and "percentage" in self.slots:
            return self._level("set_speed", "percentage", "fan")
        if intent == "HassGetState":
            return self._state()
        if intent == "HassClimateGetTemperature":
            return self._temperature()
        return None  # colours, media, weather...: not ours

    def _match(self, actions: list[Action] | None = None, **kwargs: Any) -> IntentMatch:
        return IntentMatch(self.intent, plain(self.slots), tuple(actions or ()), **kwargs)

    def _say(self, message: str) -> IntentMatch:
        return self._match(reply="message", message=message)

    def _planned(self, targets: _Targets, actions: list[Action], **kwargs: Any) -> IntentMatch:
        if targets.choose:
            return self._match(actions, reply="choose", message=which_one(targets.devices))
        words = tuple((d.id, state_word(d.device_class, "on"), state_word(d.device_class, "off"))
                      for d in targets.devices if d.kind == "binary_sensor" and d.device_class)
        return self._match(actions, group=targets.group, state_words=words, **kwargs)

    def _by_quantity(self, alike: tuple[DeviceConfig, ...]) -> tuple[DeviceConfig, ...]:
        """Look-alikes narrowed to the one whose class the question's quantity names, if it
        names one of theirs ("the rainfall intensity of the garden rain sensor")."""
        if "quantity" not in self.slots:
            return alike
        said = said_class(str(self.slots["quantity"][1]),
                          {d.device_class for d in alike if d.device_class})
        return tuple(d for d in alike if said is None or d.device_class == said)

    def _targets(self, domain: str | None) -> _Targets | IntentMatch | UnknownEntity | None:
        """The devices a sentence names and how to speak of them together, or why none."""
        name, area = self.slots.get("name"), self.slots.get("area")
        area_name = str(area[0]) if area is not None else None
        classes = _listed(self.slots.get("device_class"))
        if name is not None:
            matched = self.devices[name[0]]
            found = match_targets(self.devices.values(),
                                  Wanted(name[1], area_name, frozenset({matched.kind}), classes),
                                  self.area)
            if found.problem == "area" and area is not None:
                if str(name[1]).lower() in KIND_WORDS.get(matched.kind, ()):
                    there = match_targets(self.devices.values(), Wanted(
                        None, area_name, frozenset({matched.kind}), classes))
                    if there.ok:
                        plural = _PLURAL.get(matched.kind, matched.kind)
                        return _Targets(there.devices, f"the {plural} in the {area[1]}")
                return self._say(f"There is no {name[1]} in the {area[1]}.")
            if found.problem == "duplicate":
                alike = self._by_quantity(found.devices)
                return _Targets(alike, choose=len(alike) > 1)
            if not found.ok:  # the words hassil matched are not the whole name: its device
                found = Found((matched,))
            return _Targets(found.devices)
        domains = _listed(self.slots.get("domain")) or (frozenset({domain}) if domain else None)
        if not domains and not classes:
            return None
        found = match_targets(self.devices.values(), Wanted(None, area_name, domains or
                                                            frozenset(), classes))
        plural = _group_noun(domains or frozenset(), classes)
        if not found.ok:
            if area is None:
                return self._say(f"There are no {plural}.")
            phrase = device_phrase(self.text, area[1])
            if phrase:  # "the garage light" sounds like one device, not an area's lights
                return UnknownEntity(self.intent, "name", phrase, plain(self.slots))
            return self._say(f"There are no {plural} in the {area[1]}.")
        devices = found.devices
        if (area is None and not self.area and self.response in HERE_RESPONSES
                and len(devices) > 1 and not _says_plural(self.text, plural)):
            # "the light" in a home of several, from an appliance with no room of its own: one
            # of them was meant, so ask which (Home Assistant does not match these without one).
            return _Targets(devices, choose=True)
        where = area[1] if area is not None else None
        if area is None and self.response in HERE_RESPONSES and self.area:
            devices = prefer_area(devices, self.area)
            if any(d.area for d in devices) and all(d.area == devices[0].area for d in devices) \
                    and len(devices) < len(found.devices):
                where = devices[0].area
        return _Targets(devices, f"the {plural} in the {where}" if where else f"the {plural}")

    def _switch(self, on: bool) -> IntentMatch | UnknownEntity | None:
        # The response key says which verb was spoken: "unlock the front door" is HassTurnOff
        # with response "lock", "open the garage door" is HassTurnOn with response "cover".
        if self.response == "lock":
            verb = "lock" if on else "unlock"
        elif self.response.startswith("cover"):
            verb = "open" if on else "close"
        else:
            verb = "turn_on" if on else "turn_off"
        targets = self._targets(None)
        if not isinstance(targets, _Targets):
            return targets
        actions = []
        for device in targets.devices:
            action = verb
            if verb in ("turn_on", "turn_off") and device.kind == "cover":
                action = "open" if on else "close"
            elif verb in ("turn_on", "turn_off") and device.kind == "lock":
                if not on:  # an ambiguous "turn off" never unlocks a door
                    return self._say(f"To unlock the {device.name}, say: unlock the {device.name}.")
                action = "lock"
            actions.append(Action(device.id, action))
        return self._planned(targets, actions, reply="action")

    def _level(self, action: str, key: str, domain: str) -> IntentMatch | UnknownEntity | None:
        value = float(self.slots[key][0])
        targets = self._targets(domain)
        if not isinstance(targets, _Targets):
            return targets
        return self._planned(targets, [Action(d.id, action, value) for d in targets.devices],
                             reply="level")

    def _state(self) -> IntentMatch | UnknownEntity | None:
        state = self.slots.get("state")
        expected = str(state[0]) if state is not None else None
        counting = self.response in _COUNTS
        if "name" not in self.slots and not counting and self.response not in (
                "class_area", "class_only"):
            return None
        targets = self._targets(None)
        if not isinstance(targets, _Targets):
            return targets
        queries = [Action(d.id, "query") for d in targets.devices]
        if counting and "name" not in self.slots:
            return self._planned(targets, queries, reply="count", expected=expected,
                                 response=self.response)
        return self._planned(targets, queries, reply="yesno" if expected else "state",
                             expected=expected)

    def _temperature(self) -> IntentMatch:
        name = self.slots.get("name")
        if name is not None:
            return self._match([Action(str(name[0]), "query")], reply="state")
        sensors = [d for d in self.devices.values() if d.kind == "sensor" and is_temperature(d)]
        area = self.slots.get("area")
        if area is not None:
            sensors = [d for d in sensors if d.area == area[0]]
            if not sensors:
                return self._say(f"There is no temperature sensor in the {area[1]}.")
        if not sensors:
            return self._say("I don't have a temperature sensor.")
        # Without an area: the one where the appliance stands, else the first in the config.
        here = [d for d in sensors if self.area and d.area == self.area]
        return self._match([Action((here or sensors)[0].id, "query")], reply="state")


def _says_plural(text: str, plural: str) -> bool:
    """Whether the sentence spoke of its devices in the plural ("the lights", not "the light")."""
    words = set(re.findall(r"[a-z']+", text.lower()))
    return plural.split()[-1] in words or bool(words & {"all", "every", "everything"})


def _group_noun(domains: frozenset[str], classes: frozenset[str]) -> str:
    if len(classes) == 1:
        (cls,) = classes
        return _CLASS_PLURAL.get(cls, cls.replace("_", " ") + ("s" if "cover" in domains else
                                                               " sensors"))
    if len(domains) == 1:
        (domain,) = domains
        return _PLURAL.get(domain, domain)
    return "devices"


def is_temperature(device: DeviceConfig) -> bool:
    if device.device_class is not None:
        return device.device_class == "temperature"
    unit = (device.unit or "").strip().lower()
    return unit in _TEMPERATURE_UNITS or "temperature" in device.name.lower()


def device_phrase(text: str, area: str) -> str | None:
    """ "turn on the attic light" reads as one device name, not as the lights of an area."""
    found = re.search(rf"\b{re.escape(area)} (light|lamp|fan|switch)\b", text)
    return found.group(0) if found else None


def plain(slots: Slots) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (value, _text) in slots.items():
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    return out
