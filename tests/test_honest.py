"""A reply states only what is true: the router's checked say() on the cloud path (a scripted
OpenAI-compatible server on loopback) and on the local-model path (a fake Llama), with the real
tools, DeviceExecutor and gpiozero's MockFactory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.brain.actions import DeviceExecutor
from assistant.brain.honest import CANT_HERE, NOTHING_CHANGED, OFFLINE
from assistant.brain.llm_cloud import CloudLLM
from assistant.brain.llm_local import LocalLLM
from assistant.brain.router import Router
from assistant.brain.tools import DeviceTools
from assistant.config import Config, DeviceConfig, LlmConfig, LocalLlmConfig
from assistant.devices.registry import DeviceRegistry
from assistant.devices.state import StateStore
from tests.llm_server import Reply, ScriptedServer, ToolCall

DEVICES = (
    DeviceConfig(id="kitchen_light", name="kitchen light", area="kitchen", kind="light", pin=17),
    DeviceConfig(id="bedroom_light", name="bedroom light", area="bedroom", kind="light", pin=27),
    DeviceConfig(id="fan", name="ceiling fan", aliases=("fan",), kind="fan", pin=23),
    DeviceConfig(id="front_door", name="front door", kind="lock", pin=5),
)
ENV = {"OPENAI_API_KEY": "sk-test"}


class FakeLlama:
    def __init__(self) -> None:
        self.text = ""
        self.command = ""
        self.requests: list[dict[str, Any]] = []

    def create_chat_completion(self, **request: Any) -> Any:
        self.requests.append(request)
        if request.get("response_format"):
            return {"choices": [{"message": {"content": self.command}}]}
        if request.get("stream"):
            return iter([{"choices": [{"delta": {"content": w + " "}}]} for w in self.text.split()])
        return {"choices": [{"message": {"content": "ok"}}]}


class Home:
    def __init__(self, tmp_path: Path, server: ScriptedServer | None):
        llm = LlmConfig(enabled=server is not None, base_url=server.url if server else "",
                        first_token_timeout_s=2, stall_timeout_s=2)
        model = tmp_path / "m.gguf"
        model.write_bytes(b"GGUF")
        self.config = Config(devices=DEVICES, llm=llm, local_llm=LocalLlmConfig(model=str(model)))
        self.factory = MockFactory(pin_class=MockPWMPin)
        self.registry = DeviceRegistry.from_config(self.config, self.factory,
                                                   StateStore(tmp_path / "state.json"))
        executor = DeviceExecutor(self.registry)
        tools = DeviceTools(self.config.devices, executor)
        self.router = Router(None, None, None, self.config, executor, tools=tools)
        if server is not None:
            self.router.cloud = CloudLLM(llm, tools, environ=ENV)
        self.llama = FakeLlama()
        self.router.local_llm = LocalLLM(self.config.local_llm, tools, self.router.system_prompt,
                                         llama_factory=lambda **kw: self.llama)
        self.said: list[str] = []

    def ask(self, text: str) -> Any:
        return self.router.answer(text, self.said.append)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as s:
        yield s


@pytest.fixture
def cloud(server: ScriptedServer, tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path, server)
    yield home
    home.registry.close()


@pytest.fixture
def offline(tmp_path: Path) -> Iterator[Home]:
    home = Home(tmp_path, None)
    yield home
    home.registry.close()


def test_a_claim_without_a_tool_call_is_not_spoken(cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(text="Sure! I've turned off everything. Sleep well."))
    answer = cloud.ask("turn off everything")
    assert cloud.said == [NOTHING_CHANGED], "nothing after the false claim either"
    assert answer.reply == NOTHING_CHANGED and answer.results == []
    assert [d["reason"] for d in answer.slots["dropped"]] == [
        "ack_without_action", "nothing_done", "after_false_claim"]
    assert cloud.router.memory.messages()[-1]["content"] == NOTHING_CHANGED, "not remembered"


def test_the_executor_says_what_a_model_got_wrong(cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(tool_calls=[ToolCall("control_device",
                                             '{"device": "kitchen_light", "action": "turn_on"}')]),
                  Reply(text="I've turned on the kitchen light and the bedroom light."))
    answer = cloud.ask("lights on please")
    assert cloud.registry.states()["bedroom_light"] == "off"
    assert cloud.said == ["The kitchen light is on."], "the result, in the executor's words"
    assert answer.slots["dropped"][0]["reason"] == "not_this_device"


def test_a_true_tool_sentence_is_spoken_once(cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(tool_calls=[ToolCall("control_device",
                                             '{"device": "fan", "action": "turn_on"}')]),
                  Reply(text="Okay, the fan is now on."))
    answer = cloud.ask("fan on")
    assert cloud.said == ["Okay, the fan is now on."] and "dropped" not in answer.slots


def test_a_state_question_is_answered_from_the_real_state(cloud: Home,
                                                          server: ScriptedServer) -> None:
    server.script(Reply(text="Yes, the front door is unlocked."))
    answer = cloud.ask("is the front door locked?")
    assert cloud.said == ["The front door is locked."]
    assert answer.slots["dropped"][0]["reason"] == "wrong_state"


def test_honest_chat_is_spoken_as_it_streams(cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(text="The capital of France is Paris. It is on the Seine."))
    answer = cloud.ask("what is the capital of France")
    assert cloud.said == ["The capital of France is Paris.", "It is on the Seine."]
    assert "dropped" not in answer.slots


def test_invented_weather_is_not_spoken(cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(text="It's 26.2°C with a 12.5% chance of precipitation."))
    answer = cloud.ask("what's the weather")
    assert cloud.said == ["I can't look that up."] and answer.handled_by == "cloud"


def test_local_model_claims_are_checked_too(offline: Home) -> None:
    offline.llama.text = "Turned off everything."
    answer = offline.ask("turn off everything")
    assert answer.handled_by == "local_llm" and offline.said == [NOTHING_CHANGED]
    offline.llama.text = "Set a timer for pasta."
    assert offline.ask("set a pasta timer").reply == CANT_HERE


def test_local_model_is_not_asked_about_live_facts(offline: Home) -> None:
    answer = offline.ask("what's the weather like today")
    assert answer.reply == OFFLINE and offline.llama.requests == [], "no model, no invention"
    assert offline.ask("who won the game last night").reply == OFFLINE


def test_local_device_questions_come_from_real_states(offline: Home) -> None:
    offline.factory.pin(23).state = True  # the fan runs
    answer = offline.ask("is the fan spinning")
    assert answer.reply == "The ceiling fan is on." and offline.llama.requests == []
    assert [r.action.action for r in answer.results] == ["query"]


def test_local_command_only_acts_on_the_named_device(offline: Home) -> None:
    offline.ask("turn on the kitchen light")  # remembered: the model may want it again
    offline.llama.command = '{"action": "turn_on", "device": "kitchen_light"}'
    answer = offline.ask("switch on the fan")
    assert offline.registry.states()["kitchen_light"] == "off" and answer.results == []


def test_a_promise_before_the_tool_call_is_spoken_once_the_action_ran(
        cloud: Home, server: ScriptedServer) -> None:
    server.script(Reply(text="Sure, turning on the kitchen light now.",
                        tool_calls=[ToolCall("control_device",
                                             '{"device": "kitchen_light", "action": "turn_on"}')]),
                  Reply(text="The kitchen light is on."))
    answer = cloud.ask("kitchen light please")
    assert cloud.said == ["Sure, turning on the kitchen light now.", "The kitchen light is on."]
    assert "dropped" not in answer.slots
