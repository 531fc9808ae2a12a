"""Alarms: what a spoken time means (the rule for a bare "7"), alarms beside the timers in the
same file, surviving a restart, ringing through the ringer, and the sentences through hassil.
Every time is read against an injected clock."""

from __future__ import annotations

from datetime import datetime

import pytest

from assistant.brain.skills.alarms import (
    ClockSpec,
    alarm_command,
    next_alarm,
    parse_clock,
    spoken_when,
)
from assistant.brain.timers import STALE_ALARM_S, TimerManager
from assistant.ringer import ring_message
from tests.clock import Clock

MONDAY_5AM = datetime(2025, 3, 3, 5, 0)  # a Monday
MONDAY_9AM = datetime(2025, 3, 3, 9, 0)
MONDAY_3PM = datetime(2025, 3, 3, 15, 0)
MONDAY_10PM = datetime(2025, 3, 3, 22, 0)


@pytest.mark.parametrize(("text", "spec"), [
    ("7", ClockSpec(7, 0)),
    ("7 am", ClockSpec(7, 0, "am")),
    ("7 a m", ClockSpec(7, 0, "am")),
    ("6:30 tomorrow", ClockSpec(6, 30, None, "tomorrow")),
    ("tomorrow at 6:30", ClockSpec(6, 30, None, "tomorrow")),
    ("7 30 a m", ClockSpec(7, 30, "am")),
    ("7.45", ClockSpec(7, 45)),
    ("630", ClockSpec(6, 30)),
    ("19:00", ClockSpec(19, 0)),
    ("half past 6", ClockSpec(6, 30)),
    ("quarter to 7", ClockSpec(6, 45)),
    ("quarter past 8 in the morning", ClockSpec(8, 15, "am")),
    ("10 to 7", ClockSpec(6, 50)),
    ("7 in the evening", ClockSpec(7, 0, "pm")),
    ("7 tonight", ClockSpec(7, 0, "pm", "today")),
    ("noon", ClockSpec(12, 0, "pm")),
    ("midnight", ClockSpec(0, 0)),
    ("7 o'clock on friday", ClockSpec(7, 0, None, "friday")),
    ("7 oh 5", ClockSpec(7, 5)),
])
def test_spoken_times(text: str, spec: ClockSpec) -> None:
    assert parse_clock(text) == spec


@pytest.mark.parametrize("text", ["", "soon", "when the sun rises", "25:00", "7:75", "19 am",
                                  "7 and buy milk"])
def test_what_is_not_only_a_time_is_refused(text: str) -> None:
    assert parse_clock(text) is None


@pytest.mark.parametrize(("text", "now", "expected"), [
    # A bare hour is the morning: today while still ahead, else tomorrow.
    ("7", MONDAY_5AM, datetime(2025, 3, 3, 7, 0)),
    ("7", MONDAY_9AM, datetime(2025, 3, 4, 7, 0)),
    ("7", MONDAY_3PM, datetime(2025, 3, 4, 7, 0)),
    # ...the evening only when the words say so...
    ("7 pm", MONDAY_9AM, datetime(2025, 3, 3, 19, 0)),
    ("7 tonight", MONDAY_9AM, datetime(2025, 3, 3, 19, 0)),
    ("7 in the evening", MONDAY_10PM, datetime(2025, 3, 4, 19, 0)),
    # ...or "today" once the morning's 7 has passed.
    ("7 today", MONDAY_3PM, datetime(2025, 3, 3, 19, 0)),
    ("7 today", MONDAY_5AM, datetime(2025, 3, 3, 7, 0)),
    ("12", MONDAY_9AM, datetime(2025, 3, 3, 12, 0)),
    ("12 am", MONDAY_9AM, datetime(2025, 3, 4, 0, 0)),
    ("19:30", MONDAY_9AM, datetime(2025, 3, 3, 19, 30)),
    ("6:30 tomorrow", MONDAY_5AM, datetime(2025, 3, 4, 6, 30)),
    ("7 on friday", MONDAY_9AM, datetime(2025, 3, 7, 7, 0)),
    ("7 on monday", MONDAY_5AM, datetime(2025, 3, 3, 7, 0)),
    ("7 on monday", MONDAY_9AM, datetime(2025, 3, 10, 7, 0)),
])
def test_the_rule_for_when_an_alarm_rings(text: str, now: datetime, expected: datetime) -> None:
    spec = parse_clock(text)
    assert spec is not None
    assert next_alarm(spec, now) == expected


def test_a_time_already_past_on_the_named_day_is_refused() -> None:
    spec = parse_clock("6 am today")
    assert spec is not None and next_alarm(spec, MONDAY_9AM) is None
    late = parse_clock("7 today")
    assert late is not None and next_alarm(late, MONDAY_10PM) is None


def test_spoken_when() -> None:
    assert spoken_when(datetime(2025, 3, 4, 7, 0), MONDAY_9AM) == "7:00 AM tomorrow"
    assert spoken_when(datetime(2025, 3, 3, 19, 5), MONDAY_9AM) == "7:05 PM today"
    assert spoken_when(datetime(2025, 3, 7, 7, 0), MONDAY_9AM) == "7:00 AM on Friday"


def manager(tmp_path, now: datetime = MONDAY_9AM) -> tuple[TimerManager, Clock]:
    clock = Clock(now.timestamp())
    return TimerManager(tmp_path / "timers.json", clock), clock


def test_set_list_and_cancel_alarms(tmp_path) -> None:
    timers, _ = manager(tmp_path)

    def say(intent: str, **slots: object) -> str:
        return alarm_command(intent, slots, timers)

    assert say("AssistantListAlarms") == "You have no alarms."
    assert say("AssistantSetAlarm", when="7") == "The alarm is set for 7:00 AM tomorrow."
    assert say("AssistantSetAlarm", when="7 am") == "There is already an alarm at 7:00 AM tomorrow."
    assert say("AssistantSetAlarm", when="6:30 pm") == "The alarm is set for 6:30 PM today."
    assert say("AssistantSetAlarm", when="when the sun rises").startswith("I didn't get the time")
    assert say("AssistantSetAlarm") == "For what time? Say, for example: wake me at 7."
    assert say("AssistantSetAlarm", when="6 am today") == "That time has already passed today."
    assert say("AssistantListAlarms") == ("You have 2 alarms: 6:30 PM today and 7:00 AM "
                                          "tomorrow.")
    assert say("AssistantCancelAlarm").startswith("You have 2 alarms")  # which one?
    assert say("AssistantCancelAlarm", when="6:30") == "Cancelled the alarm at 6:30 PM today."
    assert say("AssistantCancelAlarm", when="8") .startswith("There is no alarm at that time.")
    assert say("AssistantCancelAlarm") == "Cancelled the alarm at 7:00 AM tomorrow."
    assert say("AssistantCancelAlarm") == "There are no alarms."
    say("AssistantSetAlarm", when="7")
    say("AssistantSetAlarm", when="8")
    assert say("AssistantCancelAlarm", all=True) == "Cancelled all 2 alarms."
    assert timers.timers == []


def test_alarms_and_timers_share_the_file_but_not_the_commands(tmp_path) -> None:
    timers, clock = manager(tmp_path)
    timers.start(300, "pasta")
    alarm_command("AssistantSetAlarm", {"when": "9:30"}, timers)
    assert timers.status() == "The pasta timer has 5 minutes left."
    assert timers.cancel() == "Cancelled the pasta timer."
    assert timers.cancel_all() == "There are no timers."
    assert len(timers.alarms) == 1  # "cancel all timers" left the alarm alone
    # A restart: the alarm comes back from the timers' own file.
    again = TimerManager(tmp_path / "timers.json", clock)
    assert [a.deadline for a in again.alarms] == [datetime(2025, 3, 3, 9, 30).timestamp()]
    clock.now += 31 * 60
    due = again.due()
    assert [t.kind for t in due] == ["alarm"]
    assert ring_message(due) == "Your 9:30 AM alarm."
    assert alarm_command("AssistantListAlarms", {}, again) == "You have no alarms."
    assert alarm_command("AssistantSnoozeAlarm", {}, again) == "Snoozed for 9 minutes."
    assert again.ringing == [] and again.due() == []
    clock.now += 9 * 60
    assert len(again.due()) == 1
    assert alarm_command("AssistantCancelAlarm", {}, again) == "Alarm off."  # while it rings
    assert again.timers == []


def test_an_alarm_missed_while_off_is_dropped_not_rung_late(tmp_path, caplog) -> None:
    timers, clock = manager(tmp_path)
    alarm_command("AssistantSetAlarm", {"when": "10"}, timers)
    clock.now += 3600 + STALE_ALARM_S + 60  # the Pi was off past 11:00
    assert TimerManager(tmp_path / "timers.json", clock).due() == []
    assert any("missed" in r.getMessage() for r in caplog.records)


def test_ring_message_names_timers_and_alarms(tmp_path) -> None:
    timers, clock = manager(tmp_path)
    timers.start(60, "tea")
    timers.add_alarm(datetime(2025, 3, 3, 9, 1).timestamp())
    clock.now += 120
    assert ring_message(timers.due()) == "The tea timer is done. Your 9:01 AM alarm."


def test_ringer_rings_an_alarm_and_unmutes_first(tmp_path) -> None:
    from assistant import ringer
    from assistant.events import EventBus
    from tests.polling import wait_for

    timers, clock = manager(tmp_path)
    timers.add_alarm(datetime(2025, 3, 3, 9, 0, 30).timestamp())
    said: list[str] = []
    audible: list[bool] = []
    bell = ringer.TimerRinger(timers, lambda pcm, rate: None, said.append, EventBus(),
                              poll_s=0.005, before_ring=lambda: audible.append(True))
    bell.start()
    try:
        clock.now += 60
        assert wait_for(lambda: bool(said))
        assert said[0] == "Your 9:00 AM alarm."
        assert audible  # make_audible ran before the ring
    finally:
        bell.close()


@pytest.fixture(scope="module")
def skills():  # type: ignore[no-untyped-def]
    from assistant.brain.skills import Skills
    from assistant.config import parse_config

    clock = Clock(MONDAY_9AM.timestamp())
    timers = TimerManager(None, clock)
    return Skills(parse_config(""), executor=None, timers=timers), timers  # type: ignore[arg-type]


@pytest.mark.parametrize(("sentence", "reply"), [
    ("Wake me at 7.", "The alarm is set for 7:00 AM tomorrow."),
    ("Set an alarm for 6:30 tomorrow.", "The alarm is set for 6:30 AM tomorrow."),
    ("wake me up at seven thirty a.m.", "The alarm is set for 7:30 AM tomorrow."),
    ("Set an alarm for 7 p.m.", "The alarm is set for 7:00 PM today."),
    ("What alarms do I have?", "You have 4 alarms: 7:00 PM today, 6:30 AM tomorrow, "
                               "7:00 AM tomorrow and 7:30 AM tomorrow."),
    ("Cancel the 6:30 alarm.", "Cancelled the alarm at 6:30 AM tomorrow."),
    ("Cancel all my alarms.", "Cancelled all 3 alarms."),
    ("Set an alarm for 8.", "The alarm is set for 8:00 AM tomorrow."),
    ("Cancel my alarms.", "Cancelled the alarm."),
    ("Cancel my alarm.", "There are no alarms."),
])
def test_alarm_sentences(skills, sentence: str, reply: str) -> None:  # type: ignore[no-untyped-def]
    brain, _timers = skills
    answer = brain.handle(sentence)
    assert answer is not None and answer.handled_by == "skill"
    assert answer.reply == reply


def test_an_alarm_that_cannot_be_saved_is_not_said_to_be_set(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from assistant.brain.skills import FAILED, Skills
    from assistant.config import parse_config

    (tmp_path / "not_a_folder").write_text("")
    timers = TimerManager(tmp_path / "not_a_folder" / "timers.json", Clock(MONDAY_9AM.timestamp()))
    skills = Skills(parse_config(""), executor=None, timers=timers)  # type: ignore[arg-type]
    answer = skills.handle("wake me at 7")
    assert answer is not None and answer.reply == FAILED
    assert timers.alarms == []
    assert any("failed" in r.getMessage() for r in caplog.records)
