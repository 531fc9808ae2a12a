"""Plain values passed between the brain's parts: actions, their results, and answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

HandledBy = Literal["local", "skill", "cloud", "local_llm", "fallback"]

ActionName = Literal[
    "turn_on",
    "turn_off",
    "toggle",
    "set_brightness",  # value: 0-100 (%), lights
    "set_speed",  # value: 0-100 (%), fans
    "open",
    "close",
    "lock",
    "unlock",
    "query",  # read the state, change nothing
]


@dataclass(frozen=True)
class Action:
    device: str
    """Device id from the config."""
    action: str
    value: float | None = None


@dataclass
class ActionResult:
    action: Action
    ok: bool
    state: str | float | None = None
    """The device's state after the action: on/off, open/closed, locked/unlocked, a number."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """E.g. brightness or speed in %, unit for sensors."""
    error: str | None = None
    """Why it failed, in words that can be spoken or given back to an LLM."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.action.device,
            "action": self.action.action,
            "value": self.action.value,
            "ok": self.ok,
            "state": self.state,
        }
        if self.error:
            out["error"] = self.error
        return out


class Executor(Protocol):
    """The one place where actions reach devices; both local intents and LLM tools end here."""

    def run(self, action: Action) -> ActionResult: ...


@dataclass
class Answer:
    text: str
    """What the user said (the transcript or typed text)."""
    handled_by: HandledBy
    reply: str
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    results: list[ActionResult] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    end_conversation: bool = True
    """False when the assistant asked a question and waits for an answer (a confirmation)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "handled_by": self.handled_by,
            "intent": self.intent,
            "slots": _jsonable(self.slots),
            "actions": [r.to_json() for r in self.results if r.action.action != "query"],
            "queries": [r.to_json() for r in self.results if r.action.action == "query"],
            "reply": self.reply,
            "end_conversation": self.end_conversation,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if hasattr(value, "__dataclass_fields__"):
        return _jsonable(asdict(value))
    return str(value)
