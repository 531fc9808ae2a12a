"""DeviceExecutor: the single gate between actions and pins. Refusals touch no pin."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import GPIOZeroError
from gpiozero.pins.mock import MockFactory

from assistant.brain.actions import DeviceExecutor
from assistant.brain.types import Action
from assistant.config import Config, declared_pins, parse_config
from assistant.devices.registry import DeviceRegistry
from assistant.devices.state import StateStore

CONFIG = """
feedback: {led_pin: 26, button_pin: 19}
devices:
  - {id: kitchen_light, name: kitchen light, kind: light, pin: 17}
  - {id: lamp, name: living room lamp, kind: light, pin: 18, dimmable: true}
  - {id: coffee, name: coffee maker, kind: switch, pin: 22, active_high: false}
  - {id: fan, name: ceiling fan, kind: fan, pin: 23, dimmable: true}
  - {id: garage, name: garage door, kind: cover, pin: 24, pins: {sensor: 25}, travel_s: 0.05}
  - {id: door, name: front door, kind: lock, pin: 5, active_high: false}
  - {id: hallway_motion, name: hallway motion, kind: binary_sensor, pin: 6}
  - {id: temp, name: living room temperature, kind: sensor, source: ds18b20, unit: °C}
"""


@pytest.fixture
def config() -> Config:
    return parse_config(CONFIG)


@pytest.fixture
def registry(config: Config, factory: MockFactory, tmp_path: Path) -> Iterator[DeviceRegistry]:
    reg = DeviceRegistry.from_config(config, factory, StateStore(tmp_path / "state.json"),
                                     sysfs_root=tmp_path)
    yield reg
    reg.close()


@pytest.fixture
def executor(registry: DeviceRegistry) -> DeviceExecutor:
    return DeviceExecutor(registry)


def gpio_number(info: Any) -> int:
    """BCM number of a pin the factory made (info.number is the physical header position)."""
    name: str = info.name
    assert name.startswith("GPIO"), name
    return int(name.removeprefix("GPIO"))


def pin_history(factory: MockFactory) -> dict[int, list[Any]]:
    """Every pin the factory has made, with every state change it went through."""
    return {gpio_number(info): list(pin.states) for info, pin in factory.pins.items()}


def test_actions_run_and_report_state(executor: DeviceExecutor, factory: MockFactory,
                                      caplog) -> None:
    with caplog.at_level(logging.INFO, logger="assistant.brain.actions"):
        result = executor.run(Action("lamp", "set_brightness", 40))
    assert result.ok and result.state == "on" and result.attributes == {"brightness": 40}
    assert factory.pin(18).state == pytest.approx(0.4)
    assert any("set_brightness" in r.getMessage() and "lamp" in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)
    result = executor.run(Action("coffee", "turn_on"))
    assert result.ok and result.state == "on" and factory.pin(22).state == 0
    result = executor.run(Action("fan", "set_speed", "25"))  # type: ignore[arg-type]
    assert result.ok and result.attributes == {"speed": 25}
    result = executor.run(Action("hallway_motion", "query"))
    assert result.ok and result.state == "off"


def test_unknown_device(executor: DeviceExecutor, factory: MockFactory) -> None:
    before = pin_history(factory)
    result = executor.run(Action("pin4", "turn_on"))
    assert not result.ok and result.error == "I don't know a device called pin4"
    assert pin_history(factory) == before


def test_unsupported_action(executor: DeviceExecutor, factory: MockFactory) -> None:
    before = pin_history(factory)
    result = executor.run(Action("hallway_motion", "turn_on"))
    assert not result.ok and result.error == "The hallway motion can't be turned on."
    assert not executor.run(Action("kitchen_light", "set_brightness", 50)).ok
    assert not executor.run(Action("door", "toggle")).ok
    assert not executor.run(Action("kitchen_light", "explode")).ok
    assert pin_history(factory) == before


@pytest.mark.parametrize("value", [None, -1, 100.5, 150, math.nan, math.inf, "abc", True, [50]])
def test_out_of_range_or_missing_value(executor: DeviceExecutor, factory: MockFactory,
                                       value: Any) -> None:
    before = pin_history(factory)
    for device, action in (("lamp", "set_brightness"), ("fan", "set_speed")):
        result = executor.run(Action(device, action, value))
        assert not result.ok and result.error and "100" in result.error
    assert pin_history(factory) == before


def test_gpio_failure_is_an_error_and_a_log_line(executor: DeviceExecutor,
                                                 registry: DeviceRegistry,
                                                 monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def broken(action: str, value: float | None = None) -> None:
        raise GPIOZeroError("pin driver gone")

    monkeypatch.setattr(registry.get("kitchen_light"), "apply", broken)
    with caplog.at_level(logging.ERROR, logger="assistant.brain.actions"):
        result = executor.run(Action("kitchen_light", "turn_on"))
    assert not result.ok and result.error == "The kitchen light didn't respond."
    assert any("pin driver gone" in r.getMessage() for r in caplog.records)


def test_unreadable_sensor_query(executor: DeviceExecutor) -> None:
    result = executor.run(Action("temp", "query"))
    assert not result.ok and result.error == "I can't read the living room temperature right now."
    assert result.attributes == {"unit": "°C"}


def test_busy_cover_refusal_is_spoken(executor: DeviceExecutor, factory: MockFactory) -> None:
    factory.pin(25).drive_low()  # closed
    assert executor.run(Action("garage", "open")).state == "opening"
    result = executor.run(Action("garage", "close"))
    assert not result.ok and result.error and "still moving" in result.error


def test_hostile_actions_create_no_undeclared_pin(config: Config, executor: DeviceExecutor,
                                                  factory: MockFactory) -> None:
    hostile_ids: list[Any] = ["pin4", "gpio 4", "GPIO4", "4", 4, None, "", "BCM4", "../../sys",
                              "kitchen_light ", "KITCHEN_LIGHT", "kitchen light", "relay_9",
                              "pin_27", {"pin": 4}, "__class__"]
    actions = ["turn_on", "turn_off", "toggle", "set_brightness", "open", "unlock", "set_pin",
               "__init__", "query"]
    for device in hostile_ids:
        for action in actions:
            result = executor.run(Action(device, action, 4))
            assert not result.ok
    for device in ("kitchen_light", "hallway_motion", "temp", "door"):
        for action in ("set_pin", "__init__", "close", "_apply"):
            assert not executor.run(Action(device, action, 4)).ok
    created = {gpio_number(info) for info in factory.pins}
    assert created <= declared_pins(config)
    assert 4 not in created
