"""What a first stage reports, the Protocol every first stage implements, and the refractory
window. Timestamps are audio time, so the window and the latency figures mean the same thing
from a microphone and from a file."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from assistant.audio.chunk import AudioChunk
from assistant.errors import ModelMissingError


class Detector(enum.StrEnum):
    """Which first stage fired."""

    MICRO = "micro"
    """microWakeWord (on its noise-suppressed copy of the audio)."""
    NOISY = "noisy"
    """The noisy-room model (``assistant.wake.noisy``), while the room is loud."""
    OPEN = "open"
    """openWakeWord, when it is the configured engine."""


@dataclass(frozen=True)
class WakeDetection:
    name: str
    timestamp_ms: float
    """Audio time at which the detector had heard enough (the end of the deciding chunk)."""
    probability: float
    """microWakeWord's (or openWakeWord's) probability; 0.0 when only the noisy-room model fired."""
    noisy: float | None = None
    """The noisy-room model's probability, when it fired and microWakeWord did not."""

    @property
    def detector(self) -> Detector:
        return Detector.NOISY if self.noisy is not None else (
            Detector.OPEN if self.name.endswith("_open") else Detector.MICRO)


class WakeDetector(Protocol):
    def process(self, chunk: AudioChunk) -> WakeDetection | None: ...

    def reset(self) -> None: ...


class Refractory:
    """Pure: after one wake, no other within window_s (of audio time)."""

    def __init__(self, window_s: float):
        self.window_ms = window_s * 1000.0
        self._last_ms: float | None = None

    def allow(self, t_ms: float) -> bool:
        if self._last_ms is not None and 0.0 <= t_ms - self._last_ms < self.window_ms:
            return False
        self._last_ms = t_ms
        return True


def missing_model(model: str, engine: str, names: tuple[str, ...], suffix: str) -> ModelMissingError:
    return ModelMissingError(
        f"{model!r} is not a built-in {engine} model nor a {suffix} file; "
        f"use one of: {', '.join(names)}, or a path to a custom {suffix}"
    )
