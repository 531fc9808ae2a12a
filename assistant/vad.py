"""Voice activity: a speech probability per 10 ms frame, and a pure end-of-speech decision."""

from __future__ import annotations

import enum
import logging

import numpy as np

from assistant.audio.chunk import BYTES_PER_MS
from assistant.config import EndpointConfig

_LOGGER = logging.getLogger(__name__)

FRAME_MS = 10
FRAME_BYTES = FRAME_MS * BYTES_PER_MS
VAD_HANGOVER_MS = 500.0
"""pymicro_vad keeps saying "speech" for ~0.6 s after speech stops (measured 360-700 ms on
piper and espeak-ng speech; it also starts ~0.3-0.6 s late). The endpointer takes this much
off the end, so silence_s means silence the user left, not silence the VAD has noticed."""


class MicroVadScorer:
    """pymicro_vad on 10 ms frames; audio that does not fill a frame waits for the next chunk."""

    def __init__(self) -> None:
        from pymicro_vad import MicroVad

        self._vad = MicroVad()
        self._remainder = b""

    def process(self, audio: bytes) -> list[float]:
        """One speech probability (0-1) per complete 10 ms frame, in order."""
        audio = self._remainder + audio
        whole = len(audio) - len(audio) % FRAME_BYTES
        self._remainder = audio[whole:]
        probabilities = []
        for offset in range(0, whole, FRAME_BYTES):
            p = self._vad.process_10ms(audio[offset:offset + FRAME_BYTES])
            # -1 means "still warming up": nothing is known yet, so it is not speech.
            probabilities.append(max(0.0, p))
        return probabilities

    def reset(self) -> None:
        self._vad.reset()
        self._remainder = b""


class Decision(enum.Enum):
    WAITING = "waiting"
    """Nothing new: no speech yet, speech going on, or a pause still too short to matter."""
    SPEECH_STARTED = "speech_started"
    SHORT_PAUSE = "short_pause"
    """Silence of speculative_silence_s after speech: a transcript may already be complete."""
    END = "end"
    """The command is over; see end_reason ("silence" or "max_length")."""
    TIMEOUT = "timeout"
    """Nobody spoke within start_timeout_s."""


class Endpointer:
    """End-of-speech state machine, fed one 10 ms frame at a time, in audio time.

    Pure (no I/O, no clock), so it is tested with plain values. Speech must last min_speech_ms
    before it counts, so clicks and blips neither start a command nor break a pause. The
    speech decision comes from outside (feed) or from a probability and a threshold
    (feed_probability), so an adaptive noise-floor threshold can be plugged in later.
    """

    def __init__(self, config: EndpointConfig, min_speech_ms: float = 60.0,
                 hangover_ms: float = VAD_HANGOVER_MS):
        self.config = config
        self.min_speech_ms = min_speech_ms
        self.hangover_ms = hangover_ms
        """How long the VAD holds "speech" after speech stops (0 for an instant VAD)."""
        self.start(0.0)

    def start(self, t_ms: float) -> None:
        """Begin listening for a command at audio time t_ms (the wake word's end)."""
        self.start_ms = t_ms
        self.speech_start_ms: float | None = None
        self.speech_end_ms = t_ms
        """Audio time at which confirmed speech last stopped (the end of the command)."""
        self.in_speech = False
        self.end_reason: str | None = None
        self._last_ms = t_ms
        self._run_ms = 0.0
        self._paused_reported = False
        self._final: Decision | None = None

    @property
    def started(self) -> bool:
        return self.speech_start_ms is not None

    def feed_probability(self, probability: float, t_ms: float,
                         threshold: float | None = None) -> Decision:
        limit = self.config.vad_threshold if threshold is None else threshold
        return self.feed(probability >= limit, t_ms)

    def feed(self, is_speech: bool, t_ms: float) -> Decision:
        """One frame whose END is at audio time t_ms."""
        if self._final is not None:
            return self._final
        frame_ms = max(0.0, t_ms - self._last_ms) or FRAME_MS
        self._last_ms = t_ms
        if is_speech:
            return self._speech(frame_ms, t_ms)
        self._run_ms = 0.0
        if self.in_speech and self.speech_start_ms is not None:
            # Speech really stopped about one VAD hangover before the VAD said so.
            self.speech_end_ms = max(self.speech_start_ms, self.speech_end_ms - self.hangover_ms)
        self.in_speech = False
        if self.speech_start_ms is None:
            if t_ms - self.start_ms >= self.config.start_timeout_s * 1000.0:
                return self._finish(Decision.TIMEOUT, "timeout")
            return Decision.WAITING
        silence_ms = t_ms - self.speech_end_ms
        if silence_ms >= self.config.silence_s * 1000.0:
            return self._finish(Decision.END, "silence")
        if not self._paused_reported and silence_ms >= self.config.speculative_silence_s * 1000.0:
            self._paused_reported = True
            return Decision.SHORT_PAUSE
        return Decision.WAITING

    def _speech(self, frame_ms: float, t_ms: float) -> Decision:
        self._run_ms += frame_ms
        if self._run_ms < self.min_speech_ms:
            if self.speech_start_ms is None and (
                t_ms - self.start_ms >= self.config.start_timeout_s * 1000.0 + self.min_speech_ms
            ):
                return self._finish(Decision.TIMEOUT, "timeout")
            return Decision.WAITING  # a blip, until it lasts long enough to be speech
        self.in_speech = True
        self.speech_end_ms = t_ms
        self._paused_reported = False
        if self.speech_start_ms is None:
            self.speech_start_ms = t_ms - self._run_ms
            _LOGGER.debug("speech started at %.0f ms", self.speech_start_ms)
            return Decision.SPEECH_STARTED
        if t_ms - self.speech_start_ms >= self.config.max_command_s * 1000.0:
            return self._finish(Decision.END, "max_length")
        return Decision.WAITING

    def _finish(self, decision: Decision, reason: str) -> Decision:
        self._final = decision
        self.end_reason = reason
        _LOGGER.debug("endpoint %s (%s) at %.0f ms, speech ended at %.0f ms",
                      decision.value, reason, self._last_ms, self.speech_end_ms)
        return decision


class EnergyPause:
    """A pause seen in the signal level, long before the VAD notices it.

    The VAD keeps saying "speech" for ~0.6 s after the speaker stops; the level drops at once.
    A level far below the command's own peak for `pause_ms` is a pause worth a speculative
    transcript. In loud steady noise the drop never comes, and the VAD's end decides instead.
    """

    def __init__(self, drop_db: float = 20.0, pause_ms: float = 150.0, min_peak_db: float = -45.0):
        self.drop_db = drop_db
        self.pause_ms = pause_ms
        self.min_peak_db = min_peak_db
        self.peak_db = -120.0
        self.quiet_ms = 0.0
        self._fired = False

    def feed(self, pcm: bytes) -> bool:
        """Feeds one chunk; True once at the start of each pause."""
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if len(samples) == 0:
            return False
        level_db = 10.0 * float(np.log10(float(np.mean(samples**2)) + 1e-12))
        self.peak_db = max(self.peak_db, level_db)
        quiet = self.peak_db >= self.min_peak_db and level_db < self.peak_db - self.drop_db
        if not quiet:
            self.quiet_ms = 0.0
            self._fired = False
            return False
        self.quiet_ms += len(samples) / 16.0
        if self.quiet_ms >= self.pause_ms and not self._fired:
            self._fired = True
            return True
        return False
