"""Plays replies on a thread of its own, so the pipeline keeps listening (barge-in, "stop").

The queue is bounded but never drops: a producer that runs ahead of the speaker waits. Audio is
written in short slices so that stop() silences the speaker within one slice, and an output gain
(the volume skill's, where there is no ALSA mixer) is read for every slice.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Protocol

import numpy as np

_LOGGER = logging.getLogger(__name__)

SLICE_MS = 100


class Sink(Protocol):
    def play(self, pcm: bytes, rate: int) -> None: ...


class OutputGain:
    """A linear gain, 0 (silent) to 1 (as synthesized), set by one thread, read by the player."""

    def __init__(self, value: float = 1.0):
        self._value = min(1.0, max(0.0, value))

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, value: float) -> None:
        self._value = min(1.0, max(0.0, float(value)))  # one float store: atomic in CPython


def apply_gain(pcm: bytes, gain: float) -> bytes:
    """s16 PCM scaled by gain (0-1), rounded to the nearest sample value."""
    if gain >= 1.0:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) * gain
    return np.round(samples).astype("<i2").tobytes()


class Player:
    def __init__(self, sink: Sink, max_pending: int = 64, gain: OutputGain | None = None):
        self.sink = sink
        self.gain = gain
        self._queue: queue.Queue[tuple[bytes, int, int] | None] = queue.Queue(max_pending)
        self._generation = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self.played_ms = 0.0
        """Total audio handed to the sink (file mode uses it as the time a reply would take)."""
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)
        self._thread.start()

    def play(self, pcm: bytes, rate: int) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
            generation = self._generation
        self._queue.put((pcm, rate, generation))

    def stop(self) -> None:
        """Drop everything queued and stop what is playing (barge-in, "stop")."""
        with self._lock:
            self._generation += 1
        _LOGGER.info("playback stopped")

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            pcm, rate, generation = item
            step = rate * 2 * SLICE_MS // 1000
            for start in range(0, len(pcm), step):
                if generation != self._generation:
                    break
                piece = pcm[start:start + step]
                if self.gain is not None:
                    piece = apply_gain(piece, self.gain.value)
                try:
                    self.sink.play(piece, rate)
                except Exception:  # a broken speaker must not kill the assistant
                    _LOGGER.exception("playback failed")
                    break
                self.played_ms += len(piece) / 2 / rate * 1000.0
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
