"""The one module that knows the order of the stages.

mic -> wake -> endpoint (VAD) -> STT -> brain (router) -> actions + TTS -> speaker

The loop runs on the thread that reads audio and never waits for a model when it is fed in real
time: speech recognition and the brain run on worker threads, the reply plays on the player's
thread. So the loop keeps deciding the end of speech while a speculative transcript is computed,
and keeps listening for the wake word while a reply plays (barge-in). Everything a LED, a log or
a benchmark wants to know is emitted as an event.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Protocol

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.audio.player import Player
from assistant.brain.repair import lost_prefix
from assistant.brain.types import Answer
from assistant.events import EventBus, EventType
from assistant.stt import Transcriber, Transcript
from assistant.tts import Synthesizer
from assistant.vad import (
    MIN_LEVEL_SPEECH_MS,
    UNHEARD_SPEECH_MS,
    Decision,
    Endpointer,
    LevelMeter,
    MicroVadScorer,
    NoiseGate,
    level_endpointer,
    paused_after_wake,
    wake_tail_ms,
)
from assistant.wake import WAKE_WINDOW_MS, Refractory, WakeCheck, WakeDetector

WAKE_PRIME_EVERY_MS = 500.0
"""How often the second stage is handed the tail so far (see ``Pipeline._prime_wake``)."""

_LOGGER = logging.getLogger(__name__)

MUTE_AFTER_REPLY_MS = 300
"""The mic is ignored this long after the assistant's own sound stops (room echo)."""


class Brain(Protocol):
    def answer(self, text: str, say: Callable[[str], None],
               confidence: float | None = None, doubt: str | None = None) -> Answer: ...


class SecondStage(Protocol):
    """The wake word's second stage (``assistant.wake.WakeVerifier``)."""

    tail_ms: float
    """How much of the command it hears after the wake window."""

    def check(self, pcm: bytes, probability: float, paused: bool,
              noisy: float | None = None, tail_bytes: int | None = None) -> WakeCheck:
        """The verdict on the wake window and the tail (audio, first-stage probability,
        whether the speaker paused after the wake word: ``vad.paused_after_wake``, the
        noisy-room model's probability when it alone fired: ``WakeDetection.noisy``, and how
        much of the audio is the tail)."""
        ...

    def prime(self, window: bytes) -> None:
        """Start on the wake window while the tail is still being spoken."""
        ...

    def chimes(self, probability: float) -> bool:
        """Whether a detection is sure enough for the wake chime before the verdict."""
        ...

    def spoken_to(self, text: str, paused: bool, lenient: bool = False,
                  home_only: bool = False) -> bool:
        """Whether a command's transcript reads as a request to the assistant, for a wake that
        needs one (``WakeCheck.needs_request``); ``paused`` as for ``check``, ``lenient`` and
        ``home_only`` as the check found (``WakeCheck.lenient``, ``WakeCheck.cut_short``)."""
        ...


@dataclass
class Stages:
    wake: WakeDetector
    vad: MicroVadScorer
    transcriber: Transcriber
    brain: Brain
    synthesizer: Synthesizer
    player: Player
    make_endpointer: Callable[[], Endpointer]
    is_complete_command: Callable[[str], bool] = lambda _text: False
    normalize: Callable[[str], str] = lambda text: text
    stt_prompt: str | None = None
    second_stage: SecondStage | None = None
    """The wake word's second stage; None trusts the detector."""
    recheck: Callable[[bytes, Transcript], Transcript] | None = None
    """A second look at the final transcript against its audio (``assistant.recheck``)."""
    recheck_answer: Callable[[bytes, Transcript], Transcript] | None = None
    """The same for the answer to a yes/no question (``Recheck.answer``)."""


class Mode(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    BUSY = "busy"
    """Transcribing, thinking or speaking; only the wake word (barge-in) is listened for."""


@dataclass
class _Timed:
    heard: Transcript
    text: str
    """The transcript normalized for the brain ("20%" -> "20 percent")."""
    pcm: bytes
    """The audio it was made from (the recheck weighs commands against it)."""
    stt_ms: float
    wait_ms: float = 0.0


@dataclass
class _Command:
    """The command being recorded after a wake word (or a button press)."""

    endpointer: Endpointer
    """Speech by the VAD."""
    level: Endpointer
    """Speech by loudness above the background (NoiseGate): ends a command in babble or TV noise,
    where the VAD never hears silence, and sees a pause long before the VAD does."""
    audio: bytearray = field(default_factory=bytearray)
    speculative: Future[_Timed] | None = None
    speculative_bytes: int = 0
    speculative_due: bool = False
    """A pause came while an older speculative transcript was still running: a new one starts
    as soon as that one is done, not at the next pause (which may be the end itself)."""
    wake_audio: bytes | None = None
    """What came before the wake detection, for the second stage, until it is submitted."""
    wake_probability: float = 1.0
    wake_noisy: float | None = None
    """``WakeDetection.noisy``: only the noisy-room model fired."""
    wake_check: Future[WakeCheck] | None = None
    wake_paused: bool = True
    """Whether the speaker paused after the wake word, as the wake check was told."""
    primed_bytes: int = -1
    """How much of the command the second stage was last primed with (-1: not yet)."""
    after_wake: bool = False
    answering: bool = False
    """The answer to the assistant's yes/no question ("Unlock the front door?")."""
    loud: list[bool] = field(default_factory=list)
    """The NoiseGate's decision for each 10 ms frame of ``audio``."""
    heard: list[bool] = field(default_factory=list)
    """For each frame, whether the microphone was heard (not zeroed under the wake chime)."""

    def paused(self) -> bool:
        """Whether the speaker paused after the wake word (``paused_after_wake``). The audio
        zeroed under the wake chime counts as what the microphone heard next: quiet when the
        pause goes on after the chime, loud when talk does. A near-miss said on through the
        chime ("Okay Nana, I'll call you back") must not read as paused, nor a real pause that
        the chime covered half of as none."""
        frames: list[bool] = []
        then = False  # a chime still playing: nothing heard after it yet
        for loud, heard in zip(reversed(self.loud), reversed(self.heard), strict=True):
            then = loud if heard else then
            frames.append(then)
        return paused_after_wake(frames[::-1])

    def tail_ms(self) -> float:
        """How much of ``audio`` is the wake word's end (``wake_tail_ms``)."""
        return wake_tail_ms(self.loud) if self.after_wake else 0.0

    def level_saw_end(self) -> bool:
        return self.level.started and not self.level.in_speech

    def speech_end_ms(self) -> float:
        """Audio time at which the speech so far ended. The level falls at once; the VAD lags by
        a hangover it can only guess (and in babble never lets go): when the level has seen the
        end, it knows better (the VAD's was 20 ms past it in one traced command)."""
        return self.level.speech_end_ms if self.level_saw_end() else self.endpointer.speech_end_ms

    def heard_all(self) -> bool:
        """Whether the speculative transcript's audio holds all the speech so far."""
        speaking = not self.level_saw_end() and self.endpointer.in_speech
        return not speaking and self.speech_end_ms() <= self.snapshot_ms

    def began_in_speech(self) -> bool:
        """After a wake word, whether the command's audio begins loud: the wake word was not
        over at the detection, or the command ran straight on from it (see ``wake_tail_ms``)."""
        return self.after_wake and any(self.loud[:3])

    def spoken(self) -> bytes:
        """The audio to transcribe: after a wake word, without its tail."""
        return bytes(self.audio[int(self.tail_ms() * BYTES_PER_MS):])

    @property
    def snapshot_ms(self) -> float:
        """Audio time up to which the speculative transcript has heard the command."""
        return self.endpointer.start_ms + self.speculative_bytes / BYTES_PER_MS


class Pipeline:
    def __init__(
        self,
        stages: Stages,
        bus: EventBus,
        refractory: Refractory,
        *,
        vad_threshold: float = 0.5,
        realtime: bool = True,
        barge_in: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.s = stages
        self.bus = bus
        self.refractory = refractory
        self.vad_threshold = vad_threshold
        self.realtime = realtime
        """True when audio time follows the wall clock (a microphone, or a paced file)."""
        self.barge_in = barge_in
        self.clock = clock
        self.on_chunk: Callable[[], None] = lambda: None
        """Called once per chunk (the systemd watchdog ping lives here)."""
        self.mode = Mode.IDLE
        self.muted = False
        self._listen_requested = threading.Event()
        self._stt = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt")
        # The wake word's second stage has a thread of its own: queued with the command's
        # transcripts, its openWakeWord work held back the speculative end of speech.
        self._wake = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wake")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brain")
        self._command: _Command | None = None
        self._meter = LevelMeter()
        self._gate = NoiseGate()
        """Learns the background level while idle, so a command's end is judged against it."""
        self._turn: Future[None] | None = None
        self._cancel = threading.Event()
        self._mute_until_ms = 0.0
        self._last_ms = 0.0
        self._wall0: float | None = None
        self._audio0_ms = 0.0
        self._speech_end_ms = 0.0
        self._action_lags: list[float] = []
        self._played_before_ms = 0.0
        self._follow_up = False
        self._yes_no = False
        """The follow-up answers a yes/no question."""
        self._recent = bytearray()
        """The last WAKE_WINDOW_MS of audio heard while waiting for the wake word."""

    # -- controls (any thread) ---------------------------------------------------------------
    def request_listen(self) -> None:
        """Start a command without the wake word (push-to-talk)."""
        self._listen_requested.set()

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        self.bus.emit(EventType.STATE, state="muted" if muted else "idle")

    def stop_speaking(self) -> None:
        self._cancel.set()
        self.s.player.stop()

    def note_action(self) -> None:
        """Called by the executor wrapper right after a device changed (GPIO latency)."""
        self._action_lags.append(self._lag_ms(self._speech_end_ms))

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
                self._settle_wake_check(self._command)
            if self._turn is not None:
                self._turn.result()
            self.s.player.wait_idle()
        finally:
            self._stt.shutdown(wait=True)
            self._wake.shutdown(wait=True)
            self._worker.shutdown(wait=True)

    def process(self, chunk: AudioChunk) -> None:
        self._last_ms = chunk.end_ms
        if self.mode is Mode.BUSY:
            self._while_busy(chunk)
        if self.muted:
            if self.mode is Mode.RECORDING:
                self._back_to_idle(chunk.end_ms)
            return
        if self.mode is Mode.IDLE:
            if self._listen_requested.is_set() and chunk.end_ms > self._mute_until_ms:
                self._listen_requested.clear()
                self._start_command(chunk.end_ms, "button")
            elif chunk.end_ms > self._mute_until_ms:
                for level in self._meter.process(chunk.audio):
                    self._gate.listen(level)
                self._listen_for_wake(chunk)
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

    # -- wake word ---------------------------------------------------------------------------
    def _listen_for_wake(self, chunk: AudioChunk) -> bool:
        if self.s.second_stage is not None:
            self._recent += chunk.audio
            del self._recent[:-int(WAKE_WINDOW_MS * BYTES_PER_MS)]
        detection = self.s.wake.process(chunk)
        if detection is None or not self.refractory.allow(detection.timestamp_ms):
            return False
        self.bus.emit(
            EventType.WAKE,
            name=detection.name,
            audio_ms=round(detection.timestamp_ms, 1),
            lag_ms=round(self._lag_ms(chunk.end_ms), 1),
            probability=round(detection.probability, 3),
            noisy=None if detection.noisy is None else round(detection.noisy, 3),
        )
        wake_audio = None
        if self.s.second_stage is not None:
            wake_audio = bytes(self._recent)
        self._recent.clear()
        self._start_command(chunk.end_ms, "wake", wake_audio, detection.probability, detection.noisy)
        return True

    def _start_command(self, t_ms: float, trigger: str, wake_audio: bytes | None = None,
                       probability: float = 1.0, noisy: float | None = None) -> None:
        # An unsure detection is listened to in silence (the LED shows it): a chime for every
        # near-miss would be a false wake to the ear, and one played once the second stage
        # agrees would land on the command's first word.
        second = self.s.second_stage
        chime = trigger != "wake" or second is None or second.chimes(probability)
        self.bus.emit(EventType.LISTENING, trigger=trigger, audio_ms=round(t_ms, 1), chime=chime)
        self.bus.emit(EventType.STATE, state="listening")
        self.s.vad.reset()
        self._meter.reset()
        self._gate.start()
        endpointer = self.s.make_endpointer()
        self._command = _Command(endpointer, level_endpointer(endpointer.config, self._gate.delay_ms),
                                 wake_audio=wake_audio, wake_probability=probability, wake_noisy=noisy,
                                 after_wake=trigger == "wake",
                                 answering=self._yes_no and trigger != "wake")
        self._yes_no = False
        self._command.endpointer.start(t_ms)
        self._command.level.start(t_ms)
        self.mode = Mode.RECORDING
        self._prime_wake(self._command)

    def _while_busy(self, chunk: AudioChunk) -> None:
        """While thinking or speaking, only the wake word counts: it interrupts the reply."""
        turn_done = self._turn is None or self._turn.done()
        if turn_done and not self.s.player.busy:
            self._turn_finished(chunk)
            return
        if self.barge_in and self._listen_for_wake(chunk):
            self.stop_speaking()

    # -- recording ---------------------------------------------------------------------------
    def _record(self, chunk: AudioChunk, cmd: _Command, heard: bool) -> None:
        cmd.audio += chunk.audio
        second = self.s.second_stage
        if (cmd.wake_audio is not None and second is not None
                and len(cmd.audio) >= second.tail_ms * BYTES_PER_MS):
            self._check_wake(cmd)
        elif cmd.wake_audio is not None and (
                len(cmd.audio) >= cmd.primed_bytes + WAKE_PRIME_EVERY_MS * BYTES_PER_MS):
            self._prime_wake(cmd)
        if cmd.wake_check is not None and _rejected(cmd.wake_check):
            # Rejected while the command is still being spoken: stop listening now, not at
            # its end (the LED goes out within a second of a near-miss).
            self._report_wake_check(cmd.wake_check.result())
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
                self._start_speculative(cmd)
            elif decision is Decision.TIMEOUT:
                self.bus.emit(EventType.TIMEOUT, audio_ms=round(t_ms, 1))
                self._settle_wake_check(cmd)
                self._back_to_idle(chunk.end_ms)
                return
            elif decision is Decision.END:
                self._end_of_speech(cmd, chunk, cmd.endpointer.end_reason or "silence")
                return
            if level is not None and self._level_ended(cmd, level, t_ms, heard):
                self._end_of_speech(cmd, chunk, "level")
                return
        if (cmd.speculative_due and cmd.speculative is not None and cmd.speculative.done()
                and not cmd.level.in_speech):
            self._start_speculative(cmd)
        if self._speculative_complete(cmd):
            self._end_of_speech(cmd, chunk, "speculative")

    def _prime_wake(self, cmd: _Command) -> None:
        """On the wake worker, ahead of the check: the second stage hears the wake window
        and the tail so far while the command goes on, so that little of its work is left
        for when the tail is complete (openWakeWord costs ~0.14 CPU-s per audio-s)."""
        if cmd.wake_audio is None or self.s.second_stage is None:
            return
        cmd.primed_bytes = len(cmd.audio)
        self._wake.submit(self.s.second_stage.prime, cmd.wake_audio + bytes(cmd.audio))

    def _check_wake(self, cmd: _Command) -> None:
        """The second stage hears the wake window and the command's first moment, on the wake
        worker while the command goes on; the answer waits for its verdict."""
        second = self.s.second_stage
        if cmd.wake_audio is None or second is None:
            return
        tail = bytes(cmd.audio[:int(second.tail_ms * BYTES_PER_MS)])
        cmd.wake_paused = cmd.paused()
        cmd.wake_check = self._wake.submit(second.check, cmd.wake_audio + tail,
                                           cmd.wake_probability, cmd.wake_paused, cmd.wake_noisy,
                                           len(tail))
        cmd.wake_audio = None

    def _level_ended(self, cmd: _Command, level_db: float, t_ms: float, heard: bool) -> bool:
        """True when the level has been back at the background for silence_s after speech.

        Only after loudness long enough to be a command, and once the VAD has confirmed speech
        or, if the VAD never did (a voice it does not know, in loud steady noise), after a wake
        word, loudness long enough that it is no wake word's tail (UNHEARD_SPEECH_MS); anything
        else (a burst of babble) starts the count afresh. Without a wake word (a button, the
        answer to a question) there is no tail to fear: a short "No." in noise, which the VAD
        may never call speech, must still end.
        """
        loud = self._gate.feed(level_db)
        cmd.loud.append(loud)
        cmd.heard.append(heard)
        decision = cmd.level.feed(loud, t_ms)
        if decision is Decision.WAITING or decision is Decision.SPEECH_STARTED:
            return False
        if decision is Decision.SHORT_PAUSE:
            if cmd.endpointer.started:
                self._start_speculative(cmd)
            return False
        lv = cmd.level
        spoke_ms = lv.speech_end_ms - (lv.speech_start_ms or lv.speech_end_ms)
        needed = (MIN_LEVEL_SPEECH_MS if cmd.endpointer.started or not cmd.after_wake
                  else UNHEARD_SPEECH_MS)
        if decision is Decision.END and lv.end_reason == "silence" and spoke_ms >= needed:
            return True
        lv.start(t_ms)  # a timeout, a cap, or too little: the VAD decides those
        return False

    def _start_speculative(self, cmd: _Command) -> None:
        last = cmd.speculative
        if last is not None and (cmd.speculative_bytes == len(cmd.audio) or (
                cmd.heard_all() and (not last.done() or self._whole_command(last)))):
            # The last one heard all the speech there is and is (or may yet be) a whole
            # command: the VAD's pause comes after the level's, and a new transcript would only
            # replace a good one. One that is not a command is heard again with the longer
            # silence after it, which whisper reads better ("… front door lock" -> "locked").
            cmd.speculative_due = False
            return
        # One transcript at a time: a queue of stale ones (a pause between every word in noise)
        # would make the final transcript wait behind all of them. A queued one is replaced; a
        # running one is left to finish (the next pause, or the final transcript, follows it).
        if last is not None and not last.done() and not last.cancel():
            # Whisper may be slow here because the wake word's check shares it: once the
            # running one is done, hear the audio up to then (see ``_record``).
            cmd.speculative_due = True
            return
        cmd.speculative_due = False
        cmd.speculative_bytes = len(cmd.audio)
        cmd.speculative = self._stt.submit(self._transcribe, cmd.spoken())
        if not self.realtime:
            # From a file fed as fast as possible, wait as if the audio had taken its time;
            # otherwise the loop would race past the pause before the transcript exists.
            cmd.speculative.result()

    def _speculative_complete(self, cmd: _Command) -> bool:
        """A finished speculative transcript that is a whole command ends listening early."""
        future = cmd.speculative
        if future is None or not future.done():
            return False
        # Nothing but quiet since the snapshot: by the signal level, or by the VAD.
        level_quiet = not cmd.level.in_speech and cmd.level.speech_end_ms <= cmd.snapshot_ms
        if cmd.endpointer.in_speech and not level_quiet:
            return False
        return self._whole_command(future)

    def _whole_command(self, future: Future[_Timed]) -> bool:
        text = future.result().text
        return bool(text) and self.s.is_complete_command(text)

    def _transcribe(self, pcm: bytes) -> _Timed:
        started = self.clock()
        heard = self.s.transcriber.transcribe(pcm, prompt=self.s.stt_prompt)
        return self._timed(heard, pcm, started)

    def _timed(self, heard: Transcript, pcm: bytes, started: float) -> _Timed:
        return _Timed(heard, self.s.normalize(heard.text.strip()), pcm,
                      (self.clock() - started) * 1000.0)

    def _recheck(self, recheck: Callable[[bytes, Transcript], Transcript],
                 timed: _Timed) -> _Timed:
        """The final transcript only: a speculative one is of audio that may not be over."""
        started = self.clock()
        checked = self._timed(recheck(timed.pcm, timed.heard), timed.pcm, started)
        checked.stt_ms += timed.stt_ms
        return checked

    def _final_transcript(self, cmd: _Command, speech_end_ms: float) -> _Timed:
        """Reuse the speculative transcript when nothing but silence came after it."""
        speech_bytes = int((speech_end_ms - cmd.endpointer.start_ms) * BYTES_PER_MS)
        future = cmd.speculative
        if future is None or cmd.speculative_bytes < speech_bytes:
            future = self._stt.submit(self._transcribe, cmd.spoken())
        waited = self.clock()
        timed = future.result()
        recheck = self.s.recheck_answer if cmd.answering else self.s.recheck
        if recheck is not None:
            timed = self._stt.submit(self._recheck, recheck, timed).result()
        timed.wait_ms = (self.clock() - waited) * 1000.0
        return timed

    # -- answering ---------------------------------------------------------------------------
    def _end_of_speech(self, cmd: _Command, chunk: AudioChunk, reason: str) -> None:
        self._check_wake(cmd)  # a command shorter than the check's tail
        speech_end_ms = cmd.speech_end_ms()
        self._speech_end_ms = speech_end_ms
        self.bus.emit(
            EventType.END_OF_SPEECH,
            reason=reason,
            audio_ms=round(speech_end_ms, 1),
            decided_audio_ms=round(chunk.end_ms, 1),
            lag_ms=round(self._lag_ms(speech_end_ms), 1),
        )
        self.bus.emit(EventType.STATE, state="thinking")
        self.mode = Mode.BUSY
        self._command = None
        self._cancel.clear()
        self._played_before_ms = self.s.player.played_ms
        timings = {"end_of_speech_ms": chunk.end_ms - speech_end_ms}
        self._turn = self._worker.submit(self._take_turn, cmd, speech_end_ms, timings)
        if not self.realtime:
            self._turn.result()
            self.s.player.wait_idle()

    def _take_turn(self, cmd: _Command, speech_end_ms: float, timings: dict[str, float]) -> None:
        try:
            timed = None
            if cmd.wake_check is not None:
                check = cmd.wake_check.result()
                if check.ok and check.needs_request:
                    timed = self._final_transcript(cmd, speech_end_ms)
                    check = self._requested(check, timed, cmd.wake_paused)
                self._report_wake_check(check)
                if not check.ok:
                    return
            if timed is None:
                timed = self._final_transcript(cmd, speech_end_ms)
            timings.update(stt_ms=timed.stt_ms, stt_wait_ms=timed.wait_ms)
            heard = timed.heard
            if heard.doubt is None and cmd.began_in_speech() and lost_prefix(timed.text):
                # "Okay Nabu unlock …" said in one breath: the detection (or the tail's cut)
                # may fall after the "un", and whisper hears "lock the front door".
                heard = replace(heard, doubt="opposite")
            confidence = _rounded(heard.confidence)
            self.bus.emit(EventType.TRANSCRIPT, text=timed.text, raw=heard.text.strip(),
                          confidence=confidence, lag_ms=round(self._lag_ms(speech_end_ms), 1),
                          heard=heard.heard, doubt=heard.doubt, wake_tail_ms=cmd.tail_ms())
            if timed.text:
                self._answer(timed.text, speech_end_ms, timings, heard.confidence, heard.doubt)
        except Exception as exc:  # one failed turn must not end the appliance
            _LOGGER.exception("turn failed")
            self.bus.emit(EventType.ERROR, stage="turn", message=str(exc))

    def _requested(self, check: WakeCheck, timed: _Timed, paused: bool) -> WakeCheck:
        """A wake that needs a request (``WakeCheck.needs_request``) stands only when the
        command reads as one: as whisper wrote it, or as the recheck read it from the audio (a
        real command garbled by whisper, "So you go on the lamp.", asked as "Turn on the living
        room lamp?"). The recheck could also read talk as one of the home's commands, but then
        it mostly asks, and nothing is done without a yes; in the robustness bench's negatives
        it never did."""
        second = self.s.second_stage
        written = timed.heard.heard or timed.heard.text
        lenient, home_only = check.lenient, check.cut_short
        if second is None or second.spoken_to(self.s.normalize(written), paused, lenient,
                                              home_only) or (
                timed.heard.heard is not None and second.spoken_to(timed.text, paused, lenient,
                                                                   home_only)):
            return check
        _LOGGER.info("wake word heard as %r, then %r: no request, ignored", check.heard, written)
        return replace(check, ok=False, how="unaddressed")

    def _answer(self, text: str, speech_end_ms: float, timings: dict[str, float],
                confidence: float | None = None, doubt: str | None = None) -> None:
        first_audio: list[float] = []

        def say(sentence: str) -> None:
            if self._cancel.is_set():
                return
            self.bus.emit(EventType.STATE, state="speaking")
            for pcm in self.s.synthesizer.synthesize(sentence):
                if self._cancel.is_set():
                    return
                if not first_audio:
                    first_audio.append(self._lag_ms(speech_end_ms))
                    self.bus.emit(EventType.SPEAKING, lag_ms=round(first_audio[0], 1))
                self.s.player.play(pcm, self.s.synthesizer.sample_rate)

        self._action_lags = []
        started = self.clock()
        answer = self.s.brain.answer(text, say, confidence, doubt)
        timings["brain_ms"] = (self.clock() - started) * 1000.0
        # Lags against the audio clock only mean something when audio time follows the wall.
        if first_audio and self.realtime:
            timings["first_audio_lag_ms"] = first_audio[0]
        if self._action_lags and self.realtime:
            timings["action_lag_ms"] = self._action_lags[0]
        answer.timings_ms = {**timings, **answer.timings_ms}
        self.bus.emit(EventType.INTENT, intent=answer.intent, slots=answer.to_json()["slots"])
        if answer.results:
            self.bus.emit(EventType.ACTIONS, actions=[r.to_json() for r in answer.results],
                          lag_ms=round(timings.get("action_lag_ms", 0.0), 1))
        self.bus.emit(EventType.REPLY, **answer.to_json())
        # A question from the assistant ("Unlock the front door?") is answered without the
        # wake word: the next turn starts listening as soon as the question has been spoken.
        self._follow_up = not answer.end_conversation and not self._cancel.is_set()
        self._yes_no = self._follow_up and "confirm" in answer.slots

    def _turn_finished(self, chunk: AudioChunk) -> None:
        if self.realtime:
            end_ms = chunk.end_ms
        else:
            # From a file fed as fast as possible, skip as much audio as the reply would have
            # taken to play: that is what the microphone would have heard while speaking.
            end_ms = chunk.end_ms + self.s.player.played_ms - self._played_before_ms
        self._back_to_idle(end_ms)
        if self._follow_up:
            self._follow_up = False
            self._listen_requested.set()

    def _settle_wake_check(self, cmd: _Command) -> None:
        """No command followed the wake word: the second stage's verdict is still reported
        (the log, the benchmarks' scoring), now or, on the wake worker, once it is in."""
        if cmd.wake_audio is not None:
            self._check_wake(cmd)  # on what came after the wake word: its tail is not all there
        pending = cmd.wake_check
        if pending is None:
            return

        def report(done: Future[WakeCheck]) -> None:
            if done.exception() is None:
                self._report_wake_check(done.result())

        pending.add_done_callback(report)  # runs at once, here, when the verdict is in already

    def _report_wake_check(self, check: WakeCheck) -> None:
        if not check.ok:
            _LOGGER.info("wake word not confirmed (%s, heard %r, acoustic %s): ignored",
                         check.how, check.heard, _rounded(check.acoustic))
        self.bus.emit(EventType.WAKE_CHECK, ok=check.ok, heard=check.heard, how=check.how,
                      acoustic=_rounded(check.acoustic), snr_db=_rounded(check.snr_db),
                      noisy=_rounded(check.noisy))

    def _back_to_idle(self, t_ms: float) -> None:
        self.mode = Mode.IDLE
        self._command = None
        self._turn = None
        self.s.wake.reset()
        self.s.vad.reset()
        # What the mic heard while the assistant spoke is its own voice: skip an echo tail too.
        self._mute_until_ms = t_ms + MUTE_AFTER_REPLY_MS
        self.bus.emit(EventType.STATE, state="idle")
        self.bus.emit(EventType.DONE)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _rejected(check: Future[WakeCheck]) -> bool:
    """True once the second stage has said no. A check that failed is left for the turn,
    which reports the error; it must not stop the audio loop."""
    return check.done() and check.exception() is None and not check.result().ok
