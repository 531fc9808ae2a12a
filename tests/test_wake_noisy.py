"""The noisy-room wake word model (assistant.wake.noisy) on real speech in real babble, and
EitherWake, which runs it beside microWakeWord."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.audio.chunk import BYTES_PER_MS, RATE, AudioChunk
from assistant.config import WakeConfig
from assistant.errors import ModelMissingError
from assistant.vad import LevelMeter
from assistant.wake import make_wake_detector, noisy_model_used
from assistant.wake.detection import WakeDetection
from assistant.wake.embedding import BLOCK_BYTES, Embedder
from assistant.wake.micro import CleanedWake
from assistant.wake.noisy import (
    NOISY_THRESHOLD,
    QUIET_FLOOR_DBFS,
    EitherWake,
    NoisyRoomDetector,
    RoomGate,
    WakeHead,
)
from bench import corpus
from tests.test_wake import detections as feed
from tests.test_wake import silence


def babble(seconds: float, espeak_speech) -> bytes:  # type: ignore[no-untyped-def]
    """Four espeak-ng talkers over each other (none of them says the wake word)."""
    lines = [("en-us+m3", "The train was late again so we walked home through the park."),
             ("en+f2", "Honestly the second film was better than the first one."),
             ("en-gb-x-rp+m1", "They are building a new bridge across the river this year."),
             ("en-us+f4", "My brother is moving to Canada with his family next spring.")]
    n = int(seconds * RATE)
    mixed = np.zeros(n)
    for k, (voice, text) in enumerate(lines):
        talk = np.frombuffer(espeak_speech(text, voice), dtype="<i2").astype(np.float64)
        track = np.resize(np.roll(talk, k * 3000), n)
        mixed += track / (np.std(track) + 1e-9)
    return (mixed / np.max(np.abs(mixed)) * 0.5 * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def noisy_detector() -> NoisyRoomDetector:
    # Always open, so that the model itself is what these tests hear (the gate: below).
    return NoisyRoomDetector(gate=RoomGate(floor_dbfs=-200.0))


def test_embedder_windows_are_what_block_by_block_pushing_gives(synth_speech):
    pcm = silence(0.4) + synth_speech("Okay Nabu.") + silence(0.3)
    embedder = Embedder()
    rows = embedder.windows(pcm)
    assert rows.shape == (len(pcm) // BLOCK_BYTES, 16 * 96)
    embedder.reset()
    pushed = [embedder.push(pcm[at:at + BLOCK_BYTES]) for at in range(0, len(pcm) - BLOCK_BYTES + 1, BLOCK_BYTES)]
    assert np.allclose(rows, np.stack(pushed))
    # From a reset it starts as if it had heard silence: the first window is nearly all that.
    embedder.reset()
    quiet = embedder.windows(silence(0.16))
    assert np.allclose(quiet[0][:-96], quiet[0][:96].tolist() * 15, atol=1e-3)


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_the_noisy_room_model_hears_okay_nabu(noisy_detector, synth_speech, espeak_speech, engine):
    speak = synth_speech if engine == "piper" else espeak_speech
    wake = speak("Okay Nabu.")
    pcm = silence(0.7) + wake + silence(0.3) + speak("Turn on the kitchen light.") + silence(1)
    found = feed(noisy_detector, pcm)
    # Heard as the word ends. (A detection uses up its evidence. It may fire again later on
    # the command's end, as it does on espeak-ng's "Turn on the kitchen light.": the pipeline
    # is recording by then, and elsewhere the second stage must turn such a detection away.)
    hit = found[0]
    wake_end_ms = 700 + len(wake) / BYTES_PER_MS
    assert 700 + 0.5 * len(wake) / BYTES_PER_MS < hit.timestamp_ms < wake_end_ms + 600, found
    # Its detections say who fired: microWakeWord's probability is none of it.
    assert hit.probability == 0.0 and hit.noisy is not None and hit.noisy >= NOISY_THRESHOLD


def test_the_noisy_room_model_hears_the_wake_word_under_babble_at_10_db(
        noisy_detector, synth_speech, espeak_speech):
    speech = silence(1.0) + synth_speech("Okay Nabu.") + silence(1.25)
    room = corpus.mix(speech, babble(len(speech) / 2 / RATE, espeak_speech), 10.0)
    assert len(feed(noisy_detector, room)) == 1
    # ...and not on the babble alone, or on speech without the wake word.
    assert feed(noisy_detector, babble(8.0, espeak_speech)) == []
    for text in ("Okay, now let's get going.", "The weather was nice today so we went for a walk."):
        assert feed(noisy_detector, silence(0.5) + synth_speech(text) + silence(1.0)) == [], text


def test_the_gate_opens_in_a_loud_room_and_closes_in_a_quiet_one(espeak_speech):
    hiss = corpus.noise(4.0, 0.0005, "pink")  # ~-66 dBFS, like the benchmarks' quiet rooms
    crowd = babble(4.0, espeak_speech)
    gate = RoomGate()
    assert gate.feed(LevelMeter().process(hiss)) is False
    assert gate.feed(LevelMeter().process(crowd)) is True
    # Half a second of levels is needed before it says anything.
    fresh = RoomGate()
    assert fresh.feed(LevelMeter().process(crowd[:int(0.4 * RATE) * 2])) is False
    assert fresh.feed(LevelMeter().process(crowd[:int(0.2 * RATE) * 2])) is True
    # A room just under the floor once open stays open (no cold restarts at the edge)...
    edge = RoomGate()
    edge.feed([QUIET_FLOOR_DBFS + 1.0] * 300)
    assert edge.feed([QUIET_FLOOR_DBFS - 2.0] * 300) is True
    assert edge.feed([QUIET_FLOOR_DBFS - 4.0] * 300) is False


def test_in_a_quiet_room_the_noisy_room_model_does_not_run(synth_speech):
    detector = NoisyRoomDetector()
    speech = corpus.mix(silence(1.5) + synth_speech("Okay Nabu.") + silence(1.0),
                        corpus.noise(3.5, 0.01, "pink"), 45.0)
    assert feed(detector, speech) == []
    assert detector.gate.open is False


class Fires:
    """A first stage that fires on the given chunk numbers and counts its resets."""

    def __init__(self, at: set[int], detection: WakeDetection):
        self.at, self.detection, self.n, self.resets = at, detection, 0, 0

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        self.n += 1
        return self.detection if self.n in self.at else None

    def reset(self) -> None:
        self.resets += 1


def test_either_wake_returns_whichever_fires_and_starts_microwakeword_afresh():
    micro = WakeDetection("okay_nabu", 90.0, 0.6)
    noisy = WakeDetection("okay_nabu_noisy", 90.0, 0.0, noisy=0.995)
    first, second = Fires({3, 5}, micro), Fires({3, 7}, noisy)
    either = EitherWake(first, second)
    hits = [either.process(AudioChunk(silence(0.03), i * 30.0)) for i in range(8)]
    # Both at once: microWakeWord's (its probability decides the chime); then each alone.
    assert [h for h in hits if h is not None] == [micro, micro, noisy]
    # microWakeWord starts afresh; the noisy-room model keeps its embeddings for the check.
    assert first.resets == 3 and second.resets == 0


def test_the_noisy_room_model_keeps_the_embeddings_it_computed(noisy_detector, synth_speech):
    pcm = silence(2.5) + synth_speech("Okay Nabu.") + silence(1.25)
    found = feed(noisy_detector, pcm, reset=False)
    assert found
    at = found[0].timestamp_ms
    kept = noisy_detector.embeddings_between(at - 2000.0, at + 1000.0)
    assert kept is not None and kept.shape[1] == 96 and 30 <= len(kept) <= 38
    # The same embeddings as one run of openWakeWord's features over the whole recording.
    whole = Embedder().windows(pcm)[:, -96:]
    ends = [(i + 1) * 80.0 for i in range(len(whole))]
    expected = np.stack([row for end, row in zip(ends, whole, strict=True) if at - 2000.0 < end <= at + 1000.0])
    assert np.allclose(kept, expected, atol=1e-4)
    # Beyond what it heard there is nothing to give.
    assert noisy_detector.embeddings_between(at + 5000.0, at + 8000.0) is None
    noisy_detector.reset()
    assert noisy_detector.embeddings_between(0.0, at) is None


def test_a_warm_reset_gives_what_openwakeword_s_own_reset_gives(synth_speech):
    from pyopen_wakeword import OpenWakeWordFeatures

    pcm = silence(0.3) + synth_speech("Okay Nabu.")
    cold = OpenWakeWordFeatures.from_builtin()
    embedder = Embedder()
    for _ in range(2):
        cold.reset()
        embedder.reset()
        expected = [e for at in range(0, len(pcm) - BLOCK_BYTES + 1, BLOCK_BYTES)
                    for e in cold.process_streaming(pcm[at:at + BLOCK_BYTES])][-3:]
        got = embedder.windows(pcm)[-1].reshape(16, 96)[-3:]
        assert np.allclose(np.concatenate([e[0, 0] for e in expected]), got, atol=1e-5)


def test_the_noisy_room_model_is_used_only_with_okay_nabu_and_both_checks():
    assert noisy_model_used(WakeConfig())
    for config in (WakeConfig(noisy_model=False), WakeConfig(model="alexa"),
                   WakeConfig(acoustic_check=False), WakeConfig(verify=False),
                   WakeConfig(engine="openwakeword")):
        assert not noisy_model_used(config), config
    either = make_wake_detector(WakeConfig())
    assert isinstance(either, EitherWake) and isinstance(either.first, CleanedWake)
    assert isinstance(either.noisy, NoisyRoomDetector)
    assert isinstance(make_wake_detector(WakeConfig(noisy_model=False)), CleanedWake)
    assert isinstance(make_wake_detector(WakeConfig(verify=False)), CleanedWake)


def test_a_missing_model_file_says_how_to_fix_it(tmp_path: Path):
    with pytest.raises(ModelMissingError, match="noisy_model: false"):
        WakeHead(tmp_path / "nope.npz")
