"""Home Assistant discovery: every payload against HA's discovery schema (tests/ha_mqtt_schema.py,
transcribed from HA's mqtt integration), field by field, then on a real broker: retained,
stable unique ids, and the entity of a device deleted from the YAML removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.app import build_home
from assistant.config import parse_config
from assistant.events import EventBus
from assistant.mqtt.bridge import dashboard_url
from assistant.mqtt.discovery import Appliance, appliance_discovery, device_discovery
from assistant.mqtt.settings import Topics, node_id
from tests import ha_mqtt_schema as ha
from tests.mqtt_broker import HOME_DEVICES, MOSQUITTO, Broker, FakeMicrophone, Watcher, appliance_yaml

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

MQTT_DEVICES = """
  - {id: z_bulb, name: desk bulb, kind: light, dimmable: true, mqtt: {command_topic: zigbee2mqtt/desk/set,
     state_topic: zigbee2mqtt/desk, command_key: state, state_key: state, brightness_key: brightness,
     brightness_scale: 254}}
  - {id: t_plug, name: tasmota plug, kind: switch, mqtt: {command_topic: cmnd/plug/POWER,
     state_topic: stat/plug/RESULT, state_key: POWER}}
  - {id: s_roller, name: kitchen shutter, kind: cover, mqtt: {command_topic: shellies/roller/roller/0/command,
     state_topic: shellies/roller/roller/0, payloads: {open: open, close: close, stop: stop}}}
  - {id: z_lock, name: back door, kind: lock, mqtt: {command_topic: zigbee2mqtt/back/set,
     state_topic: zigbee2mqtt/back, command_key: state, state_key: lock_state}}
  - {id: z_contact, name: window contact, kind: binary_sensor, mqtt: {state_topic: zigbee2mqtt/window,
     state_key: contact, states: {"true": "off", "false": "on"}}}
  - {id: z_power, name: washer power, kind: sensor, unit: W, mqtt: {state_topic: zigbee2mqtt/washer,
     state_key: power}}
"""


def _app(config_text: str) -> tuple[Appliance, object]:
    config = parse_config(config_text)
    topics = Topics("assistant/test")
    return Appliance(node_id(config), config.name, topics, area=config.area), config


@pytest.fixture
def home_text(tmp_path: Path) -> str:
    return appliance_yaml(1883, tmp_path, devices=HOME_DEVICES + MQTT_DEVICES)


def test_every_device_passes_home_assistants_discovery_schema(home_text: str) -> None:
    app, config = _app(home_text)
    seen_ids = set()
    for device in config.devices:  # type: ignore[attr-defined]
        topic, payload = device_discovery(app, device)
        platform = topic.split("/")[1]
        assert ha.problems(platform, payload) == [], (device.id, payload)
        match = ha.TOPIC_MATCHER.fullmatch(topic.removeprefix("homeassistant/"))
        assert match and match["component"] == platform and match["node_id"] == app.node_id
        assert match["object_id"] == device.id
        assert payload["unique_id"] not in seen_ids
        seen_ids.add(payload["unique_id"])
    for topic, payload in appliance_discovery(app, volume=True, sensitivity=True):
        assert ha.problems(topic.split("/")[1], payload) == [], payload


def test_discovery_fields_per_platform(home_text: str) -> None:
    app, config = _app(home_text)
    found = {d.id: device_discovery(app, d) for d in config.devices}  # type: ignore[attr-defined]
    base = "assistant/test/device"

    topic, lamp = found["lamp"]
    assert topic == "homeassistant/light/assistant_test/lamp/config"
    assert lamp["command_topic"] == f"{base}/lamp/set" and lamp["state_topic"] == f"{base}/lamp/state"
    assert lamp["brightness_command_topic"] == f"{base}/lamp/brightness/set"
    assert lamp["brightness_state_topic"] == f"{base}/lamp/brightness"
    assert lamp["brightness_scale"] == 100 and (lamp["payload_on"], lamp["payload_off"]) == ("ON", "OFF")
    assert "brightness_command_topic" not in found["hall_light"][1]  # on/off only

    assert found["kettle"][0].startswith("homeassistant/switch/")
    fan = found["fan"][1]
    assert fan["percentage_command_topic"] == f"{base}/fan/percentage/set"
    assert (fan["speed_range_min"], fan["speed_range_max"]) == (1, 100)

    garage, blind = found["garage"][1], found["blind"][1]
    assert garage["device_class"] == "garage" and garage["payload_stop"] is None  # one button: no stop
    assert blind["device_class"] == "blind" and blind["payload_stop"] == "STOP"
    assert (blind["state_open"], blind["state_closed"], blind["state_opening"]) == ("open", "closed", "opening")

    lock = found["front_door"][1]
    assert (lock["payload_lock"], lock["state_locked"], lock["state_unlocked"]) == ("LOCK", "LOCKED", "UNLOCKED")

    motion = found["hall_motion"][1]
    assert motion["device_class"] == "motion" and "command_topic" not in motion

    temp = found["temp"][1]
    assert (temp["unit_of_measurement"], temp["device_class"], temp["state_class"]) == ("°C", "temperature",
                                                                                      "measurement")
    assert found["z_power"][1]["device_class"] == "power"
    assert found["z_contact"][1]["device_class"] == "window"

    for _topic, payload in found.values():  # one HA device per appliance, availability with a will
        assert payload["device"]["identifiers"] == [app.node_id]
        assert payload["device"]["name"] == "Test" and payload["device"]["suggested_area"] == "living room"
        assert payload["device"]["sw_version"] and payload["device"]["model"]
        assert payload["availability_topic"] == "assistant/test/status"
        assert payload["unique_id"] == f"{app.node_id}_{_topic.split('/')[3]}"


def test_schema_checker_catches_what_ha_would_drop() -> None:
    """The checker itself: a misspelt key, a wildcard command topic, a bad device class."""
    assert ha.problems("switch", {"command_topic": "a/+/b", "stat_topic": "x"}) == [
        "stat_topic: unknown to HA's switch schema (dropped)", "command_topic: wildcard in a publish topic: 'a/+/b'"]
    assert ha.problems("binary_sensor", {"state_topic": "x", "device_class": "doorbell"})
    assert ha.problems("light", {"state_topic": "x"}) == ["command_topic: required"]
    assert ha.problems("sensor", {"state_topic": "x", "device": {"name": "n"}})  # no identifier


def test_discovery_on_the_broker_and_removal_of_a_deleted_device(tmp_path: Path) -> None:
    with Broker(tmp_path) as broker:
        ha_client = Watcher(broker.port, ("homeassistant/#", "assistant/#"))
        home = build_home(parse_config(appliance_yaml(broker.port, tmp_path)), appliance=True)
        home.mqtt.attach_voice(FakeMicrophone(), EventBus(), lambda _text: None)
        node = "homeassistant/{}/assistant_test/{}/config"
        kettle = node.format("switch", "kettle")
        for platform, object_id in (("switch", "kettle"), ("light", "lamp"), ("fan", "fan"), ("cover", "garage"),
                                    ("lock", "front_door"), ("binary_sensor", "hall_motion"), ("sensor", "temp"),
                                    ("sensor", "assist_state"), ("switch", "mute"), ("notify", "announce")):
            topic = node.format(platform, object_id)
            ha_client.wait(lambda topic=topic: topic in ha_client.last, what=topic)
            assert ha.problems(platform, json.loads(ha_client.last[topic])) == []
        first = json.loads(ha_client.last[kettle])
        home.close()
        ha_client.wait_for("assistant/test/status", "offline")

        # A Home Assistant that starts later finds every config retained.
        late = Watcher(broker.port, ("homeassistant/#",), client_id="late")
        assert json.loads(late.last[kettle])["unique_id"] == first["unique_id"] == "assistant_test_kettle"

        # The kettle is deleted from the YAML: its entity goes, the others stay, ids unchanged.
        devices = "\n".join(line for line in HOME_DEVICES.splitlines() if "kettle" not in line) + "\n"
        home = build_home(parse_config(appliance_yaml(broker.port, tmp_path, devices=devices)), appliance=True)
        home.mqtt.finish()
        late.wait_for(kettle, b"", timeout=5)
        lamp = json.loads(late.last[node.format("light", "lamp")])
        assert lamp["unique_id"] == "assistant_test_lamp"
        home.close()
        late.close()
        ha_client.close()


def test_the_configs_device_class_and_the_dashboards_address() -> None:
    text = ("name: Bathroom\nweb: {enabled: true, host: 192.168.1.20, port: 8080}\nmqtt: {}\ndevices:\n"
            "  - {id: hum, name: bathroom air, kind: sensor, unit: '%', device_class: humidity,"
            " mqtt: {state_topic: z/hum, state_key: humidity}}\n"
            "  - {id: door, name: the thing, kind: binary_sensor, pin: 4, device_class: door}\n")
    config = parse_config(text)
    app = Appliance(node_id(config), config.name, Topics("assistant/bathroom"),
                    configuration_url=dashboard_url(config))
    for device in config.devices:
        topic, payload = device_discovery(app, device)
        assert ha.problems(topic.split("/")[1], payload) == []
        assert payload["device_class"] == device.device_class  # the config's, not a guess
        assert payload["device"]["configuration_url"] == "http://192.168.1.20:8080/"
    assert dashboard_url(parse_config("mqtt: {}\n")) is None
