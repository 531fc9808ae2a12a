"""Device tools: schemas from config, and every bad call refused before the executor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.brain.actions import DeviceExecutor
from assistant.brain.tools import CONTROL, QUERY, DeviceTools, mentioned_devices
from assistant.brain.types import Action, ActionResult
from assistant.config import Config, DeviceConfig
from assistant.devices.registry import DeviceRegistry
from assistant.devices.state import StateStore

DEVICES = (
    DeviceConfig(id="kitchen_light", name="Kitchen light", kind="light", pin=17, area="kitchen",
                 dimmable=True),
    DeviceConfig(id="front_door", name="Front door", kind="lock", pin=22, aliases=("door lock",)),
    DeviceConfig(id="cpu", name="Processor temperature", kind="sensor", source="cpu_temperature"),
)


class Recorder:
    def __init__(self) -> None:
        self.actions: list[Action] = []

    def run(self, action: Action) -> ActionResult:
        self.actions.append(action)
        return ActionResult(action, ok=True, state="on", attributes={"brightness": 40})


@pytest.fixture
def tools() -> DeviceTools:
    return DeviceTools(DEVICES, Recorder())


def test_specs_are_enums_of_configured_devices(tools: DeviceTools) -> None:
    specs = {t["function"]["name"]: t["function"] for t in tools.specs()}
    control = specs[CONTROL]["parameters"]["properties"]
    assert control["device"]["enum"] == ["kitchen_light", "front_door"]  # no sensor
    assert set(control["action"]["enum"]) == {"turn_on", "turn_off", "toggle", "set_brightness",
                                              "lock", "unlock"}
    assert specs[QUERY]["parameters"]["properties"]["device"]["enum"] == [
        "kitchen_light", "front_door", "cpu"]
    assert "Kitchen light (kitchen)" in specs[CONTROL]["description"]
    assert DeviceTools((), Recorder()).specs() == []


@pytest.mark.parametrize(("name", "arguments", "error"), [
    ("open_pod_bay", "{}", "Unknown tool"),
    (CONTROL, '{"device": "kitchen_light", "action": ', "not valid JSON"),
    (CONTROL, "[1, 2]", "JSON object"),
    (CONTROL, '{"device": "gpio4", "action": "turn_on"}', "don't know a device called gpio4"),
    (CONTROL, '{"device": "kitchen_light", "action": "turn_on", "pin": 4}', "Unknown argument"),
    (CONTROL, '{"device": "front_door", "action": "toggle"}', "can't do toggle"),
    (CONTROL, '{"device": "kitchen_light", "action": "set_brightness", "value": 140}', "between"),
    (CONTROL, '{"device": "kitchen_light", "action": "set_brightness"}', "how much"),
    (CONTROL, '{"device": "cpu", "action": "turn_on"}', "can't do turn_on"),
    (QUERY, '{"device": "attic"}', "don't know a device called attic"),
])
def test_bad_calls_never_reach_the_executor(tools: DeviceTools, name: str, arguments: str,
                                            error: str) -> None:
    outcome = tools.call(name, arguments)
    assert not outcome.ok and outcome.result is None
    assert error in outcome.spoken
    assert error in json.loads(outcome.content)["error"]
    assert tools.executor.actions == []  # type: ignore[attr-defined]


def test_good_calls_become_actions(tools: DeviceTools) -> None:
    assert tools.validate(CONTROL, {"device": "kitchen_light", "action": "set_brightness",
                                    "value": 40}) == Action("kitchen_light", "set_brightness", 40)
    assert tools.validate(QUERY, '{"device": "cpu"}') == Action("cpu", "query")
    outcome = tools.call(CONTROL, '{"device": "front_door", "action": "lock"}')
    assert outcome.ok and json.loads(outcome.content)["ok"] is True


def test_mentioned_devices() -> None:
    assert mentioned_devices(DEVICES, "Turn on the kitchen light, please") == ["kitchen_light"]
    assert mentioned_devices(DEVICES, "is the door lock locked?") == ["front_door"]
    assert mentioned_devices(DEVICES, "what's the capital of France") == []


def test_real_executor_on_mock_pins(tmp_path: Path) -> None:
    config = Config(devices=DEVICES[:2])
    factory = MockFactory(pin_class=MockPWMPin)
    registry = DeviceRegistry.from_config(config, factory, StateStore(tmp_path / "s.json"))
    try:
        tools = DeviceTools(config.devices, DeviceExecutor(registry))
        outcome = tools.call(CONTROL, '{"device": "kitchen_light", "action": "set_brightness", '
                                      '"value": 30}')
        assert outcome.ok and outcome.spoken == "The Kitchen light is on at 30%."
        assert factory.pin(17).state == pytest.approx(0.3)
        assert tools.call(QUERY, '{"device": "front_door"}').ok
    finally:
        registry.close()
