"""The Vosk grammar phrases built from the example config: every name and area is in it, every
command phrase is one the local intents understand, and the list stays bounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.brain.intents import IntentMatch, LocalIntents
from assistant.brain.phrases import (
    MAX_PHRASES,
    UNKNOWN,
    command_phrases,
    grammar_phrases,
    spell_number,
    spoken,
)
from assistant.config import Config, DeviceConfig, load_config
from assistant.stt import fits_grammar, grammar_bigrams

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(ROOT / "config" / "assistant.yaml")


def test_every_name_alias_and_area_is_in_the_grammar(config: Config) -> None:
    phrases = grammar_phrases(config.devices)
    text = "\n".join(phrases)
    for device in config.devices:
        for name in (device.name, *device.aliases):
            assert any(f" {name}" in f" {p}" for p in phrases), name
        if device.area:
            assert f"the {device.area}" in text, device.area
    # Verbs by kind: the lock and the cover get theirs, the sensor a question.
    for phrase in ("lock the front door", "unlock the front door", "open the garage door",
                   "close the garage door", "open the garage", "turn on the reading lamp", "turn off the fan",
                   "switch on the bedroom light",
                   "set the lamp to fifty percent", "what is the processor temperature",
                   "turn off the lights in the living room", "what time is it", "never mind"):
        assert phrase in phrases
    assert "lock the kitchen light" not in phrases


def test_grammar_is_bounded_unique_and_ends_with_unk(config: Config) -> None:
    phrases = grammar_phrases(config.devices)
    assert phrases[-1] == UNKNOWN and phrases.count(UNKNOWN) == 1
    assert len(phrases) == len(set(phrases))
    assert len(phrases) < 400  # ten devices: a few hundred phrases, not name x number x verb
    for number in ("zero", "thirty three", "one hundred", "yes", "no"):
        assert number in phrases
    # Only words: lower case, no digits or punctuation Vosk's word list would not have.
    assert all(p == UNKNOWN or p == spoken(p) for p in phrases)


def test_a_large_home_is_cut_to_the_bound_keeping_commands() -> None:
    devices = [DeviceConfig(id=f"light_{i}", name=f"light number {i}", kind="light",
                            area=f"room {i}", pin=2, dimmable=True) for i in range(100)]
    phrases = grammar_phrases(devices)
    assert len(phrases) == MAX_PHRASES
    assert phrases[-1] == UNKNOWN
    assert "turn on the light number ninety nine" in phrases  # commands survive; numbers go
    assert len(grammar_phrases(devices, max_phrases=50)) == 50


def test_every_command_phrase_is_understood_by_the_local_intents(config: Config) -> None:
    intents = LocalIntents(config)
    not_understood = [p for p in command_phrases(config.devices)
                      if not isinstance(intents.match(p), IntentMatch)]
    assert not_understood == []


def test_spelling() -> None:
    assert [spell_number(n) for n in (0, 7, 19, 20, 42, 100)] == [
        "zero", "seven", "nineteen", "twenty", "forty two", "one hundred"]
    assert spoken("Lamp 2") == "lamp two"
    assert spoken("Kid's Room, TV-1") == "kid's room tv one"
    assert spoken("Router 2024") == "router two zero two four"
    assert spoken("Café_lamp") == "café lamp"
    with pytest.raises(ValueError):
        spell_number(101)


def test_commands_with_any_number_fit_the_grammar_and_other_speech_does_not(config: Config) -> None:
    bigrams = grammar_bigrams(grammar_phrases(config.devices))
    for sentence in ("set the lamp to thirty three percent", "set the ceiling fan to one hundred percent",
                     "set a timer for twenty five minutes", "set a timer for one hour",
                     "turn off the lights in the living room", "what's the temperature in the living room",
                     "unlock the front door", "seventy", "no"):
        assert fits_grammar(sentence, bigrams), sentence
    for sentence in ("what is the capital of france", "lock the front door lock", "no no",
                     "kitchen light", "turn on [unk]", ""):
        assert not fits_grammar(sentence, bigrams), sentence
    # Word pairs are not whole phrases: some recombinations fit ("open the lamp"); the local
    # intents then say what the lamp cannot do, as they would for the open pass's text.
    assert fits_grammar("open the lamp", bigrams)
