"""WAV files as the microphone and the speaker: demos, tests and benchmarks without a sound card."""

from __future__ import annotations

import logging
import time
import wave
from collections.abc import Iterator
from pathlib import Path

from assistant.audio.chunk import (
    BYTES_PER_MS,
    RATE,
    AudioChunk,
    float_to_pcm16,
    pcm16_to_float,
    resample,
    to_internal,
)
from assistant.errors import AudioDeviceError

_LOGGER = logging.getLogger(__name__)


def read_wav(path: str | Path) -> tuple[bytes, int, int, int]:
    """(frames, rate, width, channels) of a PCM WAV file; a broken file is an AudioDeviceError."""
    try:
        with wave.open(str(path), "rb") as wav:
            frames = wav.readframes(wav.getnframes())
            return frames, wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioDeviceError(f"cannot read {path} as a PCM WAV file: {exc}") from exc


class WavSource:
    """Iterates a WAV file as AudioChunks, converted once to 16 kHz s16 mono.

    Trailing silence is appended because a command that ends with the file would otherwise
    never see the silence that ends it. With ``realtime`` the chunks are paced to the wall
    clock, so the latencies measured are the ones a user would feel.
    """

    def __init__(
        self,
        path: str | Path,
        realtime: bool = False,
        chunk_ms: int = 30,
        tail_silence_ms: int = 1500,
    ):
        frames, rate, width, channels = read_wav(path)
        self.path = str(path)
        self.audio = to_internal(frames, rate, width, channels) + bytes(
            int(tail_silence_ms) * BYTES_PER_MS
        )
        self.realtime = realtime
        self.chunk_ms = chunk_ms
        _LOGGER.info("reading %s (%d Hz, %d-bit, %d ch, %.1f s)", path, rate, 8 * width,
                     channels, len(frames) / (rate * width * channels))

    @property
    def duration_ms(self) -> float:
        return len(self.audio) / BYTES_PER_MS

    def __iter__(self) -> Iterator[AudioChunk]:
        step = self.chunk_ms * BYTES_PER_MS
        started = time.monotonic()
        for offset in range(0, len(self.audio), step):
            t_ms = offset / BYTES_PER_MS
            if self.realtime:
                # A microphone delivers a chunk only once its last sample has been heard.
                due = started + (t_ms + self.chunk_ms) / 1000.0
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield AudioChunk(self.audio[offset:offset + step], t_ms)

    def close(self) -> None:
        """Nothing to release; here so every source can be closed the same way."""


class WavSink:
    """Collects everything the speaker would play and writes one WAV file on close().

    The file keeps the rate of the first piece played (the synthesizer's); a later piece at
    another rate (an earcon, say) is converted to it so the file stays one stream.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.rate: int | None = None
        self._pieces: list[bytes] = []
        self._closed = False

    def play(self, pcm: bytes, rate: int) -> None:
        if self.rate is None:
            self.rate = rate
        elif rate != self.rate:
            pcm = _convert(pcm, rate, self.rate)
        self._pieces.append(pcm)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with wave.open(self.path, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.rate or RATE)
            wav.writeframes(b"".join(self._pieces))
        _LOGGER.info("wrote %s", self.path)


def _convert(pcm: bytes, rate_in: int, rate_out: int) -> bytes:
    return float_to_pcm16(resample(pcm16_to_float(pcm), rate_in, rate_out))
