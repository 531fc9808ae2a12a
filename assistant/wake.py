"""Wake word detection: microWakeWord (default) or openWakeWord, behind one small Protocol.

Engines are imported only when selected. Timestamps are audio time, so the refractory window
and the latency figures mean the same thing from a microphone and from a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.config import WakeConfig
from assistant.errors import ModelMissingError

_LOGGER = logging.getLogger(__name__)

MICRO_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
OPEN_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft", "hey_rhasspy")
OPEN_BLOCK_BYTES = 1280 * 2
"""openWakeWord works on 80 ms blocks."""


@dataclass(frozen=True)
class WakeDetection:
    name: str
    timestamp_ms: float
    """Audio time at which the detector had heard enough (the end of the deciding chunk)."""
    probability: float


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


def _missing(model: str, engine: str, names: tuple[str, ...], suffix: str) -> ModelMissingError:
    return ModelMissingError(
        f"{model!r} is not a built-in {engine} model nor a {suffix} file; "
        f"use one of: {', '.join(names)}, or a path to a custom {suffix}"
    )


class MicroWakeWordDetector:
    """microWakeWord: streaming features every 10 ms, a probability averaged over a window."""

    def __init__(self, model: str = "okay_nabu", threshold: float | None = None):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        if model in MICRO_MODELS:
            self._mww = MicroWakeWord.from_builtin(Model(model))
        elif model.endswith(".json") and Path(model).expanduser().is_file():
            self._mww = MicroWakeWord.from_config(Path(model).expanduser())
        else:
            raise _missing(model, "microWakeWord", MICRO_MODELS, ".json")
        self._features = MicroWakeWordFeatures()
        self.name = str(self._mww.id)
        self.threshold = self._mww.probability_cutoff if threshold is None else threshold
        _LOGGER.info("wake word %r (microWakeWord, threshold %.2f)", self.name, self.threshold)

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        best: float | None = None
        for features in self._features.process_streaming(chunk.audio):
            prob = self._mww.process_streaming_prob(features)
            if prob is not None and prob > self.threshold:
                best = max(best or 0.0, prob)
        if best is None:
            return None
        _LOGGER.debug("wake %r p=%.3f at %.0f ms", self.name, best, chunk.end_ms)
        # A detection uses up its evidence: otherwise the probability window, still full of
        # the wake word, fires again on the next chunk fed (e.g. when barge-in listening starts).
        self.reset()
        return WakeDetection(self.name, chunk.end_ms, best)

    def reset(self) -> None:
        # The model keeps streaming state in its tensors; the library reloads it to clear that.
        self._features.reset()
        self._mww.reset()


class OpenWakeWordDetector:
    """openWakeWord: mel -> embedding -> classifier, fed in 80 ms blocks."""

    def __init__(self, model: str = "hey_jarvis", threshold: float = 0.5):
        from pyopen_wakeword import Model, OpenWakeWord, OpenWakeWordFeatures

        if model in OPEN_MODELS:
            self._oww = OpenWakeWord.from_builtin(Model(model))
        elif model.endswith(".tflite") and Path(model).expanduser().is_file():
            self._oww = OpenWakeWord.from_model(Path(model).expanduser())
        else:
            raise _missing(model, "openWakeWord", OPEN_MODELS, ".tflite")
        self._features: Any = OpenWakeWordFeatures.from_builtin()
        self.name = Path(model).stem
        self.threshold = threshold
        self._buffer = b""
        _LOGGER.info("wake word %r (openWakeWord, threshold %.2f)", self.name, threshold)

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        self._buffer += chunk.audio
        best: float | None = None
        while len(self._buffer) >= OPEN_BLOCK_BYTES:
            block, self._buffer = self._buffer[:OPEN_BLOCK_BYTES], self._buffer[OPEN_BLOCK_BYTES:]
            for embeddings in self._features.process_streaming(block):
                for prob in self._oww.process_streaming(embeddings):
                    if prob > self.threshold:
                        best = max(best or 0.0, prob)
        if best is None:
            return None
        end_ms = chunk.end_ms - len(self._buffer) / BYTES_PER_MS
        self.reset()  # as above: one wake word, one detection
        return WakeDetection(self.name, end_ms, best)

    def reset(self) -> None:
        self._buffer = b""
        self._features.reset()
        self._oww.reset()


def make_wake_detector(config: WakeConfig) -> WakeDetector:
    if config.engine == "openwakeword":
        threshold = 0.5 if config.threshold is None else config.threshold
        return OpenWakeWordDetector(config.model, threshold)
    return MicroWakeWordDetector(config.model, config.threshold)
