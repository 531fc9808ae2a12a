"""Several rooms on one broker: an appliance learns the others' devices from their retained
device lists and drives them through their owner's command topic (and executor)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.app import Home, build_home
from assistant.config import parse_config
from assistant.mqtt.peers import remote_devices
from tests.mqtt_broker import MOSQUITTO, Broker, Watcher, appliance_yaml

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

LIVING = """
  - {id: light, name: light, area: living room, kind: light, pin: 17}
  - {id: reading_lamp, name: reading lamp, area: living room, kind: light, pin: 18, dimmable: true}
  - {id: patio_door, name: patio door, area: living room, kind: lock, pin: 26}
"""
KITCHEN = """
  - {id: light, name: light, area: kitchen, kind: light, pin: 17}
  - {id: kettle, name: kettle, area: kitchen, kind: switch, pin: 22}
"""


def _room(broker: Broker, folder: Path, name: str, area: str, devices: str) -> Home:
    folder.mkdir(exist_ok=True)
    text = appliance_yaml(broker.port, folder, devices, name=name, area=area)
    home = build_home(parse_config(text), appliance=True)
    home.mqtt.finish()
    return home


@pytest.fixture
def rooms(tmp_path: Path) -> Iterator[tuple[Broker, Home, Home, Path]]:
    with Broker(tmp_path) as broker:
        living = _room(broker, tmp_path / "living", "Living Room", "living room", LIVING)
        kitchen = _room(broker, tmp_path / "kitchen", "Kitchen", "kitchen", KITCHEN)
        yield broker, living, kitchen, tmp_path
        kitchen.close()
        living.close()


def test_a_command_for_another_rooms_device_goes_through_its_owner(rooms: tuple[Broker, Home, Home, Path]) -> None:
    _broker, living, kitchen, _ = rooms
    remote = {d.id: d for d in kitchen.config.devices if d.mqtt is not None}
    assert set(remote) == {"living_room__light", "living_room__reading_lamp", "living_room__patio_door"}
    # Same name in two rooms: each keeps it, the area tells them apart.
    assert remote["living_room__light"].name == "light"
    assert remote["living_room__light"].area == remote["living_room__reading_lamp"].area == "living room"
    assert remote["living_room__patio_door"].mqtt.owner == "assistant/living_room"

    answer = kitchen.brain.answer("turn on the reading lamp", lambda _s: None)
    assert answer.reply == "Turned on the reading lamp."
    assert living.pin_factory.pin(18).state == 1.0

    answer = kitchen.brain.answer("set the reading lamp to 30 percent", lambda _s: None)
    assert answer.results[0].ok and living.pin_factory.pin(18).state == pytest.approx(0.3)
    assert kitchen.registry.get("living_room__reading_lamp").attributes["brightness"] == 30

    answer = kitchen.brain.answer("turn on the living room light", lambda _s: None)
    assert answer.results[0].ok and answer.results[0].action.device == "living_room__light"
    assert living.pin_factory.pin(17).state == 1 and kitchen.pin_factory.pin(17).state == 0

    answer = kitchen.brain.answer("turn on the light", lambda _s: None)  # this room's own light
    assert answer.results[0].action.device == "light" and kitchen.pin_factory.pin(17).state == 1

    answer = kitchen.brain.answer("unlock the patio door", lambda _s: None)
    assert answer.results[0].ok and living.pin_factory.pin(26).state == 1

    # The living room started before the kitchen: it learns the kettle at its next start.
    assert "kitchen__kettle" not in {d.id for d in living.config.devices}
    living.close()
    again = _room(_broker, _ / "living2", "Living Room", "living room", LIVING)
    try:
        answer = again.brain.answer("turn on the kettle", lambda _s: None)
        assert answer.results[0].ok and kitchen.pin_factory.pin(22).state == 1
    finally:
        again.close()


def test_no_discovery_for_another_rooms_devices_and_offline_owner(rooms: tuple[Broker, Home, Home, Path]) -> None:
    broker, living, kitchen, _ = rooms
    ha = Watcher(broker.port, ("homeassistant/#",))
    ha.wait(lambda: "homeassistant/switch/assistant_kitchen/kettle/config" in ha.last, what="kitchen discovery")
    assert not [t for t in ha.last if t.startswith("homeassistant/") and "assistant_kitchen/living_room__" in t]
    ha.close()
    living.close()  # the living room goes away: its last will says offline
    lamp = kitchen.registry.get("living_room__reading_lamp")
    deadline = time.monotonic() + 5.0
    while lamp.owner_online is not False and time.monotonic() < deadline:
        time.sleep(0.02)  # the will reaches the kitchen through the broker, a moment later
    answer = kitchen.brain.answer("turn off the reading lamp", lambda _s: None)
    assert "offline" in answer.reply and not answer.results[0].ok


def test_other_rooms_devices_come_from_the_cache_while_the_broker_is_down(
        rooms: tuple[Broker, Home, Home, Path]) -> None:
    broker, _living, kitchen, folder = rooms
    cache = folder / "kitchen" / "mqtt_peers.json"
    assert "assistant/living_room" in json.loads(cache.read_text())
    broker.stop()
    text = appliance_yaml(broker.port, folder / "kitchen", KITCHEN, name="Kitchen", area="kitchen")
    alone = build_home(parse_config(text), appliance=True)
    try:
        assert "living_room__reading_lamp" in {d.id for d in alone.config.devices}
        answer = alone.brain.answer("turn on the reading lamp", lambda _s: None)
        assert "not connected" in answer.reply
    finally:
        alone.close()
        broker.start()


def test_remote_devices_skip_bad_entries_and_taken_names() -> None:
    config = parse_config("name: Kitchen\ndevices:\n"
                          "  - {id: light, name: light, area: living room, kind: light, pin: 17}\n"
                          "  - {id: lamp, name: living room lamp, area: living room, kind: light, pin: 18}\n"
                          "  - {id: desk, name: lamp, area: living room, kind: light, pin: 19}\n"
                          "  - {id: fan, name: fan, area: kitchen, kind: fan, pin: 20}\n")
    lists = {"assistant/living_room": {"area": "living room", "devices": [
        {"id": "light", "name": "light", "kind": "light"},  # taken in that area -> "living room light"
        {"id": "lamp", "name": "lamp", "kind": "light"},  # "lamp", "living room lamp": both taken
        {"id": "fan", "name": "fan", "kind": "fan"},  # "fan" is the kitchen's: another area, kept
        {"id": "sensor", "name": "humidity", "kind": "sensor", "device_class": "humidity"},
        {"id": "odd", "name": "odd", "kind": "sensor", "device_class": "toaster"},  # class dropped
        {"id": "Bad Id", "name": "x", "kind": "light"},
        {"id": "heater", "name": "heater", "kind": "toaster"},
        "not a device",
        {"id": "pump", "name": "pump", "kind": "switch", "area": "garden"},
    ]}, "assistant/kitchen": {"devices": [{"id": "own", "name": "own", "kind": "switch"}]}}
    found = {d.id: d for d in remote_devices(config, "assistant/kitchen", lists)}
    assert set(found) == {"living_room__light", "living_room__pump", "living_room__fan",
                          "living_room__sensor", "living_room__odd"}
    assert found["living_room__light"].name == "living room light"
    assert (found["living_room__fan"].name, found["living_room__fan"].area) == ("fan", "living room")
    assert found["living_room__sensor"].device_class == "humidity" and found["living_room__odd"].device_class is None
    assert found["living_room__pump"].area == "garden"
    assert found["living_room__pump"].mqtt.command_topic == "assistant/living_room/device/pump/set"
