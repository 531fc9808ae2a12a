"""Transcript clean-up before intent matching: case, punctuation, numbers and percentages.

Whisper writes "Set the lamp to 50%." while a slower speaker or another engine gives "fifty per
cent"; the hassil templates match digits, so every spelling is brought to one form ("50%").
Pure functions, no I/O.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9,
}
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORDS = {**_UNITS, **_TEENS, **_TENS, **_SCALES}

# Which word kinds may follow which inside one number: "twenty five" is one number, "five
# twenty" is two. A pair not listed here starts a new number.
_JOINS = {
    ("ten", "unit"),
    ("unit", "scale"), ("teen", "scale"), ("ten", "scale"), ("scale", "scale"),
    ("scale", "unit"), ("scale", "teen"), ("scale", "ten"),
}

# Punctuation whisper adds. Kept: a '.' or ':' between digits (21.5, 3:45), '%', '°',
# and apostrophes inside words (what's).
_DROP = re.compile(r"[.:](?!\d)|(?<!\d)[.:]|[,!?;\"“”‘’…()\[\]{}]")
_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_STRAY_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|percent\b)")


def normalize_transcript(text: str) -> str:
    """Lower-case, drop punctuation, spell numbers as digits, write percentages as "N%"."""
    text = text.lower().replace("’", "'").replace("per cent", "percent")
    text = _HYPHEN.sub(" ", text)
    text = _DROP.sub(" ", text)
    text = _STRAY_APOSTROPHE.sub(" ", text)
    text = " ".join(_words_to_digits(text.split()))
    text = _PERCENT.sub(r"\1%", text)
    return " ".join(text.split())


def _kind(word: str) -> str:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "ten"
    return "scale"


def _words_to_digits(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        # "a hundred" = 100; a lone "a" stays a word.
        if word == "a" and i + 1 < len(words) and words[i + 1] in _SCALES:
            word = "one"
        if word not in _NUMBER_WORDS:
            out.append(words[i])
            i += 1
            continue
        run, i = _take_number(words, i, word)
        out.append(run)
    return out


def _take_number(words: list[str], i: int, first: str) -> tuple[str, int]:
    """Read one number starting at words[i]; returns its digits and the next index."""
    total, current = 0, _NUMBER_WORDS[first]
    if first in _SCALES:
        current = _SCALES[first]
    last = _kind(first)
    i += 1
    while i < len(words):
        word = words[i]
        # "one hundred and five": the "and" belongs to the number only before a small part.
        if word == "and" and last == "scale" and i + 1 < len(words) and (
            words[i + 1] in _UNITS or words[i + 1] in _TEENS or words[i + 1] in _TENS
        ):
            i += 1
            continue
        if word not in _NUMBER_WORDS or (last, _kind(word)) not in _JOINS:
            break
        if word == "hundred":
            current = max(current, 1) * 100
        elif word == "thousand":
            total += max(current, 1) * 1000
            current = 0
        else:
            current += _NUMBER_WORDS[word]
        last = _kind(word)
        i += 1
    value = str(total + current)
    # "twenty one point five" -> 21.5 (digits after "point" are read one by one).
    if i + 1 < len(words) and words[i] == "point" and words[i + 1] in _UNITS:
        decimals = ""
        i += 1
        while i < len(words) and words[i] in _UNITS:
            decimals += str(_UNITS[words[i]])
            i += 1
        value += "." + decimals
    return value, i
