"""What the dashboard steers besides devices, each behind a small Protocol the app fills in.

Devices go through the one executor (``app.ObservedExecutor``); the rest are here: the
microphone's level, mute, the speaker's volume, timers and alarms, and the speaker itself. Any
of them may be missing (None): the page then leaves its control out.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class LevelSource(Protocol):
    def level_dbfs(self) -> float | None:
        """The microphone's recent RMS level in dBFS (-inf..0), None before any audio."""
        ...


class Muting(Protocol):
    """The pipeline (``Pipeline.set_muted`` / ``Pipeline.muted``)."""

    muted: bool

    def set_muted(self, muted: bool) -> None: ...


class Volume(Protocol):
    """The speaker's volume in percent (0-100)."""

    def get(self) -> float: ...

    def set(self, percent: float) -> None: ...


@dataclass(frozen=True)
class Reminder:
    id: str
    """Stable for as long as the timer or alarm exists; what ``cancel`` takes."""
    kind: str
    """"timer" or "alarm"."""
    label: str
    due_ts: float | None
    """Wall-clock time it rings (time.time()); None while paused."""
    remaining_s: float
    ringing: bool = False


class Reminders(Protocol):
    """Running timers, or alarms: listed and cancelled by id."""

    def items(self) -> list[Reminder]: ...

    def cancel(self, reminder_id: str) -> bool: ...


class Speaker(Protocol):
    def say(self, text: str) -> None:
        """Speak a text through the appliance's speaker (blocks until synthesized)."""
        ...

    def play(self, pcm: bytes, rate: int) -> None: ...


@dataclass
class Controls:
    level: LevelSource | None = None
    muting: Muting | None = None
    volume: Volume | None = None
    timers: Reminders | None = None
    alarms: Reminders | None = None
    speaker: Speaker | None = None


class TimerReminders:
    """``brain.timers.TimerManager`` as Reminders: a timer's id is its object's identity."""

    def __init__(self, manager: Any, clock: Callable[[], float] | None = None):
        self.manager = manager
        self.clock = clock or manager.now

    def items(self) -> list[Reminder]:
        now = self.clock()
        return [Reminder(f"timer-{id(t):x}", "timer", t.label, t.deadline, t.left(now), t.ringing)
                for t in list(self.manager.timers) if getattr(t, "kind", "timer") == "timer"]

    def cancel(self, reminder_id: str) -> bool:
        # TimerManager cancels by name; a timer with a name shared by none is cancelled that way,
        # otherwise (several unnamed timers) it is taken out of the list under the manager's lock.
        for timer in list(self.manager.timers):
            if f"timer-{id(timer):x}" != reminder_id:
                continue
            lock = getattr(self.manager, "_lock", None) or threading.Lock()
            with lock:
                if timer in self.manager.timers:
                    self.manager.timers.remove(timer)
                    save = getattr(self.manager, "_save", None)
                    if save is not None:
                        save()
                    return True
        return False


class AlarmReminders:
    """The alarms kept by ``brain.timers.TimerManager`` (beside its timers) as Reminders."""

    def __init__(self, manager: Any):
        self.manager = manager

    def items(self) -> list[Reminder]:
        from datetime import datetime

        from assistant.brain.replies import spoken_time

        now = self.manager.now()
        alarms = [t for t in list(self.manager.timers) if getattr(t, "kind", "") == "alarm"]
        return [Reminder(f"alarm-{id(t):x}", "alarm",
                         f"{spoken_time(datetime.fromtimestamp(t.deadline or 0))} alarm",
                         t.deadline, t.left(now), t.ringing) for t in alarms]

    def cancel(self, reminder_id: str) -> bool:
        alarms = [t for t in list(self.manager.timers) if f"alarm-{id(t):x}" == reminder_id]
        return self.manager.remove_alarms(alarms) > 0


class SkillVolume:
    """The volume skill's control (``brain.skills.volume.VolumeControl``) as Volume."""

    def __init__(self, control: Any):
        self.control = control

    def get(self) -> float:
        return float(self.control.read().level)

    def set(self, percent: float) -> None:
        self.control.set(round(percent))


class LevelTap:
    """An audio source passed through unchanged, noting each chunk's RMS level (LevelSource).

    Costs one mean of squares per 30 ms chunk; the page reads the level 5 times a second."""

    def __init__(self, source: Any):
        self.source = source
        self._dbfs: float | None = None

    def __iter__(self) -> Iterator[Any]:
        for chunk in self.source:
            samples = np.frombuffer(chunk.audio, dtype="<i2").astype(np.float32)
            if samples.size:
                rms = math.sqrt(float(np.mean(samples * samples))) / 32768.0
                self._dbfs = 20 * math.log10(rms) if rms > 1e-6 else -120.0
            yield chunk

    def level_dbfs(self) -> float | None:
        return self._dbfs

    # The watchdog hook (``cli._install_service_hooks``) is set on the source itself.
    @property
    def on_wait(self) -> Any:
        return getattr(self.source, "on_wait", None)

    @on_wait.setter
    def on_wait(self, hook: Any) -> None:
        self.source.on_wait = hook

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if close is not None:
            close()
