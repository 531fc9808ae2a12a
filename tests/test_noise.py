"""Commands in background noise: the real pipeline ends them when the speaker stops, and the
WebRTC noise suppression / auto gain stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.chunk import AudioChunk
from assistant.audio.clean import AudioCleaner, CleanedSource
from assistant.config import load_config, parse_config
from assistant.events import Event
from bench import corpus
from bench.rig import NeverWake, press_at, run_wav

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"


def noisy_recording(wake: bytes, command: bytes, background: bytes, snr_db: float
                    ) -> tuple[bytes, float, float]:
    """1 s, wake word, 0.4 s, command, 3 s, all over the background at snr_db below the command;
    returns the recording and the audio times (ms) at which the wake word and the command end."""
    pcm = corpus.silence(1.0) + wake
    wake_end_ms = len(pcm) / 32
    pcm += corpus.silence(0.4)
    end_ms = (len(pcm) + len(command)) / 32
    pcm += command + corpus.silence(3.0)
    s = np.frombuffer(command, dtype="<i2").astype(np.float64)
    b = np.resize(np.frombuffer(background, dtype="<i2").astype(np.float64), len(pcm) // 2)
    b *= np.sqrt(np.mean(s[np.abs(s) > 300] ** 2) / (np.mean(b**2) * 10 ** (snr_db / 10)))
    mixed = np.frombuffer(pcm, dtype="<i2").astype(np.float64) + b
    return np.clip(mixed, -32768, 32767).astype("<i2").tobytes(), wake_end_ms, end_ms


def run(tmp_path: Path, pcm: bytes, button_ms: float, speculative: bool = True,
        vad: object | None = None) -> list[Event]:
    """The recording through `assistant run`'s pipeline, listening from button_ms on as if the
    button was pressed there (at 10 dB SNR the wake word is itself hit and miss)."""
    config = load_config(EXAMPLE)
    config = dataclasses.replace(
        config,
        state=dataclasses.replace(config.state, path=str(tmp_path / "state.json")),
        local_llm=dataclasses.replace(config.local_llm, enabled=False),
    )
    wav = tmp_path / "in.wav"
    corpus.write_wav(wav, pcm)

    def prepare(voice):  # type: ignore[no-untyped-def]
        if not speculative:
            # No early end on a complete transcript: the end-of-speech decision alone.
            voice.pipeline.s.is_complete_command = lambda _text: False
        # Only the button starts the command: the wake word in noise (and its second stage) is
        # another test's business, and a wake before the press would change what is measured.
        voice.pipeline.gate.detector = NeverWake()
        if vad is not None:
            voice.pipeline.s.vad = vad
        voice.source = press_at(voice.source, button_ms, voice.pipeline.request_listen)

    return run_wav(config, wav, tmp_path / "out.wav", prepare=prepare)


class _DeafVad:
    """A VAD that never hears speech: what microVAD does with some voices in loud noise."""

    def process(self, audio: bytes) -> list[float]:
        return [0.0] * (len(audio) // 320)

    def reset(self) -> None:
        pass



def end_of_speech(events: list[Event]) -> dict:
    found = [e.data for e in events if e.type.value == "end_of_speech"]
    assert len(found) == 1, [e.type.value for e in events]
    return found[0]


@pytest.mark.slow
def test_command_in_pink_noise_at_10db_ends_when_the_speaker_stops(tmp_path, synth_speech):
    pcm, wake_end_ms, end_ms = noisy_recording(
        synth_speech("Okay Nabu."), synth_speech("Turn on the kitchen light."),
        corpus.noise(12.0, 0.05, "pink", seed=4), snr_db=10.0)
    events = run(tmp_path, pcm, button_ms=wake_end_ms)
    eos = end_of_speech(events)
    assert eos["reason"] != "max_length"
    assert abs(eos["audio_ms"] - end_ms) <= 1000
    assert eos["decided_audio_ms"] - end_ms <= 1000
    text = next(e.data["text"] for e in events if e.type.value == "transcript")
    assert "kitchen light" in text.lower()


@pytest.mark.slow
def test_command_in_babble_at_10db_ends_by_the_level(tmp_path, synth_speech):
    pytest.importorskip("shutil").which("espeak-ng") or pytest.skip("espeak-ng is not installed")
    pcm, wake_end_ms, end_ms = noisy_recording(
        synth_speech("Okay Nabu."), synth_speech("Turn on the kitchen light."),
        corpus.babble(12.0, seed=5), snr_db=10.0)
    # The VAD hears the crowd as speech and never lets go: only the level can end this.
    eos = end_of_speech(run(tmp_path, pcm, button_ms=wake_end_ms, speculative=False))
    assert eos["reason"] == "level"
    assert abs(eos["audio_ms"] - end_ms) <= 1000
    assert eos["decided_audio_ms"] - end_ms <= 1000 + 200


@pytest.mark.slow
def test_a_command_the_vad_never_hears_ends_by_the_level_not_a_time_out(tmp_path, synth_speech):
    pcm, wake_end_ms, end_ms = noisy_recording(
        synth_speech("Okay Nabu."), synth_speech("Turn on the kitchen light."),
        corpus.noise(12.0, 0.05, "white", seed=6), snr_db=10.0)
    events = run(tmp_path, pcm, button_ms=wake_end_ms, speculative=False, vad=_DeafVad())
    eos = end_of_speech(events)
    assert eos["reason"] == "level"
    assert eos["decided_audio_ms"] - end_ms <= 1000 + 200
    text = next(e.data["text"] for e in events if e.type.value == "transcript")
    assert "kitchen light" in text.lower()
    # Steady noise alone, with the same deaf VAD: nobody spoke, so it still gives up quietly.
    events = run(tmp_path, corpus.noise(9.0, 0.05, "white", seed=6), button_ms=2000,
                 vad=_DeafVad())
    kinds = [e.type.value for e in events]
    assert "timeout" in kinds and "transcript" not in kinds, kinds


# -- noise suppression / auto gain ------------------------------------------------------------

def test_cleaner_off_passes_audio_through():
    cleaner = AudioCleaner(0, 0)
    pcm = corpus.noise(0.5, 0.05, "pink")
    assert not cleaner.enabled
    assert cleaner.process(pcm) is pcm


def test_noise_suppression_changes_audio_and_keeps_its_length():
    pytest.importorskip("webrtc_noise_gain")
    cleaner = AudioCleaner(noise_suppression=3)
    noise = corpus.noise(2.0, 0.05, "white", seed=1)
    out = b"".join(cleaner.process(noise[i:i + 960]) for i in range(0, len(noise), 960))
    assert len(out) == len(noise)
    assert out != noise
    half = len(noise) // 4  # in samples: once the suppressor has learned the noise
    power_in = np.mean(np.frombuffer(noise, dtype="<i2")[half:].astype(np.float64) ** 2)
    power_out = np.mean(np.frombuffer(out, dtype="<i2")[half:].astype(np.float64) ** 2)
    assert power_out < power_in / 4  # at least 6 dB less noise
    odd = cleaner.process(noise[:330])  # a partial frame passes through as it was
    assert len(odd) == 330 and odd[320:] == noise[320:330]


def test_cleaned_source_keeps_timestamps_and_closes_the_source():
    pytest.importorskip("webrtc_noise_gain")

    class Source:
        closed = False

        def __iter__(self):  # type: ignore[no-untyped-def]
            yield from (AudioChunk(corpus.noise(0.03, 0.05, seed=i), i * 30.0) for i in range(5))

        def close(self) -> None:
            self.closed = True

    source = Source()
    cleaned = CleanedSource(source, AudioCleaner(noise_suppression=2, auto_gain_dbfs=10))
    chunks = list(cleaned)
    assert [c.timestamp_ms for c in chunks] == [0.0, 30.0, 60.0, 90.0, 120.0]
    assert all(len(c.audio) == 960 for c in chunks)
    cleaned.close()
    assert source.closed


def test_audio_cleaning_keys_are_read():
    config = parse_config("audio:\n  noise_suppression: 2\n  auto_gain_dbfs: 6\n")
    assert (config.audio.noise_suppression, config.audio.auto_gain_dbfs) == (2, 6)
    assert (parse_config("").audio.noise_suppression, parse_config("").audio.auto_gain_dbfs) == (0, 0)
    # Out-of-range values: tests/test_config.py's BAD table (file, key and line).


def test_wake_keys_are_read():
    config = parse_config("wake:\n  noise_suppression: 2\n  sensitivity: low\n  acoustic_check: false\n")
    assert (config.wake.noise_suppression, config.wake.sensitivity, config.wake.acoustic_check) == (
        2, "low", False)
    default = parse_config("").wake
    assert (default.noise_suppression, default.sensitivity, default.acoustic_check) == (4, "medium", True)
    # Out-of-range values: tests/test_config.py's BAD table.
