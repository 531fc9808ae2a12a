"""The command being recorded after a wake word (or a button press), and its pure questions."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from assistant.audio.chunk import BYTES_PER_MS
from assistant.grammar.types import GrammarResult
from assistant.pipeline.stages import SpeechResult, WakeStart
from assistant.vad import Endpointer, paused_after_wake, wake_tail_ms
from assistant.wake import WakeVerdict


@dataclass
class Listening:
    """The recognizer's view of one command (touched only by the audio loop, except
    ``peek``'s result)."""

    offset: int | None = None
    """Where in the command's audio the grammar's audio starts (after the wake word's tail);
    None until that is known."""
    fed: int = 0
    """Bytes of the command's audio handed to the recognizer."""
    feeding: Future[None] | None = None
    peek: Future[GrammarResult | None] | None = None
    peek_bytes: int = 0
    """The command's audio length at the peek."""
    stale: bool = False
    """A peek ended the recognizer's utterance: more of it needs a restart from ``offset``."""
    taken: bool = False
    """The peek's verdict was acted on (an end of speech, or whisper's speculation)."""


@dataclass
class PendingWake:
    """A wake word whose second stage has not settled yet."""

    start: WakeStart
    check: Future[WakeVerdict | None] | None = None
    """The second stage's verdict (None without one), once the window's tail has been heard and
    handed to it, and the arbitration after it."""
    paused: bool = True
    """Whether the speaker paused after the wake word, as the check was told."""
    answers: bool | None = None
    """The arbiter's answer (set before ``check`` is done): False = another appliance answers;
    None = not asked."""
    arbitration_ms: float = 0.0
    waited_ms: float | None = None
    """How long the turn waited for the verdicts after the end of speech (None: it did not)."""

    def rejected(self) -> bool:
        """True once the second stage has said no, or the arbiter. A check that failed is left
        for the turn, which reports the error; it must not stop the audio loop."""
        check = self.check
        if check is None or not check.done() or check.exception() is not None:
            return False
        verdict = check.result()
        return self.answers is False or (verdict is not None and verdict.outcome == "drop")


@dataclass
class Command:
    endpointer: Endpointer
    """Speech by the VAD."""
    level: Endpointer
    """Speech by loudness above the background (NoiseGate): ends a command in babble or TV noise,
    where the VAD never hears silence, and sees a pause long before the VAD does."""
    wake: PendingWake | None = None
    """The wake word that started it, while its second stage is at work; None after a button."""
    after_wake: bool = False
    answering: bool = False
    """The answer to the assistant's yes/no question ("Unlock the front door?")."""
    audio: bytearray = field(default_factory=bytearray)
    speculative: Future[SpeechResult] | None = None
    speculative_bytes: int = 0
    speculative_due: bool = False
    """A pause came while an older speculative transcript was still running: a new one starts
    as soon as that one is done, not at the next pause (which may be the end itself)."""
    loud: list[bool] = field(default_factory=list)
    """The NoiseGate's decision for each 10 ms frame of ``audio``."""
    heard: list[bool] = field(default_factory=list)
    """For each frame, whether the microphone was heard (not zeroed under the wake chime)."""
    grammar: Listening | None = None
    """The grammar fast path's view of this command (``stt.fast_path: grammar``)."""

    def paused(self) -> bool:
        """Whether the speaker paused after the wake word (``paused_after_wake``). The audio
        zeroed under the wake chime counts as what the microphone heard next: quiet when the
        pause goes on after the chime, loud when talk does."""
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
        end, it knows better."""
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
