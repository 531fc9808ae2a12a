"""The wake gate: the first stage on every chunk while idle, and the second stage's verdict on
each detection, weighed on a thread of its own while the command is already being recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.events import EventBus, EventType
from assistant.pipeline.command import Command, PendingWake
from assistant.pipeline.stages import SecondStage, WakeStart
from assistant.wake import Outcome, Refractory, WakeDetector, WakeVerdict

_LOGGER = logging.getLogger(__name__)


class WakeGate:
    def __init__(self, detector: WakeDetector, second: SecondStage | None, refractory: Refractory,
                 bus: EventBus, lag_ms: Callable[[float], float]):
        self.detector = detector
        self.second = second
        self.refractory = refractory
        self.bus = bus
        self.lag_ms = lag_ms
        self._recent = bytearray()
        """The second stage's window of audio heard while waiting for the wake word."""
        # Its own thread: queued with the command's transcripts, the check would hold back the
        # speculative end of speech.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wake")

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def reset(self) -> None:
        self.detector.reset()

    def listen(self, chunk: AudioChunk) -> WakeStart | None:
        """The first stage on one chunk; a detection outside the refractory window starts a
        command (with the audio before it, when a second stage will weigh it)."""
        if self.second is not None:
            self._recent += chunk.audio
            del self._recent[:-int(self.second.window_ms * BYTES_PER_MS)]
        detection = self.detector.process(chunk)
        if detection is None or not self.refractory.allow(detection.timestamp_ms):
            return None
        self.bus.emit(EventType.WAKE, name=detection.name, audio_ms=round(detection.timestamp_ms, 1),
                      lag_ms=round(self.lag_ms(chunk.end_ms), 1),
                      probability=round(detection.probability, 3),
                      noisy=None if detection.noisy is None else round(detection.noisy, 3))
        start = WakeStart(detection, bytes(self._recent))
        self._recent.clear()
        return start

    def chimes(self, start: WakeStart) -> bool:
        return self.second is None or self.second.chimes(start.detection.probability)

    def pending(self, start: WakeStart) -> PendingWake | None:
        return PendingWake(start) if self.second is not None else None

    def hear(self, cmd: Command, chunk: AudioChunk) -> None:
        """A chunk of the command: the noisy-room model hears the window's tail too (its
        embeddings are evidence), and once the tail is complete the check is handed it."""
        wake = cmd.wake
        if wake is None or wake.check is not None or self.second is None:
            return
        hear = getattr(self.detector, "hear", None)
        if hear is not None:
            hear(chunk)
        if len(cmd.audio) >= self.second.tail_ms * BYTES_PER_MS:
            self.submit(cmd)

    def submit(self, cmd: Command) -> None:
        """Hand the window and its tail (as much as there is) to the second stage."""
        wake, second = cmd.wake, self.second
        if wake is None or wake.check is not None or second is None:
            return
        tail = bytes(cmd.audio[:int(second.tail_ms * BYTES_PER_MS)])
        at = wake.start.detection.timestamp_ms
        between = getattr(self.detector, "embeddings_between", None)
        embeddings = None if between is None else between(at - second.window_ms, at + second.tail_ms)
        wake.paused = cmd.paused()
        wake.check = self._worker.submit(second.check, wake.start.window + tail,
                                         wake.start.detection, wake.paused, embeddings)

    def settle(self, cmd: Command) -> None:
        """No command followed the wake word (a time-out, the audio's end): the verdict is still
        reported, now or, on the wake worker, once it is in."""
        self.submit(cmd)
        wake = cmd.wake
        if wake is None or wake.check is None:
            return

        def report(done: Future[WakeVerdict]) -> None:
            if done.exception() is None:
                self.report(done.result())

        wake.check.add_done_callback(report)  # runs at once, here, when the verdict is in

    def verdict(self, cmd: Command) -> WakeVerdict | None:
        """The second stage's verdict (waiting for it), or None without a second stage."""
        self.submit(cmd)
        return None if cmd.wake is None or cmd.wake.check is None else cmd.wake.check.result()

    def stands(self, verdict: WakeVerdict, transcript: str | None) -> bool:
        """Whether the wake stands; a borderline verdict needs the command's transcript."""
        if self.second is None or verdict.outcome is Outcome.WAKE:
            return True
        if verdict.outcome is Outcome.DROP or transcript is None:
            return False
        return self.second.settled(verdict, transcript)

    def report(self, verdict: WakeVerdict, ok: bool | None = None, heard: str = "") -> None:
        ok = verdict.outcome is Outcome.WAKE if ok is None else ok
        if not ok:
            _LOGGER.info("wake word not confirmed (%s, score %.2f below %.2f%s): ignored",
                         verdict.outcome, verdict.score, verdict.threshold,
                         f", then {heard!r}" if heard else "")
        self.bus.emit(EventType.WAKE_CHECK, ok=ok, how=verdict.outcome.value, heard=heard,
                      **{k: v for k, v in verdict.to_json().items() if k != "outcome"})
