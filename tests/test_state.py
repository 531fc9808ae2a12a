"""The state file, and device state carried across a registry re-creation."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.config import Config, parse_config
from assistant.devices.registry import DeviceRegistry
from assistant.devices.state import StateStore
from assistant.errors import DeviceError


def config(state_path: Path, restore: bool = True) -> Config:
    return parse_config(f"""
state: {{path: "{state_path}", restore: {str(restore).lower()}}}
devices:
  - {{id: lamp, name: lamp, kind: light, pin: 18, dimmable: true}}
  - {{id: coffee, name: coffee maker, kind: switch, pin: 22, active_high: false}}
  - {{id: door, name: front door, kind: lock, pin: 5, active_high: false}}
  - {{id: gate, name: gate, kind: cover, pins: {{toggle: 16}}, travel_s: 0.05}}
""")


def build(cfg: Config) -> tuple[DeviceRegistry, MockFactory]:
    factory = MockFactory(pin_class=MockPWMPin)
    return DeviceRegistry.from_config(cfg, factory, StateStore(cfg.state.path)), factory


# --- StateStore ----------------------------------------------------------------------------

def test_store_round_trip_creates_folder_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "state.json"
    store = StateStore(path)
    store.put("devices", {"lamp": {"on": True}})
    assert json.loads(path.read_text()) == {"devices": {"lamp": {"on": True}}}
    assert StateStore(path).get("devices") == {"lamp": {"on": True}}
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]


def test_store_expands_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = StateStore("~/state/s.json")
    store.put("x", 1)
    assert (tmp_path / "state" / "s.json").exists()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", ""])
def test_corrupt_file_warns_and_starts_empty(tmp_path: Path, caplog, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        store = StateStore(path)
    assert store.get("devices") is None
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    store.put("devices", {})  # and it can be written again
    assert json.loads(path.read_text()) == {"devices": {}}


def test_missing_file_warns_and_starts_empty(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        assert StateStore(tmp_path / "none.json").get("devices", {}) == {}
    assert caplog.records


# --- registry persistence ------------------------------------------------------------------

def test_state_restored_across_registry_recreation(tmp_path: Path) -> None:
    cfg = config(tmp_path / "state.json")
    registry, _ = build(cfg)
    registry.apply("lamp", "set_brightness", 30)
    registry.apply("coffee", "turn_on")
    registry.apply("door", "unlock")
    registry.apply("gate", "close")
    gate = registry.get("gate")
    assert gate is not None and gate.wait_idle(5)  # type: ignore[attr-defined]
    registry.close()

    registry, factory = build(cfg)
    try:
        assert registry.states() == {"lamp": "on", "coffee": "on", "door": "locked",
                                     "gate": "closed"}
        assert registry.attributes()["lamp"] == {"brightness": 30}
        assert factory.pin(18).state == pytest.approx(0.3)
        assert factory.pin(22).state == 0  # active-low relay on
        assert factory.pin(5).state == 1  # a restart never unlocks the door
        assert factory.pin(16).state == 0  # nor moves a cover
    finally:
        registry.close()


def test_restore_false_starts_every_actuator_off(tmp_path: Path) -> None:
    registry, _ = build(config(tmp_path / "state.json"))
    registry.apply("lamp", "turn_on")
    registry.apply("coffee", "turn_on")
    registry.close()

    registry, factory = build(config(tmp_path / "state.json", restore=False))
    try:
        assert registry.states() == {"lamp": "off", "coffee": "off", "door": "locked",
                                     "gate": None}
        assert factory.pin(18).state == 0 and factory.pin(22).state == 1
    finally:
        registry.close()


def test_odd_snapshots_start_off(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"devices": {"lamp": {"on": True, "level": "bright"},
                                            "coffee": "yes", "gate": {"position": 7}}}))
    registry, factory = build(config(path))
    try:
        assert registry.states()["lamp"] == "on"
        assert factory.pin(18).state == 1  # unusable level: full brightness
        assert registry.states()["coffee"] == "off"
        assert registry.states()["gate"] is None
    finally:
        registry.close()


def test_failed_setup_closes_what_was_built(tmp_path: Path) -> None:
    factory = MockFactory(pin_class=MockPWMPin)
    squatter = LED(5, pin_factory=factory)  # the lock's pin is already taken
    try:
        with pytest.raises(DeviceError, match="door"):
            DeviceRegistry.from_config(config(tmp_path / "s.json"), factory, None)
        LED(18, pin_factory=factory).close()  # the lamp's pin was released again
    finally:
        squatter.close()
