"""Alarms at a clock time: "wake me at 7", "set an alarm for 6:30 tomorrow", "cancel my alarm".

They are kept by the TimerManager (the same file as the timers, so they survive a restart) and
rung by the TimerRinger. Reading a time is pure (``parse_clock``, ``next_alarm``), over the
normalized transcript ("6:30", "7 30 a m", "half past 6", "quarter to 7", "noon", "19:00").

**What "7" means.** A bare hour is in the morning: "7" is 7:00 AM, today if that is still
ahead, else tomorrow. It is in the evening only when the words say so: "pm", "in the evening",
"tonight", "this afternoon", or "today" when 7 AM today has already passed. 12 alone is noon.
An hour from 13 to 23 (or 0) is a 24-hour time. "tomorrow" and a weekday ("on monday") pick the
day; a day and time already past ("today at 6 am" at 9) is refused, not moved. The reply always
says the time with AM or PM and the day, so a wrong reading is heard at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from assistant.brain.replies import spoken_time
from assistant.brain.timers import Timer, TimerManager

SNOOZE_S = 9 * 60.0
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PM_WORDS = ("p m", "pm", "in the evening", "this evening", "evening", "tonight",
             "in the afternoon", "this afternoon", "afternoon", "at night")
_AM_WORDS = ("a m", "am", "in the morning", "this morning", "morning")
_FILLERS = {"at", "for", "on", "the", "this", "next", "o'clock", "oclock", "o", "clock",
            "please", "a", "an", "alarm", "me", "up", "to", "by", "set", "it"}
_HHMM = re.compile(r"\b(\d{1,2})[:.](\d{2})\b")
_SPACED = re.compile(r"\b(\d{1,2}) (?:oh )?(\d{1,2})\b")
_COMPACT = re.compile(r"\b(\d{3,4})\b")
_HALF = re.compile(r"\bhalf past (\d{1,2})\b")
_QUARTER = re.compile(r"\bquarter (past|to) (\d{1,2})\b")
_MINUTES = re.compile(r"\b(\d{1,2}) (?:minutes? )?(past|to|after|before) (\d{1,2})\b")
_HOUR = re.compile(r"\b(\d{1,2})\b")


@dataclass(frozen=True)
class ClockSpec:
    """A time of day as said: hour as spoken (0-23), minute, and what the words fixed."""

    hour: int
    minute: int
    meridiem: str | None = None
    """"am", "pm", or None when not said."""
    day: str | None = None
    """"today", "tomorrow", a weekday, or None."""


def parse_clock(text: str) -> ClockSpec | None:
    """The time in a normalized phrase ("6:30 tomorrow", "7 in the evening"); None when the
    words are not only a time and a day (an alarm is never set on a guess)."""
    rest = f" {text.lower().strip()} "
    day = None
    for word in ("tomorrow", "today", "tonight", *_WEEKDAYS):
        if f" {word} " in rest:
            day = "today" if word == "tonight" else word
            break
    meridiem = None
    for words, value in ((_PM_WORDS, "pm"), (_AM_WORDS, "am")):
        for phrase in words:
            if f" {phrase} " in rest:
                meridiem = meridiem or value
                rest = rest.replace(f" {phrase} ", " ")
    for word in ("tomorrow", "today", *_WEEKDAYS):
        rest = rest.replace(f" {word} ", " ")
    if " noon " in rest or " midday " in rest:
        hour, minute, rest = 12, 0, rest.replace(" noon ", " ").replace(" midday ", " ")
        meridiem = "pm"
    elif " midnight " in rest:
        hour, minute, rest = 0, 0, rest.replace(" midnight ", " ")
        meridiem = None
    else:
        found = _time_of(rest)
        if found is None:
            return None
        hour, minute, rest = found
    if set(rest.split()) - _FILLERS:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59) or (meridiem and not 1 <= hour <= 12 and
                                                       not (hour == 0 and meridiem == "am")):
        return None
    return ClockSpec(hour, minute, meridiem, day)


def _time_of(rest: str) -> tuple[int, int, str] | None:
    """(hour, minute, the words left) of the first time-of-day pattern that fits."""
    for pattern in (_HALF, _QUARTER, _MINUTES, _HHMM, _SPACED, _COMPACT, _HOUR):
        found = pattern.search(rest)
        if found is None:
            continue
        left = rest[:found.start()] + " " + rest[found.end():]
        groups = found.groups()
        if pattern is _HALF:
            return int(groups[0]), 30, left
        if pattern is _QUARTER:
            hour = int(groups[1])
            return (hour, 15, left) if groups[0] == "past" else ((hour - 1) % 12 or 12, 45, left)
        if pattern is _MINUTES:
            minutes, way, hour = int(groups[0]), groups[1], int(groups[2])
            if not 1 <= minutes <= 30:
                return None
            if way in ("past", "after"):
                return hour, minutes, left
            return (hour - 1) % 12 or 12, 60 - minutes, left
        if pattern is _COMPACT:
            digits = groups[0]
            return int(digits[:-2]), int(digits[-2:]), left
        if pattern is _HOUR:
            return int(groups[0]), 0, left
        return int(groups[0]), int(groups[1]), left
    return None


def next_alarm(spec: ClockSpec, now: datetime) -> datetime | None:
    """When the alarm rings, by the rule in the module docstring; None for a time that has
    already passed on the day named."""
    hour = spec.hour
    if spec.meridiem == "pm" and hour < 12:
        hour += 12
    elif spec.meridiem == "am" and hour == 12:
        hour = 0
    evening_possible = spec.meridiem is None and 1 <= spec.hour <= 11
    today = now.replace(hour=hour, minute=spec.minute, second=0, microsecond=0)
    if spec.day == "today":
        if today <= now and evening_possible and today + timedelta(hours=12) > now:
            return today + timedelta(hours=12)
        return today if today > now else None
    if spec.day == "tomorrow":
        return today + timedelta(days=1)
    if spec.day in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(spec.day) - now.weekday()) % 7
        when = today + timedelta(days=ahead)
        return when if when > now else when + timedelta(days=7)
    return today if today > now else today + timedelta(days=1)


def spoken_when(when: datetime, now: datetime) -> str:
    """ "7:00 AM tomorrow", "6:30 PM today", "7:00 AM on Monday"."""
    days = (when.date() - now.date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else (
        f"on {when:%A}" if days < 7 else f"on {when:%A}, {when:%B} {when.day}")
    return f"{spoken_time(when)} {day}"


def alarm_command(intent: str, slots: dict[str, Any], timers: TimerManager) -> str:
    """Carries out one alarm sentence; returns what to say."""
    now = datetime.fromtimestamp(timers.now())
    when_text = str(slots.get("when") or "").strip()
    if intent == "AssistantSetAlarm":
        if not when_text:
            return "For what time? Say, for example: wake me at 7."
        spec = parse_clock(when_text)
        if spec is None:
            return "I didn't get the time. Say, for example: set an alarm for 6:30 tomorrow."
        when = next_alarm(spec, now)
        if when is None:
            return "That time has already passed today."
        alarm = timers.add_alarm(when.timestamp())
        if alarm is None:
            return f"There is already an alarm at {spoken_when(when, now)}." if any(
                abs((a.deadline or 0) - when.timestamp()) < 30 for a in timers.alarms) else \
                "That's as many alarms as I keep; cancel one first."
        return f"The alarm is set for {spoken_when(when, now)}."
    if intent == "AssistantSnoozeAlarm":
        snoozed = timers.snooze(SNOOZE_S)
        return f"Snoozed for {int(SNOOZE_S // 60)} minutes." if snoozed else "No alarm is ringing."
    if intent == "AssistantCancelAlarm":
        return _cancel(slots, when_text, timers, now)
    return _list(timers.alarms, now)


def _cancel(slots: dict[str, Any], when_text: str, timers: TimerManager, now: datetime) -> str:
    ringing = [t for t in timers.ringing if t.kind == "alarm"]
    if ringing and not when_text:
        timers.remove_alarms(ringing)
        return "Alarm off."
    alarms = timers.alarms
    if not alarms:
        return "There are no alarms."
    if slots.get("all"):
        count = timers.remove_alarms(alarms)
        return "Cancelled the alarm." if count == 1 else f"Cancelled all {count} alarms."
    if when_text:
        spec = parse_clock(when_text)
        picked = [a for a in alarms if spec is not None and _fits(a, spec)]
        if not picked:
            return f"There is no alarm at that time. {_list(alarms, now)}"
    elif len(alarms) == 1:
        picked = alarms
    else:
        return (f"{_list(alarms, now)} Which one? Say, for example: cancel the "
                f"{spoken_time(datetime.fromtimestamp(alarms[0].deadline or 0))} alarm.")
    timers.remove_alarms(picked)
    times = " and ".join(spoken_when(datetime.fromtimestamp(a.deadline or 0), now) for a in picked)
    return f"Cancelled the alarm at {times}."


def _fits(alarm: Timer, spec: ClockSpec) -> bool:
    """Whether an alarm is the one "the 7 alarm" / "the alarm at 6:30 pm" names."""
    at = datetime.fromtimestamp(alarm.deadline or 0)
    hours = {spec.hour % 24}
    if spec.meridiem == "pm" and spec.hour < 12:
        hours = {spec.hour + 12}
    elif spec.meridiem is None and 1 <= spec.hour <= 11:
        hours.add(spec.hour + 12)  # "cancel the 7 alarm" is either 7, whichever is set
    return at.hour in hours and at.minute == spec.minute


def _list(alarms: list[Timer], now: datetime) -> str:
    if not alarms:
        return "You have no alarms."
    times = [spoken_when(datetime.fromtimestamp(a.deadline or 0), now) for a in alarms]
    if len(times) == 1:
        return f"You have one alarm, at {times[0]}."
    return f"You have {len(times)} alarms: {', '.join(times[:-1])} and {times[-1]}."
