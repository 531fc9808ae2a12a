"""The wake word's first stages on real speech (microWakeWord, openWakeWord), and the refractory
window. The second stage is tested in test_wake_check.py, the noisy-room model in
test_wake_noisy.py."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.chunk import BYTES_PER_MS, RATE, AudioChunk
from assistant.audio.clean import AudioCleaner
from assistant.config import WakeConfig
from assistant.errors import ModelMissingError
from assistant.wake import Refractory, WakeDetection, make_wake_detector
from assistant.wake.embedding import OpenWakeWordDetector
from assistant.wake.micro import VERIFIED_THRESHOLD, CleanedWake, MicroWakeWordDetector


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


def white_noise(seconds: float, level: float = 0.05) -> bytes:
    rng = np.random.default_rng(0)
    return (rng.normal(0, level, int(seconds * RATE)) * 32767).astype("<i2").tobytes()


def with_noise(pcm: bytes, level: float) -> bytes:
    """pcm with white noise of this level added under it."""
    mixed = (np.frombuffer(pcm, dtype="<i2").astype(np.int32)
             + np.frombuffer(white_noise(len(pcm) / 2 / RATE, level), dtype="<i2"))
    return np.clip(mixed, -32768, 32767).astype("<i2").tobytes()


def detections(detector, pcm: bytes, chunk_ms: int = 30,  # type: ignore[no-untyped-def]
               reset: bool = True) -> list[WakeDetection]:
    step = chunk_ms * BYTES_PER_MS
    found = []
    for offset in range(0, len(pcm), step):
        hit = detector.process(AudioChunk(pcm[offset:offset + step], offset / BYTES_PER_MS))
        if hit is not None:
            found.append(hit)
    if reset:
        detector.reset()
    return found


@pytest.fixture(scope="module")
def micro() -> MicroWakeWordDetector:
    return MicroWakeWordDetector("okay_nabu")


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_micro_wake_word_hears_okay_nabu_before_a_command(
    micro, synth_speech, espeak_speech, engine
):
    speak = synth_speech if engine == "piper" else espeak_speech
    wake = speak("Okay Nabu.")
    pcm = silence(0.5) + wake + silence(0.3) + speak("Turn on the kitchen light.") + silence(1)
    found = detections(micro, pcm)
    # Exactly once: a detection uses up its evidence, so it cannot fire again a moment later.
    assert len(found) == 1, found
    first = found[0]
    assert first.name == "okay_nabu"
    assert first.probability > micro.threshold
    # Detected while or just after the wake word is spoken, before the command is over.
    wake_end_ms = 500 + len(wake) / BYTES_PER_MS
    assert 500 < first.timestamp_ms < wake_end_ms + 1000


def test_state_left_over_from_a_wake_word_does_not_fire_later(micro, synth_speech):
    # The pipeline stops feeding the detector while it records the command; when it feeds
    # it again (barge-in), the wake word heard earlier must not count a second time.
    wake = silence(0.5) + synth_speech("Okay Nabu.")
    step = 30 * BYTES_PER_MS
    hits = [micro.process(AudioChunk(wake[i:i + step], i / BYTES_PER_MS))
            for i in range(0, len(wake), step)]
    assert sum(h is not None for h in hits) == 1
    later = silence(1.0)
    assert all(micro.process(AudioChunk(later[i:i + step], 5000.0)) is None
               for i in range(0, len(later), step))
    micro.reset()


def test_micro_wake_word_ignores_other_speech_and_noise(micro, synth_speech):
    speech = synth_speech("Turn on the kitchen light. What time is it? Okay, that is enough.")
    assert detections(micro, silence(0.5) + speech + silence(1)) == []
    assert detections(micro, white_noise(4)) == []


def test_micro_wake_word_threshold_defaults_to_the_model_cutoff():
    assert MicroWakeWordDetector("okay_nabu").threshold == pytest.approx(0.85, abs=0.15)
    assert MicroWakeWordDetector("alexa", threshold=0.6).threshold == 0.6


def test_open_wake_word_hears_hey_jarvis(synth_speech):
    detector = OpenWakeWordDetector("hey_jarvis")
    pcm = silence(0.5) + synth_speech("Hey Jarvis.") + silence(0.3) + synth_speech(
        "What time is it?") + silence(1)
    found = detections(detector, pcm)
    assert len(found) == 1 and found[0].name == "hey_jarvis_open"
    assert found[0].probability > 0.5
    assert detections(detector, silence(0.5) + synth_speech("What time is it?")) == []


def test_unknown_model_lists_the_built_in_names():
    with pytest.raises(ModelMissingError, match="okay_nabu, hey_jarvis, alexa, hey_mycroft"):
        MicroWakeWordDetector("hey_computer")
    with pytest.raises(ModelMissingError, match="hey_rhasspy"):
        make_wake_detector(WakeConfig(engine="openwakeword", model="nope.tflite"))


def test_make_wake_detector_follows_the_config():
    # Default: microWakeWord on a noise-suppressed copy, sensitive: the second stage weighs it
    # (beside it the noisy-room model, tests/test_wake_head.py).
    cleaned = make_wake_detector(WakeConfig(noisy_model=False))
    assert isinstance(cleaned, CleanedWake) and cleaned.cleaner.noise_suppression == 4
    assert isinstance(cleaned.detector, MicroWakeWordDetector)
    assert cleaned.detector.threshold == VERIFIED_THRESHOLD
    # Without a second stage (verify off, or a wake word it has no verifier for): the model's
    # own cutoff.
    for unverified in (make_wake_detector(WakeConfig(verify=False, noise_suppression=0)),
                       make_wake_detector(WakeConfig(model="alexa", noise_suppression=0))):
        assert isinstance(unverified, MicroWakeWordDetector)
        assert unverified.threshold == pytest.approx(0.85, abs=0.15)
    detector = make_wake_detector(WakeConfig(engine="openwakeword", model="alexa",
                                             noise_suppression=0))
    assert isinstance(detector, OpenWakeWordDetector) and detector.threshold == 0.5


def test_peak_over_a_window_from_a_clean_state(micro, synth_speech):
    wake = silence(1.0) + synth_speech("Okay Nabu.") + silence(0.75)
    assert micro.peak(wake) > 0.85
    assert micro.peak(silence(1.0) + synth_speech("Turn on the kitchen light.")) < 0.3
    cleaned = CleanedWake(MicroWakeWordDetector("okay_nabu", 0.3), AudioCleaner(4))
    assert cleaned.peak(white_noise(1.0, 0.01) + wake) > 0.6
    assert detections(micro, silence(1.0)) == []  # peak() leaves nothing behind


def test_cleaned_wake_hears_its_own_suppressed_copy(synth_speech):
    seen: list[bytes] = []

    class Recorder:
        def process(self, chunk: AudioChunk) -> WakeDetection | None:
            seen.append(chunk.audio)
            return None

        def reset(self) -> None:
            pass

    pcm = white_noise(1.0, 0.02) + synth_speech("Okay Nabu.")
    cleaned = CleanedWake(Recorder(), AudioCleaner(4))
    detections(cleaned, pcm)
    heard = b"".join(seen)
    assert len(heard) == len(pcm)
    # Steady noise learnt in the first second is mostly gone from the detector's copy.
    noise_in = np.abs(np.frombuffer(pcm[16000:32000], "<i2")).mean()
    noise_out = np.abs(np.frombuffer(heard[16000:32000], "<i2")).mean()
    assert noise_out < noise_in / 3
    assert make_wake_detector(WakeConfig(noise_suppression=0, verify=False)) is not None


def test_refractory_window():
    refractory = Refractory(2.0)
    assert refractory.allow(1000.0)
    assert not refractory.allow(1500.0)
    assert not refractory.allow(2999.0)
    assert refractory.allow(3000.0)
    assert not refractory.allow(4000.0)
    assert refractory.allow(5500.0)


def test_refractory_zero_window_allows_everything():
    refractory = Refractory(0.0)
    assert all(refractory.allow(t) for t in (0.0, 0.0, 10.0))
