"""Whether a command's transcript reads as a request to the assistant: the tie-breaker for a
wake word the acoustic evidence leaves borderline (``decision.Outcome.BORDERLINE``), never
more. Near-misses are said in the middle of other talk ("Okay Naboo from Star Wars was a
beautiful planet"); what follows a real wake word is a command, a question, or the home's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_OPENERS = """
    turn switch set open close lock unlock dim brighten raise lower start stop pause resume play
    turned turning switched switching cancel what what's whats when where who whose why how which
    is are do does did can could would will should tell give show find make remind please let
    let's i'd i'm my call read say add put check explain define translate search look help
    wake never mind mute unmute volume louder quieter repeat
"""
REQUEST_OPENERS = frozenset(_OPENERS.split())
"""Words a request to a voice assistant starts with: commands and questions."""
HOME_WORDS_WITHIN = 4
"""How far into a command (words) one of the home's words shows it is a request."""
_SMALL_TALK = frozenset({"the", "a", "an", "is", "it", "in", "to", "of", "what", "what's", "time",
                         "date", "never", "mind", "on", "off"})
_FILLERS = frozenset({"okay", "ok", "so", "and", "um", "uh", "oh", "hey", "now", "well"})


def home_words(vocabulary: Iterable[str]) -> frozenset[str]:
    """The words of the home's names, areas and commands that are not everyday small talk, with
    their plurals ("kitchen", "fan", "lights"; not "the", "on")."""
    words = {word for phrase in vocabulary for word in phrase.lower().split()
             if word not in _SMALL_TALK}
    return frozenset(words | {word + "s" for word in words if not word.endswith("s")})


def reads_as_request(text: str, home: frozenset[str] = frozenset(),
                     phrase: str = "okay nabu") -> bool:
    """Pure: the transcript (fillers and the wake phrase said again passed over) starts with a
    request's word, or names the home within its first HOME_WORDS_WITHIN words."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    skip = _FILLERS | set(phrase.lower().split())
    while words and words[0] in skip:
        words = words[1:]
    if not words:
        return False
    if words[0] == "i":
        return len(words) > 1 and words[1] in {"want", "need", "would", "like", "wanna"}
    return words[0] in REQUEST_OPENERS or any(w in home for w in words[:HOME_WORDS_WITHIN])
