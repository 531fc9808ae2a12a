"""Local intent recognition: Home Assistant's sentence templates (hassil), our devices as entities.

``LocalIntents(config).match(text)`` is pure: it turns a transcript into a plan (intent, slots,
the ``Action`` list for the shared executor and the kind of reply to speak), an ``UnknownEntity``
when a command names a device or area the config does not declare, or None when the sentence is
not a local command (the router passes it on). Nothing here touches a device.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from hassil import Intents, recognize_best
from hassil.intents import SlotList, TextSlotList, TextSlotValue
from hassil.models import UnmatchedTextEntity
from hassil.recognize import MISSING_ENTITY, RecognizeResult

from assistant.brain.numbers import normalize_transcript
from assistant.brain.types import Action
from assistant.config import Config, DeviceConfig, IntentsConfig
from assistant.errors import AssistantError

_LOGGER = logging.getLogger(__name__)

_DATA = Path(__file__).resolve().parent.parent / "data"
Slots = dict[str, tuple[Any, str]]
"""Recognized entities: slot name -> (value, the words that matched)."""

ReplyKind = Literal["action", "level", "state", "yesno", "count", "time", "date", "silent",
                    "message", "timer", "stop"]

# Intents that name devices or areas: only these get the second, unmatched-entity pass.
_COMMANDS = {"HassTurnOn", "HassTurnOff", "HassLightSet", "HassFanSetSpeed"}
_QUESTIONS = {"HassGetState", "HassClimateGetTemperature"}
_COMMAND_WORDS = ("turn on", "turn off", "open", "close", "lock", "unlock", "dim", "brighten",
                  "brightness", "speed", "percent", "temperature", "what time is it",
                  "what's the date", "never mind")
_WHERE = ("area", "device_class", "domain")
_DOMAIN_OF_RESPONSE = {"lock": "lock", "cover": "cover", "cover_device_class": "cover"}
# An unmatched "name" longer than this, or starting with these words, is a wildcard that
# swallowed a question ("is there motion"), not a device someone named.
_MAX_NAME_WORDS = 4
_NOT_A_NAME = {"is", "are", "what", "what's", "how", "who", "where", "there", "it", "a", "an",
               "turn", "switch", "set", "on", "off", "everything", "all", "anything", "something"}


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    slots: dict[str, Any]
    actions: tuple[Action, ...] = ()
    reply: ReplyKind = "action"
    group: str | None = None
    """How to speak a group of targets ("the lights in the kitchen"); None for one device."""
    expected: str | None = None
    """The state a yes/no question asks about ("locked")."""
    message: str | None = None
    """A reply settled while planning, with nothing to run ("There are no lights here.")."""
    response: str | None = None
    """For "count" questions: any, all, which or how_many."""

    @property
    def changes_devices(self) -> bool:
        """Whether it changes a device (a question about one does not)."""
        return any(action.action != "query" for action in self.actions)


@dataclass(frozen=True)
class UnknownEntity:
    """A command named something the config does not have; nothing is done."""

    intent: str
    kind: Literal["name", "area"]
    text: str
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def reply(self) -> str:
        if self.kind == "area":
            return f"I don't know an area called {self.text}."
        return f"I don't know a device called {self.text}."


MATCH_CACHE = 64
"""Recent sentences whose plans are kept."""


class LocalIntents:
    def __init__(self, config: Config):
        self.language = config.intents.language
        self.devices: dict[str, DeviceConfig] = {d.id: d for d in config.devices}
        self._intents = _load_intents(config.intents)
        self._slot_lists = _slot_lists(config.devices)
        self._spoken = {_norm(s): d.id for d in config.devices for s in (d.name, *d.aliases)}
        # One command is matched up to three times per turn (the speculative end of speech,
        # the recheck, the brain), on the path to the GPIO; a plan depends on the text alone.
        self._matched = functools.lru_cache(maxsize=MATCH_CACHE)(self._match)
        # The first recognition builds hassil's tries (~0.3 s): pay it now, not on a command.
        self.match("turn on the light")

    def device_name(self, device_id: str) -> str:
        device = self.devices.get(device_id)
        return device.name if device is not None else device_id

    def vocabulary(self) -> list[str]:
        """Words worth biasing speech recognition towards: names, aliases, areas, commands."""
        words: list[str] = []
        for device in self.devices.values():
            words.extend((device.name, *device.aliases))
        words.extend(sorted({d.area for d in self.devices.values() if d.area}))
        words.extend(_COMMAND_WORDS)
        return list(dict.fromkeys(words))

    def is_complete_command(self, text: str) -> bool:
        """True when the words so far already make a full command (the pipeline may stop
        listening early). A trailing number may still grow ("twenty" -> "twenty five")."""
        normalized = normalize_transcript(text)
        if not normalized or normalized.split()[-1].isdigit():
            return False
        # A bare name ("the kitchen light") matches HassTurnOn, but "... off" may be coming.
        if normalized.removeprefix("the ") in self._spoken:
            return False
        return isinstance(self.match(normalized), IntentMatch)

    def match(self, text: str) -> IntentMatch | UnknownEntity | None:
        """The plan for a sentence (the same object for the same normalized text: its slots
        are read, never changed)."""
        normalized = normalize_transcript(text)
        return self._matched(normalized) if normalized else None

    def _match(self, normalized: str) -> IntentMatch | UnknownEntity | None:
        result = self._recognize(normalized, allow_unmatched=False)
        if result is not None:
            found = self._plan(normalized, result.intent.name, result.response, _slots(result))
            _LOGGER.debug("%r -> %s", normalized, found)
            return found
        return self._unmatched(normalized)

    def _recognize(self, text: str, allow_unmatched: bool) -> RecognizeResult | None:
        return recognize_best(text, self._intents, slot_lists=self._slot_lists,
                              language=self.language, best_slot_name="name",
                              allow_unmatched_entities=allow_unmatched)

    def _plan(self, text: str, intent: str, response: str | None,
              slots: Slots) -> IntentMatch | UnknownEntity | None:
        return _Planner(self.devices, text, intent, response, slots).plan()

    def _unmatched(self, text: str) -> IntentMatch | UnknownEntity | None:
        """Second pass, as Home Assistant's default agent does: which part was not known?"""
        result = self._recognize(text, allow_unmatched=True)
        # A result that matched no literal words is a bare wildcard ("hello" as a device name).
        if result is None or result.text_chunks_matched < 1 or result.response == "scene":
            return None
        intent = result.intent.name
        if intent not in _COMMANDS | _QUESTIONS:
            return None
        slots = _slots(result)
        unknown = {
            key: " ".join(entity.text.split())
            for key, entity in result.unmatched_entities.items()
            if isinstance(entity, UnmatchedTextEntity) and entity.text.strip() != MISSING_ENTITY
        }
        for key in ("name", "device_class", "area"):
            spoken = unknown.get(key)
            if not spoken:
                continue
            words = spoken.split()
            if len(words) > _MAX_NAME_WORDS or words[0] in _NOT_A_NAME:
                return None
            device_id = self._resolve(spoken, slots, _DOMAIN_OF_RESPONSE.get(str(result.response)))
            if device_id is not None:
                # A real device in a sentence its kind has no template for ("turn on the
                # hallway motion"): plan it anyway, so the executor says what it can't do.
                fixed = {k: v for k, v in slots.items() if k not in _WHERE}
                fixed["name"] = (device_id, spoken)
                return self._plan(text, intent, result.response, fixed)
            if intent in _QUESTIONS:
                return None  # "what is the capital of france": a question for the LLM
            kind: Literal["name", "area"] = "area" if key == "area" else "name"
            named = _device_phrase(text, spoken) if kind == "area" else None
            if named:
                return UnknownEntity(intent, "name", named, _plain(slots))
            return UnknownEntity(intent, kind, spoken, _plain(slots))
        return None

    def unknown_name(self, text: str) -> str | None:
        """The words a command or question uses as a device name the config does not have
        ("what is the process of temperature" -> "process of temperature"), for repair."""
        result = self._recognize(normalize_transcript(text), allow_unmatched=True)
        if result is None or result.text_chunks_matched < 1:
            return None
        if result.intent.name not in _COMMANDS | _QUESTIONS:
            return None
        entity = result.unmatched_entities.get("name")
        area = result.unmatched_entities.get("area")
        if (entity is None and result.intent.name == "HassClimateGetTemperature"
                and isinstance(area, UnmatchedTextEntity) and area.text.strip() != MISSING_ENTITY):
            # "what is the process of temperature" reads as the temperature in an area called
            # "process of"; the name of a sensor ("processor temperature") is as likely meant.
            return " ".join(area.text.split() + ["temperature"])
        if not isinstance(entity, UnmatchedTextEntity) or entity.text.strip() == MISSING_ENTITY:
            return None
        spoken = " ".join(entity.text.split())
        return spoken if len(spoken.split()) <= _MAX_NAME_WORDS else None

    def _resolve(self, spoken: str, slots: Slots, domain: str | None) -> str | None:
        """A configured device the unmatched words still mean, or None."""
        area = slots.get("area")
        candidates = [spoken, spoken.removeprefix("the ")]
        if area is not None:
            candidates += [f"{area[1]} {spoken}", f"{spoken} {area[1]}"]
        found = next((self._spoken[_norm(c)] for c in candidates if _norm(c) in self._spoken), None)
        if found is not None or domain is None:
            return found
        # "lock the door" / "open the garage": the verb fixes the kind; the one lock called
        # "... door", or the one cover in the garage, is meant.
        tail = f" {_norm(spoken)}"
        ids = {d for s, d in self._spoken.items()
               if f" {s}".endswith(tail) and self.devices[d].kind == domain}
        ids |= {d.id for d in self.devices.values()
                if d.kind == domain and d.area and _norm(d.area) == _norm(spoken)}
        return ids.pop() if len(ids) == 1 else None


def _device_phrase(text: str, area: str) -> str | None:
    """ "turn on the attic light" reads as one device name, not as the lights of an area."""
    found = re.search(rf"\b{re.escape(area)} (light|lamp|fan|switch)\b", text)
    return found.group(0) if found else None


def _slots(result: RecognizeResult) -> Slots:
    return {key: (entity.value, " ".join(str(entity.text).split()))
            for key, entity in result.entities.items()}


def _plain(slots: Slots) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (value, _text) in slots.items():
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    return out


def _norm(text: str) -> str:
    return normalize_transcript(text)


def _slot_lists(devices: tuple[DeviceConfig, ...]) -> dict[str, SlotList]:
    # Names are normalised like transcripts, so a name with a number word still matches.
    names = [TextSlotValue.from_tuple((_norm(spoken), d.id, {"domain": d.kind}))
             for d in devices for spoken in (d.name, *d.aliases)]
    areas = sorted({d.area for d in devices if d.area})
    return {
        "name": TextSlotList(name="name", values=names),
        "area": TextSlotList(name="area",
                             values=[TextSlotValue.from_tuple((_norm(a), a)) for a in areas]),
        "floor": TextSlotList(name="floor", values=[]),  # required by the templates
    }


def _load_intents(settings: IntentsConfig) -> Intents:
    from home_assistant_intents import get_intents

    data = get_intents(settings.language)
    if data is None:
        raise AssistantError(f"home-assistant-intents has no sentences for language "
                             f"{settings.language!r}: set intents.language (e.g. en)")
    extras: list[dict[str, Any]] = []
    builtin = _DATA / f"sentences_{settings.language}.yaml"
    if builtin.is_file():
        extras.append(yaml.safe_load(builtin.read_text(encoding="utf-8")))
    if settings.extra is not None:  # validated by the config loader, devices by id
        extras.append(settings.extra)
    elif settings.extra_sentences:
        path = Path(settings.extra_sentences).expanduser()
        try:
            extras.append(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise AssistantError(f"cannot read intents.extra_sentences {path}: {exc}") from exc
    for extra in extras:
        _merge(data, extra or {})
    _drop_floor_sentences(data)
    return Intents.from_dict(data)


def _drop_floor_sentences(data: dict[str, Any]) -> None:
    """The config has no floors, so a sentence about a floor can only match with a floor that
    does not exist; hassil then preferred it to the name it missed ("turn on the lighting room
    lamp" as the lights on a floor called "room lamp"), and the name went unrepaired."""
    for intent in data["intents"].values():
        blocks = []
        for block in intent.get("data", []):
            sentences = [s for s in block.get("sentences", []) if "{floor" not in s]
            if sentences:
                blocks.append({**block, "sentences": sentences})
        intent["data"] = blocks


def _merge(data: dict[str, Any], extra: dict[str, Any]) -> None:
    """Extra blocks are added to an intent's stock blocks, never replacing them."""
    for name, intent in (extra.get("intents") or {}).items():
        target = data["intents"].setdefault(name, {"data": []})
        target["data"] = list(target.get("data", [])) + list(intent.get("data", []))
    for key in ("lists", "expansion_rules"):
        data.setdefault(key, {}).update(extra.get(key) or {})


# ---- TIMERS: the mapping point -------------------------------------------------------------
# Timer sentences (HassStartTimer, ...) are recognized here but deliberately not planned: match()
# returns None so the next layer of the router (assistant.brain.timers) can take them. To handle
# them locally, plan them in _Planner.plan() where TIMER_INTENTS is tested.
TIMER_INTENTS = frozenset({
    "HassStartTimer", "HassCancelTimer", "HassCancelAllTimers", "HassIncreaseTimer",
    "HassDecreaseTimer", "HassPauseTimer", "HassUnpauseTimer", "HassTimerStatus",
})

_PLURAL = {"light": "lights", "switch": "switches", "fan": "fans", "cover": "covers",
           "lock": "locks", "binary_sensor": "sensors", "sensor": "sensors"}
_TEMPERATURE_UNITS = {"°c", "°f", "c", "f", "degc", "degf", "celsius", "fahrenheit"}
_Targets = tuple[list[DeviceConfig], str | None]


class _Planner:
    """Turns one recognized sentence into actions on configured devices (no I/O)."""

    def __init__(self, devices: dict[str, DeviceConfig], text: str, intent: str,
                 response: str | None, slots: Slots):
        self.devices = devices
        self.text = text
        self.intent = intent
        self.response = response or "default"
        self.slots = slots

    def plan(self) -> IntentMatch | UnknownEntity | None:
        intent = self.intent
        if intent in TIMER_INTENTS:
            return self._match(reply="timer")  # LocalBrain hands these to its TimerManager
        if intent == "AssistantStop":
            return self._match(reply="stop")
        if intent == "HassNevermind":
            return self._match(reply="silent")
        if intent == "HassGetCurrentTime":
            return self._match(reply="time")
        if intent == "HassGetCurrentDate":
            return self._match(reply="date")
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
        return IntentMatch(self.intent, _plain(self.slots), tuple(actions or ()), **kwargs)

    def _say(self, message: str) -> IntentMatch:
        return self._match(reply="message", message=message)

    def _targets(self, domain: str | None) -> _Targets | IntentMatch | UnknownEntity | None:
        """The devices a sentence names and how to speak of them together, or why none."""
        name, area = self.slots.get("name"), self.slots.get("area")
        if name is not None:
            device = self.devices[name[0]]
            if area is not None and device.area != area[0]:
                return self._say(f"There is no {name[1]} in the {area[1]}.")
            return [device], None
        if "domain" in self.slots:
            domain = str(self.slots["domain"][0])
        if domain is None:
            return None
        plural = _PLURAL.get(domain, domain)
        found = [d for d in self.devices.values() if d.kind == domain]
        if area is None:
            return (found, f"the {plural}") if found else self._say(f"There are no {plural}.")
        found = [d for d in found if d.area == area[0]]
        if found:
            return found, f"the {plural} in the {area[1]}"
        phrase = _device_phrase(self.text, area[1])
        if phrase:  # "the garage light" sounds like one device, not an area's lights
            return UnknownEntity(self.intent, "name", phrase, _plain(self.slots))
        return self._say(f"There are no {plural} in the {area[1]}.")

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
        if not isinstance(targets, tuple):
            return targets
        devices, group = targets
        actions = []
        for device in devices:
            action = verb
            if verb in ("turn_on", "turn_off") and device.kind == "cover":
                action = "open" if on else "close"
            elif verb in ("turn_on", "turn_off") and device.kind == "lock":
                if not on:  # an ambiguous "turn off" never unlocks a door
                    return self._say(f"To unlock the {device.name}, say: unlock the {device.name}.")
                action = "lock"
            actions.append(Action(device.id, action))
        return self._match(actions, reply="action", group=group)

    def _level(self, action: str, key: str, domain: str) -> IntentMatch | UnknownEntity | None:
        value = float(self.slots[key][0])
        targets = self._targets(domain)
        if not isinstance(targets, tuple):
            return targets
        devices, group = targets
        return self._match([Action(d.id, action, value) for d in devices], reply="level",
                           group=group)

    def _state(self) -> IntentMatch | UnknownEntity | None:
        state = self.slots.get("state")
        expected = str(state[0]) if state is not None else None
        if "name" not in self.slots and self.response not in ("any", "all", "which", "how_many"):
            return None
        if "name" not in self.slots and "device_class" in self.slots:
            return None  # "are any windows open": our covers have no device class
        targets = self._targets(None)
        if not isinstance(targets, tuple):
            return targets
        devices, group = targets
        queries = [Action(d.id, "query") for d in devices]
        if group is not None:
            return self._match(queries, reply="count", group=group, expected=expected,
                               response=self.response)
        return self._match(queries, reply="yesno" if expected else "state", expected=expected)

    def _temperature(self) -> IntentMatch:
        sensors = [d for d in self.devices.values() if d.kind == "sensor" and _is_temperature(d)]
        area = self.slots.get("area")
        if area is not None:
            sensors = [d for d in sensors if d.area == area[0]]
            if not sensors:
                return self._say(f"There is no temperature sensor in the {area[1]}.")
        if not sensors:
            return self._say("I don't have a temperature sensor.")
        # Without an area: the first one in the config (the house's main sensor, by convention).
        return self._match([Action(sensors[0].id, "query")], reply="state")


def _is_temperature(device: DeviceConfig) -> bool:
    unit = (device.unit or "").strip().lower()
    return unit in _TEMPERATURE_UNITS or "temperature" in device.name.lower()
