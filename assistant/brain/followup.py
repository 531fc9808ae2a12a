"""Follow-ups: "and turn it off again", "the bedroom too", "what about the porch", "dim it to 20 %",
"do the same in the bedroom", "undo that", "did that work?".

The local brain keeps one small record of its last turn, made from what the executor really
did (the devices it acted on or read, the action, the value), never from what was said. A
follow-up is rewritten into whole sentences the local intents understand ("turn the kitchen
light off"), so it is planned, guarded and confirmed like any command. Pure functions over
plain values; the record expires after FOLLOW_UP_S.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.brain.numbers import normalize_transcript
from assistant.brain.types import ActionResult

FOLLOW_UP_S = 60.0
"""How long the last turn can be referred to ("turn it off again")."""

_PRONOUNS = re.compile(r"\b(it|them|that|those|this|these)\b")
_LEAD = ("and then ", "and ", "then ", "now ", "ok ", "okay ", "also ", "please ")
_TAIL = (" again", " too", " as well", " also", " back", " please", " now")
_ABOUT = re.compile(r"^(?:what|how) about (.+)$|^(?:and |now |also )?(?:do |same (?:for|with) )?"
                    r"(the .+?)(?: too| as well| also)?$")
_SAME_THERE = re.compile(r"^(?:(?:do )?(?:the )?same(?: thing)?|do (?:that|it|this)) (?:in|for|with|to|at) (.+)$"
                         r"|^(?:in|for) (the .+)$")
"""'do the same in the bedroom', 'and in the bedroom?', 'same for the fan'."""
_UNDO = re.compile(r"^(?:undo|reverse|revert)(?: (?:that|it|this|the last one))?$"
                   r"|^(?:take|put) (?:that|it) back$")
_WORKED = re.compile(r"^(?:did|has|have) (?:that|it|this|they) (?:work|worked|happen|happened)$"
                     r"|^is (?:that|it) done$")
_OPPOSITE = {"turn_on": "turn_off", "turn_off": "turn_on", "lock": "unlock", "unlock": "lock",
             "open": "close", "close": "open"}
_STATE_AFTER = {"turn_on": "on", "turn_off": "off", "lock": "locked", "unlock": "unlocked",
                "open": "open", "close": "closed", "set_brightness": "on", "set_speed": "on"}
_VERB = {"turn_on": "turn on {x}", "turn_off": "turn off {x}", "lock": "lock {x}",
         "unlock": "unlock {x}", "open": "open {x}", "close": "close {x}", "toggle": "toggle {x}",
         "set_brightness": "set {x} to {v}%", "set_speed": "set {x} speed to {v}%"}
_PLURAL = {"light": "lights", "switch": "switches", "fan": "fans", "cover": "covers",
           "lock": "locks"}


@dataclass(frozen=True)
class LastTurn:
    """What the executor did in the last local turn."""

    names: tuple[str, ...]
    """The spoken names of the devices acted on (or read)."""
    action: str
    value: float | None
    kinds: tuple[str, ...]
    expected: str | None
    """The state a question asked about ("locked"), for "what about the back door"."""
    at: float
    """When, on the brain's clock (s)."""
    before: tuple[tuple[str, float], ...] = ()
    """The devices of the turns before it within FOLLOW_UP_S, with when, for "turn them all
    off" after "turn on the kitchen light", "turn on the bedroom light"."""


def with_earlier(turn: LastTurn, previous: LastTurn | None) -> LastTurn:
    """The new turn, remembering the devices of the turns before it that are still recent."""
    if previous is None:
        return turn
    earlier = [*previous.before, *((n, previous.at) for n in previous.names)]
    kept = {n: at for n, at in earlier if turn.at - at <= FOLLOW_UP_S and n not in turn.names}
    return replace(turn, before=tuple(kept.items()))


def last_turn(results: Sequence[ActionResult], names: dict[str, str], kinds: dict[str, str],
              expected: str | None, at: float) -> LastTurn | None:
    """The record of a turn, from the executor's results (only the ones that worked)."""
    done = [r for r in results if r.ok]
    if not done:
        return None
    first = done[0].action
    return LastTurn(tuple(dict.fromkeys(names.get(r.action.device, r.action.device) for r in done)),
                    first.action, first.value,
                    tuple(dict.fromkeys(kinds.get(r.action.device, "") for r in done)), expected, at)


def rewrite(text: str, last: LastTurn | None, now: float,
            areas: Sequence[str] = ()) -> list[str]:
    """Whole sentences a follow-up stands for, best first; [] when it is none (or too late)."""
    if last is None or now - last.at > FOLLOW_UP_S:
        return []
    plain = normalize_transcript(text)
    said = _trim(plain)
    if not said:
        return []
    if _UNDO.match(said) or _UNDO.match(plain):
        opposite = _OPPOSITE.get(last.action)
        return [] if opposite is None else [_VERB[opposite].format(x=f"the {n}", v="")
                                            for n in last.names]
    if _WORKED.match(said):
        # Whether it worked is read from the devices, never taken from the last reply.
        state = _STATE_AFTER.get(last.action)
        return [] if state is None else [f"is the {n} {state}" for n in last.names]
    there = _SAME_THERE.match(said)
    if there is None and _PRONOUNS.search(said):
        return _with_pronoun(said, last)
    about = there or _ABOUT.match(said)
    if about is None:
        return []
    target = (about.group(1) or about.group(2)).strip()
    if not target.startswith("the ") and target not in [normalize_transcript(a) for a in areas]:
        target = f"the {target}"
    return _same_action(target, last, areas)


def _trim(said: str) -> str:
    # "turn it back on", "turn it off again": not "what about the back door".
    said = re.sub(r"\bagain\b|\bback (?=on\b|off\b|up\b|down\b)|\bback$", " ", said)
    said = " ".join(said.split())
    changed = True
    while changed:
        changed = False
        for lead in _LEAD:
            if said.startswith(lead):
                said, changed = said[len(lead):], True
        for tail in _TAIL:
            if said.endswith(tail):
                said, changed = said[: -len(tail)], True
    return said.strip()


_ALL_OF_THEM = re.compile(r"\b(?:them all|all of them|both of them|them both|all those|all these)\b")


def _with_pronoun(said: str, last: LastTurn) -> list[str]:
    """ "turn it off" -> "turn the kitchen light off", once per device of the last turn; "turn
    them all off", once per device of the last turns."""
    out = []
    names = last.names
    if _ALL_OF_THEM.search(said):
        names = (*(n for n, _ in last.before), *last.names)
        said = _ALL_OF_THEM.sub("them", said)
    for name in names:
        sentence = _PRONOUNS.sub(f"the {name}", said, count=1)
        sentence = re.sub(r"\bmake the (.+?) (brighter|lighter)$", r"brighten the \1", sentence)
        sentence = re.sub(r"\bmake the (.+?) (dimmer|darker)$", r"dim the \1", sentence)
        sentence = re.sub(r"^dim the (.+?) to (\d+%)$", r"set the \1 to \2", sentence)
        out.append(sentence)
    return out


def _same_action(target: str, last: LastTurn, areas: Sequence[str]) -> list[str]:
    """ "the bedroom too" after "turn on the kitchen light": the same action on another target."""
    value = f"{last.value:g}" if last.value is not None else ""
    bare = target.removeprefix("the ")
    is_area = bare in [normalize_transcript(a) for a in areas]
    if last.action == "query":
        if is_area:
            return []
        asked = [f"is {target} {last.expected}"] if last.expected else []
        return [*asked, f"what is {target}"]
    verb = _VERB.get(last.action)
    if verb is None:
        return []
    out = []
    if is_area:
        for kind in last.kinds:
            if kind in _PLURAL:
                out.append(verb.format(x=f"the {_PLURAL[kind]} in the {bare}", v=value))
    out.append(verb.format(x=target, v=value))
    return out
