"""Everyday skills: volume, alarms, weather, "what can you do", "repeat that", and scenes.

The router asks ``Skills.handle(text)`` after the home's own commands and before any language
model; None passes the sentence on. Sentences are hassil templates of their own
(``assistant/data/skills_<language>.yaml``, with Home Assistant's intent names where it has one:
HassSetVolume, HassGetWeather, ...), plus the scenes and any skill sentences of the extra
sentences file. Only the skills switched on in ``skills:`` are matched at all. Each answer is
``handled_by="skill"`` and its reply is built from what the skill really did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents, recognize_best
from hassil.intents import TextSlotList

from assistant.brain.numbers import normalize_transcript
from assistant.brain.skills.alarms import alarm_command
from assistant.brain.skills.scenes import run_scene, scene_reply
from assistant.brain.skills.talk import help_text, repeat_text
from assistant.brain.skills.volume import VolumeControl, volume_command
from assistant.brain.skills.weather import OpenMeteo, weather_command
from assistant.brain.timers import TimerManager
from assistant.brain.types import ActionResult, Answer, Executor
from assistant.config import Config

_LOGGER = logging.getLogger(__name__)

_DATA = Path(__file__).resolve().parent.parent.parent / "data"
SKILL_INTENTS: dict[str, frozenset[str]] = {
    "volume": frozenset({"HassSetVolume", "HassSetVolumeRelative", "HassMediaPlayerMute",
                         "HassMediaPlayerUnmute", "AssistantGetVolume"}),
    "alarms": frozenset({"AssistantSetAlarm", "AssistantCancelAlarm", "AssistantListAlarms",
                         "AssistantSnoozeAlarm"}),
    "weather": frozenset({"HassGetWeather"}),
    "help": frozenset({"AssistantHelp"}),
    "repeat": frozenset({"AssistantRepeat"}),
}
SCENE_INTENT = "AssistantScene"
FAILED = "Sorry, that didn't work."


class Skills:
    def __init__(self, config: Config, executor: Executor, *, timers: TimerManager | None = None,
                 volume: VolumeControl | None = None, weather: OpenMeteo | None = None,
                 last_reply: Callable[[], str] = lambda: ""):
        self.config = config
        self.executor = executor
        self.timers = timers
        self.volume = volume
        self.weather = weather
        self.last_reply = last_reply
        """What the assistant said last (the router's), for "repeat that"."""
        self.names = {d.id: d.name for d in config.devices}
        self.enabled = [name for name in SKILL_INTENTS if getattr(config.skills, name)
                        and (name != "volume" or volume is not None)
                        and (name != "alarms" or timers is not None)]
        self._intents = _load(config, {i for name in self.enabled for i in SKILL_INTENTS[name]})
        if self._intents is not None:  # hassil builds its tries on the first recognition
            recognize_best("what can you do", self._intents, slot_lists=_EMPTY_LISTS)

    def handle(self, text: str) -> Answer | None:
        start = time.perf_counter()
        normalized = normalize_transcript(text)
        if not normalized or self._intents is None:
            return None
        result = recognize_best(normalized, self._intents, slot_lists=_EMPTY_LISTS,
                                language=self.config.intents.language)
        if result is None:
            return None
        intent = result.intent.name
        slots = {key: entity.value for key, entity in result.entities.items()}
        results: list[ActionResult] = []
        try:
            reply = self._run(intent, slots, results)
        except Exception:  # the last guard, as in the executor: a bug must not end the answer
            _LOGGER.exception("Skill %s failed on %r", intent, text)
            reply = FAILED
        _LOGGER.info("Skill %s %s: reply %r", intent, slots or "", reply)
        return Answer(text=text, handled_by="skill", reply=reply, intent=intent,
                      slots=_jsonable(slots), results=results,
                      timings_ms={"skill": (time.perf_counter() - start) * 1000})

    def _run(self, intent: str, slots: dict[str, Any], results: list[ActionResult]) -> str:
        if intent == SCENE_INTENT:
            scene = self.config.intents.scenes[str(slots["scene"])]
            results.extend(run_scene(scene, self.executor))
            return scene_reply(scene, results, lambda d: self.names.get(d, d))
        if intent in SKILL_INTENTS["volume"] and self.volume is not None:
            return volume_command(intent, slots, self.volume)
        if intent in SKILL_INTENTS["alarms"] and self.timers is not None:
            return alarm_command(intent, slots, self.timers)
        if intent in SKILL_INTENTS["weather"]:
            return weather_command(slots, self.weather, self.config.weather.name)
        if intent in SKILL_INTENTS["help"]:
            return help_text(self.config, self.enabled)
        return repeat_text(self.last_reply)


_EMPTY_LISTS: dict[str, Any] = {name: TextSlotList(name=name, values=[])
                                for name in ("name", "area", "floor")}


def _load(config: Config, wanted: set[str]) -> Intents | None:
    """The skills' templates (only the enabled intents), the scenes, and the extra file's
    blocks for skill intents, over Home Assistant's expansion rules and lists."""
    from home_assistant_intents import get_intents

    language = config.intents.language
    own_file = _DATA / f"skills_{language}.yaml"
    own: dict[str, Any] = (yaml.safe_load(own_file.read_text(encoding="utf-8")) or {}
                           if own_file.is_file() else {})
    stock = get_intents(language) or {}
    extra = config.intents.extra or {}
    intents: dict[str, Any] = {}
    for source in (own, extra):
        for name, intent in (source.get("intents") or {}).items():
            if name in wanted:
                intents.setdefault(name, {"data": []})["data"].extend(intent.get("data", []))
    scenes = config.intents.scenes
    if scenes:
        intents[SCENE_INTENT] = {"data": [{"sentences": list(scene.sentences),
                                           "slots": {"scene": scene_id}}
                                          for scene_id, scene in scenes.items()]}
    if not intents:
        return None
    data = {
        "language": language,
        "intents": intents,
        "expansion_rules": {**stock.get("expansion_rules", {}), **own.get("expansion_rules", {}),
                            **extra.get("expansion_rules", {})},
        "lists": {**stock.get("lists", {}), **own.get("lists", {}), **extra.get("lists", {})},
    }
    return Intents.from_dict(data)


def _jsonable(slots: dict[str, Any]) -> dict[str, Any]:
    return {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in slots.items()}


def build_skills(config: Config, executor: Executor, timers: TimerManager | None,
                 state_dir: Path, gain: Any) -> Skills:
    """The skills of a config: the volume on its mixer (remembered in state_dir), the weather
    for its location."""
    from assistant.brain.skills.volume import build_volume

    volume = (build_volume(config.audio, state_dir / "volume.json", gain)
              if config.skills.volume else None)
    weather = (OpenMeteo(config.weather) if config.weather.latitude is not None
               and config.skills.weather else None)
    return Skills(config, executor, timers=timers, volume=volume, weather=weather)
