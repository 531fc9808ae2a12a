"""The wake word: a first stage that listens all the time, and a second stage that weighs each
detection before anything is done.

- ``detection``: what a first stage reports (``WakeDetection``), its Protocol, the refractory window;
- ``micro``: microWakeWord on a noise-suppressed copy of the audio (the default first stage);
- ``embedding``: openWakeWord's speech embeddings and classifiers (an engine, and evidence);
- ``noisy``: this project's model for noisy rooms, a second first stage while the room is loud;
- ``verifier``: this project's verifier network on microWakeWord's features;
- ``evidence``: what the second stage measures about a detection (``WakeEvidence``);
- ``decision``: the pure, fitted decision on that evidence (``decide`` -> ``WakeVerdict``);
- ``request``: the tie-breaker for a borderline verdict, from the command's transcript;
- ``check``: the second stage as the pipeline calls it (``WakeCheck``);
- ``builders``: both stages from the config.
"""

from assistant.wake.builders import make_wake_check, make_wake_detector, noisy_model_used, verified
from assistant.wake.check import WakeCheck
from assistant.wake.decision import Outcome, WakeVerdict, decide, load_params
from assistant.wake.detection import Detector, Refractory, WakeDetection, WakeDetector
from assistant.wake.embedding import OPEN_MODELS
from assistant.wake.evidence import WAKE_TAIL_MS, WAKE_WINDOW_MS, WakeEvidence
from assistant.wake.micro import MICRO_MODELS
from assistant.wake.request import home_words

__all__ = [
    "MICRO_MODELS", "OPEN_MODELS", "WAKE_TAIL_MS", "WAKE_WINDOW_MS", "Detector", "Outcome",
    "Refractory", "WakeCheck", "WakeDetection", "WakeDetector", "WakeEvidence", "WakeVerdict",
    "decide", "home_words", "load_params", "make_wake_check", "make_wake_detector",
    "noisy_model_used", "verified",
]
