"""The home's commands spelled out as phrases, for a speech recognizer's grammar (Vosk).

A pure function of the configured devices: a compact set of command patterns (the sentences the
local intents understand, see ``assistant.brain.intents`` and ``data/sentences_en.yaml``)
expanded over device names, aliases and areas, plus numbers, timers and a few bare words.

Vosk does not use the list as a closed set of sentences: it estimates a bigram language model
from it (vosk-api ``Recognizer::UpdateGrammarFst``, order 2). So one "set the lamp to fifty
percent" and the number phrases are enough for it to hear "set the lamp to thirty three percent";
spelling out every name x number x verb would only make the list long. Words the model does not
know are dropped by Vosk (with a warning), never fatal.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from assistant.config import DeviceConfig

_LOGGER = logging.getLogger(__name__)

UNKNOWN = "[unk]"
"""Vosk's out-of-grammar word: without it, any speech is forced onto the nearest phrase."""
MAX_PHRASES = 1500
"""A bound on the grammar: Vosk builds it per recognizer, and a long list dilutes the bigrams."""

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

_ON_OFF = {"light", "switch", "fan"}
_EXAMPLE_LEVEL = "fifty"
_COMMANDS = (
    "what time is it", "what is the time", "what's the time", "what is the date",
    "what's the date", "what is the temperature", "what's the temperature", "never mind",
    "stop", "cancel", "set a timer for five minutes", "set a timer for ten seconds",
    "set a timer for one hour", "set a five minute timer", "cancel the timer", "stop the timer",
    "pause the timer", "resume the timer", "how much time is left on the timer",
)
_ANSWERS = ("yes", "no", "thank you")
"""Not commands, but what the assistant's follow-up questions are answered with."""


def spell_number(n: int) -> str:
    """0-100 in words, as a recognizer writes them ("thirty three")."""
    if not 0 <= n <= 100:
        raise ValueError(f"{n} is outside 0-100")
    if n < 20:
        return _ONES[n]
    if n == 100:
        return "one hundred"
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def spoken(text: str) -> str:
    """A config name as a recognizer's words: lower case, digits spelled, no punctuation."""
    text = re.sub(r"\d+", lambda m: f" {_spell_digits(m.group())} ", text.lower())
    return " ".join(re.sub(r"[^\w']+|_", " ", text).split())  # keeps letters like é


def _spell_digits(digits: str) -> str:
    return spell_number(int(digits)) if int(digits) <= 100 else " ".join(_ONES[int(d)] for d in digits)


def grammar_phrases(devices: Iterable[DeviceConfig], max_phrases: int = MAX_PHRASES) -> list[str]:
    """The phrase list for a Vosk grammar, ending with "[unk]"; at most ``max_phrases`` long.

    Commands come first, so when a very large home hits the bound, numbers are what gets cut
    (the open-vocabulary pass still hears them)."""
    phrases = [*command_phrases(devices), *_ANSWERS, *_number_phrases()]
    unique = list(dict.fromkeys(phrases))
    if len(unique) >= max_phrases:
        _LOGGER.warning("speech grammar cut to %d of %d phrases", max_phrases - 1, len(unique))
        unique = unique[:max_phrases - 1]
    return [*unique, UNKNOWN]


def command_phrases(devices: Iterable[DeviceConfig]) -> list[str]:
    """Whole commands the local intents understand, one or a few per device, area and verb."""
    devices = list(devices)
    phrases: list[str] = []
    for device in devices:
        for name in dict.fromkeys(spoken(n) for n in (device.name, *device.aliases)):
            if name:
                phrases.extend(_device_phrases(device, name))
    phrases.extend(_area_phrases(devices))
    phrases.extend(_COMMANDS)
    return list(dict.fromkeys(phrases))


def _device_phrases(device: DeviceConfig, name: str) -> list[str]:
    kind = device.kind
    if kind in _ON_OFF:
        out = [f"turn on the {name}", f"turn off the {name}", f"turn the {name} on",
               f"turn the {name} off", f"switch on the {name}", f"switch off the {name}",
               f"is the {name} on", f"is the {name} off"]
        if kind == "light" and device.dimmable:
            out += [f"set the {name} to {_EXAMPLE_LEVEL} percent",
                    f"set the {name} brightness to {_EXAMPLE_LEVEL} percent",
                    f"dim the {name}", f"brighten the {name}"]
        if kind == "fan":
            out += [f"set the {name} to {_EXAMPLE_LEVEL} percent",
                    f"set the {name} speed to {_EXAMPLE_LEVEL} percent"]
        return out
    if kind == "cover":
        return [f"open the {name}", f"close the {name}", f"is the {name} open",
                f"is the {name} closed"]
    if kind == "lock":
        return [f"lock the {name}", f"unlock the {name}", f"is the {name} locked",
                f"is the {name} unlocked"]
    if kind == "sensor":
        return [f"what is the {name}", f"what's the {name}"]
    if kind == "binary_sensor":
        return [f"is the {name} on", f"is the {name} off"]
    return []


def _area_phrases(devices: list[DeviceConfig]) -> list[str]:
    # Plurals are the lights only: the templates have no "turn on the fans" or "the switches".
    if not any(d.kind == "light" for d in devices):
        return []
    out = ["turn on the lights", "turn off the lights", "are any lights on", "which lights are on"]
    for area_name in dict.fromkeys(d.area for d in devices if d.area):
        area = spoken(area_name or "")
        here = [d for d in devices if d.area == area_name]
        if any(d.kind == "light" for d in here):
            out += [f"turn on the lights in the {area}", f"turn off the lights in the {area}",
                    f"turn on the {area} lights", f"turn off the {area} lights"]
        if sum(d.kind == "cover" for d in here) == 1:  # "open the garage": its one door
            out += [f"open the {area}", f"close the {area}"]
        if any(d.kind == "sensor" and "temperature" in d.name.lower() for d in here):
            out += [f"what is the temperature in the {area}",
                    f"what's the temperature in the {area}"]
    return out


def _number_phrases() -> list[str]:
    """Every number 0-100 once, each first word of a number after "to" and "for", and each
    last word before its unit: with "... the lamp to fifty percent" that is every word pair of
    "set the lamp to thirty three percent", which is all a bigram grammar needs."""
    out = [spell_number(n) for n in range(101)]
    first_words = [*_ONES, *_TENS[2:]]
    last_words = [*_ONES[1:], *_TENS[2:], "hundred"]
    out += [f"to {word}" for word in first_words] + [f"for {word}" for word in first_words]
    for word in last_words:
        out += [f"{word} percent", f"{word} minutes", f"{word} seconds"]
    out += ["one minute", "one second", "one hour", "two hours"]
    return out
