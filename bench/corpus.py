"""Synthetic speech for benchmarks and tests: piper (joe, varied pace) and espeak-ng voices.

Synthetic speech shows that a path works and how fast; it does not predict accuracy on real voices.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.audio.chunk import RATE, to_internal

ESPEAK_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en", "en+m7", "en-us+f4"]


@dataclass(frozen=True)
class Voice:
    engine: str  # "piper" or "espeak"
    name: str = ""
    speed: float = 1.0
    """piper: length scale (lower = faster); espeak: words per minute / 160."""

    def label(self) -> str:
        return f"{self.engine}:{self.name or 'joe'}@{self.speed:g}"


def voices(n: int) -> list[Voice]:
    """n voices cycling through piper paces and espeak-ng voices and speeds."""
    pool = [Voice("piper", speed=s) for s in (1.0, 0.85, 1.15)]
    pool += [Voice("espeak", v, s) for v in ESPEAK_VOICES for s in (1.0, 0.9)]
    return [pool[i % len(pool)] for i in range(n)]


@functools.lru_cache(maxsize=4)
def _piper(length_scale: float):  # type: ignore[no-untyped-def]
    from assistant.tts import PiperSynthesizer

    return PiperSynthesizer(length_scale=length_scale)


def speak(text: str, voice: Voice = Voice("piper")) -> bytes:
    """16 kHz s16 mono PCM of text, leading/trailing silence trimmed."""
    if voice.engine == "piper":
        tts = _piper(voice.speed)
        pcm = to_internal(b"".join(tts.synthesize(text)), tts.sample_rate)
    else:
        pcm = espeak(text, voice.name or "en-us", int(160 * voice.speed))
    return trim(pcm)


def espeak(text: str, name: str = "en-us", wpm: int = 160) -> bytes:
    """16 kHz s16 mono PCM from espeak-ng, untrimmed."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", name, "-s", str(wpm), "-w", str(path), text],
                       check=True, capture_output=True)
        with wave.open(str(path), "rb") as wav:
            raw = wav.readframes(wav.getnframes())
            return to_internal(raw, wav.getframerate(), wav.getsampwidth(), wav.getnchannels())


def trim(pcm: bytes, threshold: int = 300) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > threshold)
    if len(loud) == 0:
        return pcm
    return samples[loud[0]: loud[-1] + 1].tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def noise(seconds: float, level: float = 0.01, color: str = "white", seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    white = rng.normal(0, 1, n)
    if color == "pink":
        spectrum = np.fft.rfft(white)
        spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))
        white = np.fft.irfft(spectrum, n)
    elif color == "brown":
        white = np.cumsum(white)
        white -= np.convolve(white, np.ones(801) / 801, mode="same")
    white = white / (np.std(white) + 1e-9) * level
    return (np.clip(white, -1, 1) * 32767).astype("<i2").tobytes()


def tones(seconds: float, seed: int = 0) -> bytes:
    """Music-like: a sequence of chords with vibrato, the kind of thing a radio plays."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(int(seconds / 0.5)):
        t = np.arange(int(RATE * 0.5)) / RATE
        base = rng.choice([196, 220, 247, 262, 294, 330, 349, 392])
        chord = sum(np.sin(2 * np.pi * base * r * t + 0.3 * np.sin(2 * np.pi * 5 * t))
                    for r in (1, 1.25, 1.5))
        out.append(chord / 3 * 0.2 * np.hanning(len(t)))
    return (np.concatenate(out) * 32767).astype("<i2").tobytes()


BABBLE_LINES = [
    "The weather tomorrow will be cloudy with a chance of rain in the afternoon.",
    "I went to the market and bought apples, bread and a little cheese.",
    "Our team meeting moved to Thursday because half of us are travelling.",
    "She said the train was late again, so she walked the last two miles.",
    "Have you seen the new film everyone keeps talking about this week?",
    "The recipe needs two eggs, a cup of flour and some warm milk.",
    "He finally fixed the bicycle after spending the whole weekend on it.",
    "The museum opens at ten and the guided tours start at noon.",
]


def _talker(seconds: float, seed: int) -> np.ndarray:
    """One espeak-ng voice reading lines back to back, with short gaps, for `seconds`."""
    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    out: list[np.ndarray] = []
    while sum(len(x) for x in out) < n:
        line = BABBLE_LINES[int(rng.integers(len(BABBLE_LINES)))]
        voice = ESPEAK_VOICES[int(rng.integers(len(ESPEAK_VOICES)))]
        pcm = espeak(line, voice, int(rng.integers(140, 190)))
        out.append(np.frombuffer(trim(pcm), dtype="<i2").astype(np.float64))
        out.append(np.zeros(int(RATE * rng.uniform(0.1, 0.5))))
    talk = np.concatenate(out)
    start = int(rng.integers(0, max(1, len(talk) - n)))
    talk = np.resize(np.roll(talk, -start), n)
    return talk / (np.std(talk) + 1e-9)


def babble(seconds: float, talkers: int = 6, level: float = 0.05, seed: int = 0) -> bytes:
    """A crowd: several espeak-ng voices talking at once (a cafe, a party)."""
    crowd = sum(_talker(seconds, seed * 100 + i) for i in range(talkers))
    crowd = crowd / (np.std(crowd) + 1e-9) * level
    return (np.clip(crowd, -1, 1) * 32767).astype("<i2").tobytes()


def tv(seconds: float, level: float = 0.05, seed: int = 0) -> bytes:
    """A television: one voice talking over music, with the voice's own pauses."""
    talk = _talker(seconds, seed * 100 + 7)
    music = np.frombuffer(tones(seconds + 0.5, seed), dtype="<i2").astype(np.float64)
    music = np.resize(music, len(talk))
    music = music / (np.std(music) + 1e-9) * 0.5
    both = talk + music
    both = both / (np.std(both) + 1e-9) * level
    return (np.clip(both, -1, 1) * 32767).astype("<i2").tobytes()


def background(kind: str, seconds: float, seed: int = 0) -> bytes:
    """Steady background noise of one kind: white, pink, brown, babble, tv or tones."""
    if kind == "babble":
        return babble(seconds, seed=seed)
    if kind == "tv":
        return tv(seconds, seed=seed)
    if kind == "tones":
        return tones(seconds, seed)
    return noise(seconds, 0.05, kind, seed)


def mix(speech: bytes, background: bytes, snr_db: float) -> bytes:
    """speech + background scaled to the given signal-to-noise ratio (over the speech's length)."""
    s = np.frombuffer(speech, dtype="<i2").astype(np.float64)
    b = np.frombuffer(background, dtype="<i2").astype(np.float64)
    b = np.resize(b, len(s))
    ps = np.mean(s[np.abs(s) > 300] ** 2) if np.any(np.abs(s) > 300) else np.mean(s**2)
    pb = np.mean(b**2) + 1e-9
    b *= np.sqrt(ps / (pb * 10 ** (snr_db / 10)))
    return np.clip(s + b, -32768, 32767).astype("<i2").tobytes()


def write_wav(path: str | Path, pcm: bytes, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)


def read_wav(path: str | Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()
