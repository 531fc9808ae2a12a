"""The noisy-room wake word model: a small classifier for "okay nabu" on openWakeWord's speech
embeddings, trained on speech in noise, babble and TV (``bench/train_wake.py``).

microWakeWord's okay_nabu, the first stage, fires on few wake words said under babble or a TV
at 10 dB SNR (14 and 15 of 24 in bench/wake_study.py's voices); openWakeWord's own okay_nabu
fires on fewer. openWakeWord's embedding (Google's speech embedding, frozen) carries the word
through such noise well enough for a classifier that has heard it there: 23 and 20 of 24. It
runs beside microWakeWord (``EitherWake``) while the room is loud (``RoomGate``), and the
second stage (``WakeVerifier``), which near-misses must still pass, weighs its detections and
its opinion on microWakeWord's (``wake.NOISY_HINT``).

The classifier is plain numpy (two hidden layers of 64): its weights are in
``assistant/data/okay_nabu_noisy.npz``, made by the training script from synthetic speech.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.chunk import AudioChunk
from assistant.errors import ModelMissingError
from assistant.vad import LevelMeter
from assistant.wake.detection import WakeDetection, WakeDetector
from assistant.wake.embedding import (
    BLOCK_BYTES,
    BLOCK_MS,
    EMBEDDING_SIZE,
    WINDOW_EMBEDDINGS,
    Embedder,
)

MODEL = Path(__file__).resolve().parent.parent / "data" / "okay_nabu_noisy.npz"
class WakeHead:
    """The classifier: a window of embeddings -> the probability that the wake word just ended."""

    def __init__(self, path: str | Path = MODEL):
        path = Path(path)
        if not path.is_file():
            raise ModelMissingError(f"the noisy-room wake word model {path} is missing; "
                                    "reinstall the assistant, or set wake.noisy_model: false")
        with np.load(path) as data:
            self._p = {key: data[key].astype(np.float32) for key in data.files}

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        p = self._p
        x = (np.atleast_2d(windows) - p["mean"]) / p["scale"]
        h1 = np.maximum(x @ p["w1"] + p["b1"], 0.0)
        h2 = np.maximum(h1 @ p["w2"] + p["b2"], 0.0)
        z = (h2 @ p["w3"] + p["b3"])[:, 0]
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0))))


NOISY_THRESHOLD = 0.99
"""The noisy-room model's probability that fires it. On bench/wake_study.py's voices (seed 1) it
fired on 120 / 115 / 115 of 120 wake words (clean / 20 dB / 10 dB; microWakeWord at 0.1: 120 /
119 / 99), 23 and 20 of the 24 under babble and TV at 10 dB (microWakeWord: 14 and 15), and 25
times in 15 min of near-miss-heavy negatives (32 with babble under them); at 0.9: 55 and 60
times, for the same wake words but one."""


QUIET_FLOOR_DBFS = -55.0
"""A room whose background (the 20th percentile of the last GATE_S of 10 ms levels) is below this
is quiet, and the model does not run there as a first stage: microWakeWord hears the wake word
in a quiet room (the second stage still asks the model's opinion there, ``wake.NOISY_MODEL_IN_QUIET``).
The benchmarks' clean recordings' background measures -64 to -66 dBFS, their 20 dB SNR ones -37
to -47, their 10 dB ones -26 to -45 (speech at -14 to -16). A microphone with a louder hiss
than -55 dBFS keeps the model running, which costs only CPU."""
REOPEN_DB = 3.0
"""Once open, the gate closes only this far below QUIET_FLOOR_DBFS (a room at the edge would
start the model afresh, and cold, every few seconds)."""
GATE_S = 3.0
GATE_MIN_S = 0.5
GATE_STEP = 10
"""10 ms levels between two looks at the room (100 ms)."""


class RoomGate:
    """Pure: whether the room is loud enough for the noisy-room model, from its 10 ms levels."""

    def __init__(self, floor_dbfs: float = QUIET_FLOOR_DBFS):
        self.floor_dbfs = floor_dbfs
        self.open = False
        self._levels: deque[float] = deque(maxlen=int(GATE_S * 100))
        self._unweighed = 0

    def feed(self, levels: list[float]) -> bool:
        self._levels.extend(levels)
        self._unweighed += len(levels)
        # Weighed every GATE_STEP frames, not every chunk: the percentile is most of what
        # listening in a quiet room costs, and the gate looks at 3 s anyway.
        if len(self._levels) >= GATE_MIN_S * 100 and self._unweighed >= GATE_STEP:
            self._unweighed = 0
            floor = float(np.percentile(self._levels, 20))
            self.open = floor >= self.floor_dbfs - (REOPEN_DB if self.open else 0.0)
        return self.open


HOLD_MS = 1500.0
"""After the noisy-room model fires, it does not fire again for this long: the wake word keeps
its probability high for several blocks."""
RECENT_EMBEDDINGS = 64
"""Embeddings kept with their times (5 s): the second stage reads the wake window's from here
instead of computing them again."""


class NoisyRoomDetector:
    """The noisy-room model as a first stage (``WakeDetector``): it hears the raw audio (the
    model was trained on it, not on noise-suppressed audio) in 80 ms blocks, while the room is
    loud (``RoomGate``). In a quiet room it costs nothing: openWakeWord's features cost ~0.07
    CPU-s per audio-s here, microWakeWord ~0.005. The embeddings it computes are kept
    (``recent``) for the second stage."""

    def __init__(self, head: WakeHead | None = None, threshold: float = NOISY_THRESHOLD,
                 name: str = "okay_nabu_noisy", gate: RoomGate | None = None):
        self.head = head or WakeHead()
        self.threshold = threshold
        self.name = name
        self.gate = gate or RoomGate()
        self._meter = LevelMeter()
        self._embedder = Embedder()
        self._buffer = b""
        self._hold_until_ms = -1.0
        self.recent: deque[tuple[float, np.ndarray]] = deque(maxlen=RECENT_EMBEDDINGS)
        """(audio time at the end of the block, the newest embedding then), while the room was
        loud; emptied when it falls quiet."""

    def process(self, chunk: AudioChunk) -> Any:
        was_open = self.gate.open
        if not self.gate.feed(self._meter.process(chunk.audio)):
            if was_open:
                self.reset()  # back in the room's quiet: start cold when it is loud again
            return None
        self._buffer += chunk.audio
        best: float | None = None
        end_ms = chunk.end_ms - len(self._buffer) / (BLOCK_BYTES / BLOCK_MS)
        while len(self._buffer) >= BLOCK_BYTES:
            block, self._buffer = self._buffer[:BLOCK_BYTES], self._buffer[BLOCK_BYTES:]
            end_ms += BLOCK_MS
            window = self._embedder.push(block)
            self.recent.append((end_ms, window[-EMBEDDING_SIZE:]))
            prob = float(self.head.probabilities(window)[0])
            if prob >= self.threshold and end_ms >= self._hold_until_ms:
                best = max(best or 0.0, prob)
        if best is None:
            return None
        self._hold_until_ms = end_ms + HOLD_MS
        return WakeDetection(self.name, end_ms, 0.0, noisy=best)

    def embeddings_between(self, start_ms: float, end_ms: float) -> np.ndarray | None:
        """The embeddings of blocks ending from start_ms to end_ms, in order (n x 96), or None
        when there are too few for one classifier window (the room was not loud long enough)."""
        found = [emb for at, emb in self.recent if start_ms < at <= end_ms + 1e-6]
        return np.stack(found) if len(found) >= WINDOW_EMBEDDINGS else None

    def rearm(self) -> None:
        """Ready for the next detection without forgetting what was heard (another stage fired)."""
        self._hold_until_ms = -1.0

    def reset(self) -> None:
        self._buffer = b""
        self._embedder.reset()
        self.recent.clear()
        self._hold_until_ms = -1.0


class EitherWake:
    """Two first stages side by side: microWakeWord (on its noise-suppressed copy) and the
    noisy-room model (``assistant.wake_head``, on the raw audio). Whichever fires first is the
    detection; both then start afresh, so one wake word is one detection."""

    def __init__(self, first: WakeDetector, noisy: WakeDetector):
        self.first = first
        self.noisy = noisy

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        detection = self.first.process(chunk)
        other = self.noisy.process(chunk)
        if detection is None:
            detection = other
        if detection is not None:
            # The noisy-room model keeps its embeddings: the second stage reads the window's.
            self.first.reset()
            rearm = getattr(self.noisy, "rearm", None)
            if rearm is not None:
                rearm()
        return detection

    def hear(self, chunk: AudioChunk) -> None:
        """Audio after a detection, while the command is recorded: only the noisy-room model
        hears it (while the room is loud), so that the wake window's tail has embeddings too."""
        self.noisy.process(chunk)

    def embeddings_between(self, start_ms: float, end_ms: float) -> np.ndarray | None:
        """openWakeWord's embeddings of that stretch of audio, if the room was loud then."""
        between = getattr(self.noisy, "embeddings_between", None)
        return None if between is None else between(start_ms, end_ms)

    def reset(self) -> None:
        self.first.reset()
        self.noisy.reset()
