"""Noise suppression and automatic gain (WebRTC's audio processing), applied once at the edge.

`webrtc-noise-gain` wraps the WebRTC audio processing module: noise suppression at levels 1-4
and an automatic gain control that aims for a target level in dBFS (1-31, 31 is quietest). It
works on 10 ms frames of 16 kHz s16 mono, the format used inside; it is imported only when one
of the two is switched on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk

FRAME_BYTES = 10 * BYTES_PER_MS


class AudioCleaner:
    """Cleans audio chunk by chunk; the output is exactly as long as the input.

    Whole 10 ms frames go through WebRTC. A chunk that does not end on a frame boundary (never
    the case with the mic's and the file source's 30 ms blocks) passes its last partial frame
    through unchanged, so that audio time and chunk lengths stay what they were.
    """

    def __init__(self, noise_suppression: int = 0, auto_gain_dbfs: int = 0):
        if not 0 <= noise_suppression <= 4:
            raise ValueError("noise_suppression is 0 (off) to 4")
        if not 0 <= auto_gain_dbfs <= 31:
            raise ValueError("auto_gain_dbfs is 0 (off) to 31")
        self.noise_suppression = noise_suppression
        self.auto_gain_dbfs = auto_gain_dbfs
        self._processor = None
        if self.enabled:
            from webrtc_noise_gain import AudioProcessor

            self._processor = AudioProcessor(auto_gain_dbfs, noise_suppression)

    @property
    def enabled(self) -> bool:
        return self.noise_suppression > 0 or self.auto_gain_dbfs > 0

    def process(self, audio: bytes) -> bytes:
        if self._processor is None:
            return audio
        whole = len(audio) - len(audio) % FRAME_BYTES
        out = bytearray()
        for offset in range(0, whole, FRAME_BYTES):
            out += self._processor.Process10ms(audio[offset:offset + FRAME_BYTES]).audio
        return bytes(out) + audio[whole:]


class CleanedSource:
    """A source whose chunks are cleaned; closing it closes the source."""

    def __init__(self, source: Iterable[AudioChunk], cleaner: AudioCleaner):
        self.source = source
        self.cleaner = cleaner

    def __iter__(self) -> Iterator[AudioChunk]:
        for chunk in self.source:
            yield AudioChunk(self.cleaner.process(chunk.audio), chunk.timestamp_ms)

    def close(self) -> None:
        close: Any = getattr(self.source, "close", None)
        if close is not None:
            close()

