"""The wake gate: the first stage on every chunk while idle, and the second stage's verdict on
each detection, weighed on a thread of its own while the command is already being recorded;
then, when other appliances may have heard it too, the arbiter's word on which one answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.events import EventBus, EventType
from assistant.pipeline.command import Command, PendingWake
from assistant.pipeline.stages import Arbiter, SecondStage, WakeStart
from assistant.wake import Outcome, Refractory, WakeDetector, WakeVerdict

_LOGGER = logging.getLogger(__name__)


class WakeGate:
    def __init__(self, detector: WakeDetector, second: SecondStage | None, refractory: Refractory,
                 bus: EventBus, lag_ms: Callable[[float], float], arbiter: Arbiter | None = None):
        self.detector = detector
        self.second = second
        self.arbiter = arbiter
        self.refractory = refractory
        self.bus = bus
        self.lag_ms = lag_ms
        self._recent = bytearray()
        """The second stage's (or the arbiter's) window of audio heard while waiting for the wake word."""
        # Its own thread: queued with the command's transcripts, the check would hold back the
        # speculative end of speech.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wake")

    @property
    def _window_ms(self) -> float:
        return max(0.0 if self.second is None else self.second.window_ms,
                   0.0 if self.arbiter is None else self.arbiter.window_ms)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    def reset(self) -> None:
        self.detector.reset()

    def listen(self, chunk: AudioChunk) -> WakeStart | None:
        """The first stage on one chunk; a detection outside the refractory window starts a
        command (with the audio before it, when a second stage will weigh it)."""
        if self._window_ms > 0:
            self._recent += chunk.audio
            del self._recent[:-int(self._window_ms * BYTES_PER_MS)]
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
        if self.arbiter is not None and self.arbiter.shared():
            return False  # only the appliance that answers makes a sound
        return self.second is None or self.second.chimes(start.detection.probability)

    def pending(self, start: WakeStart) -> PendingWake | None:
        return PendingWake(start) if self.second is not None or self.arbiter is not None else None

    def hear(self, cmd: Command, chunk: AudioChunk) -> None:
        """A chunk of the command: the noisy-room model hears the window's tail too (its
        embeddings are evidence), and once the tail is complete the check is handed it."""
        wake = cmd.wake
        if wake is None or wake.check is not None:
            return
        if self.second is None:
            self.submit(cmd)  # the arbiter alone: nothing to wait for
            return
        hear = getattr(self.detector, "hear", None)
        if hear is not None:
            hear(chunk)
        if len(cmd.audio) >= self.second.tail_ms * BYTES_PER_MS:
            self.submit(cmd)

    def submit(self, cmd: Command) -> None:
        """Hand the window and its tail (as much as there is) to the second stage, and the
        wake word to the arbiter after it."""
        wake, second = cmd.wake, self.second
        if wake is None or wake.check is not None:
            return
        if second is None:
            wake.check = self._worker.submit(self._weigh, wake, None)
            return
        window = wake.start.window[-int(second.window_ms * BYTES_PER_MS):]
        tail = bytes(cmd.audio[:int(second.tail_ms * BYTES_PER_MS)])
        at = wake.start.detection.timestamp_ms
        between = getattr(self.detector, "embeddings_between", None)
        embeddings = None if between is None else between(at - second.window_ms, at + second.tail_ms)
        wake.paused = cmd.paused()
        detection, paused = wake.start.detection, wake.paused
        wake.check = self._worker.submit(
            self._weigh, wake, lambda: second.check(window + tail, detection, paused, embeddings))

    def _weigh(self, wake: PendingWake, check: Callable[[], WakeVerdict] | None) -> WakeVerdict | None:
        """On the wake worker: the second stage's verdict, then, if it wakes, the arbiter's."""
        verdict = None if check is None else check()
        if verdict is None or verdict.outcome is Outcome.WAKE:
            self._arbitrate(wake)
        return verdict

    def _arbitrate(self, wake: PendingWake) -> None:
        if self.arbiter is None or wake.answers is not None:
            return
        started = time.monotonic()
        try:
            wake.answers = self.arbiter.answers(wake.start.detection, wake.start.window)
        except Exception:  # a broken link must not lose the wake word: answer alone
            _LOGGER.exception("wake arbitration failed; answering")
            wake.answers = True
        wake.arbitration_ms = (time.monotonic() - started) * 1000.0

    def settle(self, cmd: Command) -> None:
        """No command followed the wake word (a time-out, the audio's end): the verdict is still
        reported, now or, on the wake worker, once it is in."""
        self.submit(cmd)
        wake = cmd.wake
        if wake is None or wake.check is None:
            return

        def report(done: Future[WakeVerdict | None]) -> None:
            if done.exception() is None:
                self.report(done.result(), wake=wake)

        wake.check.add_done_callback(report)  # runs at once, here, when the verdict is in

    def verdict(self, cmd: Command) -> WakeVerdict | None:
        """The second stage's verdict and the arbiter's answer (waiting for them); None without
        a second stage."""
        self.submit(cmd)
        wake = cmd.wake
        if wake is None or wake.check is None:
            return None
        started = time.monotonic()
        verdict = wake.check.result()
        wake.waited_ms = (time.monotonic() - started) * 1000.0
        return verdict

    def decided(self, cmd: Command, verdict: WakeVerdict | None) -> bool:
        """Reported: whether a verdict that is not borderline (or none) lets this appliance answer."""
        wake = cmd.wake
        self.report(verdict, wake=wake)
        return (verdict is None or verdict.outcome is Outcome.WAKE) and (
            wake is None or wake.answers is not False)

    def answers(self, cmd: Command) -> bool:
        """The arbiter's answer for a borderline wake that the command's transcript let stand."""
        if cmd.wake is None:
            return True
        self._arbitrate(cmd.wake)
        return cmd.wake.answers is not False

    def stands(self, verdict: WakeVerdict, transcript: str | None) -> bool:
        """Whether the wake stands; a borderline verdict needs the command's transcript."""
        if self.second is None or verdict.outcome is Outcome.WAKE:
            return True
        if verdict.outcome is Outcome.DROP or transcript is None:
            return False
        return self.second.settled(verdict, transcript)

    def report(self, verdict: WakeVerdict | None, ok: bool | None = None, heard: str = "",
               wake: PendingWake | None = None) -> None:
        """The WAKE_CHECK event: the second stage's verdict and, when asked, the arbiter's
        (``how: "arbitration"`` when another appliance answers)."""
        if verdict is None and (wake is None or wake.answers is None):
            return  # neither a second stage nor an arbiter had a say
        lost = wake is not None and wake.answers is False
        if ok is None:
            ok = verdict is None or verdict.outcome is Outcome.WAKE
        fields = {} if verdict is None else {k: v for k, v in verdict.to_json().items() if k != "outcome"}
        if wake is not None and wake.answers is not None:
            fields["arbitration_ms"] = round(wake.arbitration_ms, 1)
        if wake is not None and wake.waited_ms is not None:
            fields["wait_ms"] = round(wake.waited_ms, 1)  # what the verdicts added to the turn
        if lost:
            _LOGGER.info("wake word: another appliance answers it; back to idle")
        elif not ok and verdict is not None:
            _LOGGER.info("wake word not confirmed (%s, score %.2f below %.2f%s): ignored",
                         verdict.outcome, verdict.score, verdict.threshold,
                         f", then {heard!r}" if heard else "")
        how = "arbitration" if lost or verdict is None else verdict.outcome.value
        self.bus.emit(EventType.WAKE_CHECK, ok=ok and not lost, how=how, heard=heard, **fields)
