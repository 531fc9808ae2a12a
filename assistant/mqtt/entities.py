"""The appliance's own entities: assist state, last command, microphone mute, wake-word
sensitivity, speaker volume, announce and ask.

They read the pipeline's events (``assistant.events``) and act on it only through the small
Protocols below, so the pipeline stays the one module that knows the order of the stages.

- announce (``<base>/announce``, HA's notify entity): the text is spoken as soon as the
  appliance is idle (a conversation in progress is not interrupted; it waits up to
  ``ANNOUNCE_WAIT_S``, then speaks anyway); queued announcements beyond ``ANNOUNCE_QUEUE`` are
  dropped and logged;
- ask (``<base>/ask``, and the Listen button): an optional question is spoken, then a turn
  starts as if the wake word had been heard (HA's ask-question pattern); what the user said and
  the reply are published on ``<base>/ask/answer`` (``{"id", "question", "text", "reply",
  "handled_by"}``; ``text`` null and ``"reason": "no answer"`` when nobody answered).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.brain.skills import SKILL_INTENTS
from assistant.events import Event, EventType
from assistant.mqtt.discovery import SENSITIVITY_LEVELS
from assistant.mqtt.settings import Topics

_LOGGER = logging.getLogger(__name__)

ANNOUNCE_QUEUE = 8
ANNOUNCE_WAIT_S = 60.0
"""The longest an announcement waits for a conversation to end."""
MAX_TEXT = 1000
"""Longer announcements and questions are cut (a runaway automation must not talk for hours)."""
_BUSY = {"listening", "thinking", "speaking"}
_VOLUME_INTENTS = SKILL_INTENTS["volume"]


class Microphone(Protocol):
    """The pipeline's controls the entities use (``Pipeline.set_muted``, ``request_listen``)."""

    muted: bool

    def set_muted(self, muted: bool) -> None: ...

    def request_listen(self) -> None: ...


class VolumeControl(Protocol):
    """The speaker volume, 0-100 %, persisted by its owner (the volume skill)."""

    def get(self) -> int: ...

    def set(self, level: int) -> None: ...


class SensitivityControl(Protocol):
    """The wake word's sensitivity (``wake.sensitivity``): low, medium or high."""

    def set_sensitivity(self, level: str) -> None: ...


class SkillVolume:
    """``VolumeControl`` on the volume skill's control (``brain.skills.volume.VolumeControl``:
    ``read()`` and ``set(level=...)``, persisted by it)."""

    def __init__(self, control: Any):
        self.control = control

    def get(self) -> int:
        return int(self.control.read().level)

    def set(self, level: int) -> None:
        self.control.set(level=level)


class CheckSensitivity:
    """``SensitivityControl`` on the wake check (``wake.check.WakeCheck.set_level``)."""

    def __init__(self, check: Any):
        self.check = check

    def set_sensitivity(self, level: str) -> None:
        self.check.set_level(level)


Speak = Callable[[str], None]
"""Synthesize and play one text (``voice._speaker``); returns once it is queued to play."""


@dataclass
class _Ask:
    id: str | None
    question: str | None
    started: bool = False
    text: str | None = None


class ApplianceEntities:
    def __init__(self, link: Any, topics: Topics, microphone: Microphone | None, speak: Speak | None,
                 *, volume: VolumeControl | None = None, sensitivity: SensitivityControl | None = None,
                 sensitivity_level: str = "medium",
                 wait_spoken: Callable[[float], bool] | None = None):
        self.link = link
        self.t = topics
        self.microphone = microphone
        self.speak = speak
        self.volume = volume
        self.sensitivity = sensitivity
        self.sensitivity_level = sensitivity_level
        self.wait_spoken = wait_spoken
        """Waits (up to N s) until what was spoken has played: a question before listening."""
        self.assist_state = "idle"
        self._idle = threading.Event()
        self._idle.set()
        self._ask: _Ask | None = None
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[str, str | None, _Ask | None] | None] = queue.Queue(ANNOUNCE_QUEUE)
        self._thread = threading.Thread(target=self._speaker, name="mqtt-announce", daemon=True)

    def start(self) -> None:
        subscribe = self.link.subscribe
        subscribe(self.t.entity("mute/set"), self._on_mute)
        subscribe(self.t.entity("announce"), self._on_announce)
        subscribe(self.t.entity("ask"), self._on_ask)
        if self.sensitivity is not None:
            subscribe(self.t.entity("sensitivity/set"), self._on_sensitivity)
        if self.volume is not None:
            subscribe(self.t.entity("volume/set"), self._on_volume)
        self._thread.start()

    def publish_all(self) -> None:
        self._retain("assist/state", self.assist_state)
        if self.microphone is not None:
            self._retain("mute", "ON" if self.microphone.muted else "OFF")
        if self.sensitivity is not None:
            self._retain("sensitivity", self.sensitivity_level)
        if self.volume is not None:
            self._publish_volume()

    def _retain(self, leaf: str, payload: str) -> None:
        self.link.publish(self.t.entity(leaf), payload, retain=True)

    # -- events (the pipeline's threads) -------------------------------------------------------
    def on_event(self, event: Event) -> None:
        kind, data = event.type, event.data
        if kind is EventType.STATE:
            state = str(data.get("state"))
            self.assist_state = state
            (self._idle.clear if state in _BUSY else self._idle.set)()
            self._retain("assist/state", state)
            if self.microphone is not None:
                self._retain("mute", "ON" if state == "muted" or self.microphone.muted else "OFF")
        elif kind is EventType.REPLY:
            if self.volume is not None and str(data.get("intent") or "") in _VOLUME_INTENTS:
                self._publish_volume()  # changed by voice: Home Assistant's slider follows
            self._retain("last_command", str(data.get("text") or "")[:255])
            self._retain("last_command/attributes", json.dumps(
                {k: data.get(k) for k in ("text", "handled_by", "intent", "reply", "actions",
                                          "timings_ms")}, ensure_ascii=False, default=str))
        self._follow_ask(kind, data)

    def _follow_ask(self, kind: EventType, data: dict[str, Any]) -> None:
        with self._lock:
            ask = self._ask
            if ask is None:
                return
            if kind is EventType.LISTENING and data.get("trigger") != "wake":
                ask.started = True
            elif not ask.started:
                return
            elif kind is EventType.TRANSCRIPT:
                ask.text = data.get("text")
            elif kind is EventType.REPLY:
                self._answer(ask, {"text": data.get("text"), "reply": data.get("reply"),
                                   "handled_by": data.get("handled_by")})
            elif kind in (EventType.TIMEOUT, EventType.DONE):
                self._answer(ask, {"text": ask.text or None, "reason": "no answer"})

    def _answer(self, ask: _Ask, fields: dict[str, Any]) -> None:
        self._ask = None
        answer = {"id": ask.id, "question": ask.question, **fields}
        self.link.publish(self.t.entity("ask/answer"), json.dumps(answer, ensure_ascii=False))

    # -- commands (paho's thread) --------------------------------------------------------------
    def _on_mute(self, topic: str, payload: bytes) -> None:
        word = payload.decode("utf-8", "replace").strip().upper()
        if self.microphone is None or word not in ("ON", "OFF"):
            _LOGGER.warning("MQTT: ignored %r on %s (ON or OFF)", payload[:40], topic)
            return
        self.microphone.set_muted(word == "ON")
        _LOGGER.info("microphone %s over MQTT", "muted" if word == "ON" else "unmuted")
        self._retain("mute", word)

    def _on_sensitivity(self, topic: str, payload: bytes) -> None:
        level = payload.decode("utf-8", "replace").strip().lower()
        if self.sensitivity is None or level not in SENSITIVITY_LEVELS:
            _LOGGER.warning("MQTT: ignored %r on %s (low, medium or high)", payload[:40], topic)
            return
        self.sensitivity.set_sensitivity(level)
        self.sensitivity_level = level
        self._retain("sensitivity", level)

    def _on_volume(self, topic: str, payload: bytes) -> None:
        try:
            value = float(payload.decode("utf-8").strip())
        except (UnicodeDecodeError, ValueError):
            value = -1.0
        if self.volume is None or not 0 <= value <= 100:
            _LOGGER.warning("MQTT: ignored %r on %s (a volume is 0-100)", payload[:40], topic)
            return
        self.volume.set(round(value))
        self._publish_volume()

    def _publish_volume(self) -> None:
        assert self.volume is not None
        self._retain("volume", str(int(self.volume.get())))

    def _on_announce(self, topic: str, payload: bytes) -> None:
        text = _text_of(payload, ("message", "text"))
        if not text or self.speak is None:
            _LOGGER.warning("MQTT: ignored an empty announcement on %s", topic)
            return
        self._enqueue(("announce", text, None))

    def _on_ask(self, topic: str, payload: bytes) -> None:
        if self.microphone is None:
            _LOGGER.warning("MQTT: ignored an ask on %s (no microphone here)", topic)
            return
        raw = payload.decode("utf-8", "replace").strip()
        question = None if raw.upper() in ("", "PRESS") else _text_of(payload, ("question", "text"))
        ask_id = None
        try:
            data = json.loads(raw)
            if isinstance(data, dict) and data.get("id") is not None:
                ask_id = str(data["id"])[:100]
        except ValueError:
            pass
        self._enqueue(("ask", question, _Ask(ask_id, question)))

    def _enqueue(self, item: tuple[str, str | None, _Ask | None]) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            _LOGGER.warning("MQTT: %d announcements waiting; dropped one", ANNOUNCE_QUEUE)

    # -- speaking (its own thread) -------------------------------------------------------------
    def _speaker(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            what, text, ask = item
            if not self._idle.wait(ANNOUNCE_WAIT_S):
                _LOGGER.info("still busy after %.0f s: the %s goes ahead", ANNOUNCE_WAIT_S, what)
            try:
                if text and self.speak is not None:
                    _LOGGER.info("%s over MQTT: %r", what, text)
                    self.speak(text)
                if ask is not None and self.microphone is not None:
                    if text and self.wait_spoken is not None:
                        self.wait_spoken(30.0)
                    with self._lock:
                        self._ask = ask
                    self.microphone.request_listen()
            except Exception:
                _LOGGER.exception("the %s failed", what)

    def close(self) -> None:
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            return
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)


def _text_of(payload: bytes, keys: tuple[str, ...]) -> str | None:
    """Plain text, or the first of ``keys`` in a JSON object; cut at MAX_TEXT."""
    raw = payload.decode("utf-8", "replace").strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict):
            raw = next((str(data[k]) for k in keys if isinstance(data.get(k), str)), "").strip()
    return raw[:MAX_TEXT] or None
