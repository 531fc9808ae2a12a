"""The stages the pipeline runs, as Protocols, and the plain values it hands between them."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.audio.player import Player
from assistant.brain.types import Answer
from assistant.grammar.types import GrammarRecognizer, GrammarResult
from assistant.stt import Transcriber, Transcript
from assistant.tts import Synthesizer
from assistant.vad import Endpointer, MicroVadScorer
from assistant.wake import WakeDetection, WakeDetector, WakeVerdict


class Brain(Protocol):
    def answer(self, text: str, say: Callable[[str], None],
               confidence: float | None = None, doubt: str | None = None) -> Answer: ...


class SecondStage(Protocol):
    """The wake word's second stage (``assistant.wake.WakeCheck``)."""

    window_ms: float
    """How much audio before the detection it weighs..."""
    tail_ms: float
    """...and after it."""

    def check(self, window: bytes, detection: WakeDetection, paused: bool,
              embeddings: np.ndarray | None = None) -> WakeVerdict:
        """The verdict on the wake window and its tail."""
        ...

    def chimes(self, probability: float) -> bool:
        """Whether a detection is sure enough for the wake chime before the verdict."""
        ...

    def settled(self, verdict: WakeVerdict, transcript: str) -> bool:
        """Whether the wake stands once the command's transcript is known."""
        ...


class Arbiter(Protocol):
    """Which of the appliances that heard one wake word answers (``assistant.mqtt.arbiter``)."""

    window_ms: float
    """How much audio before the detection its loudness is measured on."""

    def shared(self) -> bool:
        """Whether another appliance may hear the same wake word (then nothing chimes before
        the answer: a chime in the room that stands down would be a false wake to the ear)."""
        ...

    def answers(self, detection: WakeDetection, window: bytes) -> bool:
        """Whether this appliance answers; blocks a broker round trip or two, on the wake worker."""
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
    arbiter: Arbiter | None = None
    """Asked once the wake word stands whether this appliance answers; None: it always does."""
    grammar: GrammarRecognizer | None = None
    """The grammar fast path (``stt.fast_path: grammar``): hears each command while it is
    spoken; what its guard accepts is the transcript, and ``transcriber`` is not run."""
    stt_name: str = "whisper"
    """The transcriber's engine, as events name it."""


class Mode(enum.Enum):
    IDLE = "idle"
    RECORDING = "recording"
    BUSY = "busy"
    """Transcribing, thinking or speaking; only the wake word (barge-in) is listened for."""


class Trigger(enum.StrEnum):
    """What started a command."""

    WAKE = "wake"
    BUTTON = "button"
    """Push-to-talk, a follow-up question's answer, or a turn asked for over MQTT."""


@dataclass(frozen=True)
class WakeStart:
    """A first-stage detection that starts recording: what was heard before it."""

    detection: WakeDetection
    window: bytes
    """The second stage's window up to the detection."""


@dataclass
class SpeechResult:
    """A transcript of the command, and what it cost."""

    heard: Transcript
    text: str
    """The transcript normalized for the brain ("20%" -> "20 percent")."""
    pcm: bytes
    """The audio it was made from (the recheck weighs commands against it)."""
    stt_ms: float
    wait_ms: float = 0.0
    stt: str = "whisper"
    """Which engine settled the transcript: "grammar", or the transcriber's."""
    grammar: GrammarResult | None = None
    """The grammar's result for the command, accepted or not (None without the fast path)."""
