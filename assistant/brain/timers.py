"""Named timers, and alarms at a clock time, that ring until stopped and survive a restart.

Deadlines are kept in wall-clock seconds (time.time) in a JSON file, so a timer set before a
reboot still rings at the right moment after it (or at once, if it ran out while the Pi was off).
Alarms live in the same list and file (``kind == "alarm"``); the timer commands never touch them.
An alarm missed by more than ``STALE_ALARM_S`` while the Pi was off is dropped (and logged), not
rung hours late. The decisions (what is due, what a status sounds like) are pure and take `now`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

STALE_ALARM_S = 3600.0
"""An alarm whose time passed more than this long ago (the Pi was off) is dropped unrung."""
MAX_ALARMS = 20


@dataclass
class Timer:
    name: str
    """What the user called it ("pasta"), or "" for an unnamed timer."""
    total_s: float
    deadline: float | None
    """Wall-clock time it rings; None while paused."""
    remaining_s: float
    """Seconds left when paused (kept up to date only while paused)."""
    ringing: bool = False
    kind: str = "timer"
    """timer, or alarm (deadline = the wall-clock time it rings; name and total unused)."""

    def left(self, now: float) -> float:
        if self.deadline is None:
            return self.remaining_s
        return max(0.0, self.deadline - now)

    @property
    def label(self) -> str:
        if self.kind == "alarm":
            return "alarm"
        return f"{self.name} timer" if self.name else "timer"


def spoken_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    for value, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second")):
        if value:
            parts.append(f"{value} {unit}{'s' if value != 1 else ''}")
    if not parts:
        return "0 seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


class TimerManager:
    def __init__(self, path: str | Path | None, now: Callable[[], float]):
        self.path = Path(path).expanduser() if path else None
        self.now = now
        self.timers: list[Timer] = []
        self._lock = threading.RLock()
        self._load()

    # -- commands (return the sentence to speak) ---------------------------------------------
    def start(self, seconds: float, name: str = "") -> str:
        with self._lock:
            if name and self._find(name) is not None:
                return f"There is already a {name} timer."
            self.timers.append(Timer(name, seconds, self.now() + seconds, seconds))
            self._save()
        label = f"{name} timer" if name else "timer"
        return f"The {label} is set for {spoken_duration(seconds)}."

    def cancel(self, name: str = "") -> str:
        with self._lock:
            timer = self._pick(name)
            if timer is None:
                return self._none(name)
            self.timers.remove(timer)
            self._save()
        return f"Cancelled the {timer.label}."

    def cancel_all(self) -> str:
        with self._lock:
            count = len(self._timers_only())
            self.timers = [t for t in self.timers if t.kind != "timer"]
            self._save()
        if count == 0:
            return "There are no timers."
        return "Cancelled the timer." if count == 1 else f"Cancelled all {count} timers."

    def pause(self, name: str = "") -> str:
        with self._lock:
            timer = self._pick(name, running=True)
            if timer is None:
                return self._none(name)
            timer.remaining_s = timer.left(self.now())
            timer.deadline = None
            self._save()
        return f"Paused the {timer.label}."

    def resume(self, name: str = "") -> str:
        with self._lock:
            timer = self._pick(name, paused=True)
            if timer is None:
                return self._none(name)
            timer.deadline = self.now() + timer.remaining_s
            self._save()
        return f"Resumed the {timer.label}."

    def change(self, seconds: float, name: str = "") -> str:
        """Add (positive) or take off (negative) time."""
        with self._lock:
            timer = self._pick(name)
            if timer is None:
                return self._none(name)
            if timer.deadline is None:
                timer.remaining_s = max(0.0, timer.remaining_s + seconds)
            else:
                timer.deadline = max(self.now(), timer.deadline + seconds)
            self._save()
            left = timer.left(self.now())
        return f"The {timer.label} now has {spoken_duration(left)} left."

    def status(self, name: str = "") -> str:
        with self._lock:
            timers = [t for t in self._timers_only() if not name or t.name == name]
            now = self.now()
            if not timers:
                return self._none(name)
            parts = []
            for t in timers:
                state = " (paused)" if t.deadline is None else ""
                parts.append(f"the {t.label} has {spoken_duration(t.left(now))} left{state}")
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def stop_ringing(self) -> bool:
        """Silence and remove every ringing timer; True if one was ringing."""
        with self._lock:
            ringing = [t for t in self.timers if t.ringing]
            for t in ringing:
                self.timers.remove(t)
            if ringing:
                self._save()
        return bool(ringing)

    # -- time passing ------------------------------------------------------------------------
    def due(self) -> list[Timer]:
        """Timers and alarms that have just run out; they stay (ringing) until stop_ringing()."""
        now = self.now()
        with self._lock:
            stale = [t for t in self.timers if t.kind == "alarm" and not t.ringing
                     and t.deadline is not None and t.deadline < now - STALE_ALARM_S]
            for t in stale:
                _LOGGER.warning("dropping an alarm missed by %.0f minutes (the assistant was "
                                "not running)", (now - (t.deadline or now)) / 60)
                self.timers.remove(t)
            fired = [t for t in self.timers
                     if not t.ringing and t.deadline is not None and t.deadline <= now]
            for t in fired:
                t.ringing = True
            if fired or stale:
                self._save()
        return fired

    @property
    def ringing(self) -> list[Timer]:
        with self._lock:
            return [t for t in self.timers if t.ringing]

    # -- alarms ------------------------------------------------------------------------------
    @property
    def alarms(self) -> list[Timer]:
        """Alarms not yet rung, soonest first."""
        with self._lock:
            found = [t for t in self.timers if t.kind == "alarm" and not t.ringing]
        return sorted(found, key=lambda t: t.deadline or 0.0)

    def add_alarm(self, at: float) -> Timer | None:
        """An alarm at wall-clock time ``at``; None when one is already set then or there are
        MAX_ALARMS."""
        with self._lock:
            if any(abs((t.deadline or 0.0) - at) < 30 for t in self.alarms):
                return None
            if len(self.alarms) >= MAX_ALARMS:
                return None
            alarm = Timer("", 0.0, at, 0.0, kind="alarm")
            self.timers.append(alarm)
            try:
                self._save()
            except OSError:  # not kept, so not set: the reply must not say it is
                self.timers.remove(alarm)
                raise
        return alarm

    def remove_alarms(self, alarms: list[Timer]) -> int:
        with self._lock:
            gone = [t for t in self.timers if any(t is a for a in alarms)]
            self.timers = [t for t in self.timers if not any(t is a for a in gone)]
            if gone:
                self._save()
        return len(gone)

    def snooze(self, seconds: float) -> list[Timer]:
        """Ringing alarms ring again in ``seconds``; the ones snoozed."""
        with self._lock:
            snoozed = [t for t in self.timers if t.kind == "alarm" and t.ringing]
            for t in snoozed:
                t.ringing = False
                t.deadline = self.now() + seconds
            if snoozed:
                self._save()
        return snoozed

    # -- helpers -----------------------------------------------------------------------------
    def _timers_only(self) -> list[Timer]:
        return [t for t in self.timers if t.kind == "timer"]

    def _find(self, name: str) -> Timer | None:
        return next((t for t in self._timers_only() if t.name == name), None)

    def _pick(self, name: str, running: bool = False, paused: bool = False) -> Timer | None:
        candidates = [t for t in self._timers_only() if (not name or t.name == name)
                      and (not running or t.deadline is not None)
                      and (not paused or t.deadline is None)]
        # With no name, the most recently set timer is the one meant.
        return candidates[-1] if candidates else None

    def _none(self, name: str) -> str:
        return f"There is no {name} timer." if name else "There are no timers."

    def _load(self) -> None:
        if self.path is None or not self.path.exists():
            return
        try:
            items = json.loads(self.path.read_text())
            self.timers = [Timer(**item) for item in items]
        except (OSError, ValueError, TypeError) as exc:
            _LOGGER.warning("could not read timers from %s (%s); starting with none", self.path, exc)
            self.timers = []

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps([asdict(t) for t in self.timers])
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".timers-")
        with os.fdopen(fd, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def timer_command(intent: str, slots: dict, timers: TimerManager) -> str:
    """Carries out one of Home Assistant's timer intents; returns what to say."""
    seconds = (float(slots.get("hours", 0) or 0) * 3600 + float(slots.get("minutes", 0) or 0) * 60
               + float(slots.get("seconds", 0) or 0))
    name = str(slots.get("name") or "").strip().lower()
    if intent == "HassStartTimer":
        if seconds <= 0:
            return "For how long? Say, for example: set a timer for five minutes."
        return timers.start(seconds, name)
    if intent == "HassCancelTimer":
        return timers.cancel(name)
    if intent == "HassCancelAllTimers":
        return timers.cancel_all()
    if intent == "HassPauseTimer":
        return timers.pause(name)
    if intent == "HassUnpauseTimer":
        return timers.resume(name)
    if intent == "HassIncreaseTimer":
        return timers.change(seconds, name)
    if intent == "HassDecreaseTimer":
        return timers.change(-seconds, name)
    return timers.status(name)
