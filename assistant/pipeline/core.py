"""The one place that knows the order of the stages.

mic -> wake gate (first stage, second stage) -> command recording (VAD + level endpointing,
speculative transcripts) -> turn (final transcript, brain, actions + TTS) -> speaker

The loop runs on the thread that reads audio and never waits for a model when it is fed in real
time: speech recognition, the wake word's second stage and the brain run on worker threads, the
reply plays on the player's thread. So the loop keeps deciding the end of speech while a
transcript is computed, and keeps listening for the wake word while a reply plays (barge-in).
Everything a LED, a log or a benchmark wants to know is emitted as an event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import zip_longest

from assistant.audio.chunk import AudioChunk
from assistant.events import EventBus, EventType
from assistant.pipeline.command import Command
from assistant.pipeline.fast_path import FastPath
from assistant.pipeline.speech import Speech
from assistant.pipeline.stages import Mode, Stages, Trigger, WakeStart
from assistant.pipeline.turn import Turns
from assistant.pipeline.wake_gate import WakeGate
from assistant.vad import (
    MIN_LEVEL_SPEECH_MS,
    UNHEARD_SPEECH_MS,
    Decision,
    LevelMeter,
    NoiseGate,
    level_endpointer,
)
from assistant.wake import Refractory

_LOGGER = logging.getLogger(__name__)

MUTE_AFTER_REPLY_MS = 300
"""The mic is ignored this long after the assistant's own sound stops (room echo)."""


class Pipeline:
    def __init__(self, stages: Stages, bus: EventBus, refractory: Refractory, *,
                 vad_threshold: float = 0.5, realtime: bool = True, barge_in: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.s = stages
        self.bus = bus
        self.vad_threshold = vad_threshold
        self.realtime = realtime
        """True when audio time follows the wall clock (a microphone, or a paced file)."""
        self.barge_in = barge_in
        self.clock = clock
        self.on_chunk: Callable[[], None] = lambda: None
        """Called once per chunk (the systemd watchdog ping lives here)."""
        self.mode = Mode.IDLE
        self.muted = False
        self.gate = WakeGate(stages.wake, stages.second_stage, refractory, bus, self._lag_ms,
                             stages.arbiter)
        self.fast = FastPath(stages.grammar, realtime) if stages.grammar is not None else None
        self.speech = Speech(stages, clock, realtime, self.fast)
        self.turns = Turns(stages, bus, self.gate, self.speech, self._lag_ms, clock, realtime)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brain")
        self._listen_requested = threading.Event()
        self._command: Command | None = None
        self._meter = LevelMeter()
        self._noise = NoiseGate()
        """Learns the background level while idle, so a command's end is judged against it."""
        self._turn: Future[None] | None = None
        self._mute_until_ms = 0.0
        self._wall0: float | None = None
        self._audio0_ms = 0.0
        self._played_before_ms = 0.0

    # -- controls (any thread) ---------------------------------------------------------------
    def request_listen(self) -> None:
        """Start a command without the wake word (push-to-talk, or a turn asked for remotely)."""
        self._listen_requested.set()

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.bus.emit(EventType.STATE, state="muted" if muted else "idle")

    def stop_speaking(self) -> None:
        self.turns.cancel.set()
        self.s.player.stop()

    def note_action(self) -> None:
        """Called by the executor wrapper right after a device changed (GPIO latency)."""
        self.turns.note_action()

    # -- the loop ----------------------------------------------------------------------------
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
            if self.mode is Mode.RECORDING and self._command is not None:
                # The audio ended mid-command (a file, a service stopping): the wake word's
                # verdict is still reported, as after a time-out.
                self.gate.settle(self._command)
            if self._turn is not None:
                self._turn.result()
            self.s.player.wait_idle()
        finally:
            self.speech.close()
            self.gate.close()
            if self.fast is not None:
                self.fast.close()
            self._worker.shutdown(wait=True)

    def process(self, chunk: AudioChunk) -> None:
        if self.mode is Mode.BUSY:
            self._while_busy(chunk)
        if self.muted:
            if self.mode is Mode.RECORDING:
                self._back_to_idle(chunk.end_ms)
            return
        if self.mode is Mode.IDLE:
            if self._listen_requested.is_set() and chunk.end_ms > self._mute_until_ms:
                self._listen_requested.clear()
                self._start_command(chunk.end_ms, Trigger.BUTTON)
            elif chunk.end_ms > self._mute_until_ms:
                for level in self._meter.process(chunk.audio):
                    self._noise.listen(level)
                start = self.gate.listen(chunk)
                if start is not None:
                    self._start_command(chunk.end_ms, Trigger.WAKE, start)
        elif self.mode is Mode.RECORDING and self._command is not None:
            heard = not (self.realtime and self.s.player.busy)
            if not heard:
                # The assistant's own sound (the wake chime) is not part of the command.
                chunk = AudioChunk(bytes(len(chunk.audio)), chunk.timestamp_ms)
            self._record(chunk, self._command, heard)

    def _lag_ms(self, audio_ms: float) -> float:
        """How long ago, in wall time, the given audio time happened (meaningful in real time)."""
        if self._wall0 is None:
            return 0.0
        return (self.clock() - self._wall0) * 1000.0 - (audio_ms - self._audio0_ms)

    def _start_command(self, t_ms: float, trigger: Trigger, start: WakeStart | None = None) -> None:
        # An unsure detection is listened to in silence (the LED shows it): a chime for every
        # near-miss would be a false wake to the ear, and one played once the second stage
        # agrees would land on the command's first word.
        chime = start is None or self.gate.chimes(start)
        self.bus.emit(EventType.LISTENING, trigger=trigger.value, audio_ms=round(t_ms, 1), chime=chime)
        self.bus.emit(EventType.STATE, state="listening")
        self.s.vad.reset()
        self._meter.reset()
        self._noise.start()
        endpointer = self.s.make_endpointer()
        cmd = Command(endpointer, level_endpointer(endpointer.config, self._noise.delay_ms),
                      wake=self.gate.pending(start) if start is not None else None,
                      after_wake=start is not None,
                      answering=self.turns.yes_no and start is None)
        self.turns.yes_no = False
        if self.fast is not None and not cmd.answering:
            # The answer to a yes/no question stays with the transcriber's own check of it.
            cmd.grammar = self.fast.begin(start.window if start is not None else b"")
        cmd.endpointer.start(t_ms)
        cmd.level.start(t_ms)
        self._command = cmd
        self.mode = Mode.RECORDING

    def _while_busy(self, chunk: AudioChunk) -> None:
        """While thinking or speaking, only the wake word counts: it interrupts the reply."""
        turn_done = self._turn is None or self._turn.done()
        if turn_done and not self.s.player.busy:
            self._turn_finished(chunk)
            return
        if self.barge_in:
            start = self.gate.listen(chunk)
            if start is not None:
                self.stop_speaking()
                self._start_command(chunk.end_ms, Trigger.WAKE, start)

    # -- recording ---------------------------------------------------------------------------
    def _record(self, chunk: AudioChunk, cmd: Command, heard: bool) -> None:
        cmd.audio += chunk.audio
        self.gate.hear(cmd, chunk)
        if cmd.wake is not None and cmd.wake.rejected():
            # Rejected while the command is still being spoken: stop listening now, not at
            # its end (the LED goes out within a second of a near-miss).
            self.gate.settle(cmd)
            self._back_to_idle(chunk.end_ms)
            return
        t_ms = chunk.timestamp_ms
        levels = self._meter.process(chunk.audio)
        for probability, level in zip_longest(self.s.vad.process(chunk.audio), levels):
            t_ms += 10.0
            if probability is None:
                break
            decision = cmd.endpointer.feed(probability >= self.vad_threshold, t_ms)
            if decision is Decision.SPEECH_STARTED:
                self.bus.emit(EventType.SPEECH_START, audio_ms=round(t_ms, 1))
            elif decision is Decision.SHORT_PAUSE:
                self._pause(cmd)
            elif decision is Decision.TIMEOUT:
                self.bus.emit(EventType.TIMEOUT, audio_ms=round(t_ms, 1))
                self.gate.settle(cmd)
                self._back_to_idle(chunk.end_ms)
                return
            elif decision is Decision.END:
                self._end_of_speech(cmd, chunk, cmd.endpointer.end_reason or "silence")
                return
            if level is not None and self._level_ended(cmd, level, t_ms, heard):
                self._end_of_speech(cmd, chunk, "level")
                return
        if self.fast is not None:
            self.fast.hear(cmd)
            settled = self.fast.poll(cmd)
            if settled == "end":
                self._end_of_speech(cmd, chunk, "grammar")
                return
            if settled == "reject":
                self.speech.speculate(cmd)  # the grammar's peek did not stand: whisper's turn
        if (cmd.speculative_due and cmd.speculative is not None and cmd.speculative.done()
                and not cmd.level.in_speech):
            self.speech.speculate(cmd)
        if self.speech.complete(cmd):
            self._end_of_speech(cmd, chunk, "speculative")

    def _pause(self, cmd: Command) -> None:
        """A short pause: the grammar's result so far, if it has one to give, else (or once the
        grammar rejects it, see ``FastPath.poll``) whisper's speculative transcript."""
        if self.fast is None or not self.fast.peek(cmd):
            self.speech.speculate(cmd)

    def _level_ended(self, cmd: Command, level_db: float, t_ms: float, heard: bool) -> bool:
        """True when the level has been back at the background for silence_s after speech.

        Only after loudness long enough to be a command, and once the VAD has confirmed speech
        or, if the VAD never did (a voice it does not know, in loud steady noise), after a wake
        word, loudness long enough that it is no wake word's tail (UNHEARD_SPEECH_MS); anything
        else (a burst of babble) starts the count afresh. Without a wake word (a button, the
        answer to a question) there is no tail to fear: a short "No." in noise, which the VAD
        may never call speech, must still end.
        """
        loud = self._noise.feed(level_db)
        cmd.loud.append(loud)
        cmd.heard.append(heard)
        decision = cmd.level.feed(loud, t_ms)
        if decision is Decision.WAITING or decision is Decision.SPEECH_STARTED:
            return False
        if decision is Decision.SHORT_PAUSE:
            if cmd.endpointer.started:
                self._pause(cmd)
            return False
        lv = cmd.level
        spoke_ms = lv.speech_end_ms - (lv.speech_start_ms or lv.speech_end_ms)
        needed = (MIN_LEVEL_SPEECH_MS if cmd.endpointer.started or not cmd.after_wake
                  else UNHEARD_SPEECH_MS)
        if decision is Decision.END and lv.end_reason == "silence" and spoke_ms >= needed:
            return True
        lv.start(t_ms)  # a timeout, a cap, or too little: the VAD decides those
        return False

    # -- answering ---------------------------------------------------------------------------
    def _end_of_speech(self, cmd: Command, chunk: AudioChunk, reason: str) -> None:
        self.gate.submit(cmd)  # a command shorter than the check's tail
        speech_end_ms = cmd.speech_end_ms()
        self.turns.speech_end_ms = speech_end_ms
        self.bus.emit(EventType.END_OF_SPEECH, reason=reason, audio_ms=round(speech_end_ms, 1),
                      decided_audio_ms=round(chunk.end_ms, 1),
                      lag_ms=round(self._lag_ms(speech_end_ms), 1))
        self.bus.emit(EventType.STATE, state="thinking")
        self.mode = Mode.BUSY
        self._command = None
        self.turns.cancel.clear()
        self._played_before_ms = self.s.player.played_ms
        timings = {"end_of_speech_ms": chunk.end_ms - speech_end_ms}
        self._turn = self._worker.submit(self.turns.take, cmd, speech_end_ms, timings)
        if not self.realtime:
            self._turn.result()
            self.s.player.wait_idle()

    def _turn_finished(self, chunk: AudioChunk) -> None:
        if self.realtime:
            end_ms = chunk.end_ms
        else:
            # From a file fed as fast as possible, skip as much audio as the reply would have
            # taken to play: that is what the microphone would have heard while speaking.
            end_ms = chunk.end_ms + self.s.player.played_ms - self._played_before_ms
        self._back_to_idle(end_ms)
        if self.turns.follow_up:
            self.turns.follow_up = False
            self._listen_requested.set()

    def _back_to_idle(self, t_ms: float) -> None:
        if self.fast is not None and self._command is not None:
            self.fast.cancel(self._command.grammar)
        self.mode = Mode.IDLE
        self._command = None
        self._turn = None
        self.gate.reset()
        self.s.vad.reset()
        # What the mic heard while the assistant spoke is its own voice: skip an echo tail too.
        self._mute_until_ms = t_ms + MUTE_AFTER_REPLY_MS
        self.bus.emit(EventType.STATE, state="idle")
        self.bus.emit(EventType.DONE)
