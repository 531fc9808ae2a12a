"""What the local intents make of a sentence: a plan of actions, or the unknown name it used."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.brain.types import Action

ReplyKind = Literal["action", "level", "state", "yesno", "count", "time", "date", "silent",
                    "message", "timer", "stop", "choose"]
"""How to speak a plan's results; "choose": nothing runs yet, ``message`` asks which device."""


@dataclass(frozen=True)
class IntentMatch:
    intent: str
    slots: dict[str, Any]
    actions: tuple[Action, ...] = ()
    reply: ReplyKind = "action"
    group: str | None = None
    """How to speak a group of targets ("the lights in the kitchen"); None for one device."""
    expected: str | None = None
    """The state a yes/no question asks about ("locked")."""
    message: str | None = None
    """A reply settled while planning, with nothing to run ("There are no lights here."), or
    the question of a "choose" plan ("Which one: the kitchen light or the bedroom light?")."""
    response: str | None = None
    """For "count" questions: any, all, which or how_many."""
    state_words: tuple[tuple[str, str, str], ...] = ()
    """How replies say a binary sensor's on and off, per device: (device id, "low", "normal")."""

    @property
    def changes_devices(self) -> bool:
        """Whether it changes a device (a question about one does not)."""
        return self.reply != "choose" and any(a.action != "query" for a in self.actions)


@dataclass(frozen=True)
class UnknownEntity:
    """A command named something the config does not have; nothing is done."""

    intent: str
    kind: Literal["name", "area"]
    text: str
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def reply(self) -> str:
        if self.kind == "area":
            return f"I don't know an area called {self.text}."
        return f"I don't know a device called {self.text}."
