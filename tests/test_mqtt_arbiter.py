"""One wake word, one answer: the pure decision with plain values, then arbiters over a real
broker. (Two real `assistant run` processes: test_mqtt_e2e.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.audio.chunk import AudioChunk
from assistant.config import parse_config
from assistant.mqtt.arbiter import (
    RELATED_S,
    WINDOW_S,
    ArbitratedWake,
    Heard,
    MqttWakeArbiter,
    WakeClaim,
    decide,
    level_dbfs,
    round_of,
)
from assistant.mqtt.link import MqttLink
from assistant.mqtt.settings import Topics, link_settings
from assistant.wake import WakeDetection
from tests.mqtt_broker import MOSQUITTO, Broker

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")


def claim(who: str, dbfs: float, score: float = 0.9) -> WakeClaim:
    return WakeClaim(who, 1000.0, score, dbfs, 0.0)


def test_decide_loudness_first_then_score_then_id() -> None:
    kitchen, living = claim("assistant/kitchen", -20.0), claim("assistant/living", -32.0)
    assert decide(kitchen, [living]) and not decide(living, [kitchen])
    # 0.5 of score is worth 5 dB: a surer, slightly quieter detection wins.
    sure, unsure = claim("a", -24.0, 0.99), claim("b", -22.0, 0.5)
    assert decide(sure, [unsure]) and not decide(unsure, [sure])
    # A tie goes to the lower id, on both sides: exactly one answers.
    a, b = claim("assistant/a", -25.0), claim("assistant/b", -25.0)
    assert decide(a, [b]) and not decide(b, [a])
    assert decide(a, []) and decide(a, [a])  # alone, or its own echo


def test_round_of_the_late_claim_loses() -> None:
    others = [Heard(claim("b", -30.0), 10.00)]
    assert round_of("a", 10.05, others) == (10.00, [others[0].claim])  # within the window
    assert round_of("a", 10.00 + WINDOW_S + 0.01, others) is None  # that round is decided
    assert round_of("a", 10.00 + RELATED_S + 0.5, others) == (10.0 + RELATED_S + 0.5, [])  # another utterance
    # A claim arriving after own, but after the window from the round's start, is not counted.
    later = [Heard(claim("b", -10.0), 10.00 + WINDOW_S + 0.02)]
    assert round_of("a", 10.00, later) == (10.00, [])


def test_level_dbfs() -> None:
    full = (np.ones(1600) * 32767).astype("<i2").tobytes()
    assert level_dbfs(full) == pytest.approx(0.0, abs=0.01)
    half = (np.ones(1600) * 16384).astype("<i2").tobytes()
    assert level_dbfs(half) == pytest.approx(-6.02, abs=0.05)
    assert level_dbfs(bytes(3200)) == -120.0 and level_dbfs(b"") == -120.0


class FixedDetector:
    def __init__(self, at_chunk: int):
        self.at_chunk, self.n, self.resets = at_chunk, 0, 0

    def process(self, chunk: AudioChunk) -> WakeDetection | None:
        self.n += 1
        return WakeDetection("okay_nabu", chunk.end_ms, 0.97) if self.n == self.at_chunk else None

    def reset(self) -> None:
        self.resets += 1


class RecordingArbiter:
    def __init__(self, answer: bool):
        self.answer, self.claims = answer, []

    def contest(self, c: WakeClaim) -> bool:
        self.claims.append(c)
        return self.answer


def test_arbitrated_wake_claims_with_the_wake_windows_loudness() -> None:
    loud = (np.sin(np.arange(480) / 5.0) * 8000).astype("<i2").tobytes()
    for answer in (True, False):
        arbiter = RecordingArbiter(answer)
        wake = ArbitratedWake(FixedDetector(at_chunk=40), arbiter, "assistant/kitchen", wall=lambda: 123.0)
        results = [wake.process(AudioChunk(loud, i * 30.0)) for i in range(40)]
        assert results[:-1] == [None] * 39 and (results[-1] is not None) == answer
        (c,) = arbiter.claims
        assert c.appliance == "assistant/kitchen" and c.score == 0.97 and c.wall_time_s == 123.0
        assert c.level_dbfs == pytest.approx(level_dbfs(loud), abs=0.1)
        wake.reset()
        assert wake.inner.resets == 1


# -- over a real broker --------------------------------------------------------------------
@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with Broker(tmp_path) as running:
        yield running


def _arbiter(port: int, name: str) -> tuple[MqttLink, MqttWakeArbiter]:
    config = parse_config(f"name: {name}\nmqtt: {{host: 127.0.0.1, port: {port}}}\n")
    topics = Topics(f"assistant/{name}")
    link = MqttLink(link_settings(config), topics.base)
    link.start()
    assert link.wait_connected(5)
    arbiter = MqttWakeArbiter(link, topics)
    arbiter.start()
    return link, arbiter


def _contest_together(arbiters: list[MqttWakeArbiter], claims: list[WakeClaim],
                      stagger_s: float = 0.0) -> list[Any]:
    results: list[Any] = [None] * len(arbiters)
    start = threading.Barrier(len(arbiters))

    def run(i: int) -> None:
        start.wait()
        time.sleep(i * stagger_s)
        results[i] = arbiters[i].contest(claims[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(arbiters))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    return results


def test_exactly_one_of_three_answers(broker: Broker) -> None:
    parts = [_arbiter(broker.port, name) for name in ("kitchen", "hall", "study")]
    try:
        arbiters = [a for _link, a in parts]
        for arbiter in arbiters:  # each knows the other two are online
            deadline = time.monotonic() + 5
            while len(arbiter.online) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(arbiter.online) == 2
        for round_no, levels in enumerate(([-20.0, -30.0, -35.0], [-40.0, -18.0, -25.0], [-30.0, -30.0, -30.0])):
            claims = [WakeClaim(f"assistant/{n}", 1000.0, 0.9, lv, float(round_no))
                      for n, lv in zip(("kitchen", "hall", "study"), levels, strict=True)]
            results = _contest_together(arbiters, claims)
            assert results.count(True) == 1, (levels, results)
            best = min(range(3), key=lambda i: (-levels[i], claims[i].appliance))  # ties: the lower id
            assert results[best] is True
            # Every appliance claimed: nobody waits out the whole window.
            assert {a.last_how for a in arbiters} == {"settled"}
            time.sleep(RELATED_S + 0.1)  # the next wake word is another utterance
        # Only one hears it: it waits out the window, then answers.
        assert arbiters[2].contest(WakeClaim("assistant/study", 1.0, 0.9, -40.0, 9.0))
        assert arbiters[2].last_how == "window"
        # A claim far later than the round's first loses at once.
        time.sleep(RELATED_S + 0.1)
        results = _contest_together(arbiters[:2], [WakeClaim("assistant/kitchen", 1.0, 0.9, -40.0, 10.0),
                                                   WakeClaim("assistant/hall", 1.0, 0.9, -10.0, 10.0)],
                                    stagger_s=0.3)
        assert results == [True, False] and arbiters[1].last_how == "late"
    finally:
        for link, _ in parts:
            link.stop()


def test_alone_on_the_broker_answers_without_waiting(broker: Broker) -> None:
    link, arbiter = _arbiter(broker.port, "kitchen")
    try:
        assert arbiter.contest(claim("assistant/kitchen", -30.0))
        assert arbiter.last_how == "alone"
    finally:
        link.stop()
