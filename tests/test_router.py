"""The router chain with fakes: order, fallbacks, no_cloud, the breaker, memory, timings."""

from __future__ import annotations

import dataclasses
from typing import Any

from assistant.brain.router import APOLOGY, LOST, Router
from assistant.brain.types import Action, ActionResult, Answer
from assistant.config import Config, LlmConfig, LocalLlmConfig
from assistant.errors import LLMError, ModelMissingError
from tests.clock import Clock

CONFIG = Config(llm=LlmConfig(enabled=True, breaker_failures=2, breaker_cooldown_s=60,
                              memory_turns=2, memory_timeout_s=100),
                local_llm=LocalLlmConfig(enabled=True))


class Local:
    def handle(self, text: str, confidence: float | None = None,
               doubt: str | None = None) -> Answer | None:
        if text == "lights on":
            return Answer(text=text, handled_by="local", reply="Turned on the lights.")
        return None


class Llm:
    """Says its sentences, or fails (optionally after saying some / running an action)."""

    def __init__(self, sentences: list[str], error: Exception | None = None,
                 action: Action | None = None):
        self.sentences = sentences
        self.error = error
        self.action = action
        self.calls: list[list[dict[str, Any]]] = []

    def answer(self, messages: list[dict[str, Any]], say: Any,
               results: list[ActionResult] | None = None) -> None:
        self.calls.append(messages)
        if self.action is not None and results is not None:
            results.append(ActionResult(self.action, ok=True, state="on"))
        for sentence in self.sentences:
            say(sentence)
        if self.error is not None:
            raise self.error


def router(cloud: Llm | None, local_llm: Llm | None, config: Config = CONFIG,
           **kwargs: Any) -> Router:
    return Router(Local(), cloud, local_llm, config, executor=None, **kwargs)  # type: ignore[arg-type]


def test_local_first_then_cloud() -> None:
    cloud = Llm(["Paris."])
    r = router(cloud, Llm(["Never."]))
    said: list[str] = []
    answer = r.answer("lights on", said.append)
    assert answer.handled_by == "local" and said == ["Turned on the lights."]
    assert not cloud.calls
    assert {"first_sentence", "total"} <= set(answer.timings_ms)
    answer = r.answer("capital of France?", said.append)
    assert answer.handled_by == "cloud" and answer.reply == "Paris." and said[-1] == "Paris."
    assert cloud.calls[0][0]["role"] == "system" and cloud.calls[0][-1]["content"] == (
        "capital of France?")


def test_cloud_failure_falls_back_to_local_llm_then_apology() -> None:
    said: list[str] = []
    r = router(Llm([], LLMError("x", reason="refused")), Llm(["Local answer."]))
    answer = r.answer("why?", said.append)
    assert answer.handled_by == "local_llm" and said == ["Local answer."]
    assert answer.slots == {"cloud_error": "refused"}
    r = router(Llm([], LLMError("x", reason="http_500")),
               Llm([], ModelMissingError("no model")))
    answer = r.answer("why?", said.append)
    assert answer.handled_by == "fallback" and said[-1] == APOLOGY


def test_no_cloud_and_disabled_paths() -> None:
    cloud = Llm(["Cloud."])
    answer = router(cloud, Llm(["Local."]), no_cloud=True).answer("q", lambda s: None)
    assert answer.handled_by == "local_llm" and not cloud.calls
    off = dataclasses.replace(CONFIG, llm=LlmConfig(enabled=False),
                              local_llm=LocalLlmConfig(enabled=False))
    answer = router(cloud, Llm(["Local."]), off).answer("q", lambda s: None)
    assert answer.handled_by == "fallback" and answer.reply == APOLOGY and not cloud.calls


def test_failure_after_speaking_is_not_repeated_by_the_next_path() -> None:
    said: list[str] = []
    local_llm = Llm(["Local."])
    r = router(Llm(["The first part."], LLMError("x", reason="stall")), local_llm)
    answer = r.answer("tell me a story", said.append)
    assert said == ["The first part.", LOST]
    assert answer.handled_by == "cloud" and not local_llm.calls


def test_failure_after_an_action_is_not_retried_elsewhere() -> None:
    local_llm = Llm(["Local."])
    r = router(Llm([], LLMError("x", reason="stall"), action=Action("fan", "toggle")), local_llm)
    answer = r.answer("toggle the fan", lambda s: None)
    assert answer.reply == LOST and not local_llm.calls and answer.results[0].action.device == "fan"


def test_breaker_skips_the_cloud_while_open() -> None:
    clock = Clock()
    cloud = Llm([], LLMError("x", reason="refused"))
    r = router(cloud, Llm(["Local."]), clock=clock)
    for _ in range(2):
        r.answer("q", lambda s: None)
    assert len(cloud.calls) == 2 and r.breaker.state == "open"
    assert r.answer("q", lambda s: None).handled_by == "local_llm"
    assert len(cloud.calls) == 2, "no cloud request while open"
    clock.now = 61
    cloud.error, cloud.sentences = None, ["Back."]
    assert r.answer("q", lambda s: None).handled_by == "cloud"
    assert r.breaker.state == "closed"


def test_memory_carries_turns_and_expires() -> None:
    clock = Clock()
    cloud = Llm(["Sure."])
    r = router(cloud, None, clock=clock)
    r.answer("lights on", lambda s: None)  # local turns are remembered too
    r.answer("and dimmer?", lambda s: None)
    contents = [m["content"] for m in cloud.calls[-1]]
    assert contents[1:] == ["lights on", "Turned on the lights.", "and dimmer?"]
    system = cloud.calls[-1][0]["content"]
    clock.now = 500
    r.answer("hello", lambda s: None)
    assert [m["content"] for m in cloud.calls[-1]] == [system, "hello"], "stable system prompt"
