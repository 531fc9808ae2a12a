"""The skills that are about the conversation itself: "what can you do" and "repeat that"."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from assistant.config import ACTUATOR_KINDS, Config

NOTHING_YET = "I haven't said anything yet."


def help_text(config: Config, skills: Iterable[str]) -> str:
    """What the assistant can do, from the devices it has and the skills switched on."""
    enabled = set(skills)
    actuators = [d.name for d in config.devices if d.kind in ACTUATOR_KINDS]
    sensors = [d.name for d in config.devices if d.kind not in ACTUATOR_KINDS]
    said = []
    if actuators:
        more = len(actuators) - 2
        examples = [f"the {name}" for name in actuators[:2]] + ([f"{more} more"] if more > 0 else [])
        said.append(f"I can switch {_join(examples)}")
    if sensors:
        said.append(f"read {_count(len(sensors), 'sensor')}")
    things = ["timers"]
    if "alarms" in enabled:
        things.append("alarms")
    also = [f"set {' and '.join(things)}", "tell the time and the date"]
    if "volume" in enabled:
        also.append("change my volume")
    if "weather" in enabled and config.weather.latitude is not None:
        place = f" in {config.weather.name}" if config.weather.name else ""
        also.append(f"tell you the weather{place}")
    if "repeat" in enabled:
        also.append("repeat what I said")
    lead = f"{', and '.join(said)}. I can also " if said else "I can "
    text = lead + _join(also) + "."
    scenes = [name.replace("_", " ") for name in config.intents.scenes]
    if scenes:
        text += f" Your own commands: {_join(scenes)}."
    if actuators:
        text += f" Try: turn on the {actuators[0]}."
    return text[0].upper() + text[1:]


def repeat_text(last_reply: Callable[[], str]) -> str:
    return last_reply() or NOTHING_YET


def _count(n: int, word: str) -> str:
    return f"{'one' if n == 1 else n} {word}{'' if n == 1 else 's'}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
