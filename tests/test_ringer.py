"""TimerRinger: rings a timer that ran out until it is stopped, holds off while listening, and
gives up after a while. A fake clock drives the timers; the repeat interval is shortened so
repeats show up quickly, and every check polls with a bounded wait instead of timing."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from assistant import ringer
from assistant.brain.timers import Timer, TimerManager
from assistant.events import Event, EventBus, EventType
from assistant.feedback import SOUND_RATE
from assistant.ringer import RING_SOUND, TimerRinger
from tests.clock import Clock
from tests.polling import wait_for

POLL_S = 0.005
REPEAT_S = 0.02


class Rig:
    def __init__(self) -> None:
        self.clock = Clock(1000.0)
        self.timers = TimerManager(None, self.clock)
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.rings = 0
        self.said: list[str] = []
        self._lock = threading.Lock()
        self.polls = 0
        due = self.timers.due

        def counted_due() -> list[Timer]:
            self.polls += 1  # one call per turn of the ringer's loop
            return due()

        self.timers.due = counted_due  # type: ignore[method-assign]
        self.ringer = TimerRinger(self.timers, self.play, self.said.append, self.bus,
                                  poll_s=POLL_S)

    def wait_polls(self, n: int) -> None:
        """Waits for n more turns of the ringer's loop: n * POLL_S covers n / 4 repeats."""
        target = self.polls + n
        assert wait_for(lambda: self.polls >= target)

    def play(self, pcm: bytes, rate: int) -> None:
        assert (pcm, rate) == (RING_SOUND, SOUND_RATE)
        with self._lock:
            self.rings += 1

    def run_out(self, seconds: float = 60, name: str = "") -> None:
        self.timers.start(seconds, name)
        self.clock.now += seconds + 1

    def ringing_states(self) -> list[Event]:
        return [e for e in self.events
                if e.type is EventType.STATE and e.data.get("state") == "ringing"]


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setattr(ringer, "REPEAT_S", REPEAT_S)
    rig = Rig()
    rig.ringer.start()
    yield rig
    rig.ringer.close()


def test_nothing_rings_without_a_timer_that_ran_out(rig: Rig) -> None:
    rig.timers.start(60)
    rig.wait_polls(10)
    assert rig.rings == 0 and rig.said == [] and rig.ringing_states() == []


def test_rings_again_and_again_until_stopped(rig: Rig) -> None:
    rig.run_out(300, "pasta")
    assert wait_for(lambda: rig.rings >= 3)  # repeats, not a single ring
    assert rig.said[0] == "The pasta timer is done."
    assert [e.data for e in rig.ringing_states()] == [{"state": "ringing", "timer": "pasta"}]
    assert rig.timers.stop_ringing()
    rig.wait_polls(2)  # a ring already under way when it was stopped has finished
    settled = rig.rings
    rig.wait_polls(20)  # five repeat intervals: a still-ringing timer would ring again
    assert rig.rings == settled
    assert rig.timers.timers == []


def test_two_timers_are_named_together(rig: Rig) -> None:
    rig.timers.start(60, "tea")
    rig.timers.start(60, "egg")
    rig.clock.now += 61
    assert wait_for(lambda: bool(rig.said))
    assert rig.said[0] == "The tea timer and the egg timer are done."


def test_holds_off_while_the_assistant_listens(rig: Rig) -> None:
    rig.ringer.on_event(Event(EventType.LISTENING))
    rig.run_out()
    assert wait_for(lambda: len(rig.ringing_states()) == 1)  # it knows the timer ran out...
    rig.wait_polls(20)
    assert rig.rings == 0  # ...but keeps quiet, so "stop" can be heard
    rig.ringer.on_event(Event(EventType.DONE))
    assert wait_for(lambda: rig.rings >= 1)
    assert rig.said == ["The timer is done."] * len(rig.said)


def test_a_timeout_also_ends_the_hold(rig: Rig) -> None:
    rig.bus.emit(EventType.LISTENING)  # through the bus: start() subscribed the ringer
    rig.run_out()
    assert wait_for(lambda: len(rig.ringing_states()) == 1)
    assert rig.rings == 0
    rig.bus.emit(EventType.TIMEOUT)
    assert wait_for(lambda: rig.rings >= 1)


def test_a_timer_nobody_stops_is_silenced_after_a_while(rig: Rig, monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(ringer, "GIVE_UP_S", 0.05)
    rig.run_out()
    assert wait_for(lambda: rig.timers.ringing == [] and rig.rings >= 1)
    assert rig.timers.timers == []
    assert any("unanswered" in r.getMessage() for r in caplog.records)


def test_close_stops_the_thread() -> None:
    rig = Rig()
    rig.ringer.start()
    rig.ringer.close()
    assert not rig.ringer._thread.is_alive()
