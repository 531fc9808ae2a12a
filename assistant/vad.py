"""Voice activity: a speech probability per 10 ms frame, and a pure end-of-speech decision."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections import deque
from collections.abc import Sequence

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


LEVEL_PAUSE_S = 0.12
"""A pause in the level this long is worth a speculative transcript: the level drops at once,
long before the VAD (with its hangover) notices. The smoothing's lag (half corrected) adds
0-50 ms of real quiet. 0.1 s ended some file-fed commands in a plosive's gap ("forty | percent");
0.15 s was 20-30 ms slower than the old 30 ms-chunk EnergyPause on clean commands."""
LEVEL_MIN_SPEECH_MS = 100.0
"""Loudness must last this long to break a pause: a TV's or a crowd's louder syllables do not."""
MIN_LEVEL_SPEECH_MS = 300.0
"""Loudness shorter than this (a cough, a door, a burst of babble) cannot be a whole command."""
UNHEARD_SPEECH_MS = 500.0
"""...and after a wake word, loudness the VAD never called speech must last this long: the rest
of a wake word detected early in the word, when the user pauses before the command, is shorter."""


def level_endpointer(config: EndpointConfig, delay_ms: float) -> Endpointer:
    """An endpointer for NoiseGate decisions (whose smoothing lags by delay_ms), with the short
    speculative pause of LEVEL_PAUSE_S."""
    return Endpointer(dataclasses.replace(config, speculative_silence_s=LEVEL_PAUSE_S),
                      min_speech_ms=LEVEL_MIN_SPEECH_MS, hangover_ms=delay_ms)


WAKE_TAIL_GAP_MS = 120.0
"""A pause at least this long (by the NoiseGate) ends the wake word's tail..."""
WAKE_TAIL_MAX_MS = 350.0
"""...when at most this much loud audio came before it..."""
WAKE_TAIL_THEN_MS = 150.0
"""...and at least this much follows it: otherwise the pause is the command's own."""


def wake_tail_ms(loud: Sequence[bool], gap_ms: float = WAKE_TAIL_GAP_MS,
                 max_ms: float = WAKE_TAIL_MAX_MS, then_ms: float = WAKE_TAIL_THEN_MS) -> float:
    """Pure: how much of a command's audio (one NoiseGate decision per 10 ms frame) is the end of
    the wake word, to be left out of its transcript; 0.0 when none is sure to be.

    A sensitive first stage fires before the wake word is over, so the command's audio can
    begin with its last syllable: whisper then writes "so turn on the fire", "no unlock left
    front door". Only the first pause counts, and only in audio that begins loud (inside the
    word): loud audio, at most ``max_ms`` of it, then ``gap_ms`` of quiet, then more speech.
    A command that follows the wake word without a pause keeps all its audio, and so does one
    whose first words come before its first pause (too much loud audio before it to be a
    tail). The smoothed level falls after the real one, so the cut lands inside the pause,
    never in the speech after it.
    """
    return settled_tail_ms(loud, gap_ms, max_ms, then_ms) or 0.0


def settled_tail_ms(loud: Sequence[bool], gap_ms: float = WAKE_TAIL_GAP_MS,
                    max_ms: float = WAKE_TAIL_MAX_MS, then_ms: float = WAKE_TAIL_THEN_MS
                    ) -> float | None:
    """Pure: ``wake_tail_ms`` of the frames so far once no later frame can change it; None
    while one still may (the grammar fast path waits for it before it hears anything: the wake
    word's last syllable reads as some word of the home)."""
    if len(loud) < 3:
        return None
    if not any(loud[:3]):
        return 0.0  # the wake word was over when the command began
    gap = int(gap_ms // FRAME_MS)
    loud_before = quiet = 0
    for i, frame in enumerate(loud):
        if frame:
            if quiet >= gap:
                if not 0 < loud_before * FRAME_MS <= max_ms:
                    return 0.0
                after = sum(loud[i:])
                return (i - quiet) * FRAME_MS if after * FRAME_MS >= then_ms else None
            loud_before += 1
            quiet = 0
        else:
            quiet += 1
        if loud_before * FRAME_MS > max_ms:
            return 0.0  # too long for a tail: the command ran straight on from the wake word
    return None


WAKE_PAUSE_MS = 200.0
"""A user who says the wake word and then the command pauses at least this long between them,
by the NoiseGate (whose smoothing shortens a pause by ~100 ms). In bench/wake_study.py the
first quiet stretch after a near-miss whisper heard as the wake phrase lasted at most 180 ms
(a comma's pause, "Okay Nebula, that's ..."): 1 of its 32 counts as a pause (nothing came after
it). Of the real wake words, each followed by a 0.3-0.6 s pause, 108 / 91 / 65 of 120 / 118 /
96 detected (clean / 20 / 10 dB SNR) count: the detection can fall early in the word, and noise
fills a pause. What does not count as one must show a request (``wake.addressed``)."""


def paused_after_wake(loud: Sequence[bool], pause_ms: float = WAKE_PAUSE_MS,
                      tail_max_ms: float = WAKE_TAIL_MAX_MS) -> bool:
    """Pure: whether the speaker paused after the wake word (one NoiseGate decision per 10 ms
    frame of the command's audio so far): at most ``tail_max_ms`` of loud audio (the wake word's
    end), then quiet for ``pause_ms`` or up to now. Said in passing, a near-miss runs on into the
    rest of its sentence, at most with a comma's short pause ("Okay Nana, I'll call you back").
    Frames zeroed under the wake chime say nothing of a pause: the pipeline gives them the value
    of the frame heard after them (``_Command.paused``)."""
    pause = int(pause_ms // FRAME_MS)
    tail = int(tail_max_ms // FRAME_MS)
    start = next((i for i, frame in enumerate(loud) if not frame), len(loud))
    if start > tail:
        return False
    run = next((i for i, frame in enumerate(loud[start:]) if frame), len(loud) - start)
    return run >= pause or start + run == len(loud)


SILENT_DB = -120.0
"""The level of digital silence (a muted or zeroed chunk): never part of the background."""


class LevelMeter:
    """The level (dB full scale) of each 10 ms frame; audio that does not fill a frame waits."""

    def __init__(self) -> None:
        self._remainder = b""

    def process(self, audio: bytes) -> list[float]:
        audio = self._remainder + audio
        whole = len(audio) - len(audio) % FRAME_BYTES
        self._remainder = audio[whole:]
        if whole == 0:
            return []
        frames = np.frombuffer(audio[:whole], dtype="<i2").astype(np.float32).reshape(-1, FRAME_BYTES // 2)
        power = np.einsum("ij,ij->i", frames, frames) / (frames.shape[1] * 32768.0 ** 2)
        # One vectorized log for the chunk: this runs on every chunk, all day.
        with np.errstate(divide="ignore"):
            levels = np.maximum(SILENT_DB, 10.0 * np.log10(power))
        return levels.tolist()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._remainder = b""


def speech_over_background_db(pcm: bytes) -> float:
    """How far the loud frames of pcm stand above its quiet ones (95th against 20th percentile of
    the 10 ms levels, dB): about the SNR of a few seconds holding some speech."""
    levels = [level for level in LevelMeter().process(pcm) if level > SILENT_DB]
    if not levels:
        return 0.0
    return float(np.percentile(levels, 95) - np.percentile(levels, 20))


class NoiseGate:
    """Speech by loudness relative to the room's background, one 10 ms level at a time.

    In babble, TV or fan noise the VAD keeps hearing "speech" after the user stops, and the level
    never falls far below the command's peak; it does fall back to the background. The
    background (noise floor) is a low percentile of the smoothed level over the last few seconds,
    heard while idle (`listen`) and in the quiet parts of a command, so it is known before the
    command starts. A frame is loud when the smoothed level is above

        max(floor + clamp((peak - floor) * margin_ratio, min_margin_db, max_margin_db), peak - drop_db)

    where peak is the loudest smoothed level of this command: a third of the way (in dB) from
    the background to the speech in noise, and drop_db below the peak in a quiet room. Pure: no
    I/O, no clock.

    The defaults come from bench/noise_bench.py-style mixes (white, pink, brown, babble, TV at
    20 and 10 dB SNR): a higher percentile keeps a TV's own pauses from pulling the floor down;
    a smaller margin keeps the softer words of a command at 10 dB SNR from counting as a pause.
    """

    def __init__(self, *, smooth_frames: int = 10, history_frames: int = 300,
                 percentile: float = 35.0, margin_ratio: float = 1 / 3, min_margin_db: float = 3.0,
                 max_margin_db: float = 8.0,
                 drop_db: float = 20.0, quiet_room_db: float = -70.0, min_history_frames: int = 100):
        self.smooth_frames = smooth_frames
        """Levels are averaged (as power) over this many frames: babble and TV flicker less."""
        self.history_frames = history_frames
        self.percentile = percentile
        self.margin_ratio = margin_ratio
        self.min_margin_db = min_margin_db
        self.max_margin_db = max_margin_db
        self.drop_db = drop_db
        self.quiet_room_db = quiet_room_db
        """The floor assumed until min_history_frames have been heard."""
        self.min_history_frames = min_history_frames
        self._recent: deque[float] = deque(maxlen=smooth_frames)
        self._history: deque[float] = deque(maxlen=history_frames)
        self._floor_db: float | None = None
        self.peak_db = SILENT_DB
        self.level_db = SILENT_DB
        """The current smoothed level."""

    @property
    def delay_ms(self) -> float:
        """How long the smoothed level lags a step in the real one (half the window)."""
        return self.smooth_frames * FRAME_MS / 2.0

    @property
    def floor_db(self) -> float:
        if self._floor_db is None:
            # Too little heard (just started, only a wake word): assume a quiet room, where the
            # drop below the peak decides, rather than take the wake word for the background.
            enough = len(self._history) >= self.min_history_frames
            self._floor_db = (float(np.percentile(self._history, self.percentile))
                              if enough else self.quiet_room_db)
        return self._floor_db

    @property
    def threshold_db(self) -> float:
        floor = self.floor_db
        margin = min(self.max_margin_db, max(self.min_margin_db, (self.peak_db - floor) * self.margin_ratio))
        return max(floor + margin, self.peak_db - self.drop_db)

    def listen(self, level_db: float) -> None:
        """A frame heard while idle: background (and wake words, which the percentile ignores).
        Digital silence counts here (a file's silence, a muted mic): it is the quietest room."""
        self._smooth(level_db)
        self._history.append(self.level_db)
        self._floor_db = None

    def start(self) -> None:
        """A command begins: its peak starts afresh (the wake word's loudness, still in the
        smoothing window, is not the command's); the background heard so far is kept."""
        self.peak_db = SILENT_DB
        self._recent.clear()

    def feed(self, level_db: float) -> bool:
        """A frame of the command; True when it is loud enough to be speech."""
        self._smooth(level_db)
        self.peak_db = max(self.peak_db, self.level_db)
        loud = self.level_db > self.threshold_db
        if not loud:
            self._remember(self.level_db)  # speech must not raise the floor
        return loud

    def _smooth(self, level_db: float) -> None:
        self._recent.append(10.0 ** (level_db / 10.0) if level_db > SILENT_DB else 0.0)
        power = sum(self._recent) / len(self._recent)
        self.level_db = 10.0 * float(np.log10(power)) if power > 0 else SILENT_DB

    def _remember(self, level_db: float) -> None:
        # Digital silence in a command is the mic zeroed under the wake chime, not the room.
        if level_db > SILENT_DB:
            self._history.append(level_db)
            self._floor_db = None
