"""The one audio format used inside, and the conversion done once at the edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16_000
WIDTH = 2
CHANNELS = 1
BYTES_PER_MS = RATE * WIDTH // 1000


@dataclass(frozen=True)
class AudioChunk:
    """A piece of 16 kHz, 16-bit, mono PCM and the audio time at which it starts."""

    audio: bytes
    timestamp_ms: float
    """Milliseconds of audio since the source started (audio time, not wall time)."""

    @property
    def duration_ms(self) -> float:
        return len(self.audio) / BYTES_PER_MS

    @property
    def end_ms(self) -> float:
        return self.timestamp_ms + self.duration_ms


def to_internal(audio: bytes | np.ndarray, rate: int, width: int = 2, channels: int = 1) -> bytes:
    """Convert PCM of any rate / width / channel count to 16 kHz s16 mono bytes."""
    samples = _as_float(audio, width)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    samples = resample(samples, rate, RATE)
    return float_to_pcm16(samples)


def _as_float(audio: bytes | np.ndarray, width: int) -> np.ndarray:
    if isinstance(audio, np.ndarray):
        if audio.dtype == np.int16:
            return audio.astype(np.float32) / 32768.0
        return audio.astype(np.float32)
    if width == 2:
        return np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
    if width == 4:
        return np.frombuffer(audio, dtype="<i4").astype(np.float32) / 2147483648.0
    if width == 1:
        return (np.frombuffer(audio, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    raise ValueError(f"unsupported sample width {width}")


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Linear-interpolation resampler: cheap, and enough for speech going into 16 kHz models."""
    if rate_in == rate_out or len(samples) == 0:
        return samples
    n_out = int(round(len(samples) * rate_out / rate_in))
    positions = np.arange(n_out, dtype=np.float64) * (rate_in / rate_out)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def pcm16_to_float(audio: bytes) -> np.ndarray:
    return np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
