"""What the second stage measures about one first-stage detection, and how.

``measure`` is the one place that turns the wake window (WAKE_WINDOW_MS before the detection,
WAKE_TAIL_MS after) into a ``WakeEvidence``; the pipeline calls it on the wake worker, and
``bench/wake_fit.py`` on the recorded windows of ``bench/wake_evidence.py``. It costs about
25 ms of CPU here (microWakeWord's peak over the window ~10 ms, the verifier's features ~5 ms,
the network ~10 ms); openWakeWord's speech embeddings are not computed for it: where the room
is loud the noisy-room model has already computed them while listening, and only then are
they weighed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from assistant.vad import speech_over_background_db
from assistant.wake.detection import Detector, WakeDetection
from assistant.wake.embedding import OpenClassifier, windows_of
from assistant.wake.noisy import WakeHead
from assistant.wake.reading import Reading, prompt_for, read
from assistant.wake.verifier import Frontend, Verifier

WAKE_WINDOW_MS = 2000
"""Audio before a detection that the second stage weighs: a slow "okay nabu" fits."""
WAKE_TAIL_MS = 1250
"""...and after it: the first stage fires early in the word at its low threshold, and
openWakeWord's and the noisy-room model's verdicts come 0.3-0.7 s after microWakeWord's."""


@dataclass(frozen=True)
class WakeEvidence:
    """Everything the wake decision (``assistant.wake.decision``) is made from."""

    detector: Detector
    """Which first stage fired."""
    probability: float
    """Its probability at the detection (0.0 when only the noisy-room model fired)."""
    micro_peak: float
    """microWakeWord's highest probability over the window (on its noise-suppressed copy)."""
    verifier: float
    """The verifier network's logit on the window (``assistant.wake.verifier``)."""
    snr_db: float
    """How far the window's speech stands above its background (``speech_over_background_db``)."""
    paused: bool
    """Whether the speaker paused after the wake word (``vad.paused_after_wake``)."""
    noisy_peak: float | None = None
    """The noisy-room model's highest probability over the window's embeddings; None when the
    room was quiet (its embeddings were not computed)."""
    open_peak: float | None = None
    """openWakeWord's own model's highest probability over the same embeddings, or None."""
    reading: Reading | None = None
    """Whisper's reading of the window (``assistant.wake.reading``), when it was asked: only for
    a detection the cheap evidence leaves in doubt."""

    @property
    def loud(self) -> bool:
        """Whether the embeddings' opinions are there (the room was loud)."""
        return self.noisy_peak is not None and self.open_peak is not None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["detector"] = self.detector.value
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in out.items()}

    @staticmethod
    def from_json(data: dict[str, Any]) -> WakeEvidence:
        fields = dict(data)
        fields["detector"] = Detector(fields["detector"])
        if fields.get("reading") is not None:
            fields["reading"] = Reading(**fields["reading"])
        return WakeEvidence(**fields)


def logit(p: float | None) -> float:
    """log(p / (1 - p)), clipped to +-12 (a probability of 0 or 1 is no infinite evidence)."""
    if p is None:
        return 0.0
    q = min(max(float(p), 6e-6), 1 - 6e-6)
    return math.log(q / (1 - q))


class Measurer:
    """The models the second stage measures with; ``measure`` is safe on one thread at a time."""

    def __init__(self, rescore: Any, verifier: Verifier | None = None,
                 classifier: OpenClassifier | None = None, head: WakeHead | None = None,
                 transcriber: Any = None, phrase: str = "okay nabu",
                 home: frozenset[str] = frozenset()):
        self.rescore = rescore
        """microWakeWord's peak over pcm (``CleanedWake.peak``: its own instance and suppressor)."""
        self.verifier = verifier or Verifier()
        self.frontend = Frontend()
        self.classifier = classifier
        self.head = head
        self.transcriber = transcriber
        """Whisper, for ``read`` (None: the doubtful detections are decided without it)."""
        self.phrase = phrase
        self.home = home

    def read(self, window: bytes, evidence: WakeEvidence) -> WakeEvidence:
        """The evidence with whisper's reading of the window added (~0.7 CPU-s here)."""
        if self.transcriber is None:
            return evidence
        text = self.transcriber.transcribe(window, prompt=prompt_for(self.phrase)).text.strip()
        return replace(evidence, reading=read(text, self.phrase, self.home))

    def measure(self, window: bytes, detection: WakeDetection, paused: bool,
                embeddings: np.ndarray | None = None) -> WakeEvidence:
        """The evidence on a wake window; ``embeddings``: openWakeWord's, one per 80 ms block of
        the window, from the noisy-room model's listening (None in a quiet room)."""
        noisy = opened = None
        if embeddings is not None and self.head is not None and self.classifier is not None:
            rows = windows_of(embeddings)
            if len(rows):
                noisy = float(self.head.probabilities(rows).max())
                opened = self.classifier.peak(embeddings)
        return WakeEvidence(
            detector=detection.detector,
            probability=detection.probability,
            micro_peak=float(self.rescore(window)),
            verifier=self.verifier.logit(self.frontend.features(window)),
            snr_db=speech_over_background_db(window),
            paused=paused,
            noisy_peak=noisy,
            open_peak=opened,
        )
