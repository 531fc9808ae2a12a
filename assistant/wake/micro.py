"""microWakeWord, the first stage: streaming features every 10 ms, a probability per 30 ms.

It hears a noise-suppressed copy of the audio (``CleanedWake``) at a threshold lower than the
model's own cutoff, so that unusual voices and noisy rooms are heard; the second stage
(``assistant.wake.check``) turns away what that lets through.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from assistant.audio.chunk import AudioChunk
from assistant.audio.clean import AudioCleaner
from assistant.wake.detection import WakeDetection, WakeDetector, missing_model

_LOGGER = logging.getLogger(__name__)

MICRO_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
PEAK_WAIT_OUTPUTS = 3
"""Model outputs (one per 30 ms) looked at after the threshold is crossed, for the peak. Waiting
for the peak itself (until the probability stops rising) made every detection sure enough to
chime, near-misses too (30 chimes in bench/wake_study.py's negatives against 22), and fired
too late in noise for some real ones (kept 114 / 95 / 67 against 115 / 102 / 78)."""
SURE_PROBABILITY = 0.95
"""A peak this high needs no more looking."""
VERIFIED_THRESHOLD = 0.1
"""microWakeWord's threshold when a second stage weighs every detection: unusual and noisy
voices score 0.1-0.85 on a real "okay nabu" (okay_nabu's own cutoff is 0.85)."""


class MicroWakeWordDetector:
    """microWakeWord: streaming features every 10 ms, a probability averaged over a window."""

    def __init__(self, model: str = "okay_nabu", threshold: float | None = None):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        if model in MICRO_MODELS:
            self._mww = MicroWakeWord.from_builtin(Model(model))
        elif model.endswith(".json") and Path(model).expanduser().is_file():
            self._mww = MicroWakeWord.from_config(Path(model).expanduser())
        else:
            raise missing_model(model, "microWakeWord", MICRO_MODELS, ".json")
        self._features = MicroWakeWordFeatures()
        self._peak: float | None = None
        self._seen = 0
        self._windows = 0
        self.name = str(self._mww.id)
        self.threshold = self._mww.probability_cutoff if threshold is None else threshold

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        # Past the threshold, look a little further for the peak: a lower (more sensitive)
        # threshold is crossed mid-word, and the peak says how sure the model really is.
        fire = False
        for prob in self._probabilities(chunk.audio):
            if self._peak is None and prob <= self.threshold:
                continue
            self._peak = max(self._peak or 0.0, prob)
            self._seen += 1
            fire = fire or self._seen >= PEAK_WAIT_OUTPUTS or self._peak >= SURE_PROBABILITY
        if not fire or self._peak is None:
            return None
        best = self._peak
        _LOGGER.debug("wake %r p=%.3f at %.0f ms", self.name, best, chunk.end_ms)
        # A detection uses up its evidence: otherwise the probability window, still full of
        # the wake word, fires again on the next chunk fed (e.g. when barge-in listening starts).
        self.reset()
        return WakeDetection(self.name, chunk.end_ms, best)

    def peak(self, pcm: bytes) -> float:
        """The highest probability over pcm, from a clean state (for the second stage: a
        detection fires early in the word, before the probability has peaked)."""
        self.reset()
        best = max(self._probabilities(pcm), default=0.0)
        self.reset()
        return best

    def _probabilities(self, audio: bytes) -> Iterator[float]:
        for features in self._features.process_streaming(audio):
            prob = self._mww.process_streaming_prob(features)
            # The model runs on every stride-th feature window (30 ms); for the others the
            # library returns a placeholder 0.0, which is no opinion.
            self._windows = (self._windows + 1) % max(1, int(self._mww.stride))
            if prob is not None and self._windows == 0:
                yield float(prob)

    def reset(self) -> None:
        # The model keeps streaming state in its tensors; the library reloads it to clear that.
        self._features.reset()
        self._mww.reset()
        self._windows = 0
        self._peak = None
        self._seen = 0


class CleanedWake:
    """A detector that hears its own noise-suppressed copy of the audio.

    Only the wake word gets it: suppression lifts the wake word's score in noise, while
    whisper transcribed commands no better from suppressed audio (bench/noise_bench.py). The
    suppressor learns the background from the audio it is given, i.e. while waiting for the
    wake word, which is when the background is all there is.
    """

    def __init__(self, detector: WakeDetector, cleaner: AudioCleaner):
        self.detector = detector
        self.cleaner = cleaner

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        return self.detector.process(AudioChunk(self.cleaner.process(chunk.audio), chunk.timestamp_ms))

    def peak(self, pcm: bytes) -> float:
        """The detector's highest probability over pcm, suppressed by a suppressor of its own."""
        peak = getattr(self.detector, "peak", None)
        if peak is None:
            return 0.0
        return float(peak(AudioCleaner(self.cleaner.noise_suppression).process(pcm)))

    def reset(self) -> None:
        self.detector.reset()
