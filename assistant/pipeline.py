"""The one module that knows the order of the stages.

mic -> wake -> endpoint (VAD) -> STT -> brain (router) -> actions + TTS -> speaker

It runs synchronously on the thread that reads audio; speech recognition runs on a worker thread
so that the loop keeps reading (and deciding the end of speech) while a speculative transcript is
computed. Everything a LED, a log or a benchmark wants to know is emitted as an event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.brain.types import Answer
from assistant.events import EventBus, EventType
from assistant.vad import Decision, Endpointer, MicroVadScorer
from assistant.wake import Refractory, WakeDetector

_LOGGER = logging.getLogger(__name__)

PRE_ROLL_MS = 300
"""Audio kept from before the end of the wake word, so a fast speaker's first word is not cut."""
MUTE_AFTER_REPLY_MS = 300
"""The mic is ignored this long after the assistant's own sound stops (room echo)."""


class Brain(Protocol):
    def answer(self, text: str, say: Callable[[str], None]) -> Answer: ...


class Transcriber(Protocol):
    def transcribe(self, pcm: bytes, prompt: str | None = None) -> object: ...


class Synthesizer(Protocol):
    sample_rate: int

    def synthesize(self, text: str) -> Iterable[bytes]: ...


class Sink(Protocol):
    def play(self, pcm: bytes, rate: int) -> None: ...


@dataclass
class Stages:
    wake: WakeDetector
    vad: MicroVadScorer
    transcriber: Transcriber
    brain: Brain
    synthesizer: Synthesizer
    sink: Sink
    make_endpointer: Callable[[], Endpointer]
    is_complete_command: Callable[[str], bool] = lambda _text: False
    normalize: Callable[[str], str] = lambda text: text
    stt_prompt: str | None = None


@dataclass
class _Command:
    """The command being recorded after a wake word."""

    wake_ms: float
    endpointer: Endpointer
    audio: bytearray = field(default_factory=bytearray)
    speculative: Future[object] | None = None
    speculative_bytes: int = 0


class Pipeline:
    def __init__(
        self,
        stages: Stages,
        bus: EventBus,
        refractory: Refractory,
        *,
        vad_threshold: float = 0.5,
        realtime: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.s = stages
        self.bus = bus
        self.refractory = refractory
        self.vad_threshold = vad_threshold
        self.realtime = realtime
        """True when audio time follows the wall clock (a microphone, or a paced file)."""
        self.clock = clock
        self._speech_end_ms = 0.0
        self._action_lags: list[float] = []
        self._stt = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")
        self._command: _Command | None = None
        self._pre_roll = bytearray()
        self._mute_until_ms = 0.0
        self._reply_audio_ms = 0.0
        self._busy_since = 0.0
        self._wall0: float | None = None
        self._audio0_ms = 0.0
        self.on_chunk: Callable[[], None] = lambda: None
        """Called once per chunk (the systemd watchdog ping lives here)."""

    # -- time -------------------------------------------------------------------------------
    def _lag_ms(self, audio_ms: float) -> float:
        """How long ago, in wall time, the given audio time happened (meaningful in real time)."""
        if self._wall0 is None:
            return 0.0
        return (self.clock() - self._wall0) * 1000.0 - (audio_ms - self._audio0_ms)

    # -- the loop ---------------------------------------------------------------------------
    def run(self, source: Iterable[AudioChunk]) -> None:
        self.bus.emit(EventType.READY)
        self.bus.emit(EventType.STATE, state="idle")
        try:
            for chunk in source:
                if self._wall0 is None:
                    self._wall0 = self.clock()
                    self._audio0_ms = chunk.timestamp_ms
                self.on_chunk()
                self.process(chunk)
        finally:
            self._stt.shutdown(wait=True)

    def process(self, chunk: AudioChunk) -> None:
        if chunk.end_ms <= self._mute_until_ms:
            return
        if self._command is None:
            self._listen_for_wake(chunk)
        else:
            self._record(chunk, self._command)

    def _listen_for_wake(self, chunk: AudioChunk) -> None:
        self._pre_roll += chunk.audio
        excess = len(self._pre_roll) - PRE_ROLL_MS * BYTES_PER_MS
        if excess > 0:
            del self._pre_roll[:excess]
        detection = self.s.wake.process(chunk)
        if detection is None or not self.refractory.allow(detection.timestamp_ms):
            return
        self.bus.emit(
            EventType.WAKE,
            name=detection.name,
            audio_ms=round(detection.timestamp_ms, 1),
            lag_ms=round(self._lag_ms(chunk.end_ms), 1),
        )
        self.bus.emit(EventType.STATE, state="listening")
        self.s.vad.reset()
        self._command = _Command(wake_ms=detection.timestamp_ms, endpointer=self.s.make_endpointer())
        self._command.endpointer.start(chunk.end_ms)

    def _record(self, chunk: AudioChunk, cmd: _Command) -> None:
        cmd.audio += chunk.audio
        frame_ms = 10.0
        t_ms = chunk.timestamp_ms
        for probability in self.s.vad.process(chunk.audio):
            t_ms += frame_ms
            decision = cmd.endpointer.feed(probability >= self.vad_threshold, t_ms)
            if decision is Decision.SPEECH_STARTED:
                self.bus.emit(EventType.SPEECH_START, audio_ms=round(t_ms, 1))
            elif decision is Decision.SHORT_PAUSE:
                self._start_speculative(cmd)
            elif decision is Decision.TIMEOUT:
                self.bus.emit(EventType.TIMEOUT, audio_ms=round(t_ms, 1))
                self._finish(chunk)
                return
            elif decision is Decision.END:
                self._end_of_speech(cmd, chunk, reason=cmd.endpointer.end_reason or "silence")
                return
        if self._speculative_complete(cmd):
            self._end_of_speech(cmd, chunk, reason="speculative")

    # -- speech recognition -----------------------------------------------------------------
    def _start_speculative(self, cmd: _Command) -> None:
        if cmd.speculative is not None and cmd.speculative_bytes == len(cmd.audio):
            return
        cmd.speculative_bytes = len(cmd.audio)
        cmd.speculative = self._stt.submit(self._transcribe, bytes(cmd.audio))

    def _speculative_complete(self, cmd: _Command) -> bool:
        """A finished speculative transcript that is a whole command ends listening early."""
        future = cmd.speculative
        if future is None or not future.done() or cmd.endpointer.in_speech:
            return False
        text = future.result()
        assert isinstance(text, _Timed)
        return bool(text.text) and self.s.is_complete_command(text.text)

    def _transcribe(self, pcm: bytes) -> _Timed:
        started = self.clock()
        result = self.s.transcriber.transcribe(pcm, prompt=self.s.stt_prompt)
        raw = str(getattr(result, "text", result)).strip()
        return _Timed(self.s.normalize(raw), raw, (self.clock() - started) * 1000.0)

    def _final_transcript(self, cmd: _Command) -> _Timed:
        """Reuse the speculative transcript when nothing but silence came after it."""
        speech_end_bytes = int((cmd.endpointer.speech_end_ms - self._command_start_ms(cmd)) * BYTES_PER_MS)
        future = cmd.speculative
        if future is not None and cmd.speculative_bytes >= speech_end_bytes:
            waited = self.clock()
            timed = future.result()
            assert isinstance(timed, _Timed)
            timed.wait_ms = (self.clock() - waited) * 1000.0
            return timed
        waited = self.clock()
        timed = self._stt.submit(self._transcribe, bytes(cmd.audio)).result()
        timed.wait_ms = (self.clock() - waited) * 1000.0
        return timed

    def _command_start_ms(self, cmd: _Command) -> float:
        return cmd.endpointer.start_ms

    # -- answering --------------------------------------------------------------------------
    def _end_of_speech(self, cmd: _Command, chunk: AudioChunk, reason: str) -> None:
        speech_end_ms = cmd.endpointer.speech_end_ms
        self.bus.emit(
            EventType.END_OF_SPEECH,
            reason=reason,
            audio_ms=round(speech_end_ms, 1),
            decided_audio_ms=round(chunk.end_ms, 1),
            lag_ms=round(self._lag_ms(speech_end_ms), 1),
        )
        self.bus.emit(EventType.STATE, state="thinking")
        self._busy_since = self.clock()
        timed = self._final_transcript(cmd)
        timings = {
            "end_of_speech_ms": chunk.end_ms - speech_end_ms,
            "stt_ms": timed.stt_ms,
            "stt_wait_ms": timed.wait_ms,
        }
        self.bus.emit(
            EventType.TRANSCRIPT,
            text=timed.text,
            raw=timed.raw,
            lag_ms=round(self._lag_ms(speech_end_ms), 1),
        )
        if timed.text:
            self._answer(timed.text, speech_end_ms, timings)
        self._finish(chunk)

    def _answer(self, text: str, speech_end_ms: float, timings: dict[str, float]) -> None:
        first_audio: list[float] = []

        def say(sentence: str) -> None:
            self.bus.emit(EventType.STATE, state="speaking")
            for pcm in self.s.synthesizer.synthesize(sentence):
                if not first_audio:
                    first_audio.append(self._lag_ms(speech_end_ms))
                    self.bus.emit(EventType.SPEAKING, lag_ms=round(first_audio[0], 1))
                self.s.sink.play(pcm, self.s.synthesizer.sample_rate)
                self._reply_audio_ms += len(pcm) / 2 / self.s.synthesizer.sample_rate * 1000.0

        self._speech_end_ms = speech_end_ms
        self._action_lags = []
        started = self.clock()
        answer = self.s.brain.answer(text, say)
        timings["brain_ms"] = (self.clock() - started) * 1000.0
        if first_audio:
            timings["first_audio_lag_ms"] = first_audio[0]
        if self._action_lags:
            timings["action_lag_ms"] = self._action_lags[0]
        answer.timings_ms = {**timings, **answer.timings_ms}
        self.bus.emit(EventType.INTENT, intent=answer.intent, slots=answer.to_json()["slots"])
        if answer.results:
            self.bus.emit(
                EventType.ACTIONS,
                actions=[r.to_json() for r in answer.results],
                lag_ms=round(self._action_lags[0], 1) if self._action_lags else None,
            )
        self.bus.emit(EventType.REPLY, **answer.to_json())

    def note_action(self) -> None:
        """Called by the executor wrapper right after a device changed (GPIO latency)."""
        self._action_lags.append(self._lag_ms(self._speech_end_ms))

    def _finish(self, chunk: AudioChunk) -> None:
        self._command = None
        self._pre_roll.clear()
        self.s.wake.reset()
        self.s.vad.reset()
        # What the mic hears while the assistant thinks and speaks is stale or its own voice:
        # skip it, plus an echo tail. In real time that is the wall time spent; from a file fed
        # as fast as possible, the length of the reply is what a speaker would have taken.
        if self.realtime:
            busy_ms = (self.clock() - self._busy_since) * 1000.0 if self._busy_since else 0.0
        else:
            busy_ms = self._reply_audio_ms
        self._mute_until_ms = chunk.end_ms + busy_ms + MUTE_AFTER_REPLY_MS
        self._busy_since = 0.0
        self._reply_audio_ms = 0.0
        self.bus.emit(EventType.STATE, state="idle")
        self.bus.emit(EventType.DONE)


@dataclass
class _Timed:
    text: str
    raw: str
    stt_ms: float
    wait_ms: float = 0.0
