"""The wake word's second stage with its real models: the verifier network, the evidence, the
shipped decision; and the replay of frozen evidence rows through the decision."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.chunk import RATE
from assistant.config import WakeConfig
from assistant.wake import Detector, Outcome, WakeCheck, WakeDetection, WakeEvidence, decide, load_params
from assistant.wake.evidence import WAKE_TAIL_MS, WAKE_WINDOW_MS
from assistant.wake.verifier import Frontend, Verifier

FROZEN = Path(__file__).parent / "data" / "wake_evidence_rows.json"


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def window_around(speech: bytes, lead_s: float = 1.0) -> bytes:
    """A second stage's window: the wake word's end about WAKE_WINDOW_MS in, then the tail."""
    pcm = silence(lead_s) + speech + silence(2.0)
    want = int((WAKE_WINDOW_MS + WAKE_TAIL_MS) * RATE / 1000) * 2
    return pcm[:want].ljust(want, b"\0")


@pytest.fixture(scope="module")
def check(whisper) -> WakeCheck:  # type: ignore[no-untyped-def]
    """The second stage as the appliance builds it: whisper reads the windows left in doubt."""
    from assistant.wake import make_wake_check

    made = make_wake_check(WakeConfig(), transcriber=whisper)
    assert made is not None
    return made


DETECTION = WakeDetection("okay_nabu", 2000.0, 0.4)


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_a_real_wake_word_wakes_it(check: WakeCheck, synth_speech, espeak_speech, engine: str) -> None:
    speak = synth_speech if engine == "piper" else espeak_speech
    window = window_around(speak("Okay Nabu.") + silence(0.3) + speak("Turn on the kitchen light."))
    verdict = check.check(window, DETECTION, paused=True)
    # It stands: at once, or in the borderline band once the command reads as a request.
    assert verdict.outcome in (Outcome.WAKE, Outcome.BORDERLINE), verdict.to_json()
    assert check.settled(verdict, "turn on the kitchen light"), verdict.to_json()
    assert verdict.evidence is not None and verdict.evidence.reading is not None
    assert verdict.evidence.reading.heard


@pytest.mark.parametrize("text", ["The weather was nice today so we went for a walk.",
                                  "Turn on the kitchen light please."])
def test_speech_without_the_wake_word_does_not(check: WakeCheck, synth_speech, text: str) -> None:
    verdict = check.check(window_around(synth_speech(text)), DETECTION, paused=False)
    assert verdict.outcome is Outcome.DROP, verdict.to_json()


def test_silence_does_not_wake_it(check: WakeCheck) -> None:
    assert check.check(window_around(b""), DETECTION, paused=True).outcome is Outcome.DROP


def test_the_levels_are_ordered_on_the_same_evidence(check: WakeCheck, synth_speech) -> None:
    window = window_around(synth_speech("Okay Nabu."))
    evidence = check.check(window, DETECTION, paused=True).evidence
    assert evidence is not None
    scores = {level: decide(evidence, check.params, level) for level in ("low", "medium", "high")}
    assert len({v.score for v in scores.values()}) == 1  # one score, three operating points
    assert scores["low"].threshold > scores["medium"].threshold > scores["high"].threshold
    check.set_level("high")
    assert check.level == "high"
    check.set_level("medium")
    with pytest.raises(ValueError, match="low, medium, high"):
        check.set_level("loudest")


def test_the_verifier_weighs_its_features_the_same_every_time(synth_speech) -> None:
    verifier, frontend = Verifier(), Frontend()
    window = window_around(synth_speech("Okay Nabu."))
    first = verifier.logit(frontend.features(window))
    assert verifier.logit(frontend.features(window)) == pytest.approx(first)
    assert verifier.meta["frames"] == verifier.frames and "fitted_on" in verifier.meta
    # A window shorter than the network's input is padded, not refused.
    assert np.isfinite(verifier.logit(frontend.features(window[: len(window) // 3])))


def test_a_borderline_verdict_is_settled_by_the_command(check: WakeCheck) -> None:
    params = check.params
    point = params.levels["medium"]
    evidence = WakeEvidence(Detector.MICRO, 0.4, 0.4, 0.0, 40.0, False)
    from dataclasses import replace

    from assistant.wake.decision import WakeVerdict

    borderline = WakeVerdict(Outcome.BORDERLINE, point.wake_above - 0.1, "medium", point.wake_above,
                             evidence)
    assert check.settled(borderline, "turn on the kitchen light")
    assert check.settled(borderline, "okay nabu what time is it")  # the phrase said again
    assert not check.settled(borderline, "from star wars was a beautiful planet")
    assert check.settled(replace(borderline, outcome=Outcome.WAKE), "from star wars")
    assert not check.settled(replace(borderline, outcome=Outcome.DROP), "turn on the light")


def test_frozen_evidence_rows_replay_to_the_recorded_outcomes() -> None:
    """Recorded evidence of the test side's detections (bench/wake_fit.py --rows), replayed
    through the shipped decision: a change to the parameters shows here, in milliseconds."""
    from assistant.wake.decision import digest

    frozen = json.loads(FROZEN.read_text())
    params = load_params()
    assert frozen["params"] == digest(params), "new parameters: rerun bench/wake_fit.py --rows N"
    for level, expected in frozen["outcomes"].items():
        got = {"wake": 0, "borderline": 0, "drop": 0}
        kept = false = 0
        for row in frozen["rows"]:
            verdict = decide(WakeEvidence.from_json(row["evidence"]), params, level)
            got[verdict.outcome.value] += 1
            if verdict.outcome is Outcome.WAKE:
                kept += row["kind"] == "wake"
                false += row["kind"] == "negative"
        assert {"outcomes": got, "kept": kept, "false": false} == expected, level
