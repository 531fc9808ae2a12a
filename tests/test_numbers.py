"""normalize_transcript: one form for every way a number or percentage can be written."""

from __future__ import annotations

import pytest

from assistant.brain.numbers import normalize_transcript


@pytest.mark.parametrize("text", [
    "50%", "50 %", "50 percent", "50 per cent", "fifty percent", "fifty per cent", "Fifty percent.",
])
def test_percent_forms_agree(text: str) -> None:
    assert normalize_transcript(f"set the lamp to {text}") == "set the lamp to 50%"


@pytest.mark.parametrize(("text", "expected"), [
    ("one hundred percent", "100%"),
    ("a hundred percent", "100%"),
    ("twenty five", "25"),
    ("seventy-five percent", "75%"),
    ("Seventy-Five Percent!", "75%"),
    ("ninety nine", "99"),
    ("one hundred and five", "105"),
    ("two thousand and twenty six", "2026"),
    ("twenty one point five degrees", "21.5 degrees"),
    ("zero", "0"),
    ("ten percent", "10%"),
    ("thirteen", "13"),
])
def test_number_words(text: str, expected: str) -> None:
    assert normalize_transcript(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Turn on the kitchen light.", "turn on the kitchen light"),
    ("What's the time?", "what's the time"),
    ("It is 21.5 degrees.", "it is 21 point 5 degrees".replace(" point ", ".")),
    ("Set a timer for 5:30.", "set a timer for 5:30"),
    ('"Hello," she said…', "hello she said"),
    ("  lots   of   space ", "lots of space"),
    ("it's the 'lamp'", "it's the lamp"),
    ("", ""),
    ("...", ""),
])
def test_punctuation(text: str, expected: str) -> None:
    assert normalize_transcript(text) == expected


def test_separate_numbers_stay_separate() -> None:
    # "five twenty" is two numbers, not 25; a unit after a unit starts a new number.
    assert normalize_transcript("five twenty") == "5 20"
    assert normalize_transcript("one two three") == "1 2 3"


def test_words_that_are_not_numbers_stay() -> None:
    assert normalize_transcript("a lamp and a fan") == "a lamp and a fan"
    assert normalize_transcript("someone") == "someone"


def test_idempotent() -> None:
    once = normalize_transcript("Set the lamp to seventy-five per cent.")
    assert normalize_transcript(once) == once
