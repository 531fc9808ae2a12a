"""Device kinds on gpiozero's MockFactory: the right pins, the right polarity, PWM duty, covers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.config import parse_config
from assistant.devices.covers import Cover
from assistant.devices.factory import GpioError, make_pin_factory
from assistant.devices.registry import DeviceRegistry
from assistant.devices.sensors import SensorReader

DEVICES = """
devices:
  - {id: kitchen_light, name: kitchen light, kind: light, pin: 17}
  - {id: lamp, name: lamp, kind: light, pin: 18, dimmable: true}
  - {id: coffee, name: coffee maker, kind: switch, pin: 22, active_high: false}
  - {id: fan, name: fan, kind: fan, pin: 23}
  - {id: pwm_fan, name: desk fan, kind: fan, pin: 12, dimmable: true}
  - {id: blind, name: blind, kind: cover, pins: {open: 20, close: 21}, travel_s: 0.05}
  - {id: garage, name: garage door, kind: cover, pin: 24, pins: {sensor: 25}, travel_s: 0.05}
  - {id: gate, name: gate, kind: cover, pins: {toggle: 16}, travel_s: 0.05}
  - {id: door, name: front door, kind: lock, pin: 5, active_high: false}
  - {id: motion, name: hallway motion, kind: binary_sensor, pin: 6}
  - {id: pir, name: porch motion, kind: binary_sensor, pin: 13, pull_up: false}
  - {id: cpu, name: processor temperature, kind: sensor, source: cpu_temperature, unit: °C}
"""


@pytest.fixture
def registry(factory: MockFactory, tmp_path: Path) -> Iterator[DeviceRegistry]:
    reg = DeviceRegistry.from_config(parse_config(DEVICES), factory, None, sysfs_root=tmp_path)
    yield reg
    reg.close()


def apply(registry: DeviceRegistry, device_id: str, action: str,
          value: float | None = None) -> None:
    registry.apply(device_id, action, value)


def cover(registry: DeviceRegistry, device_id: str) -> Cover:
    device = registry.get(device_id)
    assert isinstance(device, Cover)
    return device


# --- pin factory ---------------------------------------------------------------------------

def test_auto_off_the_pi_is_a_pwm_mock_with_one_info_line(tmp_path: Path, caplog) -> None:
    model = tmp_path / "model"
    model.write_text("Generic x86 PC")
    with caplog.at_level(logging.INFO, logger="assistant.devices.factory"):
        f = make_pin_factory("auto", model_file=model)
    assert isinstance(f, MockFactory) and f.pin_class is MockPWMPin
    records = [r for r in caplog.records if r.name == "assistant.devices.factory"]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    assert "mock" in records[0].getMessage()


def test_mock_factory_by_name() -> None:
    f = make_pin_factory("mock")
    assert isinstance(f, MockFactory) and f.pin_class is MockPWMPin


def test_unknown_factory_name_says_what_is_allowed() -> None:
    with pytest.raises(GpioError, match="lgpio, rpigpio or mock"):
        make_pin_factory("bogus")


def test_missing_lgpio_on_a_pi_says_how_to_install_it(tmp_path: Path) -> None:
    pytest.importorskip("gpiozero")
    try:
        import lgpio  # noqa: F401
        pytest.skip("lgpio is installed here")
    except ImportError:
        pass
    model = tmp_path / "model"
    model.write_text("Raspberry Pi 4 Model B Rev 1.4\x00")
    with pytest.raises(GpioError, match="install"):
        make_pin_factory("auto", model_file=model)


# --- on/off kinds --------------------------------------------------------------------------

def test_light_on_off_toggle(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    pin = factory.pin(17)
    assert pin.state == 0 and registry.get("kitchen_light").state == "off"  # type: ignore[union-attr]
    apply(registry, "kitchen_light", "turn_on")
    assert pin.state == 1 and registry.states()["kitchen_light"] == "on"
    apply(registry, "kitchen_light", "toggle")
    assert pin.state == 0
    apply(registry, "kitchen_light", "toggle")
    assert pin.state == 1


def test_dimmable_light_sets_pwm_duty(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    pin = factory.pin(18)
    apply(registry, "lamp", "set_brightness", 30)
    assert pin.state == pytest.approx(0.3)
    assert registry.attributes()["lamp"] == {"brightness": 30}
    apply(registry, "lamp", "turn_off")
    assert pin.state == 0 and registry.states()["lamp"] == "off"
    apply(registry, "lamp", "turn_on")  # back to the last brightness, not full
    assert pin.state == pytest.approx(0.3)
    apply(registry, "lamp", "set_brightness", 0)
    assert pin.state == 0 and registry.states()["lamp"] == "off"


def test_active_low_relay(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    pin = factory.pin(22)
    assert pin.state == 1  # relay board off = line high
    apply(registry, "coffee", "turn_on")
    assert pin.state == 0 and registry.states()["coffee"] == "on"
    apply(registry, "coffee", "turn_off")
    assert pin.state == 1


def test_fans(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    apply(registry, "fan", "turn_on")
    assert factory.pin(23).state == 1
    assert "set_speed" not in registry.get("fan").supported_actions  # type: ignore[union-attr]
    apply(registry, "pwm_fan", "set_speed", 40)
    assert factory.pin(12).state == pytest.approx(0.4)
    assert registry.attributes()["pwm_fan"] == {"speed": 40}


def test_lock_relay_energised_means_unlocked(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    pin = factory.pin(5)  # active-low relay: high = de-energised = locked
    assert pin.state == 1 and registry.states()["door"] == "locked"
    apply(registry, "door", "unlock")
    assert pin.state == 0 and registry.states()["door"] == "unlocked"
    apply(registry, "door", "turn_on")  # HassTurnOn on a lock locks it
    assert pin.state == 1 and registry.states()["door"] == "locked"
    apply(registry, "door", "turn_off")
    assert registry.states()["door"] == "unlocked"
    assert "toggle" not in registry.get("door").supported_actions  # type: ignore[union-attr]


def test_binary_sensors_follow_pull(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    factory.pin(6).drive_low()  # contact to ground with the pull-up: active
    assert registry.states()["motion"] == "on"
    factory.pin(6).drive_high()
    assert registry.states()["motion"] == "off"
    factory.pin(13).drive_high()  # pull_up: false, a sensor that drives high
    assert registry.states()["pir"] == "on"
    assert registry.get("motion").supported_actions == {"query"}  # type: ignore[union-attr]


# --- covers --------------------------------------------------------------------------------

def test_relay_cover_pulses_open_then_releases(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    open_pin, close_pin = factory.pin(20), factory.pin(21)
    apply(registry, "blind", "open")  # returns at once: a timer releases the relay
    assert registry.states()["blind"] == "opening"
    assert open_pin.state == 1 and close_pin.state == 0
    assert cover(registry, "blind").wait_idle(5)
    assert open_pin.state == 0 and close_pin.state == 0
    assert registry.states()["blind"] == "open"
    apply(registry, "blind", "turn_off")  # HassTurnOff closes a cover
    assert close_pin.state == 1 and open_pin.state == 0
    assert cover(registry, "blind").wait_idle(5)
    assert registry.states()["blind"] == "closed" and close_pin.state == 0


def test_relay_cover_interlock_never_both_on(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    open_pin, close_pin = factory.pin(20), factory.pin(21)
    both_on: list[bool] = []
    for pin in (open_pin, close_pin):
        original = pin._change_state

        def watched(value: bool, original=original) -> bool:
            changed = original(value)
            both_on.append(bool(open_pin.state) and bool(close_pin.state))
            return changed

        pin._change_state = watched  # type: ignore[method-assign]
    for action in ("open", "close", "open", "toggle", "close", "open"):
        apply(registry, "blind", action)  # reverse while moving, again and again
    assert open_pin.state == 1 and close_pin.state == 0
    assert cover(registry, "blind").wait_idle(5)
    assert both_on and not any(both_on)
    assert open_pin.state == 0 and close_pin.state == 0


def test_momentary_cover_with_reed_switch(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    relay, reed = factory.pin(24), factory.pin(25)
    reed.drive_low()  # reed closed = door closed
    assert registry.states()["garage"] == "closed"
    apply(registry, "garage", "turn_on")
    assert relay.state == 1 and registry.states()["garage"] == "opening"
    assert cover(registry, "garage").wait_idle(5)
    assert relay.state == 0
    reed.drive_high()  # the door really left the switch
    assert registry.states()["garage"] == "open"
    relay.clear_states()
    apply(registry, "garage", "open")  # already open: a press would close it, so no press
    assert len(relay.states) == 1 and relay.state == 0


def test_momentary_cover_without_sensor(
    registry: DeviceRegistry, factory: MockFactory
) -> None:
    relay = factory.pin(16)
    assert registry.states()["gate"] is None  # unknown until moved
    apply(registry, "gate", "open")
    assert relay.state == 1
    assert cover(registry, "gate").wait_idle(5)
    assert relay.state == 0 and registry.states()["gate"] == "open"
    relay.clear_states()
    apply(registry, "gate", "open")
    assert len(relay.states) == 1
    apply(registry, "gate", "toggle")
    assert relay.state == 1 and registry.states()["gate"] == "closing"
    assert cover(registry, "gate").wait_idle(5)
    assert registry.states()["gate"] == "closed"


# --- sensors -------------------------------------------------------------------------------

def test_cpu_temperature_from_sysfs(tmp_path: Path) -> None:
    zone = tmp_path / "class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("48312\n")
    assert SensorReader("cpu_temperature", sysfs_root=tmp_path).read() == pytest.approx(48.312)


def test_cpu_sensor_device(registry: DeviceRegistry, tmp_path: Path) -> None:
    zone = tmp_path / "class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "temp").write_text("51000\n")
    assert registry.states()["cpu"] == 51.0
    assert registry.attributes()["cpu"] == {"unit": "°C"}


def test_ds18b20_temperature_and_w1_slave(tmp_path: Path) -> None:
    first = tmp_path / "bus/w1/devices/28-0000aaaa"
    second = tmp_path / "bus/w1/devices/28-0000bbbb"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    (first / "temperature").write_text("21125\n")
    (second / "w1_slave").write_text(
        "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n")
    assert SensorReader("ds18b20", sysfs_root=tmp_path).read() == pytest.approx(21.125)
    assert SensorReader("ds18b20:0000bbbb", sysfs_root=tmp_path).read() == pytest.approx(23.125)
    (second / "w1_slave").write_text("72 01 : crc=00 NO\n72 01 t=23125\n")
    assert SensorReader("ds18b20:28-0000bbbb", sysfs_root=tmp_path).read() is None


def test_file_source_with_scale(tmp_path: Path) -> None:
    value = tmp_path / "humidity"
    value.write_text("512\n")
    assert SensorReader(str(value), scale=0.1).read() == pytest.approx(51.2)


def test_unreadable_sensor_warns_once(tmp_path: Path, caplog) -> None:
    reader = SensorReader(str(tmp_path / "missing"))
    with caplog.at_level(logging.INFO, logger="assistant.devices.sensors"):
        assert [reader.read() for _ in range(3)] == [None, None, None]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        (tmp_path / "missing").write_text("garbage")
        assert reader.read() is None
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
        (tmp_path / "missing").write_text("7")
        assert reader.read() == 7.0
