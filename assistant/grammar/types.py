"""What a closed-vocabulary recognizer hands the pipeline, and the Protocol it is called by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from assistant.grammar.guard import Evidence, Verdict


@dataclass(frozen=True)
class WordScore:
    word: str
    start_ms: int
    end_ms: int
    score: float
    """Acoustic log-likelihood per 10 ms frame against the best-scoring sound of each frame
    (pocketsphinx; 0 is the best any sound could do), or the engine's word confidence (vosk)."""
    llr: float | None = None
    """Per frame, this word's score minus a free phone loop's over the same frames: near 0
    when the word was really said, far below when the grammar forced it."""


@dataclass(frozen=True)
class GrammarResult:
    text: str
    """The sentence of the grammar that fits best, lower case, numbers in words; "" for none."""
    words: tuple[WordScore, ...]
    evidence: Evidence
    verdict: Verdict
    """Whether ``text`` may act (``verdict.accepted``), decided by ``assistant.grammar.guard``."""
    audio_ms: int
    """Audio fed since ``start()``."""
    cpu_s: float
    """CPU seconds spent on this utterance in ``feed`` and ``finish`` together."""
    finish_ms: float
    """Wall time of ``finish()`` itself: how long after the end of speech the result was ready."""
    redecoded: bool = False
    """The streamed decode started from a cepstral mean too far from the utterance's own, and
    the utterance was decoded again after its end (``assistant.grammar.sphinx``)."""
    cmn_offset: float = 0.0
    """How far that mean was from the utterance's own (first coefficient)."""
    cpu_loop_s: float = 0.0
    """Of ``cpu_s``, what the phone loop took (0 without it)."""

    @property
    def accepted(self) -> bool:
        return self.verdict.accepted


class GrammarRecognizer(Protocol):
    """Streams one utterance at a time: ``start()``, then ``feed`` each chunk as it arrives
    (16 kHz s16 mono, any length), then ``finish()`` at the end of speech, or ``cancel()``.
    ``prime(pcm)`` before ``start()`` passes audio heard just before the command (the wake
    word), for the recognizer to adapt to the microphone's level. Not thread-safe: one caller
    at a time."""

    def prime(self, pcm: bytes) -> None: ...

    def start(self) -> None: ...

    def feed(self, pcm: bytes) -> None: ...

    def finish(self) -> GrammarResult: ...

    def cancel(self) -> None: ...
