"""Synthesizes the bundled demo recording (assistant/data/demo.wav) with piper.

Run: .venv/bin/python scripts/make_demo.py
Four wake-word commands separated by silence, as a user in a quiet room would say them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for bench.corpus

from assistant.audio.chunk import RATE, to_internal
from assistant.tts import PiperSynthesizer
from bench import corpus

COMMANDS = [
    "Turn on the kitchen light.",
    "Set the living room lamp to thirty percent.",
    "What is the processor temperature?",
    "Turn on the garage light.",
]
OUT = Path(__file__).resolve().parent.parent / "assistant" / "data" / "demo.wav"


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


def main() -> None:
    tts = PiperSynthesizer()

    def speak(text: str) -> bytes:
        pcm = b"".join(tts.synthesize(text))
        return to_internal(pcm, tts.sample_rate)

    audio = bytearray(silence(1.0))
    for command in COMMANDS:
        audio += speak("Okay Nabu.") + silence(0.4) + speak(command) + silence(3.5)
    # A little background hiss, so the recording is not digital silence between commands.
    rng = np.random.default_rng(7)
    samples = np.frombuffer(bytes(audio), dtype="<i2").astype(np.int32)
    samples += rng.normal(0, 30, len(samples)).astype(np.int32)
    pcm = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
    corpus.write_wav(OUT, pcm)
    print(f"wrote {OUT} ({len(pcm) / 2 / RATE:.1f} s)")


if __name__ == "__main__":
    main()
