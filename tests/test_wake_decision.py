"""The wake decision with plain values: features, the logistic models, operating points, the
borderline band and its tie-breaker, the parameters as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import ModelMissingError
from assistant.wake import Detector, Outcome, WakeEvidence, decide, home_words, load_params
from assistant.wake.decision import DecisionParams, Model, OperatingPoint, features, score
from assistant.wake.request import reads_as_request


def evidence(verifier: float = 0.0, micro: float = 0.5, loud: bool = False, **more: object) -> WakeEvidence:
    fields: dict[str, object] = {"detector": Detector.MICRO, "probability": 0.4, "micro_peak": micro,
                                 "verifier": verifier, "snr_db": 40.0, "paused": True}
    if loud:
        fields.update(noisy_peak=0.9, open_peak=0.2)
    fields.update(more)
    return WakeEvidence(**fields)  # type: ignore[arg-type]


PARAMS = DecisionParams(
    quiet=Model({"verifier": 1.0}, 0.0),
    loud=Model({"verifier": 1.0, "noisy_model": 1.0}, -1.0),
    levels={"low": OperatingPoint(2.0, 1.0), "medium": OperatingPoint(1.0, 0.0),
            "high": OperatingPoint(0.0, -1.0)})


@pytest.mark.parametrize(("verifier", "level", "outcome"), [
    (3.0, "medium", Outcome.WAKE),
    (1.0, "medium", Outcome.WAKE),        # the operating point itself wakes
    (0.5, "medium", Outcome.BORDERLINE),  # in the band below it: the transcript decides
    (-0.5, "medium", Outcome.DROP),
    (1.5, "low", Outcome.BORDERLINE),     # a stricter level, the same evidence
    (-0.5, "high", Outcome.BORDERLINE),
])
def test_the_operating_points_of_the_levels(verifier: float, level: str, outcome: Outcome) -> None:
    verdict = decide(evidence(verifier), PARAMS, level)
    assert verdict.outcome is outcome
    assert verdict.score == pytest.approx(verifier)
    assert verdict.threshold == PARAMS.levels[level].wake_above
    assert verdict.ok is (outcome is Outcome.WAKE)


def test_a_loud_room_is_weighed_with_the_embeddings_opinions() -> None:
    quiet, loud = evidence(2.0), evidence(2.0, loud=True)
    assert not quiet.loud and loud.loud
    assert score(quiet, PARAMS) == pytest.approx(2.0)
    # 2.0 + logit(0.9) - 1.0
    assert score(loud, PARAMS) == pytest.approx(2.0 + 2.1972 - 1.0, abs=1e-3)


def test_features_are_log_odds_and_flags() -> None:
    values = features(evidence(1.5, micro=0.5, loud=True, paused=False, probability=0.0,
                               detector=Detector.NOISY))
    assert values["verifier"] == 1.5 and values["micro"] == pytest.approx(0.0)
    assert values["paused"] == 0.0 and values["noisy_only"] == 1.0
    assert values["first"] == -12.0  # no first-stage probability: only the noisy-room model fired
    assert values["snr"] == pytest.approx(4.0)
    # A probability of 0 or 1 is strong evidence, not infinite evidence.
    assert features(evidence(micro=1.0))["micro"] == pytest.approx(12.0, abs=0.1)


def test_a_model_applies_its_standardisation() -> None:
    model = Model({"verifier": 2.0}, 0.5, {"verifier": (1.0, 4.0)})
    assert model.score({"verifier": 5.0}) == pytest.approx(0.5 + 2.0 * (5.0 - 1.0) / 4.0)


def test_the_params_survive_a_round_trip_through_json(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps(PARAMS.to_json()))
    again = load_params(path)
    assert again.levels == PARAMS.levels and again.quiet.weights == PARAMS.quiet.weights
    for level in PARAMS.levels:
        assert decide(evidence(0.7), again, level).outcome is decide(evidence(0.7), PARAMS, level).outcome


def test_missing_or_broken_params_say_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ModelMissingError, match="wake.verify: false"):
        load_params(tmp_path / "none.json")
    (tmp_path / "broken.json").write_text("{}")
    with pytest.raises(ModelMissingError, match="broken"):
        load_params(tmp_path / "broken.json")


def test_the_shipped_params_have_every_level_and_say_what_they_were_fitted_on() -> None:
    shipped = load_params()
    assert set(shipped.levels) == {"low", "medium", "high"}
    points = [shipped.levels[level].wake_above for level in ("low", "medium", "high")]
    assert points == sorted(points, reverse=True)  # higher sensitivity, lower threshold
    for point in shipped.levels.values():
        assert point.borderline_above < point.wake_above
    assert "fit" in shipped.record["fitted_on"] and "test" in shipped.record


HOME = home_words(["kitchen light", "living room lamp", "turn on", "front door"])


@pytest.mark.parametrize(("text", "asks"), [
    ("turn on the lamp", True),
    ("what time is it", True),
    ("the kitchen light please", True),          # the home's words
    ("okay nabu, never mind", True),             # the phrase said again, then a request
    ("I want the lights on", True),
    ("from Star Wars was a beautiful planet", False),
    ("I'll call you back", False),
    ("is the capital of Kenya", True),           # a question's word opens it: the band is narrow
    ("grows really fast", False),
    ("", False),
])
def test_a_request_reads_as_one(text: str, asks: bool) -> None:
    assert reads_as_request(text, HOME) is asks


def test_home_words_leave_small_talk_out_and_keep_plurals() -> None:
    assert {"kitchen", "lights", "lamp", "door", "doors"} <= HOME
    assert not {"the", "on", "off", "is"} & HOME


def test_a_doubtful_detection_asks_for_whisper_and_its_reading_decides() -> None:
    from dataclasses import replace

    from assistant.wake.decision import FOLLOWS  # noqa: F401
    from assistant.wake.reading import Reading

    params = replace(PARAMS, read=Model({"score": 1.0, "heard": 2.0, "then_talk": -3.0}, 0.0),
                     levels={"medium": OperatingPoint(1.0, 0.0, sure_above=4.0, read_above=-2.0)})
    assert decide(evidence(5.0), params).outcome is Outcome.WAKE        # sure: no whisper
    assert decide(evidence(-3.0), params).outcome is Outcome.DROP       # hopeless: no whisper
    doubtful = evidence(0.5)
    assert decide(doubtful, params).outcome is Outcome.READ
    heard = replace(doubtful, reading=Reading(True, False, "stop"))
    assert decide(heard, params).outcome is Outcome.WAKE               # 0.5 + 2.0
    talk = replace(doubtful, reading=Reading(True, False, "talk"))
    assert decide(talk, params).outcome is Outcome.DROP                # 0.5 + 2.0 - 3.0
    missed = replace(doubtful, reading=Reading(False, False, ""))
    assert decide(missed, params).outcome is Outcome.BORDERLINE        # 0.5: the command decides


@pytest.mark.parametrize(("text", "heard", "lenient", "follows"), [
    ("Okay Nabu. Turn on the light.", True, False, "stop"),
    ("Okay, Nabu, what time is it", True, False, "request"),
    ("Okay Nabu", True, False, "nothing"),
    ("Okay Naboo from Star Wars was a beautiful planet.", True, False, "talk"),
    ("Okay, now we turn on the light.", False, True, "request"),   # said in one breath
    ("Okay Nana, I'll call you back.", False, False, ""),
    ("I'm okay now.", False, False, ""),
])
def test_whispers_reading_of_the_window(text: str, heard: bool, lenient: bool, follows: str) -> None:
    from assistant.wake.reading import read

    reading = read(text, "okay nabu", HOME)
    assert (reading.heard, reading.heard_lenient, reading.follows) == (heard, lenient, follows)


def test_the_window_is_read_again_with_the_second_prompt_only_when_the_first_lacks_the_phrase(
        ) -> None:
    from assistant.wake.reading import prompts_for, read_window

    first, second = prompts_for("okay nabu")
    assert (first, second) == ("Okay Nabu.", "Okay Nabu, what time is it?")
    # What whisper wrote for piper joe's "Okay Nabu." then 0.4 s of silence, for each prompt.
    said = {first: " Turn on the kitchen light.", second: "Okay Nabu, turn on the kitchen light."}
    asked: list[str] = []

    def transcribe(prompt: str) -> str:
        asked.append(prompt)
        return said[prompt]

    text, reading = read_window(transcribe, "okay nabu", HOME)
    assert asked == [first, second] and reading.heard and text == said[second]
    asked.clear()
    said[first] = "Okay Nabu. Turn on the kitchen light."
    text, reading = read_window(transcribe, "okay nabu", HOME)
    assert asked == [first] and (reading.heard, reading.follows) == (True, "stop")
    asked.clear()
    said[first], said[second] = "Okay Nana, I'll call you back.", "Okay Nana, I'll call you back."
    _text, reading = read_window(transcribe, "okay nabu", HOME)
    assert asked == [first, second] and not reading.heard and not reading.heard_lenient
