"""The pipeline, split by phase: the wake gate (``wake_gate``), the command being recorded
(``command``), speech to text for it (``speech``), the turn (``turn``), and the loop that knows
their order (``core``). Each phase hands the next a typed value (``stages``)."""

from assistant.pipeline.core import MUTE_AFTER_REPLY_MS, Pipeline
from assistant.pipeline.stages import (
    Brain,
    Mode,
    SecondStage,
    SpeechResult,
    Stages,
    Trigger,
    WakeStart,
)

__all__ = ["MUTE_AFTER_REPLY_MS", "Brain", "Mode", "Pipeline", "SecondStage", "SpeechResult",
           "Stages", "Trigger", "WakeStart"]
