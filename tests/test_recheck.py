"""The second look at a command (assistant.recheck): the pure decisions, and whisper scoring the
home's commands against real synthetic speech it mishears."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.audio.chunk import RATE
from assistant.brain.intents import LocalIntents
from assistant.brain.local import answer_in_words
from assistant.config import load_config
from assistant.recheck import (
    Phrase,
    Recheck,
    choose,
    closest,
    opposite_of,
    read_answer,
    sentence,
    with_number,
    worth_asking,
)
from assistant.stt import Transcript
from assistant.voice import _recheck, _stt_prompt
from bench import corpus

ROOT = Path(__file__).resolve().parent.parent
PAD = bytes(RATE // 2 * 2)


def test_phrases_are_written_as_whisper_writes_sentences() -> None:
    assert sentence("turn on the lamp") == "Turn on the lamp."
    assert sentence("is the front door locked") == "Is the front door locked?"
    assert sentence("what's the time") == "What's the time?"


@pytest.mark.parametrize(("text", "other"), [
    ("Turn on the kitchen light.", "Turn off the kitchen light."),
    ("turn the fan off", "turn the fan on"),
    ("Unlock the front door.", "Lock the front door."),
    ("close the garage door", "open the garage door"),
    ("What time is it?", None),
    ("Turn online.", None),
])
def test_the_opposite_swaps_the_first_on_off_word(text: str, other: str | None) -> None:
    assert opposite_of(text) == other


def test_a_number_is_taken_from_the_transcript_never_guessed() -> None:
    phrases = [Phrase("set the lamp to fifty percent", "set"), Phrase("turn on the lamp", "on")]
    assert [p.text for p in with_number(phrases, "That's the lamp to 40%.", "fifty")] == [
        "set the lamp to forty percent", "turn on the lamp"]
    assert [p.text for p in with_number(phrases, "That's the lamp up.", "fifty")] == [
        "turn on the lamp"]
    # A level set is still a change to a device, to be asked about when in doubt.
    acting = [Phrase("set the lamp to fifty percent", "set", acts=True)]
    assert [p.acts for p in with_number(acting, "That's the lamp to 40%.", "fifty")] == [True]


def test_the_closest_phrases_come_with_their_opposites() -> None:
    phrases = [Phrase(f"turn {w} the {d}", (w, d)) for w in ("on", "off")
               for d in ("fan", "lamp", "kitchen light", "bedroom light")]
    picked = [p.text for p in closest(phrases, "turn on the fence", limit=1)]
    assert picked == ["turn on the fan", "turn off the fan"]


def scored(*items: tuple[str, str, float]) -> list[tuple[Phrase, float]]:
    return [(Phrase(text, meaning), score) for text, meaning, score in items]


def test_choose_takes_a_clear_best_close_to_what_was_heard() -> None:
    best = choose(-1.0, scored(("unlock the front door", "unlock", -1.2),
                               ("lock the front door", "lock", -1.8)))
    assert best is not None and best.text == "unlock the front door"


def test_choose_refuses_a_close_race_between_meanings() -> None:
    assert choose(-1.0, scored(("unlock the front door", "unlock", -1.2),
                               ("lock the front door", "lock", -1.3))) is None


def test_phrases_that_mean_the_same_do_not_compete() -> None:
    best = choose(-1.0, scored(("turn on the lamp", "lamp on", -1.1),
                               ("turn the lamp on", "lamp on", -1.15),
                               ("turn off the lamp", "lamp off", -2.0)))
    assert best is not None and best.meaning == "lamp on"


def test_choose_refuses_a_command_far_less_likely_than_the_transcript() -> None:
    assert choose(-0.3, scored(("what time is it", "time", -1.5),
                               ("stop", "stop", -3.0))) is None


def acting(*items: tuple[str, str, float]) -> list[tuple[Phrase, float]]:
    return [(Phrase(text, meaning, acts=not text.startswith("is ")), score)
            for text, meaning, score in items]


def test_a_command_less_likely_but_clear_of_all_but_its_opposite_is_worth_asking() -> None:
    # Scores of "I'm off the front door." (piper's joe saying "unlock the front door").
    race = acting(("unlock the front door", "unlock", -1.14), ("lock the front door", "lock", -1.3),
                  ("is the front door locked", "locked?", -2.0))
    assert choose(-0.3, race) is None
    asked = worth_asking(-0.3, race)
    assert asked is not None and asked.text == "unlock the front door"


@pytest.mark.parametrize(("heard", "items"), [
    (-0.3, [("unlock the front door", "unlock", -1.9), ("lock the front door", "lock", -2.3)]),
    (-0.3, [("unlock the front door", "unlock", -1.0), ("open the garage door", "open", -1.2)]),
    (-0.3, [("is the front door locked", "locked?", -0.9), ("lock the front door", "lock", -2.0)]),
])
def test_too_unlikely_a_close_race_or_a_question_is_not_asked_about(
        heard: float, items: list[tuple[str, str, float]]) -> None:
    assert worth_asking(heard, acting(*items)) is None


class Scripted:
    """Scores by sentence, for the decisions alone (the real scorer is whisper, below)."""

    def __init__(self, scores: dict[str, float]):
        self.scores = scores
        self.asked: list[list[str]] = []

    def score(self, pcm: bytes, sentences: Sequence[str]) -> list[float]:
        self.asked.append(list(sentences))
        return [self.scores.get(s, -5.0) for s in sentences]


def test_an_understood_command_whose_opposite_scores_as_well_is_in_doubt() -> None:
    scorer = Scripted({"Turn off the fan.": -0.50, "Turn on the fan.": -0.55})
    check = Recheck(scorer, [], lambda _text: "understood")
    assert check(b"", Transcript("Turn off the fan.")).doubt == "opposite"
    scorer.scores["Turn on the fan."] = -1.5
    assert check(b"", Transcript("Turn off the fan.")).doubt is None
    assert scorer.asked[-1] == ["Turn off the fan.", "Turn on the fan."]
    assert check(b"", Transcript("What time is it?")).doubt is None  # nothing to swap


def test_an_unknown_name_must_be_outscored_not_just_matched() -> None:
    phrases = [Phrase("turn on the kitchen light", "kitchen on"),
               Phrase("turn off the kitchen light", "kitchen off")]
    scorer = Scripted({"Turn on the attic light.": -0.40, "Turn on the kitchen light.": -0.55,
                       "Turn off the kitchen light.": -1.5})
    unknown = Recheck(scorer, phrases, lambda _text: "unknown")
    assert unknown(b"", Transcript("Turn on the attic light.")) == Transcript(
        "Turn on the attic light.")
    # The same scores for a transcript that is no command at all would be taken.
    other = Recheck(scorer, phrases, lambda _text: "other")
    assert other(b"", Transcript("Turn on the attic light.")).text == "Turn on the kitchen light."


def test_a_transcript_that_is_no_command_may_become_a_question_but_an_unknown_name_not() -> None:
    phrases = [Phrase("unlock the front door", "unlock", acts=True),
               Phrase("lock the front door", "lock", acts=True)]
    scorer = Scripted({"I'm off the front door.": -0.3, "Unlock the front door.": -1.14,
                       "Lock the front door.": -1.3})
    other = Recheck(scorer, phrases, lambda _text: "other")
    assert other(b"", Transcript("I'm off the front door.")) == Transcript(
        "Unlock the front door.", heard="I'm off the front door.", doubt="unsure")
    unknown = Recheck(scorer, phrases, lambda _text: "unknown")
    assert unknown(b"", Transcript("I'm off the front door.")) == Transcript(
        "I'm off the front door.")


def test_a_question_about_the_home_may_be_read_from_less_evidence_than_a_command() -> None:
    phrases = [Phrase("is the front door locked", "locked?"),
               Phrase("lock the front door", "lock", acts=True)]
    scorer = Scripted({"It's the front door lock.": -0.5, "Is the front door locked?": -1.1,
                       "Lock the front door.": -2.5})
    check = Recheck(scorer, phrases, lambda _text: "other")
    assert check(b"", Transcript("It's the front door lock.")) == Transcript(
        "Is the front door locked?", heard="It's the front door lock.", doubt="rescored")
    # A command that acts gets no such leeway: as far below, it is only asked about.
    scorer.scores.update({"Is the front door locked?": -2.5, "Lock the front door.": -1.1})
    assert check(b"", Transcript("It's the front door lock.")).doubt == "unsure"
    # Too far below the transcript: left as heard.
    scorer.scores.update({"Is the front door locked?": -1.5, "Lock the front door.": -4.0})
    assert check(b"", Transcript("It's the front door lock.")) == Transcript(
        "It's the front door lock.")


def test_an_unknown_name_that_nearly_explains_as_well_as_a_command_is_asked_never_done() -> None:
    phrases = [Phrase("turn on the fan", "fan on", acts=True),
               Phrase("turn off the fan", "fan off", acts=True)]
    scorer = Scripted({"Turn on the can.": -0.40, "Turn on the fan.": -0.75,
                       "Turn off the fan.": -2.0})
    unknown = Recheck(scorer, phrases, lambda _text: "unknown")
    assert unknown(b"", Transcript("Turn on the can.")) == Transcript(
        "Turn on the fan.", heard="Turn on the can.", doubt="unsure")
    # Its opposite nearly as likely: the "on" whisper did hear says which one to ask about...
    scorer.scores["Turn off the fan."] = -0.8
    assert unknown(b"", Transcript("Turn on the can.")).text == "Turn on the fan."
    # ...but not against the audio: with the opposite likelier, nothing is asked.
    scorer.scores["Turn off the fan."] = -0.7
    assert unknown(b"", Transcript("Turn on the can.")) == Transcript("Turn on the can.")
    # Far less likely than the name heard: "I don't know", no question.
    scorer.scores.update({"Turn on the fan.": -1.25, "Turn off the fan.": -3.0})
    assert unknown(b"", Transcript("Turn on the can.")) == Transcript("Turn on the can.")


def test_an_unknown_name_is_asked_about_with_the_on_off_word_whisper_heard() -> None:
    phrases = [Phrase("turn on the lights in the kitchen", "kitchen on", acts=True),
               Phrase("turn off the lights in the kitchen", "kitchen off", acts=True),
               Phrase("turn on the fan", "fan on", acts=True)]
    heard = "Turn on the light, sink the kitchen."
    scorer = Scripted({heard: -1.93, "Turn on the lights in the kitchen.": -1.22,
                       "Turn off the lights in the kitchen.": -1.4, "Turn on the fan.": -4.0})
    unknown = Recheck(scorer, phrases, lambda _text: "unknown")
    assert unknown(b"", Transcript(heard)) == Transcript(
        "Turn on the lights in the kitchen.", heard=heard, doubt="unsure")
    # Another command close behind that is not the opposite: which one is not clear.
    scorer.scores["Turn on the fan."] = -1.5
    assert unknown(b"", Transcript(heard)) == Transcript(heard)
    # A transcript without an on/off word: the opposite is a rival like any other.
    scorer.scores.update({"Turn on the fan.": -4.0, "Turn the light, sink the kitchen.": -1.93})
    assert unknown(b"", Transcript("Turn the light, sink the kitchen.")) == Transcript(
        "Turn the light, sink the kitchen.")


def test_an_answer_is_read_only_when_one_of_yes_and_no_clearly_explains_the_audio() -> None:
    assert read_answer(-0.8, -1.0, -3.0, below=1.0, ahead=1.0) == "yes"
    assert read_answer(-0.8, -3.0, -1.2, below=1.0, ahead=1.0) == "no"
    assert read_answer(-0.8, -1.0, -1.5, below=1.0, ahead=1.0) is None  # too close a race
    assert read_answer(-0.8, -2.0, -4.0, below=1.0, ahead=1.0) is None  # far less likely


def test_an_unclear_answer_is_weighed_as_yes_or_no_never_as_a_command() -> None:
    phrases = [Phrase("turn on the fan", "fan on", acts=True)]
    scorer = Scripted({"See you guys.": -0.8, "Yes.": -1.0, "No.": -3.0,
                       "Turn on the fan.": -0.5})
    check = Recheck(scorer, phrases, lambda text: "understood" if text == "Yes." else "other")
    assert check.answer(b"", Transcript("See you guys.")) == Transcript(
        "Yes.", heard="See you guys.", doubt="rescored")
    assert scorer.asked[-1] == ["See you guys.", "Yes.", "No."]
    scorer.scores["No."] = -1.2
    assert check.answer(b"", Transcript("See you guys.")) == Transcript("See you guys.")
    # A yes in words that the audio does not bear out is read as no...
    worded = Recheck(scorer, phrases, lambda _text: "other", in_words=answer_in_words)
    scorer.scores.update({"Yeah, it's all like.": -1.0, "Yes.": -2.8, "No.": -1.9})
    assert worded.answer(b"", Transcript("Yeah, it's all like.")).text == "No."
    scorer.scores.update({"Yes.": -1.5, "No.": -2.0})
    assert worded.answer(b"", Transcript("Yeah, it's all like.")) == Transcript(
        "Yeah, it's all like.")
    # ...and a no in words is never weighed into a yes, however the audio scores.
    scorer.scores.update({"Yes, no it.": -0.6, "Yes.": -0.7, "No.": -3.0})
    assert worded.answer(b"", Transcript("Yes, no it.")) == Transcript("Yes, no it.")
    asked = len(scorer.asked)
    assert check.answer(b"", Transcript("Yes.")) == Transcript("Yes.")  # clear: not weighed
    assert check.answer(b"", Transcript("")) == Transcript("")
    assert len(scorer.asked) == asked


def test_babble_after_a_question_is_never_weighed_into_a_yes() -> None:
    # After "Lock the back door?" in babble: a long transcript whose audio "Yes." explains well.
    phrases = [Phrase("lock the back door", "lock", acts=True)]
    babble = "All right, now we need to turn on the budget."
    scorer = Scripted({babble: -1.0, "Yes.": -1.1, "No.": -3.5})
    check = Recheck(scorer, phrases, lambda _text: "other", in_words=answer_in_words)
    assert check.answer(b"", Transcript(babble)) == Transcript(babble)
    # A short unclear answer is still weighed ("You ready?" for a "Yes." in noise).
    scorer.scores.update({"You ready?": -1.0})
    assert check.answer(b"", Transcript("You ready?")).text == "Yes."
    # And a long one may still be read as no: nothing is done then.
    scorer.scores.update({"Yes.": -3.5, "No.": -1.1})
    assert check.answer(b"", Transcript(babble)).text == "No."


# -- whisper, on speech it mishears -----------------------------------------------------------
@pytest.fixture(scope="module")
def recheck(whisper):  # type: ignore[no-untyped-def]
    config = load_config(ROOT / "config" / "assistant.yaml")
    intents = LocalIntents(config)
    return _recheck(config, whisper, intents), _stt_prompt(intents)


def espeak_voice(text: str, name: str, speed: float) -> bytes:
    return PAD + corpus.speak(text, corpus.Voice("espeak", name, speed)) + PAD


@pytest.mark.parametrize(("said", "voice", "speed", "meant"), [
    ("what is the processor temperature", "en-us-nyc+steph", 1.2,
     "What is the processor temperature?"),
    ("turn off the kitchen light", "en-us-nyc+linda", 0.85, "Turn off the kitchen light."),
    ("lock the front door", "en-gb-x-gbclan+m7", 0.85, "Lock the front door."),
    ("set the living room lamp to forty percent", "en-gb-x-gbclan+grandma", 1.0,
     "Set the living room lamp to forty percent."),
])
def test_a_misheard_command_is_read_from_the_audio(whisper, recheck, said, voice, speed,  # type: ignore[no-untyped-def]
                                                   meant) -> None:
    check, prompt = recheck
    pcm = espeak_voice(said, voice, speed)
    heard = whisper.transcribe(pcm, prompt)
    assert check.reading(heard.text) != "understood", heard.text  # whisper got it wrong
    result = check(pcm, heard)
    assert result.text == meant
    assert result.heard == heard.text and result.doubt == "rescored"


def test_a_command_heard_with_less_evidence_becomes_a_question(whisper, recheck) -> None:  # type: ignore[no-untyped-def]
    # espeak-ng, not piper: piper with noise_scale > 0 says it a little differently every time.
    check, prompt = recheck
    pcm = espeak_voice("unlock the front door", "en-gb-scotland+david", 1.2)
    heard = whisper.transcribe(pcm, prompt)
    assert check.reading(heard.text) == "other", heard.text  # "On more of the front door."
    result = check(pcm, heard)
    assert (result.text, result.doubt) == ("Unlock the front door.", "unsure")


@pytest.mark.parametrize("said", ["What's the capital of France?", "Tell me a joke.",
                                  "Turn on the attic light.", "Open the window.", "Yes.",
                                  "No, don't."])
def test_what_is_not_a_command_is_left_alone(whisper, recheck, synth_speech, said) -> None:  # type: ignore[no-untyped-def]
    check, prompt = recheck
    pcm = PAD + synth_speech(said) + PAD
    heard = whisper.transcribe(pcm, prompt)
    assert check(pcm, heard) == heard


def test_a_clear_command_is_not_in_doubt(whisper, recheck, synth_speech) -> None:  # type: ignore[no-untyped-def]
    check, prompt = recheck
    pcm = PAD + synth_speech("Turn on the kitchen light.") + PAD
    heard = whisper.transcribe(pcm, prompt)
    assert check.reading(heard.text) == "understood"
    assert check(pcm, heard) == heard
    mine, theirs = whisper.score(pcm, ["Turn on the kitchen light.", "Turn off the kitchen light."])
    assert mine > theirs


@pytest.mark.parametrize(("said", "misheard", "read"), [("Yes.", "You ready?", "Yes."),
                                                       ("No.", "Cool.", "No.")])
def test_whisper_reads_a_misheard_answer_from_its_audio(recheck, synth_speech, said, misheard,  # type: ignore[no-untyped-def]
                                                      read) -> None:
    check, _prompt = recheck
    pcm = PAD + synth_speech(said) + PAD
    assert check.answer(pcm, Transcript(misheard)).text == read


def test_an_answer_to_a_question_is_never_weighed_as_a_command(recheck) -> None:  # type: ignore[no-untyped-def]
    check, _prompt = recheck
    assert check.reading("Yes.") == "understood"
    assert check.reading("No, don't.") == "understood"
    assert check.reading("Turn on the kitchen light.") == "understood"
    assert check.reading("Turn on the attic light.") == "unknown"
    assert check.reading("Tell me a joke.") == "other"
