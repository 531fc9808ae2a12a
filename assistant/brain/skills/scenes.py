"""Scenes: one sentence ("movie time") that runs several actions through the one executor.

Scenes are written in the extra sentences file (``scenes:``) and checked by the config loader
(``assistant.custom_sentences``): every device exists, every action is one it can do, and no
device that is asked about before it acts (locks, covers, ``confirm: true``) is in a scene. The
reply is built from the executor's results: the scene's own ``reply`` only when every action
ran, otherwise what was done and what was not.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.brain.types import Action, ActionResult, Executor
from assistant.config import SceneConfig

_DONE = {"turn_on": "turned on", "turn_off": "turned off", "toggle": "toggled",
         "open": "opened", "close": "closed", "lock": "locked", "unlock": "unlocked"}


def run_scene(scene: SceneConfig, executor: Executor) -> list[ActionResult]:
    return [executor.run(Action(a.device, a.action, a.value)) for a in scene.actions]


def scene_reply(scene: SceneConfig, results: list[ActionResult],
                name_of: Callable[[str], str]) -> str:
    if results and all(r.ok for r in results) and scene.reply:
        return scene.reply
    done = [_done(r, name_of) for r in results if r.ok]
    failed = list(dict.fromkeys(r.error or "Sorry, that didn't work." for r in results if not r.ok))
    said = []
    if done:
        text = ", ".join(done[:-1]) + (" and " if len(done) > 1 else "") + done[-1]
        said.append(text[0].upper() + text[1:] + ".")
    elif failed:
        said.append("Nothing was changed.")
    return " ".join(said + failed)


def _done(result: ActionResult, name_of: Callable[[str], str]) -> str:
    action, name = result.action, name_of(result.action.device)
    if action.action.startswith("set_") and action.value is not None:
        return f"set the {name} to {action.value:g} percent"
    return f"{_DONE.get(action.action, action.action)} the {name}"
