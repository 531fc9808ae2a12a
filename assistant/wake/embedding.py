"""openWakeWord's features (a mel spectrogram and Google's frozen speech embedding, one
embedding per 80 ms) and its classifiers on them: openWakeWord's own models, used as the first
stage when ``wake.engine`` is openwakeword and as evidence for the second stage, and this
project's noisy-room model (``assistant.wake.noisy``), which sits on the same embeddings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.wake.detection import WakeDetection, missing_model

OPEN_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft", "hey_rhasspy")
WINDOW_EMBEDDINGS = 16
"""Embeddings per window: 16 x 80 ms steps of a 775 ms embedding, about 2 s of audio (the
input openWakeWord's own classifiers take)."""
EMBEDDING_SIZE = 96
BLOCK_BYTES = 1280 * 2
"""openWakeWord's features work on 80 ms blocks."""
BLOCK_MS = 80.0


class EmbeddingWindow:
    """The last WINDOW_EMBEDDINGS embeddings, as the classifier takes them (all zeros at first)."""

    def __init__(self) -> None:
        self._recent = np.zeros((WINDOW_EMBEDDINGS, EMBEDDING_SIZE), dtype=np.float32)

    def add(self, embeddings: Any) -> None:
        """openWakeWord's embeddings (shape 1 x 1 x n x 96), in the order they came."""
        for embedding in embeddings[0, 0]:
            self._recent = np.roll(self._recent, -1, axis=0)
            self._recent[-1] = embedding

    def flat(self) -> np.ndarray:
        """The window as the classifier takes it (a copy)."""
        return self._recent.reshape(-1).copy()

    def reset(self) -> None:
        self._recent[:] = 0.0


class WarmFeatures:
    """openWakeWord's feature models (mel spectrogram, speech embedding) with a cheap reset.

    openWakeWord's own reset makes the next block pay for 8 s of silence (about 100 embeddings,
    ~0.6 CPU-s here) so that its buffers hold what silence sounds like. That state is the same
    every time: it is computed once, kept, and put back on reset. The next block's features are
    exactly those after openWakeWord's own reset.
    """

    def __init__(self, classifier: Any = None) -> None:
        from pyopen_wakeword import OpenWakeWordFeatures

        self.features: Any = OpenWakeWordFeatures.from_builtin()
        self.classifier = classifier
        """openWakeWord's classifier fed with these embeddings, if any: its buffer of embeddings
        is kept and put back as well."""
        self.silence: list[Any] = []
        """The embeddings that the warm-up made (silence), in order."""
        self.features.reset()
        for embeddings in self.features.process_streaming(bytes(BLOCK_BYTES)):
            self.silence.append(embeddings)
            if classifier is not None:
                list(classifier.process_streaming(embeddings))
        f = self.features
        self._state = (f.audio.copy(), f.mels.copy(), f.new_audio_samples, f.new_mels)
        self._classifier_state = None if classifier is None else (
            classifier.embeddings.copy(), classifier.new_embeddings)

    def process_streaming(self, block: bytes) -> Any:
        return self.features.process_streaming(block)

    def reset(self) -> None:
        f = self.features
        audio, mels, f.new_audio_samples, f.new_mels = self._state
        f.audio, f.mels = audio.copy(), mels.copy()
        if self.classifier is not None and self._classifier_state is not None:
            embeddings, self.classifier.new_embeddings = self._classifier_state
            self.classifier.embeddings = embeddings.copy()


class Embedder:
    """openWakeWord's mel spectrogram and speech embedding, block by block, with the window of
    the last WINDOW_EMBEDDINGS embeddings after each block. From a reset it starts as if it had
    heard silence (openWakeWord fills its buffers with zeros)."""

    def __init__(self) -> None:
        self._features = WarmFeatures()
        self._window = EmbeddingWindow()
        self.reset()

    def push(self, block: bytes) -> np.ndarray:
        """One 80 ms block in; the window (flattened) that ends with it."""
        for embeddings in self._features.process_streaming(block):
            self._window.add(embeddings)
        return self._window.flat()

    def windows(self, pcm: bytes) -> np.ndarray:
        """The window after each whole 80 ms block of pcm, one row per block."""
        rows = [self.push(pcm[at:at + BLOCK_BYTES])
                for at in range(0, len(pcm) - BLOCK_BYTES + 1, BLOCK_BYTES)]
        return np.stack(rows) if rows else np.zeros((0, WINDOW_EMBEDDINGS * EMBEDDING_SIZE), np.float32)

    def reset(self) -> None:
        self._features.reset()
        self._window.reset()
        for embeddings in self._features.silence:
            self._window.add(embeddings)


class OpenWakeWordDetector:
    """openWakeWord as the first stage (``wake.engine: openwakeword``): mel -> embedding ->
    classifier, fed in 80 ms blocks."""

    def __init__(self, model: str = "hey_jarvis", threshold: float = 0.5):
        from pyopen_wakeword import Model, OpenWakeWord

        if model in OPEN_MODELS:
            self._oww = OpenWakeWord.from_builtin(Model(model))
        elif model.endswith(".tflite") and Path(model).expanduser().is_file():
            self._oww = OpenWakeWord.from_model(Path(model).expanduser())
        else:
            raise missing_model(model, "openWakeWord", OPEN_MODELS, ".tflite")
        self._features = WarmFeatures(classifier=self._oww)
        self.name = Path(model).stem + "_open"
        self.threshold = threshold
        self._buffer = b""

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        self._buffer += chunk.audio
        best: float | None = None
        while len(self._buffer) >= BLOCK_BYTES:
            block, self._buffer = self._buffer[:BLOCK_BYTES], self._buffer[BLOCK_BYTES:]
            for embeddings in self._features.process_streaming(block):
                for prob in self._oww.process_streaming(embeddings):
                    if prob > self.threshold:
                        best = max(best or 0.0, float(prob))
        if best is None:
            return None
        end_ms = chunk.end_ms - len(self._buffer) / BYTES_PER_MS
        self.reset()  # one wake word, one detection
        return WakeDetection(self.name, end_ms, best)

    def reset(self) -> None:
        self._buffer = b""
        self._features.reset()


class OpenClassifier:
    """openWakeWord's classifier for one wake word, on embeddings computed elsewhere (the
    noisy-room model's, while the room is loud): about 0.1 ms per window of 16 embeddings."""

    def __init__(self, model: str = "okay_nabu"):
        from pyopen_wakeword import Model, OpenWakeWord

        if model not in OPEN_MODELS:
            raise missing_model(model, "openWakeWord", OPEN_MODELS, ".tflite")
        self._oww = OpenWakeWord.from_builtin(Model(model))

    def peak(self, embeddings: np.ndarray) -> float:
        """The highest probability over every window of 16 consecutive embeddings (n x 96)."""
        self._oww.reset()
        block = np.asarray(embeddings, np.float32).reshape(1, 1, -1, EMBEDDING_SIZE)
        best = max(self._oww.process_streaming(block), default=0.0)
        self._oww.reset()
        return float(best)


def windows_of(embeddings: np.ndarray) -> np.ndarray:
    """Every window of WINDOW_EMBEDDINGS consecutive embeddings, flattened, one row each."""
    n = len(embeddings) - WINDOW_EMBEDDINGS + 1
    if n <= 0:
        return np.zeros((0, WINDOW_EMBEDDINGS * EMBEDDING_SIZE), np.float32)
    return np.stack([np.asarray(embeddings[i:i + WINDOW_EMBEDDINGS], np.float32).reshape(-1)
                     for i in range(n)])
