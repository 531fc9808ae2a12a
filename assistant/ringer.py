"""Rings timers that ran out and alarms whose time came, again and again, until someone says
"stop" or presses the button.

While the assistant listens to a command the ringing holds off, so "okay nabu ... stop" is heard.
Before it rings, ``before_ring`` (the volume skill's ``make_audible``) lifts a mute: an alarm
nobody can hear is worse than one that is too loud.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from assistant.brain.replies import spoken_time
from assistant.brain.timers import Timer, TimerManager
from assistant.events import Event, EventBus, EventType
from assistant.feedback import SOUND_RATE, tone

_LOGGER = logging.getLogger(__name__)

RING_SOUND = tone([880, 0, 880, 0, 880], seconds=0.12, volume=0.3)
REPEAT_S = 5.0
GIVE_UP_S = 30 * 60.0
"""A timer nobody stops rings for half an hour, then goes quiet (and is logged)."""


class TimerRinger:
    def __init__(self, timers: TimerManager, play: Callable[[bytes, int], None],
                 say: Callable[[str], None], bus: EventBus, poll_s: float = 0.25,
                 before_ring: Callable[[], None] | None = None):
        self.timers = timers
        self.before_ring = before_ring
        self.play = play
        self.say = say
        self.bus = bus
        self.poll_s = poll_s
        self._held = threading.Event()
        self._stop = threading.Event()
        self._since: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, name="timers", daemon=True)

    def start(self) -> None:
        self.bus.subscribe(self.on_event)
        self._thread.start()

    def on_event(self, event: Event) -> None:
        if event.type is EventType.LISTENING:
            self._held.set()
        elif event.type in (EventType.DONE, EventType.TIMEOUT):
            self._held.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        last_ring = 0.0
        while not self._stop.wait(self.poll_s):
            for timer in self.timers.due():
                _LOGGER.info("%s is done", timer.label)
                self.bus.emit(EventType.STATE, state="ringing", timer=timer.name)
                last_ring = 0.0
            ringing = self.timers.ringing
            # A snoozed alarm starts its half hour afresh when it rings again.
            self._since = {k: v for k, v in self._since.items() if k in {id(t) for t in ringing}}
            if not ringing or self._held.is_set():
                continue
            now = time.monotonic()
            for timer in ringing:
                started = self._since.setdefault(id(timer), now)
                if now - started > GIVE_UP_S:
                    _LOGGER.warning("%s rang for %d minutes unanswered; silencing it",
                                    timer.label, GIVE_UP_S // 60)
                    self.timers.stop_ringing()
                    self._since.clear()
                    break
            else:
                if now - last_ring >= REPEAT_S:
                    last_ring = now
                    if self.before_ring is not None:
                        self.before_ring()
                    self.play(RING_SOUND, SOUND_RATE)
                    self.say(ring_message(ringing))


def ring_message(ringing: list[Timer]) -> str:
    """ "The pasta timer is done.", "Your 7:00 AM alarm.", or both, for what rings now."""
    parts = []
    timers = [t for t in ringing if t.kind != "alarm"]
    if timers:
        names = " and ".join(f"the {t.label}" for t in timers)
        verb = "are" if len(timers) > 1 else "is"
        parts.append(f"{names[0].upper()}{names[1:]} {verb} done.")
    times = [spoken_time(datetime.fromtimestamp(t.deadline)) for t in ringing
             if t.kind == "alarm" and t.deadline is not None]
    if times:
        # The time it was set for, not "it's 7:00": after a late start that would be untrue.
        parts.append(f"Your {' and '.join(times)} alarm{'s' if len(times) > 1 else ''}.")
    return " ".join(parts)
