"""The end-of-speech state machine with plain values, then with the real VAD on speech."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from assistant.audio.chunk import BYTES_PER_MS, RATE
from assistant.config import EndpointConfig
from assistant.vad import FRAME_MS, VAD_HANGOVER_MS, Decision, Endpointer, MicroVadScorer

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
