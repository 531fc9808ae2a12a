"""A microphone that survives being unplugged: a stalled or vanished stream is reopened.

Audio time keeps running across a reopen, so the pipeline never sees time go backwards.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from assistant.audio.chunk import AudioChunk
from assistant.errors import AudioDeviceError

_LOGGER = logging.getLogger(__name__)


class ResilientMic:
    def __init__(self, open_mic: Callable[[], Any], retry_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.open_mic = open_mic
        self.retry_s = retry_s
        self.sleep = sleep
        self.reopens = 0
        self.on_wait: Callable[[], None] = lambda: None
        """Called while waiting for the microphone to come back (the watchdog stays fed)."""
        self._mic: Any = open_mic()
        self._closed = False

    @property
    def overflows(self) -> int:
        return int(getattr(self._mic, "overflows", 0))

    def __iter__(self) -> Iterator[AudioChunk]:
        offset_ms = 0.0
        last_end_ms = 0.0
        while not self._closed:
            try:
                for chunk in self._mic:
                    shifted = AudioChunk(chunk.audio, chunk.timestamp_ms + offset_ms)
                    last_end_ms = shifted.end_ms
                    yield shifted
                return  # closed on purpose
            except AudioDeviceError as exc:
                _LOGGER.warning("microphone lost (%s); waiting for it to come back", exc)
            self._close_quietly()
            self._mic = self._reopen()
            if self._mic is None:
                return
            offset_ms = last_end_ms
            self.reopens += 1
            _LOGGER.info("microphone reopened (%d so far)", self.reopens)

    def _reopen(self) -> Any:
        attempt = 0
        while not self._closed:
            self.on_wait()
            try:
                return self.open_mic()
            except AudioDeviceError as exc:
                attempt += 1
                if attempt in (1, 10) or attempt % 30 == 0:
                    _LOGGER.warning("microphone not back yet (%s)", exc)
                self.sleep(self.retry_s)
        return None

    def _close_quietly(self) -> None:
        try:
            self._mic.close()
        except Exception:  # a vanished device may fail to close; it is gone either way
            _LOGGER.debug("closing the lost microphone failed", exc_info=True)

    def close(self) -> None:
        self._closed = True
        self._close_quietly()
