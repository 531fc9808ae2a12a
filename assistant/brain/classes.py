"""Questions about device classes, built from a table of words (data/device_classes_<lang>.yaml).

The sentences of home-assistant-intents (as shipped on PyPI) ask about a binary sensor or a
sensor only by name; people ask by what the device senses: "is the phone battery low", "are any
windows open", "how many motion sensors are triggered", "what is the humidity in the bathroom".
One set of sentence shapes per question (one device, any, all, which, how many; a value by
name, by area) is filled in for each class, so a class is one line of words, not a page of
templates. ``state_word`` gives the word a reply uses for a binary sensor's on/off.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_DATA = Path(__file__).resolve().parent.parent / "data"
_WHERE = "[[<in>] [<the>] {area}]"
_NAMED_VALUE = (
    "<what_is> [the] [current] {quantity} (of|indicated by|measured by|in|from|for|on|reported by"
    "|shown by) [<the>] {name}",
    "<what_is> [<the>] {name}'s {quantity}",
    "<what_is> [<the>] {name} {quantity}",
    "how much {quantity} (does|has) [<the>] {name} [(have|got)] [left]",
)


@functools.cache
def table(language: str = "en") -> dict[str, Any]:
    path = _DATA / f"device_classes_{language}.yaml"
    if not path.is_file():
        return {}
    loaded = _on_off(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return loaded if isinstance(loaded, dict) else {}


def _on_off(value: Any) -> Any:
    """YAML 1.1 reads the words on and off as true and false: they are words here."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return {_on_off(k): _on_off(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_on_off(v) for v in value]
    return value


def state_word(device_class: str | None, state: str, language: str = "en") -> str:
    """ "low" for a battery's "on", "open" for a window's; the state itself without a class."""
    words = table(language).get("binary_sensor", {}).get(device_class or "")
    if not words or state not in ("on", "off"):
        return state
    return str(words[state][0])


def sentences(language: str = "en") -> dict[str, Any]:
    """Extra hassil data (intents and lists) for the class questions of a language."""
    words = table(language)
    blocks: list[dict[str, Any]] = []
    lists: dict[str, Any] = {"quantity": {"wildcard": True}}
    for cls, spec in (words.get("binary_sensor") or {}).items():
        lists[f"bs_{cls}"] = {"values": [{"in": w, "out": state} for state in ("on", "off")
                                         for w in spec[state]]}
        blocks.extend(_binary_blocks(cls, spec))
    for cls, quantity in (words.get("sensor") or {}).items():
        blocks.extend(_sensor_blocks(cls, quantity))
    for domain, nouns in _ON_OFF_NOUNS.items():
        blocks.extend(_on_off_blocks(domain, nouns))
    blocks.append({"sentences": list(_NAMED_VALUE), "requires_context": {"domain": "sensor"},
                   "slots": {"domain": "sensor"}, "response": "one"})
    return {"language": language, "intents": {"HassGetState": {"data": blocks}}, "lists": lists}


def _binary_blocks(cls: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    nouns = f"({spec['nouns']})"
    state = f"{{bs_{cls}:state}}"
    fixed = {"domain": "binary_sensor", "device_class": cls}
    things = "thing" in spec["nouns"] or "device" in spec["nouns"]
    anything = [f"(is|are) anything {state} {_WHERE}"] if things else []
    return [
        {"sentences": [f"<is> [<the>] {{name}} [{nouns}] {state} {_WHERE}",
                       f"<is> [<the>] {{name}} [{nouns}] {_WHERE} {state}"],
         "requires_context": fixed, "slots": fixed, "response": "one_yesno"},
        {"sentences": [f"(<are_any>|<is> any|<is>) {nouns} {state} {_WHERE}",
                       f"(<are_any>|<is> any|<is>) [<the>] {{area}} {nouns} {state}",
                       *anything],
         "slots": fixed, "response": "any"},
        {"sentences": [f"<is> [any] {nouns} [(detected|found)] <in> [<the>] {{area}}",
                       f"<is> any {nouns} [(detected|found)]"],
         "slots": {**fixed, "state": "on"}, "response": "any"},
        {"sentences": [f"<are_all> {nouns} {state} {_WHERE}",
                       f"<are_all> [<the>] {{area}} {nouns} {state}"],
         "slots": fixed, "response": "all"},
        {"sentences": [f"<which> {nouns} (is|are) {state} {_WHERE}",
                       f"<which> [<the>] {{area}} {nouns} (is|are) {state}"],
         "slots": fixed, "response": "which"},
        {"sentences": [f"<how_many> {nouns} (is|are) {state} {_WHERE}",
                       f"<how_many> [<the>] {{area}} {nouns} (is|are) {state}"],
         "slots": fixed, "response": "how_many"},
    ]


_ON_OFF_NOUNS = {"light": "<light>", "switch": "switch[es]", "fan": "fan[s]"}
"""Devices that are on or off, in the words of the stock any/all questions."""


def _on_off_blocks(domain: str, nouns: str) -> list[dict[str, Any]]:
    """ "are all the switches turned on in the kitchen", "tell me if any lights are on": the
    stock questions with the area in the middle, "turned", and "tell me if"."""
    state = "[turned] {on_off_states:state}"
    fixed = {"domain": domain}
    return [
        {"sentences": [f"(tell me|do you know) if (there are|there is|<is>) any {nouns} {state} "
                       f"{_WHERE}",
                       f"(tell me|do you know) if any [of the] {nouns} (is|are) {state} {_WHERE}",
                       f"<are_any> [<the>] {nouns} <in> [<the>] {{area}} {state}"],
         "slots": fixed, "response": "any"},
        {"sentences": [f"<are_all> [<the>] {nouns} {state} {_WHERE}",
                       f"<are_all> [<the>] {nouns} <in> [<the>] {{area}} {state}"],
         "slots": fixed, "response": "all"},
    ]


def said_class(quantity: str, classes: set[str], language: str = "en") -> str | None:
    """Of ``classes``, the sensor class whose words the spoken quantity says most of ("rainfall
    intensity": precipitation_intensity, not precipitation), or None when none or a tie."""
    spoken = f" {' '.join(quantity.lower().split())} "
    phrases = _sensor_phrases(language)
    best = {cls: max((len(p) for p in phrases.get(cls, ()) if f" {p} " in spoken), default=0)
            for cls in classes}
    top = max(best.values(), default=0)
    winners = [cls for cls, size in best.items() if size == top]
    return winners[0] if top and len(winners) == 1 else None


@functools.cache
def _sensor_phrases(language: str) -> dict[str, frozenset[str]]:
    """Every phrase each sensor class's words allow, expanded by hassil as the sentences are."""
    from hassil.parse_expression import parse_sentence
    from hassil.sample import sample_expression

    return {cls: frozenset(" ".join(p.split()) for p in
                           sample_expression(parse_sentence(str(words)).expression))
            for cls, words in (table(language).get("sensor") or {}).items()}


def _sensor_blocks(cls: str, quantity: str) -> list[dict[str, Any]]:
    fixed = {"domain": "sensor", "device_class": cls}
    said = f"({quantity})"
    return [
        {"sentences": [f"(<what_is>|how (high|low|much) is) [the] [current] {said} [<in>] [<the>] "
                       "{area}",
                       f"(<what_is>|<how_is>) [<the>] {{area}} {said}"],
         "slots": fixed, "response": "class_area"},
        {"sentences": [f"(<what_is>|<how_is>) [the] [current] {said} [<here>]"],
         "slots": fixed, "response": "class_only"},
    ]
