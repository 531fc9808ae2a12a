"""One wake word, one answer: appliances that heard the same wake word settle who answers.

Each appliance that accepts a wake word publishes a ``WakeClaim`` on ``<parent>/wake/claims``
and waits at most ``WINDOW_S`` for the others' claims; the one that heard it best answers
(``decide``), the others go back to idle silently. The rules, in the order of arrival at the
broker (no clocks are compared between appliances):

- a round starts with the first claim; claims arriving within ``WINDOW_S`` of it take part;
- a claim that arrives later than that, while the round's claims are under ``RELATED_S`` old,
  loses at once: that round has already been decided without it;
- within a round, the best ``merit`` wins: the wake window's loudness in dBFS plus
  ``SCORE_WEIGHT_DB`` per unit of wake score; equal merits go to the lower appliance id.

So the winner waits at most ``WINDOW_S`` (less when every appliance known to be online has
claimed already), and an appliance alone on the broker does not wait at all. A claim that
lands on the window's edge can be counted by one appliance and not by the other: then none
answers (the user says it again); two never answer the same claim set.
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

from assistant.audio.chunk import BYTES_PER_MS, AudioChunk
from assistant.mqtt.settings import Topics

_LOGGER = logging.getLogger(__name__)

WINDOW_S = 0.1
"""How long a round stays open after its first claim: the most the winner's answer is delayed."""
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
    def key(claim: WakeClaim) -> tuple[float, str]:
        return (-merit(claim), claim.appliance)

    return all(key(own) < key(other) for other in others if other.appliance != own.appliance)


@dataclass(frozen=True)
class Heard:
    claim: WakeClaim
    at_s: float
    """When it arrived here (monotonic seconds)."""


def round_of(own: str, own_at_s: float, heard: list[Heard],
             window_s: float = WINDOW_S) -> tuple[float, list[WakeClaim]] | None:
    """Pure: (the round's start, the others' claims in it so far), or None when this
    appliance's claim came too late for a round already decided."""
    others = [h for h in heard if h.claim.appliance != own and own_at_s - RELATED_S <= h.at_s]
    if any(h.at_s < own_at_s - window_s for h in others):
        return None
    start = min([own_at_s, *(h.at_s for h in others)])
    return start, [h.claim for h in others if h.at_s <= start + window_s]


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
        self._cond = threading.Condition()
        self.last_wait_s = 0.0
        """How long the last contest waited (the benchmark reads it)."""
        self.last_how = ""
        """How the last contest ended: alone, late, settled (every online appliance claimed)
        or window (waited the whole window)."""

    def start(self) -> None:
        self.link.subscribe(self.topics.wake_claims, self._on_claim)
        self.link.subscribe(f"{self.topics.root}/+/status", self._on_status)

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
            self._heard = [h for h in self._heard if h.at_s > now - 2 * RELATED_S]
            self._heard.append(Heard(claim, now))
            self._cond.notify_all()

    def contest(self, claim: WakeClaim) -> bool:
        started = self.clock()
        try:
            return self._contest(claim)
        finally:
            self.last_wait_s = self.clock() - started

    def _contest(self, claim: WakeClaim) -> bool:
        with self._cond:
            peers = set(self.online)
        if not self.link.connected or not peers:
            self.last_how = "alone"
            return True  # alone (or cut off): nobody to share the wake word with
        sent_at = self.clock()
        self.link.publish(self.topics.wake_claims, claim.to_json(), qos=0)
        with self._cond:
            self._cond.wait_for(lambda: self._own(claim) is not None, self.window_s)
            echo = self._own(claim)
            own_at = echo.at_s if echo is not None else sent_at
            found = round_of(claim.appliance, own_at, self._heard, self.window_s)
            if found is None:
                self.last_how = "late"
                _LOGGER.info("wake word: another appliance claimed it first; not answering")
                return False
            start, _ = found

            def settled() -> bool:
                current = round_of(claim.appliance, own_at, self._heard, self.window_s)
                return current is not None and peers <= {c.appliance for c in current[1]}

            early = self._cond.wait_for(settled, max(0.0, start + self.window_s - self.clock()))
            self.last_how = "settled" if early else "window"
            found = round_of(claim.appliance, own_at, self._heard, self.window_s)
        others = found[1] if found is not None else []
        won = found is not None and decide(claim, others)
        _LOGGER.info("wake word: %s (%.1f dBFS, score %.2f) against %s", "answering" if won else
                     "another appliance heard it better", claim.level_dbfs, claim.score,
                     ", ".join(f"{c.appliance} {c.level_dbfs:.1f} dBFS" for c in others) or "nobody")
        return won

    def _own(self, claim: WakeClaim) -> Heard | None:
        return next((h for h in reversed(self._heard) if h.claim == claim), None)


def level_dbfs(pcm: bytes) -> float:
    """RMS loudness of s16 audio in dB below full scale (-120 for silence)."""
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples * samples)))
    return max(-120.0, 20.0 * math.log10(rms / 32768.0)) if rms > 0 else -120.0


class ArbitratedWake:
    """A wake detector whose detections stand only if this appliance wins the arbitration.

    The stand-in hook: it wraps the first stage (``Stages.wake``), so it needs no change to the
    pipeline. The better place is the pipeline's wake gate, after the second stage accepts:
    call ``arbiter.contest(claim_for(...))`` there (the lead's restructuring)."""

    def __init__(self, inner: Any, arbiter: WakeArbiter, appliance: str,
                 wall: Callable[[], float] = time.time):
        self.inner = inner
        self.arbiter = arbiter
        self.appliance = appliance
        self.wall = wall
        self._recent = bytearray()

    def process(self, chunk: AudioChunk) -> Any:
        self._recent += chunk.audio
        del self._recent[:-int(LEVEL_WINDOW_MS * BYTES_PER_MS)]
        detection = self.inner.process(chunk)
        if detection is None:
            return None
        score = max(float(detection.probability), float(detection.noisy or 0.0))
        claim = WakeClaim(self.appliance, round(float(detection.timestamp_ms), 1), round(score, 4),
                          round(level_dbfs(bytes(self._recent)), 2), self.wall())
        return detection if self.arbiter.contest(claim) else None

    def reset(self) -> None:
        self.inner.reset()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
