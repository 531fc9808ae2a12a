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
from pathlib import Path
from typing import Any, Literal

import yaml
from hassil import Intents, recognize_best
from hassil.intents import SlotList, TextSlotList, TextSlotValue
from hassil.models import UnmatchedTextEntity
from hassil.recognize import MISSING_ENTITY, RecognizeResult

from assistant.brain.classes import sentences as class_sentences
from assistant.brain.numbers import normalize_transcript
from assistant.brain.plan import IntentMatch, ReplyKind, UnknownEntity
from assistant.brain.planner import (
    KIND_WORDS,
    TIMER_INTENTS,
    Planner,
    Slots,
    device_phrase,
    plain,
)
from assistant.config import Config, DeviceConfig, IntentsConfig
from assistant.errors import AssistantError

_LOGGER = logging.getLogger(__name__)

_DATA = Path(__file__).resolve().parent.parent / "data"
__all__ = ["TIMER_INTENTS", "IntentMatch", "LocalIntents", "ReplyKind", "UnknownEntity"]

# Intents that name devices or areas: only these get the second, unmatched-entity pass.
_COMMANDS = {"HassTurnOn", "HassTurnOff", "HassLightSet", "HassFanSetSpeed"}
_QUESTIONS = {"HassGetState", "HassClimateGetTemperature"}
_COMMAND_WORDS = ("turn on", "turn off", "open", "close", "lock", "unlock", "dim", "brighten",
                  "brightness", "speed", "percent", "temperature", "what time is it",
                  "what's the date", "never mind")
_WHERE = ("area", "device_class", "domain")
_DOMAIN_OF_RESPONSE = {"lock": "lock", "cover": "cover", "cover_device_class": "cover"}
_WHEN_WORDS = re.compile(r"(?<=\w) (?:currently|right now|at the moment|at present|presently|now|"
                         r"still)(?= )")
"""Words of time that change neither a question nor a command, dropped when the sentence
matches only without them; not at its start, where "now the fan" is a follow-up."""
# An unmatched "name" longer than this, or starting with these words, is a wildcard that
# swallowed a question ("is there motion"), not a device someone named.
_MAX_NAME_WORDS = 4
_NOT_A_NAME = {"is", "are", "what", "what's", "how", "who", "where", "there", "it", "a", "an",
               "turn", "switch", "set", "on", "off", "everything", "all", "anything", "something"}


MATCH_CACHE = 64
"""Recent sentences whose plans are kept."""


class LocalIntents:
    def __init__(self, config: Config):
        self.language = config.intents.language
        self.devices: dict[str, DeviceConfig] = {d.id: d for d in config.devices}
        self.area = config.area
        """The area the appliance stands in: the default for sentences that name none."""
        self._intents = _load_intents(config.intents)
        self._slot_lists = _slot_lists(config.devices, config.area)
        # hassil fills the area of "turn on the lights in here" from this (requires_context).
        self._context = {"area": {"value": config.area, "text": config.area}} if config.area \
            else {}
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
        if result is None:
            # "is the front door currently locked", "is the light still on": the same question.
            plain = " ".join(_WHEN_WORDS.sub(" ", f" {normalized} ").split())
            if plain and plain != normalized:
                result = self._recognize(plain, allow_unmatched=False)
                if result is not None:
                    normalized = plain
        if result is not None:
            found = self._plan(normalized, result.intent.name, result.response, _slots(result))
            _LOGGER.debug("%r -> %s", normalized, found)
            return found
        return self._unmatched(normalized)

    def _recognize(self, text: str, allow_unmatched: bool) -> RecognizeResult | None:
        return recognize_best(text, self._intents, slot_lists=self._slot_lists,
                              language=self.language, best_slot_name="name",
                              allow_unmatched_entities=allow_unmatched,
                              intent_context=self._context or None)

    def _plan(self, text: str, intent: str, response: str | None,
              slots: Slots) -> IntentMatch | UnknownEntity | None:
        return Planner(self.devices, text, intent, response, slots, self.area).plan()

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
            kind: Literal["name", "area"] = "area" if key == "area" else "name"
            named = device_phrase(text, spoken) if kind == "area" else None
            swapped = self._other_kind_word(text, named or spoken)
            if swapped is not None:
                return swapped
            if intent in _QUESTIONS:
                return None  # "what is the capital of france": a question for the LLM
            if named:
                return UnknownEntity(intent, "name", named, plain(slots))
            return UnknownEntity(intent, kind, spoken, plain(slots))
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

    def _other_kind_word(self, text: str, spoken: str) -> IntentMatch | UnknownEntity | None:
        """ "the reading light" for the light called "reading lamp": the sentence planned with
        the name of the one device of that kind whose name differs only in its last word."""
        *head, last = _norm(spoken).removeprefix("the ").split() or [""]
        for kind, words in KIND_WORDS.items():
            if last not in words or not head:
                continue
            names = {k: self._spoken[k] for w in words
                     if (k := _norm(" ".join([*head, w]))) in self._spoken}
            names = {k: d for k, d in names.items() if self.devices[d].kind == kind}
            if len(set(names.values())) == 1:
                wanted = " ".join([*head, last])
                if wanted in text:
                    result = self._recognize(text.replace(wanted, next(iter(names)), 1), False)
                    if result is not None:
                        return self._plan(text, result.intent.name, result.response,
                                          _slots(result))
        return None


def _slots(result: RecognizeResult) -> Slots:
    return {key: (entity.value, " ".join(str(entity.text).split()))
            for key, entity in result.entities.items()}



def _norm(text: str) -> str:
    return normalize_transcript(text)


def _slot_lists(devices: tuple[DeviceConfig, ...], here: str | None) -> dict[str, SlotList]:
    # Names are normalised like transcripts, so a name with a number word still matches.
    names = [TextSlotValue.from_tuple((_norm(spoken), d.id, _context(d)))
             for d in devices for spoken in (d.name, *d.aliases)]
    areas = sorted({d.area for d in devices if d.area} | ({here} if here else set()))
    return {
        "name": TextSlotList(name="name", values=names),
        "area": TextSlotList(name="area",
                             values=[TextSlotValue.from_tuple((_norm(a), a)) for a in areas]),
        "floor": TextSlotList(name="floor", values=[]),  # required by the templates
    }


def _context(device: DeviceConfig) -> dict[str, Any]:
    context: dict[str, Any] = {"domain": device.kind}
    if device.device_class:
        context["device_class"] = device.device_class
    return context


def _load_intents(settings: IntentsConfig) -> Intents:
    from home_assistant_intents import get_intents

    data = get_intents(settings.language)
    if data is None:
        raise AssistantError(f"home-assistant-intents has no sentences for language "
                             f"{settings.language!r}: set intents.language (e.g. en)")
    extras: list[dict[str, Any]] = [class_sentences(settings.language)]
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


