"""Wake word detection: microWakeWord (default) or openWakeWord, behind one small Protocol.

Engines are imported only when selected. Timestamps are audio time, so the refractory window
and the latency figures mean the same thing from a microphone and from a file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.audio.clean import AudioCleaner
from assistant.config import WakeConfig
from assistant.errors import ModelMissingError
from assistant.vad import speech_over_background_db

_LOGGER = logging.getLogger(__name__)

MICRO_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
OPEN_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft", "hey_rhasspy")
PEAK_WAIT_OUTPUTS = 3
"""Model outputs (one per 30 ms) looked at after the threshold is crossed, for the peak. Waiting
for the peak itself (until the probability stops rising) made every detection sure enough to
chime, near-misses too (30 chimes in bench/wake_study.py's negatives against 22), and fired
too late in noise for some real ones (kept 114 / 95 / 67 against 115 / 102 / 78)."""
SURE_PROBABILITY = 0.95
"""A peak this high needs no more looking."""
OPEN_BLOCK_BYTES = 1280 * 2
"""openWakeWord works on 80 ms blocks."""
WAKE_WINDOW_MS = 2000
"""Audio before a detection that the second stage transcribes: a slow "okay nabu" fits."""
WAKE_TAIL_MS = 1250
"""...and after it. openWakeWord's verdict on a wake word comes 0.3-0.7 s after microWakeWord's
detection, and at the first stage's low threshold a detection can come before the word's end.
On bench/wake_study.py's corpus (first stage at 0.1, sensitivity medium) a 1.25 s tail kept
114 / 102 / 79 wake words of 120 (clean / 20 dB / 10 dB) against 109 / 99 / 75 with 0.75 s,
with the same 8 false wakes in 15 min; whisper alone does a little worse with the longer tail
(more of the command in its window). The check waits for the tail, but the command takes
longer than that to say."""
WAKE_TAIL_ALONE_MS = 750
"""The tail when whisper is the only second opinion (no openWakeWord model): more of the command
in its window made it write the wake phrase less often (kept 99 / 79 / 56 with 1.25 s against
108 / 83 / 59 with 0.75 s, at the same 6 false wakes)."""
SECOND_LOOK_TAIL_MS = WAKE_TAIL_ALONE_MS
"""When whisper's reading of the whole window lacks the phrase though the noisy-room model was
sure of it (NOISY_HINT), whisper hears the window again with only this much of the tail: with
the command's first words in its window it wrote an unusual voice's "okay nabu" as "Okay, we
turn on the light." (espeak-ng en-gb-scotland+m4; "Okay Nabu." with up to 0.9 s of tail).
bench/wake_study.py (seed 1, ``--whisper-tail-ms 750``, then ``--analyse --reading``
pipeline / whole / short): 120 / 119 / 109 wake words kept against 120 / 119 / 108, with the
same false wakes; the shorter window for every reading kept 118 / 117 / 109 with one more false
wake, so it is a second look only."""


@dataclass(frozen=True)
class WakeDetection:
    name: str
    timestamp_ms: float
    """Audio time at which the detector had heard enough (the end of the deciding chunk)."""
    probability: float
    """microWakeWord's (or openWakeWord's) probability; 0.0 when only the noisy-room model fired."""
    noisy: float | None = None
    """The noisy-room model's probability, when it fired and microWakeWord did not
    (``assistant.wake_head``)."""


class WakeDetector(Protocol):
    def process(self, chunk: AudioChunk) -> WakeDetection | None: ...

    def reset(self) -> None: ...


class Refractory:
    """Pure: after one wake, no other within window_s (of audio time)."""

    def __init__(self, window_s: float):
        self.window_ms = window_s * 1000.0
        self._last_ms: float | None = None

    def allow(self, t_ms: float) -> bool:
        if self._last_ms is not None and 0.0 <= t_ms - self._last_ms < self.window_ms:
            return False
        self._last_ms = t_ms
        return True


def _missing(model: str, engine: str, names: tuple[str, ...], suffix: str) -> ModelMissingError:
    return ModelMissingError(
        f"{model!r} is not a built-in {engine} model nor a {suffix} file; "
        f"use one of: {', '.join(names)}, or a path to a custom {suffix}"
    )


class MicroWakeWordDetector:
    """microWakeWord: streaming features every 10 ms, a probability averaged over a window."""

    def __init__(self, model: str = "okay_nabu", threshold: float | None = None):
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        if model in MICRO_MODELS:
            self._mww = MicroWakeWord.from_builtin(Model(model))
        elif model.endswith(".json") and Path(model).expanduser().is_file():
            self._mww = MicroWakeWord.from_config(Path(model).expanduser())
        else:
            raise _missing(model, "microWakeWord", MICRO_MODELS, ".json")
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


class OpenWakeWordDetector:
    """openWakeWord: mel -> embedding -> classifier, fed in 80 ms blocks.

    Also microWakeWord's second opinion (``peak`` on the wake window, only when microWakeWord
    fires): a model trained differently, on a speech embedding, for ~0.1 s of CPU per detection
    instead of ~0.07 CPU-s every second.
    """

    def __init__(self, model: str = "hey_jarvis", threshold: float = 0.5, head: Any = None):
        from pyopen_wakeword import Model, OpenWakeWord

        from assistant.wake.embedding import WarmFeatures

        if model in OPEN_MODELS:
            self._oww = OpenWakeWord.from_builtin(Model(model))
        elif model.endswith(".tflite") and Path(model).expanduser().is_file():
            self._oww = OpenWakeWord.from_model(Path(model).expanduser())
        else:
            raise _missing(model, "openWakeWord", OPEN_MODELS, ".tflite")
        self._features = WarmFeatures(classifier=self._oww)
        self.name = Path(model).stem
        self.threshold = threshold
        self._buffer = b""
        self._primed: tuple[bytes, float] | None = None
        self.head = head
        """The noisy-room model (``wake_head.WakeHead``), weighed on the same embeddings by
        ``peak``: its highest probability is left in ``head_peak``."""
        self.head_peak: float | None = None
        self._head_best = 0.0
        self._window: Any = None

    def _probabilities(self, block: bytes) -> Iterator[float]:
        for embeddings in self._features.process_streaming(block):
            if self.head is not None:
                self._hear_head(embeddings)
            for prob in self._oww.process_streaming(embeddings):
                yield float(prob)

    def _hear_head(self, embeddings: Any) -> None:
        if self._window is None:
            from assistant.wake.embedding import EmbeddingWindow

            self._window = EmbeddingWindow()
        self._window.add(embeddings)
        prob = float(self.head.probabilities(self._window.flat())[0])
        self._head_best = max(self._head_best, prob)

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        self._buffer += chunk.audio
        best: float | None = None
        while len(self._buffer) >= OPEN_BLOCK_BYTES:
            block, self._buffer = self._buffer[:OPEN_BLOCK_BYTES], self._buffer[OPEN_BLOCK_BYTES:]
            for prob in self._probabilities(block):
                if prob > self.threshold:
                    best = max(best or 0.0, prob)
        if best is None:
            return None
        end_ms = chunk.end_ms - len(self._buffer) / BYTES_PER_MS
        self.reset()  # as above: one wake word, one detection
        return WakeDetection(self.name, end_ms, best)

    def peak(self, pcm: bytes) -> float:
        """The highest probability over pcm, from a cold start (2 s before the wake word's end
        and 0.65 s after gave the same verdicts as a model that had heard everything before,
        on 60 of 60 recordings). When ``prime`` was given the start of pcm, only the rest is
        heard now."""
        self.prime(pcm)
        assert self._primed is not None
        best, self._primed = self._primed[1], None
        self.head_peak = self._head_best if self.head is not None else None
        self.reset()
        return best

    def prime(self, start: bytes) -> None:
        """Hear the start of a later ``peak``'s audio now: the model costs ~0.14 CPU-s per
        second of audio, and the wake window is ready long before its tail. A start that
        extends the last one is heard from where that one ended."""
        primed = self._primed
        if primed is not None and start.startswith(primed[0]):
            done, best = len(primed[0]), primed[1]
        else:
            self.reset()
            done, best = 0, 0.0
        rest = start[done:]
        whole = rest[:len(rest) - len(rest) % OPEN_BLOCK_BYTES]
        self._primed = (start[:done + len(whole)], max(best, self._blocks_peak(whole)))

    def _blocks_peak(self, pcm: bytes) -> float:
        whole = len(pcm) - len(pcm) % OPEN_BLOCK_BYTES
        return max((prob for offset in range(0, whole, OPEN_BLOCK_BYTES)
                    for prob in self._probabilities(pcm[offset:offset + OPEN_BLOCK_BYTES])),
                   default=0.0)

    def reset(self) -> None:
        self._buffer = b""
        self._features.reset()
        if self._window is not None:
            self._window.reset()
            for embeddings in self._features.silence:
                self._window.add(embeddings)
        self._head_best = 0.0


VERIFIED_THRESHOLD = 0.1
"""microWakeWord's threshold when later checks weigh every detection. Unusual and noisy voices
score 0.1-0.85 on a real "okay nabu" (okay_nabu's own cutoff is 0.85). On bench/wake_study.py's
corpus (120 recordings per level, noise suppression in front), 0.1 is crossed by 120 / 118 / 96
wake words (clean / 20 dB / 10 dB) against 119 / 112 / 81 at 0.3, and by 97 near-misses in
15 min against 77; what else crosses it is for openWakeWord and whisper to turn away."""
ACOUSTIC_CONFIRMS = 0.9
"""openWakeWord's okay_nabu peak that settles a detection without whisper."""
LENIENT_ACOUSTIC = 0.05
"""openWakeWord's peak from which whisper's words may match the phrase with a "b" heard as a
"w": said in one breath with the command, "Okay Nabu turn on the light" is written "Okay, now
we turn on the light" even with the phrase as prompt. On bench/wake_study.py's --fluent corpus
(voices the robustness bench does not use) whisper wrote "okay now we" for 56 of 120 quiet wake
words, 25 of them below ACOUSTIC_CONFIRMS, and 24 of those at 0.2 or more; in none of the
studies' near-miss negatives (quiet and in babble, two voice seeds) did it write it. The
command that follows must still read as a request (``WakeCheck.needs_request``)."""
CHIME_ABOVE = 0.3
"""A detection this likely chimes at once; a less likely one is listened to in silence (the LED
shows it) until the second stage has weighed it. The detection's probability is from early in
the word: on bench/wake_study.py's corpus, 202 of the 295 wake words kept reach 0.3 by then,
and 22 of 96 near-miss detections (with a first stage at 0.3 and a 0.6 chime: 176 of 282, and
15 of 69)."""


@dataclass(frozen=True)
class Sensitivity:
    """When a detection openWakeWord did not confirm goes on to whisper's check."""

    sure_above: float
    """microWakeWord's peak over the window from which whisper decides on its own..."""
    hint: float
    """...and openWakeWord's peak from which whisper decides however unsure microWakeWord was.
    openWakeWord's okay_nabu rests at ~0.001 on anything but its wake word."""
    alone: float
    """microWakeWord's peak from which whisper decides when there is no openWakeWord model
    (``wake.acoustic_check: false``, or a wake word it has none for)."""
    noisy_sure_above: float
    noisy_hint: float
    """``sure_above`` and ``hint`` in a noisy room (NOISY_BELOW_DB): noise pulls both models'
    scores of a real wake word down, so whisper is asked sooner."""


SENSITIVITY = {"low": Sensitivity(0.98, 0.003, 0.9, 0.95, 0.002),
               "medium": Sensitivity(0.95, 0.0015, 0.8, 0.8, 0.0015),
               "high": Sensitivity(0.7, 0.0012, 0.6, 0.6, 0.0012)}
"""From bench/wake_study.py (voices and negatives the robustness bench does not use; every
first-stage detection with what each opinion said), with the first stage at VERIFIED_THRESHOLD,
a 1.25 s tail and whisper's ``addressed`` check. Wake words kept clean / 20 dB / 10 dB of 120
each (the first stage fired on 120 / 118 / 96), false wakes in 15 min of near-miss-heavy
negatives, the same negatives mixed with babble at 20 dB, and wake words kept when the command
runs straight on from the wake word (``--fluent``, the first stage fired on 120 / 117 / 98):

- low     115 / 110 / 84, 0 false wakes, 1 in babble, fluent 109 / 106 / 83
- medium  116 / 112 / 90, 0 false wakes, 2 in babble, fluent 112 / 108 / 88
- high    118 / 113 / 92, 1 false wake, 3 in babble, fluent 113 / 109 / 90

With the noisy-room model (``assistant.wake_head``, NOISY_HINT, NOISY_MODEL_IN_QUIET; a new
draw of the study's piper voices): medium 120 / 117 / 108 (116 / 110 / 91 without it), 2 false
wakes (the same 2 without it), low 120 / 117 / 108 and 0, high 120 / 118 / 108 and 3.

(fluent before the run-on reading of the phrase, LENIENT_ACOUSTIC: 98 / 98 / 78, 101 / 100 /
83 and 102 / 101 / 85.)

Before ``addressed`` asked for a pause in the audio (``paused``): medium 116 / 113 / 91, 2 false
wakes, fluent 102 / 100 / 83; on the robustness bench's own negatives (``--voice-seed 0
--per-level 0``) 7 false wakes in 15 min, now 5. Before the ``addressed`` check (medium at
0.95 / 0.005, noisy 0.8 / 0.002): 114 / 111 / 87, 9 false wakes, 9 in babble, fluent 100 / 101 /
80. The check lets whisper weigh more detections
(openWakeWord's hint of 0.0015 is just above where it rests on other speech, ~0.001), because
the near-misses it then hears as "Okay Nabu" are said in the middle of other talk. Without
openWakeWord (``alone``), whisper decides from microWakeWord's peak: medium 99 / 78 / 57 and 1
false wake."""
NOISY_HINT = 0.9
"""The noisy-room model's peak over the window (``assistant.wake_head``) from which whisper
decides on a detection in a noisy room, however unsure the other two models were."""
NOISY_MODEL_IN_QUIET = True
"""Whether the noisy-room model's peak on the window also sends a detection to whisper in a
quiet room (its first stage does not run there, ``wake_head.RoomGate``; this is its opinion on
microWakeWord's detections). bench/wake_study.py, medium: 120 / 117 / 108 wake words kept with,
116 / 113 / 108 without, the same 2 false wakes in 15 min of negatives (both microWakeWord's,
with the noisy-room model at 0.0006 and 0.004); 14 of its 98 detections there reached NOISY_HINT
and none of them passed whisper."""
NOISY_BELOW_DB = 28.0
"""A wake window whose speech stands less than this above its background
(``speech_over_background_db``) is from a noisy room. The benchmark's clean recordings measure
~50 dB, its 20 dB SNR ones 23-31 (TV up to 42), its 10 dB ones 11-23."""


def in_room(snr_db: float, quiet: tuple[float, float],
            noisy: tuple[float, float] | None) -> tuple[float, float]:
    """Pure: (sure_above, hint) for a wake window whose speech stands snr_db above its
    background: ``noisy`` below NOISY_BELOW_DB, when there are thresholds for noise."""
    return noisy if noisy is not None and snr_db < NOISY_BELOW_DB else quiet


def verdict(probability: float, acoustic: float | None, sure_above: float, hint: float,
            noisy: float | None = None) -> str:
    """Pure: what becomes of a first-stage detection.

    "confirmed" (openWakeWord is sure too: wake, no whisper), "whisper" (whisper must hear the
    phrase: microWakeWord was sure, openWakeWord heard something, or the noisy-room model's
    peak over the window, ``noisy``, reached NOISY_HINT) or "dropped" (none of these)."""
    if acoustic is not None and acoustic >= ACOUSTIC_CONFIRMS:
        return "confirmed"
    if probability >= sure_above or (acoustic is not None and acoustic >= hint):
        return "whisper"
    if noisy is not None and noisy >= NOISY_HINT:
        return "whisper"
    return "dropped"


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


class EitherWake:
    """Two first stages side by side: microWakeWord (on its noise-suppressed copy) and the
    noisy-room model (``assistant.wake_head``, on the raw audio). Whichever fires first is the
    detection; both then start afresh, so one wake word is one detection."""

    def __init__(self, first: WakeDetector, noisy: WakeDetector):
        self.first = first
        self.noisy = noisy

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        detection = self.first.process(chunk)
        other = self.noisy.process(chunk)
        if detection is None:
            detection = other
        if detection is not None:
            # The noisy-room model keeps its embeddings: the second stage reads the window's.
            self.first.reset()
            rearm = getattr(self.noisy, "rearm", None)
            if rearm is not None:
                rearm()
        return detection

    def reset(self) -> None:
        self.first.reset()
        self.noisy.reset()


def noisy_model_used(config: WakeConfig) -> bool:
    """Whether the noisy-room model runs: it knows okay_nabu only, and is weighed by the second
    stage together with openWakeWord's model (whose feature models it shares)."""
    return (config.noisy_model and config.engine == "microwakeword" and config.model == "okay_nabu"
            and config.verify and config.acoustic_check)


def make_wake_detector(config: WakeConfig, verified: bool | None = None) -> WakeDetector:
    """The first stage as configured. ``verified`` says whether a second stage will weigh its
    detections (default: ``config.verify``); only then is it made more sensitive."""
    verified = config.verify if verified is None else verified
    detector = _detector(config, verified)
    inner = detector.detector if isinstance(detector, CleanedWake) else detector
    _LOGGER.info("wake word %r (%s, threshold %.2f%s)", config.model, config.engine,
                 getattr(inner, "threshold", 0.0),
                 f", on a copy with noise suppression {config.noise_suppression}"
                 if config.noise_suppression > 0 else "")
    if verified and noisy_model_used(config):
        from assistant.wake.noisy import NoisyRoomDetector

        _LOGGER.info("wake word: the noisy-room model listens beside it")
        return EitherWake(detector, NoisyRoomDetector())
    return detector


def _detector(config: WakeConfig, verified: bool) -> WakeDetector:
    detector: WakeDetector
    if config.engine == "openwakeword":
        threshold = 0.5 if config.threshold is None else config.threshold
        detector = OpenWakeWordDetector(config.model, threshold)
    else:
        micro = config.threshold
        if micro is None and verified:
            micro = VERIFIED_THRESHOLD
        detector = MicroWakeWordDetector(config.model, micro)
    if config.noise_suppression > 0:
        detector = CleanedWake(detector, AudioCleaner(config.noise_suppression))
    return detector


def make_wake_verifier(config: WakeConfig, transcriber: Any,
                       words: frozenset[str] = frozenset()) -> WakeVerifier:
    """The second stage as configured. openWakeWord's opinion and the window's peak are for
    microWakeWord's detections; openWakeWord's own detections all go to whisper, as its
    probabilities are on another scale. ``words``: the home's (``home_words``)."""
    phrase = wake_phrase(config.model, config.phrase)
    if config.engine != "microwakeword":
        return WakeVerifier(transcriber, phrase, sure_above=0.0, home_words=words)
    use = config.acoustic_check and config.model in OPEN_MODELS
    head = None
    if noisy_model_used(config):
        from assistant.wake.noisy import WakeHead

        head = WakeHead()
    acoustic = OpenWakeWordDetector(config.model, head=head) if use else None
    rescorer = _detector(config, verified=True)
    sensitivity = SENSITIVITY[config.sensitivity]
    _LOGGER.info("wake word second stage: %swhisper, sensitivity %s",
                 "openWakeWord, " if acoustic else "", config.sensitivity)
    return WakeVerifier(transcriber, phrase, acoustic,
                        sensitivity.sure_above if acoustic else sensitivity.alone,
                        getattr(rescorer, "peak", None), sensitivity.hint,
                        noisy=(sensitivity.noisy_sure_above, sensitivity.noisy_hint) if acoustic
                        else None, home_words=words)


# -- second stage: whisper -----------------------------------------------------------------
@dataclass(frozen=True)
class WakeCheck:
    ok: bool
    heard: str
    """What whisper heard ("" when it was not asked)."""
    acoustic: float | None = None
    """openWakeWord's peak on the wake window, when it was asked."""
    how: str = "whisper"
    """The verdict's reason: "confirmed", "whisper" or "dropped" (see ``verdict``), or
    "unaddressed" (whisper heard the phrase in the middle of other talk, see ``addressed``)."""
    snr_db: float | None = None
    """How far the window's speech stood above its background (``speech_over_background_db``)."""
    needs_request: bool = False
    """Confirmed by whisper, but not as the phrase alone followed by a pause: the command that
    follows must read as a request (``WakeVerifier.spoken_to``). Near-misses said in passing run
    on into other talk, and whisper, prompted with the phrase, may write just "Okay Nabu." or
    take their next word for a request ("Okay Nabu is very hot in summer." for "Okay, Abu Dhabi
    is very hot in summer", then "we can maybe hot in summer"). A real command said after the
    wake word, with a pause or without, starts with a request's word or names the home."""
    lenient: bool = False
    """Whisper's words matched the phrase only as its run-on reading (``LENIENT_ACOUSTIC``)."""
    cut_short: bool = False
    """Whisper wrote the phrase and nothing after it, though the speaker did not pause: prompted
    with the phrase, whisper can stop there and drop the words said on after it ("Okay, Nabu."
    for the whole of "Okay, Abu Dhabi is very hot in summer"). Nothing then shows the phrase was
    said to the assistant, so only the home's words make the command a request (as for
    ``lenient``): "it's very hot in summer" opens like one. In a quiet room only: in noise the
    background fills the pause after a real wake word (``vad.paused_after_wake`` hears none),
    and the rule turned away "what time is it" and "what's the date today" after a bare "Okay
    Nabu." (6 of 120 wake words at 10 dB in the robustness bench). And only when neither
    acoustic model heard the word (``heard_the_word``): said in one breath, "Okay Nabu what's
    the date today" was turned away too."""
    noisy: float | None = None
    """The noisy-room model's peak on the wake window, when it is used."""


def heard_the_word(acoustic: float | None, head: float | None) -> bool:
    """Pure: whether openWakeWord (LENIENT_ACOUSTIC) or the noisy-room model (NOISY_HINT) heard
    the wake word in the window. On bench/wake_study.py's seed 1 every near-miss whisper wrote as
    the bare phrase ("Okay, Abu Dhabi …", "Okay Nebula …", "Okay, Nagano …") scored at most
    0.005 and 0.24; the real wake words it wrote so, 0.9999 or more from the noisy-room model
    but one (0.82)."""
    return ((acoustic is not None and acoustic >= LENIENT_ACOUSTIC)
            or (head is not None and head >= NOISY_HINT))


def looks_again(heard: str, phrase: str, acoustic: float | None, head: float | None) -> bool:
    """Pure: whether whisper hears the window again with less of its tail (``second_look``):
    its reading lacks the phrase, even read the run-on way, though the noisy-room model was
    sure of it (NOISY_HINT)."""
    return (head is not None and head >= NOISY_HINT and not sounds_like(heard, phrase)
            and not run_on_reading(heard, phrase, acoustic))


def second_look(pcm: bytes, tail_bytes: int | None,
                keep_ms: float = SECOND_LOOK_TAIL_MS) -> bytes | None:
    """Pure: a wake window and its tail (``tail_bytes`` of pcm's end) with the tail cut to
    ``keep_ms``, or None when it is no shorter (or the tail is not known)."""
    if tail_bytes is None:
        return None
    cut = tail_bytes - int(keep_ms * BYTES_PER_MS)
    return pcm[:len(pcm) - cut] if 0 < cut < len(pcm) else None


def wake_phrase(model: str, phrase: str | None = None) -> str:
    """What the wake word sounds like in words: "okay_nabu" -> "okay nabu"."""
    if phrase:
        return phrase
    return Path(model).stem.replace("_", " ").replace("-", " ").lower()


def sounds_like(heard: str, phrase: str, lenient: bool = False) -> bool:
    """True when the transcript holds something that sounds like the wake phrase.

    Compared by sound (metaphone) with the word breaks removed, since whisper splits a name it
    does not know as it likes: "Okay, now, buu." is "okay nabu" (OKNB), "okay now" (OKN) and
    "okay nebula" (OKNBL) are not. ``lenient``: a "b" may also have been heard as a "w" (see
    LENIENT_ACOUSTIC).
    """
    return _phrase_end(heard, phrase, lenient) is not None


def run_on_reading(heard: str, phrase: str, acoustic: float | None) -> bool:
    """Pure: whether whisper's words should be matched to the phrase the run-on way (``lenient``
    for ``sounds_like`` and the rest): openWakeWord heard the word (LENIENT_ACOUSTIC) and the
    words do not match the usual way."""
    return (acoustic is not None and acoustic >= LENIENT_ACOUSTIC
            and not sounds_like(heard, phrase))


def _phrase_end(heard: str, phrase: str, lenient: bool = False) -> int | None:
    """Where in ``heard`` (a character offset) the first stretch that sounds like the phrase
    ends, or None."""
    words = list(re.finditer(r"[a-z0-9]+", heard.lower()))
    span = _phrase_at([word.group() for word in words], phrase, lenient=lenient)
    return None if span is None else words[span[0] + span[1] - 1].end()


def _sound(text: str, lenient: bool = False) -> str:
    """Metaphone; ``lenient``: with "b" and "w" counted as one sound."""
    import jellyfish

    sound = jellyfish.metaphone(text)
    return sound.replace("B", "W") if lenient else sound


def _phrase_sound(phrase: str, lenient: bool = False) -> str:
    """The phrase's sound with its word breaks removed ("okay nabu": OKNB)."""
    return _sound("".join(phrase.lower().split()), lenient)


def _phrase_at(words: list[str], phrase: str, starts: int | None = None,
               lenient: bool = False) -> tuple[int, int] | None:
    """(first word, number of words) of the first stretch of ``words`` that sounds like the
    phrase (metaphone, word breaks removed), starting within the first ``starts`` words (any by
    default), or None."""
    wanted = _phrase_sound(phrase, lenient)
    longest = len(phrase.split()) + 2
    for start in range(len(words) if starts is None else min(starts, len(words))):
        for count in range(1, min(longest, len(words) - start) + 1):
            if _sound("".join(words[start:start + count]), lenient) == wanted:
                return start, count
    return None


_REQUEST_OPENERS_TEXT = """
    turn switch set open close lock unlock dim brighten raise lower start stop pause resume play
    turned turning switched switching opening closing locking unlocking setting
    cancel what what's whats when where who whose why how which is are do does did can could
    would will should tell give show find make remind please let let's i i'd i'm it's my call
    read say add put check explain define translate search look help
"""
REQUEST_OPENERS = frozenset(_REQUEST_OPENERS_TEXT.split())
"""Words a request to a voice assistant starts with: commands and questions (and whisper's
"turned on the fan", "turning off the coffee" for a command said straight after the wake word)."""
REQUEST_HOME_WORDS = 4
"""How far into a command (words) one of the home's words shows it is a request: whisper
writes "this is the front door locked" in TV noise; the robustness bench's near-miss talk
names none so early ("The museum is closed on Mondays": "on" is the fifth)."""
I_WANT = frozenset({"want", "need", "would", "wanna", "like", "have"})
"""After "I", the words of a request ("I want …", "I need a timer"); a command that starts
with another ("I will call you back", after "Okay Nana") is talk unless it names the home."""
AFTER_A_PAUSE_ONLY = frozenset({"let", "let's"})
"""Openers of a request only when the speaker paused after the wake phrase: said straight on,
"Okay now, let's get going" is a near-miss whisper writes "Okay Nabu. Let's get going."."""
_SMALL_TALK = frozenset({"the", "a", "an", "is", "it", "in", "to", "of", "what", "what's", "time",
                         "date", "never", "mind"})


def addressed(heard: str, phrase: str, home_words: frozenset[str] = frozenset(),
              paused: bool = True, lenient: bool = False) -> bool:
    """Pure: whether what whisper heard after the wake phrase may be spoken to the assistant.

    A real wake word is followed by a pause (whisper ends the sentence: "Okay Nabu. Turn on the
    light."), by nothing, by a request ("Okay Nabu, what time is it") or by the home's own words
    ("Okay Nabu, the kitchen light"). A near-miss is said in the middle of other talk: "Okay
    Naboo from Star Wars was a beautiful planet", "Okay, Bamboo grows really fast". Whisper ends
    a sentence after some near-misses too ("Okay Nabu. I'll call you back." for "Okay Nana,
    ..."): its sentence's end counts only when the speaker did pause (``paused``, by the audio:
    ``vad.paused_after_wake``). A transcript without the phrase is not judged here
    (``sounds_like`` is; ``lenient`` as there)."""
    end = _phrase_end(heard, phrase, lenient)
    if end is None:
        return True
    after = heard[end:].lower()
    rest = re.findall(r"[a-z0-9']+", after)
    # A sentence's end, not whisper's "Nabu.B" (for "Abu Dhabi") with no space after it.
    if not rest or (paused and re.match(r"\s*[.?!\u2026]+(\s|$)", after)):
        return True
    if sounds_like(" ".join(rest), phrase, lenient):
        return True  # said twice: "Okay Nabu. Okay Nabu."
    return _a_request(rest, home_words, paused)


def words_after(heard: str, phrase: str, lenient: bool = False) -> list[str]:
    """Pure: the words of a transcript after the wake phrase (none without the phrase)."""
    end = _phrase_end(heard, phrase, lenient)
    return [] if end is None else re.findall(r"[a-z0-9']+", heard[end:].lower())


def _a_request(words: list[str], home_words: frozenset[str], paused: bool) -> bool:
    openers = REQUEST_OPENERS if paused else REQUEST_OPENERS - AFTER_A_PAUSE_ONLY
    return bool(words) and (words[0] in openers or any(word in home_words for word in words))


def is_request(text: str, phrase: str, home_words: frozenset[str] = frozenset(),
               paused: bool = False, lenient: bool = False, home_only: bool = False) -> bool:
    """Pure: whether a command's transcript reads as a request to the assistant: it starts with
    a request's word (``REQUEST_OPENERS``; "let's" only after a pause, see
    ``AFTER_A_PAUSE_ONLY``; "I" only before a request's verb, see ``I_WANT``) or names one of
    the home's words within its first REQUEST_HOME_WORDS words (further on, "on" or "light" is
    as likely in talk: "I'll call you back on Monday"). The wake phrase said again at its start,
    or words that sound like the phrase's end ("boo, what time is it": the wake word's tail,
    said in one breath), are passed over, but never a request's word or the home's.

    ``lenient``: the wake phrase was read the run-on way ("Okay, now we …", LENIENT_ACOUSTIC).
    Then only the home's words make a request: everyday talk starts that way too ("Okay, now we
    can go", "… we should add the flour"), while what whisper wrote after a real one named the
    home ("turn", "lock", "set the reading lamp"). ``home_only``: only the home's words make a
    request, the wake phrase read as usual (``WakeCheck.cut_short``)."""
    words = re.findall(r"[a-z0-9']+", text.lower())
    again = _phrase_at(words, phrase, starts=1, lenient=lenient)
    words = words[again[1]:] if again is not None else words
    wanted = _phrase_sound(phrase, lenient)
    while (len(words) > 1 and words[0] not in REQUEST_OPENERS and words[0] not in home_words
           and wanted.endswith(_sound(words[0], lenient) or "?")):
        words = words[1:]
    first = words[:REQUEST_HOME_WORDS]
    if any(word in home_words for word in first):
        return True
    if lenient or home_only:
        return False
    if words[:1] == ["i"] and words[1:2] != [] and words[1] not in I_WANT:
        return False  # "I will call you back" is talk
    return _a_request(words[:1], frozenset(), paused)


PARTICLES = frozenset({"on", "off"})
"""Command words too common in any talk to show the home: "isn't the capital on Kenya" (a
near-miss, "Okay, Nairobi is the capital of Kenya", heard after "Okay, Nabu is …") read as a
request by its "on". A command that has them names a device or starts with a verb ("turn")."""


def home_words(vocabulary: Iterable[str]) -> frozenset[str]:
    """The words of the home's names, areas and commands that are not everyday small talk
    ("kitchen", "fan", "turn"; not "the", "is", "time", nor ``PARTICLES``), with their plurals
    ("lights on")."""
    words = {word for phrase in vocabulary for word in phrase.lower().split()
             if word not in _SMALL_TALK and word not in PARTICLES}
    return frozenset(words | {word + "s" for word in words if not word.endswith("s")})


class WakeVerifier:
    """The second stage, on the wake window and the command's first moment.

    First openWakeWord's model of the same wake word (``OpenWakeWordDetector.peak``), when there is one:
    if it is sure, that settles it. Otherwise, if microWakeWord's peak reached ``sure_above`` or
    openWakeWord's reached ``hint`` (``verdict``), whisper hears the window prompted with the phrase:
    microWakeWord alone fires on near-misses ("okay now", "I'm okay now", "okay, nah"), and the
    prompt makes whisper write a real "okay nabu" the same way for every voice, while a
    near-miss keeps its own words.
    Runs on a thread of its own while the command is spoken.
    """

    def __init__(self, transcriber: Any, phrase: str, acoustic: OpenWakeWordDetector | None = None,
                 sure_above: float = SENSITIVITY["medium"].sure_above,
                 rescore: Callable[[bytes], float] | None = None,
                 hint: float = SENSITIVITY["medium"].hint,
                 noisy: tuple[float, float] | None = None,
                 home_words: frozenset[str] = frozenset()):
        self.transcriber = transcriber
        self.home_words = home_words
        """Words after the phrase that show it was said to the assistant (see ``addressed``)."""
        self.phrase = phrase
        self.acoustic = acoustic
        self.sure_above = sure_above
        self.hint = hint
        self.noisy = noisy
        """``sure_above`` and ``hint`` for a window from a noisy room (NOISY_BELOW_DB); None:
        the same as in quiet (measured with openWakeWord only)."""
        self.rescore = rescore
        """microWakeWord's peak over the whole window (its own instance: this runs on the wake
        worker): the detection's probability is from early in the word."""
        self.tail_ms: float = WAKE_TAIL_MS if acoustic is not None else WAKE_TAIL_ALONE_MS
        """How much audio after the detection ``check`` wants (see WAKE_TAIL_MS)."""
        # Capitalised like a name ("Okay Nabu."): with "Okay nabu." whisper went on writing
        # "okay, now we ..." for half of the real wake words.
        self._prompt = phrase.title() + "."

    def prime(self, window: bytes) -> None:
        """Start on the wake window before the command's tail is there (see ``check``)."""
        if self.acoustic is not None:
            self.acoustic.prime(window)

    def chimes(self, probability: float) -> bool:
        """Whether a detection this likely deserves the wake chime at once (before any check)."""
        return probability >= CHIME_ABOVE

    def check(self, pcm: bytes, probability: float = 1.0, paused: bool = True,
              noisy: float | None = None, tail_bytes: int | None = None) -> WakeCheck:
        """``paused``: whether the speaker paused after the wake word (see ``addressed``);
        ``noisy``: only the noisy-room model fired, with this probability
        (``WakeDetection.noisy``); ``tail_bytes``: how much of pcm came after the detection
        (for the second look, SECOND_LOOK_TAIL_MS; None: no second look)."""
        if self.rescore is not None:
            probability = max(probability, self.rescore(pcm))
        acoustic = self.acoustic.peak(pcm) if self.acoustic is not None else None
        head = getattr(self.acoustic, "head_peak", None)  # None: no noisy-room model
        snr_db = speech_over_background_db(pcm)
        noisy_room = snr_db < NOISY_BELOW_DB
        if noisy is not None and not noisy_room and probability < VERIFIED_THRESHOLD:
            # In a quiet room microWakeWord hears the wake word (120 of 120 in the study), and
            # what the noisy-room model alone fires on there is near-misses; one it fired on
            # first, before microWakeWord, is weighed as microWakeWord's (its peak over the
            # window is then above its own threshold).
            return WakeCheck(False, "", acoustic, "dropped", snr_db, noisy=head)
        how = verdict(probability, acoustic, *in_room(snr_db, (self.sure_above, self.hint),
                                                      self.noisy),
                      noisy=head if noisy_room or NOISY_MODEL_IN_QUIET else None)
        if how != "whisper":
            return WakeCheck(how == "confirmed", "", acoustic, how, snr_db, noisy=head)
        heard = self.transcriber.transcribe(pcm, prompt=self._prompt).text.strip()
        shorter = second_look(pcm, tail_bytes)
        if shorter is not None and looks_again(heard, self.phrase, acoustic, head):
            again = self.transcriber.transcribe(shorter, prompt=self._prompt).text.strip()
            if sounds_like(again, self.phrase):
                heard = again
        lenient = run_on_reading(heard, self.phrase, acoustic)
        if not addressed(heard, self.phrase, self.home_words, paused, lenient):
            return WakeCheck(False, heard, acoustic, "unaddressed", snr_db, noisy=head)
        ok = sounds_like(heard, self.phrase, lenient)
        # The run-on reading comes from a phrase said in one breath with what follows: that
        # must be a request, even after a pause ("Okay, now we." alone is talk).
        nothing_after = not words_after(heard, self.phrase, lenient)
        alone = paused and not lenient and nothing_after
        return WakeCheck(ok, heard, acoustic, how, snr_db, needs_request=ok and not alone,
                         lenient=lenient,
                         cut_short=(ok and not paused and nothing_after and not noisy_room
                                    and not heard_the_word(acoustic, head)),
                         noisy=head)

    def spoken_to(self, text: str, paused: bool, lenient: bool = False,
                  home_only: bool = False) -> bool:
        """Whether a command's transcript reads as a request (``is_request``), for a wake that
        needs one (``WakeCheck.needs_request``); ``paused`` and ``lenient`` as for the check,
        ``home_only`` for a check whose transcript was cut short (``WakeCheck.cut_short``)."""
        return is_request(text, self.phrase, self.home_words, paused, lenient, home_only)
