"""One wake word, one answer: appliances that heard the same wake word settle who answers.

Each appliance that accepts a wake word publishes a ``WakeClaim`` on ``<parent>/wake/claims``.
One broker hands every subscriber the claims in the same order, so every appliance agrees on
which claim came first; that claim's appliance is the round's leader and alone decides:

- a round starts with a claim that arrives more than ``RELATED_S`` after the current round's
  first claim (one utterance's claims come within a fraction of a second);
- the leader waits ``WINDOW_S`` after its own claim came back from the broker (less when every
  appliance known to be online has claimed), takes the claims it has by then, picks the best
  (``decide``: the wake window's loudness in dBFS plus ``SCORE_WEIGHT_DB`` per unit of wake
  score; equal merits go to the lower appliance id) and publishes the verdict on
  ``<parent>/wake/verdicts``;
- every other claimant waits for that verdict and answers only if it names it; no verdict
  within ``VERDICT_WAIT_S`` of the window's end means no answer.

So one verdict decides each round, whatever the machines' scheduling does to the arrival times
each of them sees (an earlier design let every appliance judge the window by its own clock, and
under load both answered). The winner's answer is delayed by at most ``WINDOW_S`` and a broker
round trip; an appliance alone on the broker does not wait at all. What can fail is safe: a
claim that reaches the leader after its window loses, and a leader that vanishes mid-round
leaves that round unanswered (the user says it again).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from assistant.audio.chunk import BYTES_PER_MS
from assistant.mqtt.settings import Topics

_LOGGER = logging.getLogger(__name__)

WINDOW_S = 0.1
"""How long the leader waits for other claims: the most the winner's answer is delayed."""
VERDICT_WAIT_S = 0.4
"""How long past the window a claimant waits for the leader's verdict before giving up."""
ECHO_WAIT_S = 0.5
"""A claim that has not come back from the broker by then: the broker is not working, and this
appliance answers on its own."""
RELATED_S = 1.5
"""Claims this close together are about one utterance."""
SCORE_WEIGHT_DB = 10.0
"""dB of loudness that one unit of wake score is worth. Stated, not fitted: loudness leads
(the nearer appliance is louder by several dB), the score breaks near-ties (a detector that
was sure heard the word more clearly)."""
LEVEL_WINDOW_MS = 1000.0
"""The audio before a detection whose loudness is claimed (an "okay nabu" lasts ~0.8 s)."""


@dataclass(frozen=True)
class WakeClaim:
    appliance: str
    """The claimant's base topic."""
    audio_ms: float
    """Audio time of the detection, on the claimant's own audio clock (for the log)."""
    score: float
    """The wake detector's probability, 0-1."""
    level_dbfs: float
    """Loudness of the wake window (RMS, dB below full scale)."""
    wall_time_s: float
    """The claimant's clock (time.time()) at the detection (for the log, never compared)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, payload: bytes) -> WakeClaim:
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ValueError("a claim is a JSON object")
        claim = cls(str(data["appliance"]), float(data["audio_ms"]), float(data["score"]),
                    float(data["level_dbfs"]), float(data["wall_time_s"]))
        if not all(math.isfinite(v) for v in (claim.score, claim.level_dbfs, claim.audio_ms)):
            raise ValueError("a claim's numbers are finite")
        return claim


class WakeArbiter(Protocol):
    def contest(self, claim: WakeClaim) -> bool:
        """Blocks at most ``WINDOW_S`` (plus a broker round trip); True = this appliance answers."""
        ...


def merit(claim: WakeClaim) -> float:
    return claim.level_dbfs + SCORE_WEIGHT_DB * claim.score


def decide(own: WakeClaim, others: list[WakeClaim]) -> bool:
    """Pure: whether ``own`` is the best claim of its round (ties: the lower appliance id)."""
    return winner([own, *others]) == own.appliance


def winner(claims: list[WakeClaim]) -> str:
    """Pure: the appliance whose claim is best."""
    return min(claims, key=lambda claim: (-merit(claim), claim.appliance)).appliance


@dataclass(frozen=True)
class Heard:
    claim: WakeClaim
    at_s: float
    """When it arrived here (monotonic seconds); the list of them is in the broker's order."""


def round_start(heard: list[Heard], index: int, related_s: float = RELATED_S) -> int:
    """Pure: the index of the first claim of the round that ``heard[index]`` belongs to. Rounds
    partition the claims in arrival order: a claim opens a new round when it arrives more than
    ``related_s`` after the current round's first."""
    start = 0
    for i in range(1, index + 1):
        if heard[i].at_s - heard[start].at_s > related_s:
            start = i
    return start


def key(claim: WakeClaim) -> str:
    """How a verdict names the round's first claim (the same text on every appliance: an int
    audio time read back from JSON is a float)."""
    return json.dumps([claim.appliance, float(claim.wall_time_s), float(claim.audio_ms)])


class MqttWakeArbiter:
    def __init__(self, link: Any, topics: Topics, window_s: float = WINDOW_S,
                 clock: Callable[[], float] = time.monotonic):
        self.link = link
        self.topics = topics
        self.window_s = window_s
        self.clock = clock
        self.online: set[str] = set()
        """The other appliances whose status is online."""
        self._heard: list[Heard] = []
        self._verdicts: dict[str, str] = {}
        """The round's first claim (``key``) -> the winner."""
        self._cond = threading.Condition()
        self.last_wait_s = 0.0
        """How long the last contest waited (the benchmark reads it)."""
        self.last_how = ""
        """How the last contest ended: alone, no_echo, settled / window (as the leader: every
        online appliance had claimed / the window ran out), verdict, no_verdict."""

    def start(self) -> None:
        self.link.subscribe(self.topics.wake_claims, self._on_claim)
        self.link.subscribe(self._verdict_topic, self._on_verdict)
        self.link.subscribe(f"{self.topics.root}/+/status", self._on_status)

    @property
    def _verdict_topic(self) -> str:
        return self.topics.wake_claims.rpartition("/")[0] + "/verdicts"

    def _on_status(self, topic: str, payload: bytes) -> None:
        base = topic.removesuffix("/status")
        if base == self.topics.base:
            return
        with self._cond:
            (self.online.add if payload == b"online" else self.online.discard)(base)

    def _on_claim(self, _topic: str, payload: bytes) -> None:
        try:
            claim = WakeClaim.from_json(payload)
        except (ValueError, KeyError, TypeError) as exc:
            _LOGGER.warning("MQTT: ignored a wake claim that is not one (%s)", exc)
            return
        now = self.clock()
        with self._cond:
            # Old rounds are forgotten, but never the start of a round still open.
            while len(self._heard) > 1 and self._heard[1].at_s < now - 4 * RELATED_S:
                self._heard.pop(0)
            self._heard.append(Heard(claim, now))
            self._cond.notify_all()

    def _on_verdict(self, _topic: str, payload: bytes) -> None:
        try:
            data = json.loads(payload)
            first, chosen = str(data["first"]), str(data["winner"])
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("MQTT: ignored a wake verdict that is not one")
            return
        with self._cond:
            if len(self._verdicts) > 64:
                self._verdicts.clear()
            self._verdicts[first] = chosen
            self._cond.notify_all()

    def shared(self) -> bool:
        """Whether another appliance is online on a working link (a contest would wait)."""
        with self._cond:
            return bool(self.link.connected and self.online)

    def contest(self, claim: WakeClaim) -> bool:
        started = self.clock()
        try:
            won = self._contest(claim)
        finally:
            self.last_wait_s = self.clock() - started
        return won

    def _contest(self, claim: WakeClaim) -> bool:
        with self._cond:
            peers = set(self.online)
        if not self.link.connected or not peers:
            self.last_how = "alone"
            return True  # alone (or cut off): nobody to share the wake word with
        self.link.publish(self.topics.wake_claims, claim.to_json(), qos=0)
        with self._cond:
            if not self._cond.wait_for(lambda: self._index(claim) is not None, ECHO_WAIT_S):
                self.last_how = "no_echo"
                _LOGGER.warning("wake word: the broker did not echo the claim; answering alone")
                return True
            own = self._index(claim)
            assert own is not None
            first = self._heard[round_start(self._heard, own)]
            if first.claim == claim:
                return self._lead(claim, first, peers)
            return self._follow(claim, first)

    def _lead(self, claim: WakeClaim, first: Heard, peers: set[str]) -> bool:
        """Called with the lock held: wait for the others, decide, tell them."""
        def members() -> list[WakeClaim]:
            start = self._heard.index(first)
            return [h.claim for h in self._heard[start:] if h.at_s <= first.at_s + self.window_s]

        def settled() -> bool:
            return peers <= {c.appliance for c in members()}

        early = self._cond.wait_for(settled, max(0.0, first.at_s + self.window_s - self.clock()))
        self.last_how = "settled" if early else "window"
        claims = members()
        chosen = winner(claims)
        self.link.publish(self._verdict_topic, json.dumps({"first": key(first.claim), "winner": chosen}), qos=0)
        self._log(claim, chosen, claims)
        return chosen == claim.appliance

    def _follow(self, claim: WakeClaim, first: Heard) -> bool:
        """Called with the lock held: the round's leader decides."""
        name = key(first.claim)
        left = first.at_s + self.window_s + VERDICT_WAIT_S - self.clock()
        if not self._cond.wait_for(lambda: name in self._verdicts, max(0.0, left)):
            self.last_how = "no_verdict"
            _LOGGER.info("wake word: no verdict from %s; not answering", first.claim.appliance)
            return False
        self.last_how = "verdict"
        chosen = self._verdicts[name]
        self._log(claim, chosen, [first.claim])
        return chosen == claim.appliance

    def _log(self, claim: WakeClaim, chosen: str, claims: list[WakeClaim]) -> None:
        others = ", ".join(f"{c.appliance} {c.level_dbfs:.1f} dBFS" for c in claims if c != claim) or "nobody"
        _LOGGER.info("wake word: %s (%.1f dBFS, score %.2f; against %s)",
                     "answering" if chosen == claim.appliance else f"{chosen} heard it better",
                     claim.level_dbfs, claim.score, others)

    def _index(self, claim: WakeClaim) -> int | None:
        return next((i for i in range(len(self._heard) - 1, -1, -1) if self._heard[i].claim == claim), None)


def level_dbfs(pcm: bytes) -> float:
    """RMS loudness of s16 audio in dB below full scale (-120 for silence)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples * samples)))
    return max(-120.0, 20.0 * math.log10(rms / 32768.0)) if rms > 0 else -120.0


def make_claim(appliance: str, detection: Any, recent_pcm: bytes,
               wall: Callable[[], float] = time.time) -> WakeClaim:
    """The claim for one detection (``wake.WakeDetection``) and the audio before it (the last
    ``LEVEL_WINDOW_MS`` or more): what ``WakeContest`` passes to ``WakeArbiter.contest``."""
    score = max(float(detection.probability), float(detection.noisy or 0.0))
    window = recent_pcm[-int(LEVEL_WINDOW_MS * BYTES_PER_MS):]
    return WakeClaim(appliance, round(float(detection.timestamp_ms), 1), round(score, 4),
                     round(level_dbfs(window), 2), wall())


class WakeContest:
    """The pipeline's ``Arbiter`` (its wake gate asks it once the second stage has said WAKE):
    this appliance's claims, contested through ``MqttWakeArbiter``."""

    window_ms = LEVEL_WINDOW_MS

    def __init__(self, arbiter: MqttWakeArbiter, appliance: str, wall: Callable[[], float] = time.time):
        self.arbiter = arbiter
        self.appliance = appliance
        self.wall = wall

    def shared(self) -> bool:
        return self.arbiter.shared()

    def answers(self, detection: Any, window: bytes) -> bool:
        return self.arbiter.contest(make_claim(self.appliance, detection, window, self.wall))
