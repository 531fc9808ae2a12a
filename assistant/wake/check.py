"""The wake word's second stage: the evidence on a detection's window, then the decision.

Runs on the pipeline's wake worker while the command is spoken; its verdict is ready about when
the window's tail is. A borderline verdict is settled by the command's transcript
(``settled``), which the pipeline computes anyway.
"""

from __future__ import annotations

import logging

import numpy as np

from assistant.wake.decision import DecisionParams, Outcome, WakeVerdict, decide
from assistant.wake.detection import WakeDetection
from assistant.wake.evidence import WAKE_TAIL_MS, WAKE_WINDOW_MS, Measurer
from assistant.wake.request import reads_as_request

_LOGGER = logging.getLogger(__name__)

CHIME_ABOVE = 0.3
"""A detection this likely chimes at once; a less likely one is listened to in silence (the LED
shows it) until the second stage has weighed it: a chime for every near-miss would be a false
wake to the ear. About two thirds of real wake words reach 0.3 by the detection."""


class WakeCheck:
    """The second stage (``pipeline.SecondStage``)."""

    window_ms: float = WAKE_WINDOW_MS
    tail_ms: float = WAKE_TAIL_MS

    def __init__(self, measurer: Measurer, params: DecisionParams, level: str = "medium",
                 home: frozenset[str] = frozenset(), phrase: str = "okay nabu"):
        self.measurer = measurer
        self.phrase = phrase
        self.params = params
        self.level = level
        self.home = home
        """The home's words (``request.home_words``), for a borderline verdict's tie-breaker."""

    def set_level(self, level: str) -> None:
        """Another ``wake.sensitivity`` from now on (low / medium / high)."""
        if level not in self.params.levels:
            raise ValueError(f"unknown sensitivity {level!r}: use {', '.join(self.params.levels)}")
        self.level = level

    def chimes(self, probability: float) -> bool:
        return probability >= CHIME_ABOVE

    def check(self, window: bytes, detection: WakeDetection, paused: bool,
              embeddings: np.ndarray | None = None) -> WakeVerdict:
        """The verdict on the wake window and its tail (``window``), whether the speaker paused
        after the wake word, and openWakeWord's embeddings of the window if the room was loud."""
        evidence = self.measurer.measure(window, detection, paused, embeddings)
        verdict = decide(evidence, self.params, self.level)
        _LOGGER.debug("wake check: %s (score %.2f)", verdict.outcome, verdict.score)
        return verdict

    def settled(self, verdict: WakeVerdict, transcript: str) -> bool:
        """Whether a wake stands, given the command's transcript: a borderline one only when the
        command reads as a request."""
        if verdict.outcome is Outcome.BORDERLINE:
            return reads_as_request(transcript, self.home, self.phrase)
        return verdict.outcome is Outcome.WAKE
