"""Whisper's reading of a wake window, as evidence: does it hear the phrase, and is what follows
it in the window said to the assistant?

Whisper is asked only when the cheap evidence leaves a detection in doubt
(``decision.Outcome.READ``): it costs ~0.7 CPU-s here, twice that for the windows read a
second time (``prompts_for``: 18 % of the wake corpus's fit windows, 30 % of its test windows).
Prompted with the phrase, it writes a real "okay nabu" the same way for most voices, while a
near-miss keeps its own words ("Okay Nana, I'll call you back"). Whether the phrase was heard,
and whether a sentence ends after it, are features of the decision, weighed by fitted weights;
what the rest says (``follows``) is kept for the record, not weighed: a command's phrasing must
not cancel a wake word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.wake.request import reads_as_request


def prompts_for(phrase: str) -> tuple[str, str]:
    """Whisper's two prompts for a wake window: the phrase alone ("Okay Nabu."), then, only if
    that reading lacks the phrase, the phrase starting a request ("Okay Nabu, what time is
    it?"). Unprompted, whisper writes the phrase for a fifth of real wake words. Prompted with
    the phrase alone it hears more of them, and writes a sentence's end after the phrase when
    the speaker paused (a feature of the decision); but for some voices it takes the phrase
    for the prompt's own words and leaves it out when a pause follows (piper joe with 0.4 s
    and more, every time), which the second prompt does not. Both prompts on the wake corpus,
    fitted and held out: docs/decisions.md."""
    name = phrase.title()
    return name + ".", name + ", what time is it?"


def read_window(transcribe: Callable[[str], str], phrase: str,
                home: frozenset[str] = frozenset()) -> tuple[str, Reading]:
    """Whisper's reading of a window (``transcribe(prompt)`` -> text): the first prompt's, or
    the second's when the first lacks the phrase; the text and its evidence."""
    first, second = prompts_for(phrase)
    text = transcribe(first).strip()
    reading = read(text, phrase, home)
    if not (reading.heard or reading.heard_lenient):
        text = transcribe(second).strip()
        reading = read(text, phrase, home)
    return text, reading


def _sound(text: str, lenient: bool = False) -> str:
    """Metaphone; ``lenient``: with "b" and "w" counted as one sound."""
    import jellyfish

    sound = jellyfish.metaphone(text)
    return sound.replace("B", "W") if lenient else sound


def _phrase_at(words: list[str], phrase: str, lenient: bool = False) -> tuple[int, int] | None:
    """(first word, number of words) of the first stretch of ``words`` that sounds like the
    phrase, compared by sound with the word breaks removed (whisper splits a name it does not
    know as it likes: "Okay, now, buu." is "okay nabu", "okay now" is not)."""
    wanted = _sound("".join(phrase.lower().split()), lenient)
    longest = len(phrase.split()) + 2
    for start in range(len(words)):
        for count in range(1, min(longest, len(words) - start) + 1):
            if _sound("".join(words[start:start + count]), lenient) == wanted:
                return start, count
    return None


@dataclass(frozen=True)
class Reading:
    """What whisper's reading of the window says."""

    heard: bool
    """It wrote the phrase (by sound)."""
    heard_lenient: bool
    """...or wrote it with a "b" heard as a "w" ("Okay, now we turn on the light" for a phrase
    said in one breath with the command)."""
    follows: str
    """What follows the phrase in the reading: "nothing", "stop" (the sentence ends there),
    "request" (words that read as a request, ``request.reads_as_request``), "talk" (other
    words) or "" (no phrase)."""


def read(text: str, phrase: str, home: frozenset[str] = frozenset()) -> Reading:
    """Pure: the evidence in whisper's transcript of a wake window."""
    words = list(re.finditer(r"[a-z0-9']+", text.lower()))
    plain = [w.group() for w in words]
    span = _phrase_at(plain, phrase)
    lenient = span is None and (span := _phrase_at(plain, phrase, lenient=True)) is not None
    if span is None:
        return Reading(False, False, "")
    end = words[span[0] + span[1] - 1].end()
    after = text[end:].lower()
    rest = re.findall(r"[a-z0-9']+", after)
    if not rest:
        follows = "nothing"
    elif re.match(r"\s*[.?!\u2026]+(\s|$)", after):
        follows = "stop"
    else:
        follows = "request" if reads_as_request(" ".join(rest), home, phrase) else "talk"
    return Reading(not lenient, lenient, follows)
