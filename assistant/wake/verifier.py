"""This project's wake word verifier: a small convolutional network on microWakeWord's own
features (40 channels every 10 ms) of the wake window, trained by ``bench/train_verifier.py`` on
the first stage's detections of real wake words and of near-misses in many voices.

It is openWakeWord's "custom verifier" idea on the cheapest features there are: microWakeWord's
frontend costs ~1 ms per second of audio, and the network ~2 ms per window here, so the second
stage can weigh every detection on a Pi. Plain numpy; the weights are in
``assistant/data/wake_verifier.npz`` with a record of what they were fitted on.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import ModelMissingError

MODEL = Path(__file__).resolve().parent.parent / "data" / "wake_verifier.npz"
FEATURE_CHANNELS = 40


class Frontend:
    """microWakeWord's feature frontend (the same as the first stage's), one row per 10 ms."""

    def __init__(self) -> None:
        from pymicro_wakeword import MicroWakeWordFeatures

        self._features = MicroWakeWordFeatures()
        self._lock = threading.Lock()

    def features(self, pcm: bytes) -> np.ndarray:
        """(frames, 40) float32 for 16 kHz s16 mono pcm, from a clean state."""
        with self._lock:
            self._features.reset()
            rows = [np.asarray(f, np.float32).reshape(-1) for f in self._features.process_streaming(pcm)]
            self._features.reset()
        if not rows:
            return np.zeros((0, FEATURE_CHANNELS), np.float32)
        return np.stack(rows)


def _conv1d(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """'same' 1-D convolution: x (channels, time), w (out, in, k) -> (out, time)."""
    k = w.shape[2]
    padded = np.pad(x, ((0, 0), (k // 2, k - 1 - k // 2)))
    cols = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)  # (in, time, k)
    cols = cols.transpose(1, 0, 2).reshape(x.shape[1], -1)  # (time, in * k)
    return (cols @ w.reshape(w.shape[0], -1).T + b).T


def _pool2(x: np.ndarray) -> np.ndarray:
    t = x.shape[1] // 2 * 2
    return x[:, :t].reshape(x.shape[0], t // 2, 2).max(axis=2)


def fit_frames(features: np.ndarray, frames: int) -> np.ndarray:
    """The first ``frames`` rows of features, padded with zeros when there are fewer."""
    out = np.zeros((frames, FEATURE_CHANNELS), np.float32)
    n = min(frames, len(features))
    out[:n] = features[:n]
    return out


class Verifier:
    """The network: features of a window -> a logit (log-odds that a wake word is in it)."""

    def __init__(self, path: str | Path = MODEL):
        path = Path(path)
        if not path.is_file():
            raise ModelMissingError(f"the wake word verifier {path} is missing; reinstall the "
                                    "assistant, or set wake.verify: false")
        with np.load(path) as data:
            self._p = {key: np.asarray(data[key]) for key in data.files}
        self.meta: dict[str, Any] = json.loads(str(self._p.pop("meta")))
        """What the weights were fitted on, and their held-out figures (bench/train_verifier.py)."""
        self.layers = int(self.meta["layers"])
        self.pools = [bool(p) for p in self.meta["pools"]]

        self.frames = int(self.meta["frames"])
        """Feature frames (10 ms each) the network weighs: the start of the window."""

    def logit(self, features: np.ndarray) -> float:
        p = self._p
        x = ((fit_frames(features, self.frames) - p["mean"]) / p["scale"]).T.astype(np.float32)
        for i in range(self.layers):
            x = np.maximum(_conv1d(x, p[f"w{i}"], p[f"b{i}"]), 0.0)
            if self.pools[i]:
                x = _pool2(x)
        out = (p["w_out"] @ x + p["b_out"][:, None])[0]
        return float(out.max()) if out.size else -30.0
