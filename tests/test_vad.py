"""The end-of-speech state machine with plain values, then with the real VAD on speech."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from assistant.audio.chunk import BYTES_PER_MS, RATE
from assistant.config import EndpointConfig
from assistant.vad import (
    FRAME_MS,
    SILENT_DB,
    VAD_HANGOVER_MS,
    Decision,
    Endpointer,
    LevelMeter,
    MicroVadScorer,
    NoiseGate,
    level_endpointer,
    paused_after_wake,
    wake_tail_ms,
)

CONFIG = EndpointConfig(silence_s=0.7, speculative_silence_s=0.25, start_timeout_s=4.0,
                        max_command_s=8.0)


def make() -> Endpointer:
    """An endpointer for an ideal VAD (no hangover), so the numbers below are exact."""
    return Endpointer(CONFIG, hangover_ms=0.0)


def run(endpointer: Endpointer, pattern: Iterable[tuple[bool, float]], t0: float = 0.0
        ) -> list[tuple[float, Decision]]:
    """Feed (is_speech, seconds) runs as 10 ms frames; return every decision but WAITING."""
    t_ms = t0
    out = []
    for is_speech, seconds in pattern:
        for _ in range(round(seconds * 1000 / FRAME_MS)):
            t_ms += FRAME_MS
            decision = endpointer.feed(is_speech, t_ms)
            if decision is not Decision.WAITING:
                out.append((t_ms, decision))
            if decision in (Decision.END, Decision.TIMEOUT):
                return out
    return out


def test_speech_then_silence_ends_after_silence_s():
    ep = make()
    ep.start(0.0)
    out = run(ep, [(False, 0.5), (True, 1.2), (False, 2.0)])
    assert out == [(560.0, Decision.SPEECH_STARTED), (1950.0, Decision.SHORT_PAUSE),
                   (2400.0, Decision.END)]
    assert ep.end_reason == "silence"
    assert ep.speech_start_ms == 500.0
    assert ep.speech_end_ms == 1700.0
    assert not ep.in_speech


def test_no_speech_times_out():
    ep = make()
    ep.start(1000.0)
    out = run(ep, [(False, 10.0)], t0=1000.0)
    assert out == [(5000.0, Decision.TIMEOUT)]
    assert ep.end_reason == "timeout"
    assert ep.feed(True, 5010.0) is Decision.TIMEOUT  # final decisions stick


def test_short_pause_is_reported_once_per_pause():
    ep = make()
    ep.start(0.0)
    out = run(ep, [(True, 0.5), (False, 0.4), (True, 0.5), (False, 0.4), (True, 0.3),
                   (False, 1.0)])
    kinds = [d for _, d in out]
    assert kinds == [Decision.SPEECH_STARTED, Decision.SHORT_PAUSE, Decision.SHORT_PAUSE,
                     Decision.SHORT_PAUSE, Decision.END]
    assert out[1][0] == pytest.approx(500 + 250)


def test_max_length_ends_a_command_that_never_stops():
    ep = make()
    ep.start(0.0)
    out = run(ep, [(False, 1.0), (True, 20.0)])
    assert out[-1] == (9000.0, Decision.END)
    assert ep.end_reason == "max_length"
    assert ep.speech_end_ms == 9000.0


def test_blips_neither_start_speech_nor_break_a_pause():
    ep = make()
    ep.start(0.0)
    # 30 ms clicks every half second are not speech: still a timeout.
    clicks = [(True, 0.03), (False, 0.5)] * 10
    assert [d for _, d in run(ep, clicks)] == [Decision.TIMEOUT]

    ep.start(0.0)
    out = run(ep, [(True, 1.0), (False, 0.4), (True, 0.04), (False, 0.4)])
    assert [d for _, d in out] == [Decision.SPEECH_STARTED, Decision.SHORT_PAUSE, Decision.END]
    # The blip did not move the end of speech nor restart the silence count.
    assert ep.speech_end_ms == 1000.0
    assert out[-1][0] == 1700.0


def test_vad_hangover_is_taken_off_the_end_of_speech():
    ep = Endpointer(CONFIG, hangover_ms=600.0)
    ep.start(0.0)
    # The VAD said speech until 1600 ms; the speaker really stopped around 1000 ms.
    out = run(ep, [(True, 1.6), (False, 2.0)])
    assert ep.speech_end_ms == 1000.0
    assert out[1] == (1610.0, Decision.SHORT_PAUSE)  # the pause is already long enough
    assert out[-1] == (1700.0, Decision.END)
    assert Endpointer(CONFIG).hangover_ms == VAD_HANGOVER_MS


def test_feed_probability_takes_a_threshold():
    ep = make()
    ep.start(0.0)
    decisions = [ep.feed_probability(0.6, t) for t in range(10, 80, 10)]
    assert Decision.SPEECH_STARTED in decisions  # 0.6 >= the configured 0.5
    ep.start(0.0)
    decisions = [ep.feed_probability(0.6, t, threshold=0.8) for t in range(10, 80, 10)]
    assert Decision.SPEECH_STARTED not in decisions  # e.g. an adaptive noise-floor threshold


def test_scorer_keeps_the_remainder_between_chunks():
    scorer = MicroVadScorer()
    assert len(scorer.process(bytes(15 * BYTES_PER_MS))) == 1
    assert len(scorer.process(bytes(15 * BYTES_PER_MS))) == 2
    assert all(0.0 <= p <= 1.0 for p in scorer.process(bytes(100 * BYTES_PER_MS)))
    scorer.reset()
    assert len(scorer.process(bytes(5 * BYTES_PER_MS))) == 0


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_real_speech_ends_about_silence_s_after_it_stops(synth_speech, espeak_speech, engine):
    speak = synth_speech if engine == "piper" else espeak_speech
    speech = speak("Turn on the kitchen light, please.")
    # Lead silence longer than the VAD's warm-up (~0.76 s), as after a wake word.
    lead_ms, speech_ms = 1000.0, len(speech) / BYTES_PER_MS
    pcm = bytes(int(lead_ms) * BYTES_PER_MS) + speech + bytes(3 * RATE * 2)
    scorer, ep = MicroVadScorer(), Endpointer(CONFIG)  # the default hangover of the real VAD
    ep.start(0.0)
    t_ms, decisions, step = 0.0, [], 30 * BYTES_PER_MS
    for offset in range(0, len(pcm), step):
        for p in scorer.process(pcm[offset:offset + step]):
            t_ms += FRAME_MS
            decision = ep.feed_probability(p, t_ms)
            if decision is not Decision.WAITING and decision not in [d for _, d in decisions]:
                decisions.append((t_ms, decision))
    assert decisions[0][1] is Decision.SPEECH_STARTED
    assert decisions[-1][1] is Decision.END and ep.end_reason == "silence"
    # The VAD notices speech 0.3-0.6 s late; that only delays SPEECH_STARTED.
    assert lead_ms <= ep.speech_start_ms <= lead_ms + 700  # type: ignore[operator]
    speech_end = lead_ms + speech_ms
    # The VAD's hangover varies by a few hundred ms with the last sound.
    assert speech_end - 300 <= ep.speech_end_ms <= speech_end + 300
    assert decisions[-1][0] == pytest.approx(ep.speech_end_ms + CONFIG.silence_s * 1000)


# -- end of speech relative to the background (NoiseGate), with synthetic 10 ms levels ---------

def flicker(level_db: float, seconds: float, spread_db: float, seed: int = 0) -> list[float]:
    """Babble-like levels: around level_db, changing every 50-200 ms by up to +-spread_db."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    while len(out) < seconds * 100:
        out += [level_db + rng.uniform(-spread_db, spread_db)] * int(rng.integers(5, 21))
    return out[: int(seconds * 100)]


def speech_levels(level_db: float, seconds: float, seed: int = 1) -> list[float]:
    """Words (150-400 ms, +-4 dB) with short gaps (40-150 ms) 12 dB below them."""
    rng = np.random.default_rng(seed)
    out: list[float] = []
    while len(out) < seconds * 100:
        out += [level_db + rng.uniform(-4, 4)] * int(rng.integers(15, 41))
        out += [level_db - 12.0] * int(rng.integers(4, 16))
    out = out[: int(seconds * 100)]
    out[-1] = level_db  # the last frame is speech: the end is exact
    return out


def command_end(gate: NoiseGate, background: list[float], speech: list[float], after: list[float]
                ) -> tuple[Endpointer, float | None]:
    """Idle background into the gate, then a command: (level endpointer, END time or None)."""
    for level in background:
        gate.listen(level)
    gate.start()
    ep = level_endpointer(CONFIG, gate.delay_ms)
    ep.start(0.0)
    for i, level in enumerate(speech + after):
        t_ms = (i + 1) * FRAME_MS
        if ep.feed(gate.feed(level), t_ms) is Decision.END:
            return ep, t_ms
    return ep, None


@pytest.mark.parametrize(("noise_db", "spread_db"), [(-45.0, 0.5), (-40.0, 3.0), (-35.0, 3.0)],
                         ids=["steady-20dB", "babble-15dB", "babble-10dB"])
def test_level_back_at_the_background_ends_the_command(noise_db, spread_db):
    speech_db = -25.0
    background = flicker(noise_db, 2.0, spread_db)
    # The speech is heard over the same background: at these levels it dominates.
    speech = speech_levels(speech_db, 2.5)
    ep, end_ms = command_end(NoiseGate(), background, speech, flicker(noise_db, 3.0, spread_db, seed=2))
    assert end_ms is not None and ep.end_reason == "silence"
    # The real end is at 2500 ms; the smoothing lags by at most its window, half corrected.
    assert 2500 - 60 <= ep.speech_end_ms <= 2500 + 60
    assert end_ms == pytest.approx(ep.speech_end_ms + CONFIG.silence_s * 1000, abs=FRAME_MS)


def test_floor_is_learned_while_idle_and_not_raised_by_speech():
    gate = NoiseGate()
    assert gate.floor_db == gate.quiet_room_db  # nothing heard yet
    for level in flicker(-40.0, 2.0, 3.0) + [-10.0] * 80:  # a loud wake word in the pre-roll
        gate.listen(level)
    assert -43.0 <= gate.floor_db <= -39.0
    gate.start()
    assert all(gate.feed(level) for level in speech_levels(-25.0, 5.0)[:40])
    for level in speech_levels(-25.0, 5.0):
        gate.feed(level)
    assert -43.0 <= gate.floor_db <= -39.0
    assert gate.peak_db > -25.0
    # Between background and speech, a third of the way up.
    assert gate.floor_db + 3.0 <= gate.threshold_db <= gate.floor_db + 8.0


def test_quiet_room_uses_the_drop_below_the_peak():
    gate = NoiseGate()
    for level in [-15.0] * 80:
        gate.listen(level)  # only a wake word heard yet: not enough to be the background
    assert gate.floor_db == gate.quiet_room_db
    for _ in range(200):
        gate.listen(SILENT_DB)  # a file's digital silence: the quietest room
    assert gate.floor_db < -100.0
    gate.start()
    assert gate.feed(-20.0)
    loud = [gate.feed(-20.0) for _ in range(20)]
    assert all(loud)
    assert gate.threshold_db == pytest.approx(-40.0, abs=0.5)
    quiet = [gate.feed(-50.0) for _ in range(20)]
    assert quiet[-1] is False and quiet[0] is True  # the smoothing takes a few frames


def test_babble_bursts_do_not_restart_the_pause():
    # In babble the level keeps flickering above the floor for a frame or two; a burst must
    # last LEVEL_MIN_SPEECH_MS to count, so the command still ends on time.
    background = flicker(-35.0, 2.0, 3.0)
    after = flicker(-35.0, 3.0, 3.0, seed=3)
    for i in range(40, len(after), 60):
        after[i:i + 5] = [-28.0] * 5  # 50 ms bursts 7 dB above the crowd
    ep, end_ms = command_end(NoiseGate(), background, speech_levels(-25.0, 2.0), after)
    assert end_ms is not None
    assert end_ms <= 2000 + CONFIG.silence_s * 1000 + 100


def test_level_meter_gives_one_level_per_10ms_frame():
    meter = LevelMeter()
    t = np.arange(480) / 16000
    sine = (np.sin(2 * np.pi * 440 * t) * 32767 * 0.5).astype("<i2").tobytes()
    levels = meter.process(sine[:400])  # 12.5 ms: one frame, the rest waits
    assert len(levels) == 1
    assert levels[0] == pytest.approx(-9.0, abs=0.3)  # a half-scale sine: 0.125 power
    assert len(meter.process(sine[400:])) == 2
    assert meter.process(bytes(320)) == [SILENT_DB]


def frames(pattern: str) -> list[bool]:
    """'#' a loud 10 ms frame, '.' a quiet one."""
    return [c == "#" for c in pattern]


@pytest.mark.parametrize(("pattern", "tail_ms"), [
    ("#" * 8 + "." * 30 + "#" * 60, 80.0),  # the wake word's last syllable, a pause, the command
    ("#" * 8 + "." * 4 + "#" * 3 + "." * 20 + "#" * 60, 150.0),  # a dip inside the syllable
    ("." + "#" * 8 + "." * 30 + "#" * 60, 90.0),
])
def test_the_wake_words_tail_ends_at_the_first_pause(pattern: str, tail_ms: float) -> None:
    assert wake_tail_ms(frames(pattern)) == tail_ms


@pytest.mark.parametrize("pattern", [
    "." * 10 + "#" * 20 + "." * 30 + "#" * 60,  # the word was over: "turn on ... the lamp"
    "#" * 60 + "." * 30 + "#" * 60,  # no pause after the wake word: too long for a tail
    "#" * 20 + "." * 50,  # "okay nabu stop": the pause is the end of the command
    "#" * 8 + "." * 30 + "#" * 5,  # a click after the pause is no command
    "#" * 8 + "." * 8 + "#" * 60,  # too short a pause
    "",
])
def test_no_tail_is_cut_unless_a_pause_clearly_follows_it(pattern: str) -> None:
    assert wake_tail_ms(frames(pattern)) == 0.0


@pytest.mark.parametrize(("pattern", "paused"), [
    ("#" * 8 + "." * 30 + "#" * 60, True),   # the wake word's end, a pause, the command
    ("." * 40 + "#" * 60, True),             # the word was over at the detection
    ("#" * 8 + "." * 20, True),              # quiet up to now: nothing said yet
    ("", True),
    ("#" * 8 + "." * 15 + "#" * 60, False),  # a comma's pause: "Okay Nana, I'll call you back"
    ("#" * 60 + "." * 40, False),            # talk ran on past any wake word's end
    ("." * 5 + "#" * 60, False),             # the talk went on straight away
])
def test_a_pause_after_the_wake_word_is_heard_in_the_audio(pattern: str, paused: bool) -> None:
    assert paused_after_wake(frames(pattern)) is paused
