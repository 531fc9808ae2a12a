"""The wake word's two stages as the config asks for them."""

from __future__ import annotations

import logging
from typing import Any

from assistant.audio.clean import AudioCleaner
from assistant.config import WakeConfig
from assistant.wake.check import WakeCheck
from assistant.wake.detection import WakeDetector
from assistant.wake.embedding import OpenClassifier, OpenWakeWordDetector
from assistant.wake.micro import VERIFIED_THRESHOLD, CleanedWake, MicroWakeWordDetector
from assistant.wake.noisy import EitherWake, NoisyRoomDetector, WakeHead

_LOGGER = logging.getLogger(__name__)

VERIFIED_MODELS = ("okay_nabu",)
"""Wake words the second stage has a verifier and fitted parameters for."""


def verified(config: WakeConfig) -> bool:
    """Whether a second stage weighs the first stage's detections: ``wake.verify`` on, with
    microWakeWord's okay_nabu (the verifier was trained on that word only)."""
    return config.verify and config.engine == "microwakeword" and config.model in VERIFIED_MODELS


def noisy_model_used(config: WakeConfig) -> bool:
    """Whether the noisy-room model runs beside microWakeWord: okay_nabu only, with the second
    stage, on openWakeWord's feature models (``wake.acoustic_check``)."""
    return verified(config) and config.noisy_model and config.acoustic_check


def make_wake_detector(config: WakeConfig) -> WakeDetector:
    """The first stage: made more sensitive when a second stage weighs its detections."""
    detector = _detector(config, verified(config))
    inner = detector.detector if isinstance(detector, CleanedWake) else detector
    _LOGGER.info("wake word %r (%s, threshold %.2f%s)", config.model, config.engine,
                 getattr(inner, "threshold", 0.0),
                 f", on a copy with noise suppression {config.noise_suppression}"
                 if config.noise_suppression > 0 else "")
    if noisy_model_used(config):
        _LOGGER.info("wake word: the noisy-room model listens beside it while the room is loud")
        return EitherWake(detector, NoisyRoomDetector())
    return detector


def _detector(config: WakeConfig, sensitive: bool) -> WakeDetector:
    detector: Any
    if config.engine == "openwakeword":
        detector = OpenWakeWordDetector(config.model,
                                        0.5 if config.threshold is None else config.threshold)
    else:
        micro = config.threshold
        if micro is None and sensitive:
            micro = VERIFIED_THRESHOLD
        detector = MicroWakeWordDetector(config.model, micro)
    if config.noise_suppression > 0:
        detector = CleanedWake(detector, AudioCleaner(config.noise_suppression))
    return detector


def make_wake_check(config: WakeConfig, home: frozenset[str] = frozenset()) -> WakeCheck | None:
    """The second stage, or None when the first stage is trusted alone (``verified``)."""
    if not verified(config):
        if config.verify:
            _LOGGER.info("wake word %r: no second stage for it; the model's own threshold decides",
                         config.model)
        return None
    from assistant.wake.decision import load_params
    from assistant.wake.evidence import Measurer

    rescorer: Any = _detector(config, sensitive=True)  # microWakeWord (verified): it has peak()
    loud = noisy_model_used(config)
    measurer = Measurer(rescorer.peak,
                        classifier=OpenClassifier(config.model) if loud else None,
                        head=WakeHead() if loud else None)
    _LOGGER.info("wake word second stage: verifier%s, sensitivity %s",
                 " and, in a loud room, the noisy-room and openWakeWord models" if loud else "",
                 config.sensitivity)
    phrase = config.phrase or config.model.replace("_", " ")
    return WakeCheck(measurer, load_params(), config.sensitivity, home, phrase)
