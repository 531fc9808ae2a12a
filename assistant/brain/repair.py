"""Misheard commands: repair what is clearly meant, and notice when the meaning is in doubt.

Pure functions over normalized transcripts; nothing here touches a device. The local brain
asks for a spoken confirmation before a repaired or doubtful command acts on a lock, a cover or
a device marked ``confirm: true``; see ``LocalBrain``.

Three kinds of trouble, all seen from whisper on unfamiliar voices and in noise:
- a wrong verb: "look the front door" (lock), "clothes the garage" (close);
- a wrong name: "turn on the fin" (fan), "the kitchen lied" (light);
- an opposite word in doubt: "unlock the back door" heard as "then lock the back door" or
  "and lock ...": the "un" became a word of its own. Locking instead of unlocking is the worst
  outcome, so any stray word before lock/unlock/open/close puts the verb in doubt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish

# Verbs that start a command, and the mishearings whisper makes of them on synthetic and
# accented voices. Only a command's first word is ever rewritten.
_VERB_FIXES = {
    "look": "lock", "luck": "lock", "lok": "lock", "locked": "lock", "blocked": "lock",
    "block": "lock", "unlucky": "unlock", "unlocked": "unlock", "unblock": "unlock",
    "onlock": "unlock", "clothes": "close", "cloze": "close", "clothe": "close", "closed": "close",
    "opened": "open", "often": "open",
}
_TURN_FIXES = {"of": "off", "offf": "off", "own": "on"}
"""After "turn": "turn of the light" means off."""
_HEARD_FOR_TURN = {"join", "tune", "churn", "tern", "term", "torn"}
"""Whisper's hearings of "turn", fixed only before on or off: "join off the ceiling fan"."""
_HEARD_FOR_IS = {"it's", "its", "it"}
"""Whisper's hearings of a question's first "is", fixed only before "the": "it's the front door
locked". A statement, so it changes nothing, and the fix is kept only if hassil then matches."""
_OPPOSITE_VERBS = ("lock", "unlock", "open", "close")
# Words that may come before a verb without hiding a syllable of it.
_POLITE = {"please", "can", "could", "would", "will", "you", "hey", "okay", "ok", "now"}
# A word list reads (and diffs) better as text than as 130 quoted strings.
_OTHER_THINGS_TEXT = """
    attic backyard balcony basement bath bathroom bedroom cellar closet corridor deck den dining
    downstairs driveway family garage garden guest gym hall hallway kids kitchen landing laundry
    library living loft lounge master nursery office outside pantry patio playroom pool porch
    restroom shed shower spare stairs study terrace toilet upstairs utility wardrobe washroom
    workshop yard room sitting play games back front rear side main
    alarm aquarium bed bike blender blinds boiler bulb camera car chandelier computer couch
    curtains desk dishwasher doorbell dryer fence fire fireplace floor fountain freezer fridge
    gate heater kettle laptop microwave mirror oven phone printer pump radiator radio
    refrigerator router shutters sofa speaker sprinkler stereo stove table telephone television
    thermostat toaster truck tv vacuum van washer window
"""
OTHER_THINGS = frozenset(_OTHER_THINGS_TEXT.split())
"""Rooms and household things. A heard word that is one of these names another place or
thing, not a mishearing: "turn on the phone" must not become the fan (same sound, FN), nor
"the bathroom light" the bedroom light, nor "the porch lamp" the lamp. Words of the
configured names themselves are compared as usual."""
NAME_SCORE = 0.8
"""How alike (0-1) a heard name and a configured one must be to count as the same."""
NAME_MARGIN = 0.1
"""...and by how much better than the next configured name, so that a repair is unambiguous."""


@dataclass(frozen=True)
class Repair:
    text: str
    changes: tuple[str, ...] = ()
    """What was rewritten, as "heard -> meant"."""


def fix_verbs(text: str) -> Repair:
    """Rewrite a misheard command verb at the start of the sentence."""
    words = text.split()
    if not words:
        return Repair(text)
    changes: list[str] = []
    start = 1 if words[0] in _POLITE and len(words) > 1 else 0
    first = words[start]
    if first in _VERB_FIXES:
        changes.append(f"{first} -> {_VERB_FIXES[first]}")
        words[start] = _VERB_FIXES[first]
    elif first in _HEARD_FOR_TURN and words[start + 1:start + 2] in (["on"], ["off"], ["of"]):
        changes.append(f"{first} -> turn")
        first = words[start] = "turn"
    elif first in _HEARD_FOR_IS and words[start + 1:start + 2] == ["the"]:
        changes.append(f"{first} -> is")
        first = words[start] = "is"
    if first in ("turn", "switch") and len(words) > start + 1 and words[start + 1] in _TURN_FIXES:
        second = words[start + 1]
        changes.append(f"{first} {second} -> {first} {_TURN_FIXES[second]}")
        words[start + 1] = _TURN_FIXES[second]
    return Repair(" ".join(words), tuple(changes))


def opposite_in_doubt(text: str) -> bool:
    """True when a lock/unlock/open/close verb follows words that may be a lost syllable of it.

    "then lock the back door" may be "unlock the back door"; "please lock the door" is sure.
    """
    words = text.split()
    for index, word in enumerate(words):
        if word in _OPPOSITE_VERBS:
            before = words[:index]
            return any(w not in _POLITE for w in before)
    return False


def lost_prefix(text: str) -> bool:
    """Whether a transcript of audio that began mid-speech (after a wake word said in one
    breath with the command) may have lost the "un" of "unlock": it begins with "lock". Such an
    opposite in doubt is asked about."""
    words = text.lower().replace(",", " ").split()
    while words and words[0] in ("please", "now", "and", "so"):
        words = words[1:]
    return bool(words) and words[0] == "lock"


_DETERMINERS = re.compile(r"\b(?:a|my|that|this|your|our|de|da)\b(?= \w)")


def fix_articles(text: str) -> Repair:
    """ "is a front door locked", "turn off my ceiling fan": the templates want "the"."""
    fixed = _DETERMINERS.sub("the", text)
    return Repair(fixed, ("article -> the",) if fixed != text else ())


def drop_leading_words(text: str) -> list[str]:
    """The sentence without its first one or two words ("then lock the door" -> "lock the door"),
    for a command that only fails to match because of a stray word in front."""
    words = text.split()
    return [" ".join(words[n:]) for n in (1, 2) if len(words) > n + 1]


class NameMatcher:
    """The configured name a misheard one means, when exactly one target fits.

    Names are compared word by word, each word by the better of spelling and sound (metaphone):
    "fin" sounds like "fan", "kitchen lied" like "kitchen light"; "attic light" is not
    "kitchen light" and "garage light" is not "garage door", because one word differs outright;
    "bathroom light" is not "bedroom light" nor "phone" the "fan", because those words name
    another room or thing (OTHER_THINGS): an unknown device gets "I don't know", not a guess.
    """

    def __init__(self, targets: dict[str, str]):
        self.targets = targets
        """Spoken name -> what it stands for (a device id or an area)."""

    def closest(self, heard: str) -> str | None:
        """The spoken name meant by `heard`, or None when none or several fit."""
        best: dict[str, tuple[float, str]] = {}
        for name, target in self.targets.items():
            score = name_score(heard, name)
            if score > best.get(target, (-1.0, ""))[0]:
                best[target] = (score, name)
        ranked = sorted(best.values(), reverse=True)
        if not ranked or ranked[0][0] < NAME_SCORE:
            return None
        if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < NAME_MARGIN:
            return None
        return ranked[0][1]


def name_score(heard: str, name: str) -> float:
    """0-1: the least alike pair of words, when both have as many words; otherwise 0.9 when
    they sound the same with the word breaks removed ("bad room light" is "bedroom light"), or
    0.85 when they are then one letter apart ("process of temperature")."""
    a, b = _words(heard), _words(name)
    if not a or not b:
        return 0.0
    if len(a) != len(b):
        # "room" of "bad room" is part of "bedroom": a word break, not another room.
        if any(another_thing(x, b) and not any(x in y for y in b) for x in a):
            return 0.0
        heard_joined, name_joined = "".join(a), "".join(b)
        if jellyfish.metaphone(heard_joined) == jellyfish.metaphone(name_joined):
            return 0.9
        # "process of temperature": one letter off the long name once the breaks are gone.
        if len(name_joined) >= 8 and jellyfish.levenshtein_distance(heard_joined, name_joined) <= 1:
            return 0.85
        return 0.0
    return min(0.0 if another_thing(x, b) else _word_score(x, y)
               for x, y in zip(a, b, strict=True))


def another_thing(word: str, name_words: list[str]) -> bool:
    """True when a heard word names a room or thing (OTHER_THINGS) that the name does not."""
    singular = word[:-1] if word.endswith("s") and word[:-1] in OTHER_THINGS else word
    return singular in OTHER_THINGS and singular not in name_words


def _word_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    score = jellyfish.jaro_winkler_similarity(a, b)
    if jellyfish.metaphone(a) == jellyfish.metaphone(b):
        score = max(score, 0.9)
    return score


def _words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^a-z0-9 ]", " ", text.lower()).split() if w != "the"]
