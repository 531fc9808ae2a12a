"""Short spoken replies built from a plan and the executor's results: plain words, no markdown.

Numbers are written the way piper reads them well: "21.5 degrees", "50 percent", "3:45 PM".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from assistant.brain.intents import IntentMatch, UnknownEntity
from assistant.brain.types import ActionResult

NameOf = Callable[[str], str]

_DONE = {
    "turn_on": "Turned on", "turn_off": "Turned off", "lock": "Locked", "unlock": "Unlocked",
    "open": "Opened", "close": "Closed", "toggle": "Toggled",
}
_MOVING = {"opening": "Opening", "closing": "Closing"}
_UNITS = {"°c": "degrees", "°f": "degrees", "c": "degrees", "f": "degrees", "%": "percent"}
_LEVEL_KEYS = ("brightness", "speed")


def build_reply(match: IntentMatch | UnknownEntity, results: list[ActionResult],
                name_of: NameOf, now: datetime) -> str:
    """What to say after the plan's actions ran; "" means say nothing (never mind)."""
    if isinstance(match, UnknownEntity):
        return match.reply
    kind = match.reply
    if kind == "silent":
        return ""
    if kind == "time":
        return f"It's {spoken_time(now)}."
    if kind == "date":
        return f"Today is {now:%A}, {now:%B} {now.day}."
    if kind in ("message", "choose"):
        return match.message or ""
    if not results:
        return "There is nothing to do."
    if kind == "count":
        return _count(match, results, name_of)
    failed = [r.error or "Sorry, that didn't work." for r in results if not r.ok]
    done = [r for r in results if r.ok]
    if kind == "action":
        said = _actions(match, done, name_of, all_ok=not failed)
    elif kind == "level":
        said = _levels(match, done, name_of, all_ok=not failed)
    elif kind == "yesno":
        said = [_yes_no(match, r, name_of, match.expected) for r in done]
    else:
        said = [f"The {name_of(r.action.device)} is {_state(match, r)}." for r in done]
    return " ".join([*said, *_unique(failed)])


def spoken_time(now: datetime) -> str:
    hour = now.hour % 12 or 12
    return f"{hour}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}"


def spoken_number(value: float) -> str:
    """21.5 -> "21.5", 21.0 -> "21", 21.04 -> "21"; one decimal is all a voice needs."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.1f}"


def spoken_state(result: ActionResult) -> str:
    state = result.state
    if state is None:
        return "unknown"
    if isinstance(state, int | float) and not isinstance(state, bool):
        unit = str(result.attributes.get("unit") or "").strip()
        words = _UNITS.get(unit.lower(), unit)
        return f"{spoken_number(state)} {words}".strip()
    level = next((result.attributes[k] for k in _LEVEL_KEYS if k in result.attributes), None)
    if state == "on" and isinstance(level, int | float) and 0 < level < 100:
        return f"on at {spoken_number(level)} percent"
    return str(state).replace("_", " ")


def _actions(match: IntentMatch, done: list[ActionResult], name_of: NameOf,
             all_ok: bool) -> list[str]:
    if not done:
        return []
    first = done[0]
    verb = _MOVING.get(str(first.state), _DONE.get(first.action.action, "Done:"))
    if match.group and all_ok and all(r.action.action == first.action.action for r in done):
        return [f"{verb} {match.group}."]
    said = []
    for result in done:
        verb = _MOVING.get(str(result.state), _DONE.get(result.action.action, "Done:"))
        said.append(f"{verb} the {name_of(result.action.device)}.")
    return said


def _levels(match: IntentMatch, done: list[ActionResult], name_of: NameOf,
            all_ok: bool) -> list[str]:
    if not done:
        return []
    values = {_level_of(r) for r in done}
    if match.group and all_ok and len(values) == 1:
        return [f"{match.group.capitalize()} are now at {_percent(values.pop())}."]
    return [f"The {name_of(r.action.device)} is now at {_percent(_level_of(r))}." for r in done]


def _level_of(result: ActionResult) -> float:
    level = next((result.attributes[k] for k in _LEVEL_KEYS if k in result.attributes), None)
    if isinstance(level, int | float):
        return float(level)
    return float(result.action.value or 0)


def _percent(value: float) -> str:
    return f"{spoken_number(value)} percent"


def _state(match: IntentMatch, result: ActionResult) -> str:
    """A binary sensor's on/off in its class's words ("low" for a battery), else spoken_state."""
    for device, on, off in match.state_words:
        if device == result.action.device and result.state in ("on", "off"):
            return on if result.state == "on" else off
    return spoken_state(result)


def _yes_no(match: IntentMatch, result: ActionResult, name_of: NameOf,
            expected: str | None) -> str:
    state = _state(match, result)
    if expected is not None and str(result.state) == expected:
        return f"Yes, the {name_of(result.action.device)} is {state}."
    return f"No, it is {state}."


def _count(match: IntentMatch, results: list[ActionResult], name_of: NameOf) -> str:
    """ "are any lights on", "which lights are on", "how many ...", "are all ..."."""
    failed = [r.error or "" for r in results if not r.ok]
    hits = [name_of(r.action.device) for r in results if r.ok and str(r.state) == match.expected]
    misses = [name_of(r.action.device) for r in results if r.ok and str(r.state) != match.expected]
    state, group = match.expected or "", match.group or "them"
    if match.state_words and state in ("on", "off"):
        state = match.state_words[0][1 if state == "on" else 2]
    if match.response == "how_many":
        count = "None" if not hits else str(len(hits))
        said = f"{count} of {group} {'is' if len(hits) == 1 else 'are'} {state}."
    elif match.response == "all":
        said = (f"Yes, all of {group} are {state}." if not misses
                else f"No, {_names(misses)} {'is' if len(misses) == 1 else 'are'} not {state}.")
    elif hits:
        prefix = "Yes, " if match.response == "any" else ""
        verb = "is" if len(hits) == 1 else "are"
        said = f"{prefix}{_names(hits, capital=not prefix)} {verb} {state}."
    else:
        said = f"No, none of {group} are {state}."
    return " ".join([said, *_unique(failed)])


def _names(names: list[str], capital: bool = False) -> str:
    phrases = [f"the {n}" for n in names]
    text = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return text[0].upper() + text[1:] if capital else text


def _unique(items: list[str]) -> list[str]:
    return [i for i in dict.fromkeys(items) if i]
