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

from assistant.config import parse_config
from assistant.mqtt.arbiter import (
    RELATED_S,
    Heard,
    MqttWakeArbiter,
    WakeClaim,
    WakeContest,
    decide,
    level_dbfs,
    round_start,
    winner,
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


def test_rounds_partition_the_claims_in_the_brokers_order() -> None:
    at = [10.0, 10.02, 10.3, 11.6, 14.0, 14.05]
    heard = [Heard(claim(f"x{i}", -30.0), t) for i, t in enumerate(at)]
    assert [round_start(heard, i) for i in range(len(heard))] == [0, 0, 0, 3, 4, 4]
    assert winner([claim("b", -20.0), claim("a", -20.0), claim("c", -25.0)]) == "a"


def test_level_dbfs() -> None:
    full = (np.ones(1600) * 32767).astype("<i2").tobytes()
    assert level_dbfs(full) == pytest.approx(0.0, abs=0.01)
    half = (np.ones(1600) * 16384).astype("<i2").tobytes()
    assert level_dbfs(half) == pytest.approx(-6.02, abs=0.05)
    assert level_dbfs(bytes(3200)) == -120.0 and level_dbfs(b"") == -120.0


class RecordingArbiter:
    def __init__(self, answer: bool, online: set[str]):
        self.answer, self.claims, self.online = answer, [], online

    def shared(self) -> bool:
        return bool(self.online)

    def contest(self, c: WakeClaim) -> bool:
        self.claims.append(c)
        return self.answer


def test_the_wake_gates_contest_claims_with_the_wake_windows_loudness() -> None:
    loud = (np.sin(np.arange(16000) / 5.0) * 8000).astype("<i2").tobytes()  # 1 s
    quiet = bytes(32000)  # 2 s of silence before it: outside the claimed second
    for answer in (True, False):
        arbiter = RecordingArbiter(answer, {"assistant/hall"})
        contest = WakeContest(arbiter, "assistant/kitchen", wall=lambda: 123.0)  # type: ignore[arg-type]
        assert contest.shared() and contest.window_ms == 1000.0
        assert contest.answers(WakeDetection("okay_nabu", 3000.0, 0.97), quiet + loud) is answer
        (c,) = arbiter.claims
        assert c.appliance == "assistant/kitchen" and c.score == 0.97 and c.wall_time_s == 123.0
        assert c.audio_ms == 3000.0 and c.level_dbfs == pytest.approx(level_dbfs(loud), abs=0.1)
    assert not WakeContest(RecordingArbiter(True, set()), "a").shared()  # type: ignore[arg-type]


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
            assert len(arbiter.online) == 2 and arbiter.shared()  # the gate will not chime
        for round_no, levels in enumerate(([-20.0, -30.0, -35.0], [-40.0, -18.0, -25.0], [-30.0, -30.0, -30.0])):
            claims = [WakeClaim(f"assistant/{n}", 1000.0, 0.9, lv, float(round_no))
                      for n, lv in zip(("kitchen", "hall", "study"), levels, strict=True)]
            results = _contest_together(arbiters, claims)
            assert results.count(True) == 1, (levels, results)
            best = min(range(3), key=lambda i: (-levels[i], claims[i].appliance))  # ties: the lower id
            assert results[best] is True
            # Every appliance claimed: the leader does not wait out the whole window, and the
            # others take its verdict.
            assert sorted(a.last_how for a in arbiters) == ["settled", "verdict", "verdict"]
            time.sleep(RELATED_S + 0.1)  # the next wake word is another utterance
        # Only one hears it: it waits out the window, then answers.
        assert arbiters[2].contest(WakeClaim("assistant/study", 1.0, 0.9, -40.0, 9.0))
        assert arbiters[2].last_how == "window"
        # A claim far later than the round's first loses at once.
        time.sleep(RELATED_S + 0.1)
        results = _contest_together(arbiters[:2], [WakeClaim("assistant/kitchen", 1.0, 0.9, -40.0, 10.0),
                                                   WakeClaim("assistant/hall", 1.0, 0.9, -10.0, 10.0)],
                                    stagger_s=0.3)
        assert results == [True, False] and arbiters[1].last_how == "verdict"
    finally:
        for link, _ in parts:
            link.stop()


def test_alone_on_the_broker_answers_without_waiting(broker: Broker) -> None:
    link, arbiter = _arbiter(broker.port, "kitchen")
    try:
        assert not arbiter.shared()
        assert arbiter.contest(claim("assistant/kitchen", -30.0))
        assert arbiter.last_how == "alone"
    finally:
        link.stop()


class SkewedBroker:
    """One broker's order, each subscriber with its own delays (a loaded machine's scheduling):
    the property that failed once under load, exactly one answer, checked with no real clock
    skew assumptions."""

    def __init__(self, seed: int):
        import random

        self.random = random.Random(seed)
        self.links: list[SkewedLink] = []
        self.lock = threading.Lock()

    def publish(self, topic: str, payload: str, delay_s: float) -> None:
        def deliver() -> None:
            time.sleep(delay_s)  # the publisher's own sender thread may be late
            with self.lock:  # the broker: one order for every subscriber
                for link in self.links:
                    link.inbox.put((topic, payload.encode(), self.random.uniform(0, 0.15)))

        threading.Thread(target=deliver, daemon=True).start()


class SkewedLink:
    def __init__(self, broker: SkewedBroker, base: str, publish_delay_s: float = 0.0):
        import queue

        self.broker, self.base, self.publish_delay_s = broker, base, publish_delay_s
        self.connected = True
        self.callbacks: dict[str, Any] = {}
        self.inbox: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        broker.links.append(self)
        threading.Thread(target=self._deliver, daemon=True).start()

    def _deliver(self) -> None:
        while True:  # in order, each message after its own extra delay
            topic, payload, delay = self.inbox.get()
            time.sleep(delay)
            for pattern, callback in list(self.callbacks.items()):
                if pattern == topic:
                    callback(topic, payload)

    def subscribe(self, topic: str, callback: Any) -> None:
        self.callbacks[topic] = callback

    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int = 1) -> bool:
        self.broker.publish(topic, payload, self.publish_delay_s)
        return True


@pytest.mark.parametrize("seed", range(6))
def test_exactly_one_answers_however_late_each_sees_the_claims(seed: int) -> None:
    broker = SkewedBroker(seed)
    names = ["assistant/kitchen", "assistant/hall", "assistant/study"]
    arbiters = []
    for name in names:
        link = SkewedLink(broker, name, publish_delay_s=broker.random.uniform(0, 0.2))
        arbiter = MqttWakeArbiter(link, Topics(name))
        arbiter.start()
        arbiter.online = set(names) - {name}
        arbiters.append(arbiter)
    levels = [broker.random.uniform(-40, -15) for _ in names]
    claims = [WakeClaim(n, 1000, 0.9, lv, seed) for n, lv in zip(names, levels, strict=True)]  # ints, as JSON gives
    results = _contest_together(arbiters, claims, stagger_s=broker.random.uniform(0, 0.08))
    assert results.count(True) == 1, (levels, results, [a.last_how for a in arbiters])
