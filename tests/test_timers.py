"""Timers: several named ones at once, pause/resume, ring until stopped, survive a restart."""

from __future__ import annotations

from assistant.brain.timers import TimerManager, spoken_duration
from tests.clock import Clock

START = 1_000_000.0
"""Monotonic clocks start anywhere; not at zero."""


def test_spoken_duration():
    assert spoken_duration(300) == "5 minutes"
    assert spoken_duration(61) == "1 minute and 1 second"
    assert spoken_duration(3725) == "1 hour, 2 minutes and 5 seconds"


def test_named_timers_run_side_by_side(tmp_path):
    clock = Clock(START)
    timers = TimerManager(tmp_path / "timers.json", clock)
    assert timers.start(600, "pasta") == "The pasta timer is set for 10 minutes."
    assert timers.start(120, "tea") == "The tea timer is set for 2 minutes."
    assert timers.start(60, "tea") == "There is already a tea timer."
    clock.now += 60
    assert timers.status() == ("The pasta timer has 9 minutes left; "
                               "the tea timer has 1 minute left.")
    clock.now += 61
    due = timers.due()
    assert [t.name for t in due] == ["tea"]
    assert timers.due() == []  # rings once, then stays ringing
    assert [t.name for t in timers.ringing] == ["tea"]
    assert timers.stop_ringing() is True
    assert timers.ringing == []
    assert timers.status() == "The pasta timer has 7 minutes and 59 seconds left."


def test_pause_resume_change_cancel(tmp_path):
    clock = Clock(START)
    timers = TimerManager(tmp_path / "timers.json", clock)
    timers.start(300)
    clock.now += 100
    assert timers.pause() == "Paused the timer."
    clock.now += 1000  # paused: time does not count
    assert timers.due() == []
    assert timers.status() == "The timer has 3 minutes and 20 seconds left (paused)."
    assert timers.resume() == "Resumed the timer."
    assert timers.change(60) == "The timer now has 4 minutes and 20 seconds left."
    assert timers.cancel("pasta") == "There is no pasta timer."
    assert timers.cancel() == "Cancelled the timer."
    assert timers.cancel_all() == "There are no timers."


def test_timers_survive_a_restart_and_ring_if_they_ran_out(tmp_path):
    clock = Clock(START)
    path = tmp_path / "state" / "timers.json"
    TimerManager(path, clock).start(60, "eggs")
    clock.now += 3600  # the Pi was off for an hour
    again = TimerManager(path, clock)
    assert [t.name for t in again.due()] == ["eggs"]


def test_corrupt_file_starts_empty(tmp_path):
    path = tmp_path / "timers.json"
    path.write_text("{not json")
    timers = TimerManager(path, Clock(START))
    assert timers.timers == []
    timers.start(10)
    assert TimerManager(path, Clock(START)).timers[0].total_s == 10


def test_spoken_timer_commands_through_the_local_brain(tmp_path):
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from assistant.app import build_home
    from assistant.config import parse_config

    config = parse_config(f"state:\n  path: {tmp_path / 'state.json'}\n", "t.yaml")
    home = build_home(config, no_cloud=True, pin_factory=MockFactory(pin_class=MockPWMPin))
    try:
        said: list[str] = []
        ask = home.brain.answer
        assert ask("set a timer for 5 minutes", said.append).reply == "The timer is set for 5 minutes."
        assert ask("add 2 minutes to the timer", said.append).reply.startswith("The timer now has 7 minutes")
        assert ask("pause the timer", said.append).reply == "Paused the timer."
        home.timers.timers[0].ringing = True
        assert ask("stop", said.append).reply == ""
        assert home.timers.timers == []  # the ringing timer is gone
        assert ask("cancel all timers", said.append).reply == "There are no timers."
    finally:
        home.close()
    assert (tmp_path / "timers.json").exists()
