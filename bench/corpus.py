"""Synthetic speech for benchmarks and tests: piper (joe, varied pace and noise) and espeak-ng
voices; room backgrounds (white, pink, brown noise, babble, TV) and mixing at a given SNR.

Synthetic speech shows that a path works and how fast; it does not predict accuracy on real voices.
Everything is deterministic for a given seed, except piper with a noise_scale above 0: its
model draws that noise anew on every synthesis, so such a voice says a sentence a little
differently on another machine. Speech and backgrounds are cached under bench/.cache/, which
keeps one draw; tests use piper without noise, or espeak-ng.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
import wave
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.audio.chunk import RATE, to_internal

ESPEAK_VOICES = ["en-us", "en-us+m3", "en-us+f2", "en", "en+m7", "en-us+f4"]
ESPEAK_ACCENTS = ["en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-us-nyc"]
"""espeak-ng's English dialects (`espeak-ng --voices=en`, without the mbrola ones)."""
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                   "klatt", "klatt4", "Andy", "Annie", "Alex", "Lee", "Storm", "adam", "aunty",
                   "boris", "david", "edward", "grandma", "grandpa", "linda", "max",
                   "paul", "quincy", "rob", "robert", "steph", "travis", "zac"]
"""Voice variants (espeak-ng-data/voices/!v) that still sound like a person talking."""
CACHE = Path(__file__).resolve().parent / ".cache"


@dataclass(frozen=True)
class Voice:
    engine: str
    """"piper", "espeak", "flite", "festival" or "kokoro" (the last three: ``bench.synth``)."""
    name: str = ""
    speed: float = 1.0
    """piper: length scale (lower = faster); espeak: words per minute / 160; flite, festival,
    kokoro: speaking rate (higher = faster)."""
    noise_scale: float | None = None
    """piper only: variation of the voice itself (None = the voice's default, 0.667)."""
    noise_w: float | None = None
    """piper only: variation of phoneme lengths (None = the voice's default, 0.8)."""
    colour: str = ""
    """A ``bench.synth.Colour`` label applied after synthesis ("" = none)."""

    def label(self) -> str:
        noise = "" if self.noise_scale is None else f"~{self.noise_scale:g}/{self.noise_w:g}"
        shade = f"[{self.colour}]" if self.colour else ""
        return f"{self.engine}:{self.name or 'joe'}@{self.speed:g}{noise}{shade}"


def voices(n: int) -> list[Voice]:
    """n voices cycling through piper paces and espeak-ng voices and speeds."""
    pool = [Voice("piper", speed=s) for s in (1.0, 0.85, 1.15)]
    pool += [Voice("espeak", v, s) for v in ESPEAK_VOICES for s in (1.0, 0.9)]
    return [pool[i % len(pool)] for i in range(n)]


def stable_seed(*parts: object) -> int:
    """A seed from any values that stays the same between runs (unlike hash() of a str)."""
    return zlib.crc32("|".join(map(str, parts)).encode())


def voice_pool(seed: int = 0) -> list[Voice]:
    """Every voice the benchmarks can use, shuffled: piper joe at several paces and amounts of
    variation, espeak-ng in each dialect with each variant at three speeds. Piper and espeak
    alternate (one piper voice in three) so the first n are a varied sample."""
    rng = np.random.default_rng(seed)
    piper = [Voice("piper", speed=ls, noise_scale=ns, noise_w=nw)
             for ls in (0.8, 0.9, 1.0, 1.1, 1.25) for ns in (0.333, 0.667, 1.0) for nw in (0.5, 1.0)]
    esp = [Voice("espeak", f"{accent}+{variant}" if variant else accent, speed)
           for accent in ESPEAK_ACCENTS for variant in ESPEAK_VARIANTS for speed in (0.85, 1.0, 1.2)]
    piper = [piper[i] for i in rng.permutation(len(piper))]
    esp = [esp[i] for i in rng.permutation(len(esp))]
    pool: list[Voice] = []
    while piper or esp:
        if piper:
            pool.append(piper.pop())
        pool += [esp.pop() for _ in range(min(2, len(esp)))]
    return pool


def varied_voices(n: int, seed: int = 0) -> list[Voice]:
    """n different voices (see voice_pool)."""
    return voice_pool(seed)[:n]


@functools.lru_cache(maxsize=8)
def _piper(length_scale: float, noise_scale: float | None = None,
           noise_w: float | None = None):  # type: ignore[no-untyped-def]
    from assistant.tts import PiperSynthesizer

    # No noise unless asked: piper's noise makes each rendering differ, and tests need the same
    # audio every run.
    return PiperSynthesizer(length_scale=length_scale,
                            noise_scale=0.0 if noise_scale is None else noise_scale,
                            noise_w_scale=0.0 if noise_w is None else noise_w)


def cached(key: str, make: Callable[[], bytes], folder: str = "speech") -> bytes:
    """make(), kept on disk under bench/.cache/<folder>/ by a hash of key."""
    path = CACHE / folder / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.pcm"
    if path.is_file():
        return path.read_bytes()
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return data


def speak(text: str, voice: Voice = Voice("piper")) -> bytes:
    """16 kHz s16 mono PCM of text, leading/trailing silence trimmed (cached on disk)."""
    return cached(f"{voice!r}|{text}", lambda: _speak(text, voice))


def _speak(text: str, voice: Voice) -> bytes:
    from bench import synth

    if voice.engine == "piper":
        tts = _piper(voice.speed, voice.noise_scale, voice.noise_w)
        pcm = to_internal(b"".join(tts.synthesize(text)), tts.sample_rate)
    elif voice.engine == "espeak":
        pcm = espeak(text, voice.name or "en-us", int(160 * voice.speed))
    elif voice.engine == "flite":
        pcm = synth.flite(text, voice.name or "kal", voice.speed)
    elif voice.engine == "festival":
        pcm = synth.festival(text, voice.name or "kal_diphone", voice.speed)
    elif voice.engine == "kokoro":
        pcm = synth.kokoro(text, voice.name or "jf_alpha", voice.speed)
    else:
        raise ValueError(f"unknown speech engine {voice.engine!r}")
    pcm = trim(pcm)
    if voice.colour:
        pcm = synth.colour(pcm, synth.parse_colour(voice.colour))
    return pcm


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


BACKGROUNDS = ("white", "pink", "brown", "babble", "tv")


def _floats(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _pcm(samples: np.ndarray, peak: float = 0.0) -> bytes:
    """float samples -> s16; peak > 0 first scales the loudest sample to that fraction of full."""
    if peak > 0:
        samples = samples / (np.max(np.abs(samples)) + 1e-9) * peak * 32767
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


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


def talk(sentences: Sequence[str], voice: Voice, seconds: float, seed: int = 0,
         gap_s: tuple[float, float] = (0.15, 0.8)) -> np.ndarray:
    """One person saying sentences (in a seeded order) with short pauses, cut to seconds."""
    rng = np.random.default_rng(seed)
    n = int(RATE * seconds)
    out = np.zeros(n)
    at = int(rng.uniform(0, 1.0) * RATE)
    while at < n:
        speech = _floats(speak(sentences[int(rng.integers(len(sentences)))], voice))
        piece = speech[: n - at]
        out[at: at + len(piece)] = piece
        at += len(speech) + int(rng.uniform(*gap_s) * RATE)
    return out


def babble(seconds: float, sentences: Sequence[str] = BABBLE_LINES, talkers: int = 5, seed: int = 0) -> bytes:
    """Several different voices talking over each other, as at a party or in a café."""
    def make() -> bytes:
        pool = voice_pool(seed + 101)
        rng = np.random.default_rng(seed)
        mixed = np.zeros(int(RATE * seconds))
        for k in range(talkers):
            voice = pool[(k * 2 + 1) % len(pool)]
            track = talk(sentences, voice, seconds, seed=seed * 31 + k)
            gain = 10 ** (rng.uniform(-6, 0) / 20) / (np.std(track) + 1e-9)
            mixed += track * gain
        return _pcm(mixed, peak=0.5)

    return cached(f"babble|{seconds}|{talkers}|{seed}|{'|'.join(sentences)}", make, "background")


def tv(seconds: float, sentences: Sequence[str] = BABBLE_LINES, seed: int = 0) -> bytes:
    """A television: a presenter and a guest talking, music between and under them, a little
    hiss, and the level jumping every few seconds (cuts, adverts, a louder scene)."""
    def make() -> bytes:
        rng = np.random.default_rng(seed)
        pool = voice_pool(seed + 202)
        n = int(RATE * seconds)
        voices = np.zeros(n)
        for k in range(2):
            voices += talk(sentences, pool[k * 5], seconds, seed=seed * 17 + k, gap_s=(0.5, 4.0))
        music = _floats(tones(seconds + 0.5, seed=seed))[:n]
        music = np.resize(music, n)
        hiss = _floats(noise(seconds, 0.01, "pink", seed=seed))
        # The music comes and goes: full between speech, quiet under it.
        music_gain = np.repeat(rng.uniform(0.1, 1.0, n // RATE + 1), RATE)[:n]
        out = voices / (np.std(voices) + 1e-9) + 0.8 * music_gain * music / (np.std(music) + 1e-9)
        out += 0.15 * hiss / (np.std(hiss) + 1e-9)
        # Level changes: a new gain (-10 .. +3 dB) every 1.5 to 5 s.
        at = 0
        while at < n:
            length = int(rng.uniform(1.5, 5.0) * RATE)
            out[at: at + length] *= 10 ** (rng.uniform(-10, 3) / 20)
            at += length
        return _pcm(out, peak=0.6)

    return cached(f"tv|{seconds}|{seed}|{'|'.join(sentences)}", make, "background")


def background(kind: str, seconds: float, seed: int = 0,
               sentences: Sequence[str] = BABBLE_LINES) -> bytes:
    """A room's background sound of the given kind (see BACKGROUNDS); babble and tv need
    sentences to say (not the commands under test)."""
    if kind in ("white", "pink", "brown"):
        return noise(seconds, 0.05, kind, seed=seed)
    if kind == "babble":
        return babble(seconds, sentences, seed=seed)
    if kind == "tv":
        return tv(seconds, sentences, seed=seed)
    raise ValueError(f"unknown background {kind!r}: choose from {', '.join(BACKGROUNDS)}")


def excerpt(pcm: bytes, seconds: float, seed: int = 0) -> bytes:
    """A seeded slice of seconds from a longer recording (wrapping round at the end)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    n = int(RATE * seconds)
    start = int(np.random.default_rng(seed).integers(len(samples)))
    return np.resize(np.roll(samples, -start), n).astype("<i2").tobytes()


def speech_power(pcm: bytes, threshold: int = 300) -> float:
    """Mean power of the active (louder than threshold) samples: the S of an SNR."""
    s = _floats(pcm)
    loud = np.abs(s) > threshold
    return float(np.mean(s[loud] ** 2) if np.any(loud) else np.mean(s**2))


def snr_db(speech: bytes, background: bytes) -> float:
    """The SNR of speech over a background as mix() defines it."""
    pb = float(np.mean(_floats(background) ** 2)) + 1e-9
    return 10 * float(np.log10(speech_power(speech) / pb))


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
