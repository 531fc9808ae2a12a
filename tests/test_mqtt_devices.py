"""Devices reached over MQTT: Tasmota, Shelly and zigbee2mqtt conventions, played by simulated
firmware on a real mosquitto, driven by voice (typed), LLM-tool validation, state queries and
Home Assistant alike; a device that never answered is unknown, and said to be."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.app import Home, build_home
from assistant.brain.tools import DeviceTools
from assistant.config import MqttDeviceConfig, parse_config
from assistant.devices import mqtt_codec as codec
from assistant.devices.mqtt_device import MqttDevice
from assistant.errors import ConfigError, DeviceError
from tests.mqtt_broker import MOSQUITTO, Broker, Watcher, appliance_yaml

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

DEVICES = """
  - {id: plug, name: coffee plug, area: kitchen, kind: switch,
     mqtt: {command_topic: cmnd/plug/POWER, state_topic: stat/plug/RESULT, state_key: POWER}}
  - {id: dimmer, name: hall dimmer, area: hall, kind: light, dimmable: true,
     mqtt: {command_topic: cmnd/dimmer/POWER, state_topic: stat/dimmer/RESULT, state_key: POWER,
            brightness_command_topic: cmnd/dimmer/Dimmer, brightness_key: Dimmer}}
  - {id: relay, name: porch light, area: porch, kind: light,
     mqtt: {command_topic: shellies/relay/relay/0/command, state_topic: shellies/relay/relay/0,
            payloads: {turn_on: "on", turn_off: "off", toggle: toggle}}}
  - {id: bulb, name: desk lamp, area: study, kind: light, dimmable: true,
     mqtt: {command_topic: zigbee2mqtt/desk/set, state_topic: zigbee2mqtt/desk, command_key: state,
            state_key: state, brightness_key: brightness, brightness_scale: 254}}
  - {id: back_door, name: back door, area: kitchen, kind: lock,
     mqtt: {command_topic: zigbee2mqtt/back/set, state_topic: zigbee2mqtt/back, command_key: state,
            state_key: lock_state}}
  - {id: window, name: study window, area: study, kind: binary_sensor,
     mqtt: {state_topic: zigbee2mqtt/window, state_key: contact, states: {"true": "off", "false": "on"}}}
  - {id: washer, name: washer power, kind: sensor, unit: W,
     mqtt: {state_topic: zigbee2mqtt/washer, state_key: power}}
  - {id: mute_plug, name: garden pump, kind: switch, mqtt: {command_topic: cmnd/pump/POWER,
     state_topic: stat/pump/POWER, timeout_s: 0.5}}
"""


class Firmware:
    """Answers commands as the real firmware does (Tasmota, Shelly Gen1, zigbee2mqtt)."""

    def __init__(self, port: int):
        self.state: dict[str, Any] = {"plug": "OFF", "dimmer": ("OFF", 100), "relay": "off",
                                      "bulb": ("OFF", 254), "lock": "locked"}
        self.commands: list[tuple[str, str]] = []
        self.w = Watcher(port, ("cmnd/#", "shellies/+/relay/0/command", "zigbee2mqtt/+/set"), client_id="firmware")
        self.w.client.on_message = self._on_message

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        topic, text = msg.topic, msg.payload.decode()
        self.commands.append((topic, text))
        threading.Thread(target=self._answer, args=(topic, text), daemon=True).start()

    def _answer(self, topic: str, text: str) -> None:
        time.sleep(0.01)  # the radio
        publish = self.w.client.publish
        if topic == "cmnd/plug/POWER":
            on = {"ON": True, "OFF": False, "TOGGLE": self.state["plug"] == "OFF"}[text]
            self.state["plug"] = "ON" if on else "OFF"
            publish("stat/plug/RESULT", json.dumps({"POWER": self.state["plug"]}), retain=True)
        elif topic.startswith("cmnd/dimmer/"):
            power, level = self.state["dimmer"]
            power, level = (("ON", int(text)) if topic.endswith("Dimmer") else (text, level))
            self.state["dimmer"] = (power, level)
            publish("stat/dimmer/RESULT", json.dumps({"POWER": power, "Dimmer": level}), retain=True)
        elif topic == "shellies/relay/relay/0/command":
            new = {"on": "on", "off": "off", "toggle": "off" if self.state["relay"] == "on" else "on"}[text]
            if new != self.state["relay"]:  # a Shelly reports changes only
                self.state["relay"] = new
                publish("shellies/relay/relay/0", new, retain=True)
        elif topic == "zigbee2mqtt/desk/set":
            data = json.loads(text)
            power, level = self.state["bulb"]
            self.state["bulb"] = (data.get("state", power), data.get("brightness", level))
            publish("zigbee2mqtt/desk", json.dumps({"state": self.state["bulb"][0], "brightness":
                                                    self.state["bulb"][1], "linkquality": 87}), retain=True)
        elif topic == "zigbee2mqtt/back/set":
            state = json.loads(text)["state"]
            self.state["lock"] = "locked" if state == "LOCK" else "unlocked"
            publish("zigbee2mqtt/back", json.dumps({"state": state, "lock_state": self.state["lock"]}), retain=True)
        # cmnd/pump/POWER: a pump that is offline never answers

    def close(self) -> None:
        self.w.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with Broker(tmp_path) as running:
        yield running


@pytest.fixture
def home(broker: Broker, tmp_path: Path) -> Iterator[tuple[Home, Firmware, Watcher]]:
    firmware = Firmware(broker.port)
    firmware.w.publish("stat/dimmer/RESULT", json.dumps({"POWER": "OFF", "Dimmer": 100}), retain=True)
    firmware.w.publish("shellies/relay/relay/0", "off", retain=True)
    firmware.w.publish("zigbee2mqtt/desk", json.dumps({"state": "OFF", "brightness": 254}), retain=True)
    ha = Watcher(broker.port, ("assistant/#",), client_id="ha")
    built = build_home(parse_config(appliance_yaml(broker.port, tmp_path, devices=DEVICES)), appliance=True)
    built.mqtt.finish()
    yield built, firmware, ha
    built.close()
    firmware.close()
    ha.close()


def _say(home: Home, text: str) -> Any:
    return home.brain.answer(text, lambda _s: None)


def test_tasmota_shelly_and_zigbee2mqtt_by_voice(home: tuple[Home, Firmware, Watcher]) -> None:
    built, firmware, ha = home
    registry = built.registry
    # Retained states are in before the first command (the plug never reported: unknown).
    assert registry.get("dimmer").state == "off" and registry.get("bulb").state == "off"
    assert registry.get("plug").state is None

    answer = _say(built, "turn on the coffee plug")
    assert answer.reply == "Turned on the coffee plug." and registry.get("plug").state == "on"
    assert ("cmnd/plug/POWER", "ON") in firmware.commands

    answer = _say(built, "set the hall dimmer to 40 percent")
    assert answer.results[0].ok and registry.get("dimmer").attributes["brightness"] == 40
    assert ("cmnd/dimmer/Dimmer", "40") in firmware.commands

    answer = _say(built, "turn on the porch light")
    assert answer.results[0].ok and firmware.state["relay"] == "on"
    assert ("shellies/relay/relay/0/command", "on") in firmware.commands
    answer = _say(built, "turn on the porch light")  # already on: a Shelly stays silent, still done
    assert answer.results[0].ok

    answer = _say(built, "set the desk lamp to 50 percent")
    assert answer.results[0].ok and firmware.state["bulb"] == ("ON", 127)  # 50 % of 254
    assert registry.get("bulb").attributes["brightness"] == 50
    assert ("zigbee2mqtt/desk/set", json.dumps({"state": "ON", "brightness": 127})) in firmware.commands

    # The appliance republishes them for Home Assistant, in HA's payloads.
    ha.wait_for("assistant/test/device/plug/state", "ON")
    ha.wait_for("assistant/test/device/bulb/brightness", "50")


def test_unknown_until_it_reports_and_a_device_that_does_not_answer(home: tuple[Home, Firmware, Watcher]) -> None:
    built, firmware, ha = home
    answer = _say(built, "is the back door locked")
    assert "not reported its state yet, so it is unknown" in answer.reply
    answer = _say(built, "what is the washer power")
    assert "unknown" in answer.reply
    ha.wait_for("assistant/test/device/back_door/state", "None")  # HA shows unknown too

    firmware.w.publish("zigbee2mqtt/washer", json.dumps({"power": 1873.5, "voltage": 231}))
    firmware.w.publish("zigbee2mqtt/window", json.dumps({"contact": False, "battery": 90}))
    ha.wait_for("assistant/test/device/washer/state", "1873.5")
    ha.wait_for("assistant/test/device/window/state", "ON")  # contact false = open
    assert "1873.5" in _say(built, "what is the washer power").reply

    answer = _say(built, "turn on the garden pump")  # sent, never confirmed
    assert not answer.results[0].ok
    assert "didn't confirm" in answer.reply and "Turned on" not in answer.reply
    assert ("cmnd/pump/POWER", "ON") in firmware.commands

    # A bad report is ignored and the last good state stays.
    firmware.w.publish("zigbee2mqtt/washer", "not json")
    firmware.w.publish("zigbee2mqtt/washer", json.dumps({"power": "lots"}))
    firmware.w.publish("zigbee2mqtt/washer", json.dumps({"power": 12}))
    ha.wait_for("assistant/test/device/washer/state", "12")


def test_locks_over_mqtt_keep_their_care(home: tuple[Home, Firmware, Watcher]) -> None:
    """A lock over MQTT is a lock: an LLM's unlock is held for a yes, HA's is carried out."""
    built, firmware, ha = home
    tools = DeviceTools(built.config.devices, built.executor)
    assert "back_door" in tools.describe()
    assert isinstance(tools.validate("control_device", {"device": "back_door", "action": "toggle"}), str)
    ha.publish("assistant/test/device/back_door/set", "UNLOCK")
    ha.wait_for("assistant/test/device/back_door/state", "UNLOCKED")
    assert firmware.state["lock"] == "unlocked"
    answer = _say(built, "lock the back door")
    assert answer.results[0].ok and firmware.state["lock"] == "locked"


def test_the_broker_gone_refuses_at_once(home: tuple[Home, Firmware, Watcher], broker: Broker) -> None:
    built, _firmware, _ha = home
    broker.stop()
    deadline = time.monotonic() + 5
    while built.mqtt.link.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    answer = _say(built, "turn off the desk lamp")  # refused before anything is sent
    assert "MQTT broker is not connected" in answer.reply and not answer.results[0].ok


# -- the codec and the device, without a broker ---------------------------------------------
def test_codec_conventions() -> None:
    z2m = MqttDeviceConfig(command_topic="z/set", state_topic="z", command_key="state", state_key="state",
                           brightness_key="brightness", brightness_scale=254)
    assert codec.encode(z2m, "light", "turn_on", None, None) == [("z/set", '{"state": "ON"}')]
    assert codec.encode(z2m, "light", "set_brightness", 100, "on") == [("z/set", '{"state": "ON", "brightness": 254}')]
    assert codec.encode(z2m, "light", "set_brightness", 0.1, "on") == [("z/set", '{"state": "ON", "brightness": 1}')]
    assert codec.encode(z2m, "light", "set_brightness", 0, "on") == [("z/set", '{"state": "OFF"}')]
    assert codec.decode(z2m, "light", b'{"state": "ON", "brightness": 127}') == codec.Reading("on", 50)
    assert codec.decode(z2m, "light", b'{"brightness": 254}') == codec.Reading(level=100)
    assert codec.decode(z2m, "light", b'{"state": null}').unknown
    with pytest.raises(codec.CodecError):
        codec.decode(z2m, "light", b"ON")  # not the JSON it speaks
    with pytest.raises(codec.CodecError):
        codec.decode(z2m, "light", b'{"state": "DIMMED"}')

    shelly = MqttDeviceConfig(command_topic="s/command", state_topic="s", payloads={"turn_on": "on"})
    assert codec.encode(shelly, "switch", "turn_on", None, None) == [("s/command", "on")]
    assert codec.decode(shelly, "switch", b"off").state == "off"
    roller = MqttDeviceConfig(command_topic="r/command", state_topic="r")
    assert codec.encode(roller, "cover", "toggle", None, "open") == [("r/command", "CLOSE")]
    assert codec.encode(roller, "cover", "turn_on", None, None) == [("r/command", "OPEN")]
    assert codec.decode(roller, "cover", b"close").state == "closed"
    lock = MqttDeviceConfig(command_topic="l/set", state_topic="l")
    assert codec.encode(lock, "lock", "turn_off", None, None) == [("l/set", "UNLOCK")]
    assert codec.expected("lock", "unlock", None, "locked") == {"unlocked"}
    sensor = MqttDeviceConfig(state_topic="t", state_key="temperature")
    assert codec.decode(sensor, "sensor", b'{"temperature": 21.44}', scale=1.0).state == 21.44
    assert codec.decode(sensor, "sensor", b'{"temperature": "None"}').unknown
    with pytest.raises(codec.CodecError):
        codec.decode(sensor, "sensor", b'{"temperature": "warm"}')
    with pytest.raises(codec.CodecError):
        codec.decode(sensor, "sensor", b"\xff")


class FakeTransport:
    def __init__(self, connected: bool = True):
        self.connected = connected
        self.sent: list[tuple[str, str]] = []
        self.callbacks: dict[str, Any] = {}
        self.answer: Any = None

    def publish(self, topic: str, payload: str, *, retain: bool = False, qos: int = 1) -> bool:
        self.sent.append((topic, payload))
        if self.answer is not None:
            threading.Thread(target=self.answer, args=(topic, payload), daemon=True).start()
        return True

    def subscribe(self, topic: str, callback: Any) -> None:
        self.callbacks[topic] = callback


def test_a_device_over_mqtt_waits_for_its_report() -> None:
    config = parse_config("mqtt: {}\ndevices:\n  - {id: p, name: plug, kind: switch, mqtt: "
                          "{command_topic: p/set, state_topic: p/state, timeout_s: 0.3}}\n").devices[0]
    transport = FakeTransport()
    device = MqttDevice(config, transport)
    changes: list[Any] = []
    device.watch(lambda d: changes.append(d.state))
    assert device.state is None and "unknown" in device.unknown_reply
    transport.answer = lambda _t, payload: transport.callbacks["p/state"]("p/state", payload.encode())
    device.apply("turn_on")
    assert device.state == "on" and changes == ["on"]
    transport.answer = None
    with pytest.raises(DeviceError, match="didn't confirm"):
        device.apply("turn_off")
    assert device.state == "on"
    transport.connected = False
    with pytest.raises(DeviceError, match="not connected"):
        device.apply("turn_off")


def test_mqtt_device_config_errors_name_the_key_and_line() -> None:
    with pytest.raises(ConfigError, match=r"devices\[0\].mqtt: .*needs the top-level mqtt"):
        parse_config("devices:\n  - {id: p, name: plug, kind: switch, mqtt: {command_topic: a, state_topic: b}}\n")
    bad = {
        "{command_topic: a/#, state_topic: b}": "no \\+ or #",
        "{command_topic: a}": "needs mqtt.state_topic",
        "{state_topic: b}": "needs mqtt.command_topic",
        "{command_topic: a, state_topic: b, payloads: {unlock: X}}": "'unlock' is not an action of a switch",
        "{command_topic: a, state_topic: b, states: {X: open}}": "'open' is not a state of a switch",
        "{command_topic: a, state_topic: b, brightness_key: d}": "dimmable light or fan only",
    }
    for block, message in bad.items():
        with pytest.raises(ConfigError, match=message) as info:
            parse_config(f"mqtt: {{}}\ndevices:\n  - {{id: p, name: plug, kind: switch, mqtt: {block}}}\n")
        assert info.value.line == 3
    with pytest.raises(ConfigError, match="has no pin"):
        parse_config("mqtt: {}\ndevices:\n  - {id: p, name: plug, kind: switch, pin: 4, "
                     "mqtt: {command_topic: a, state_topic: b}}\n")
    with pytest.raises(ConfigError, match=r"mqtt.port"):
        parse_config("mqtt: {port: 70000}\n")
    with pytest.raises(ConfigError, match="unknown key 'hostname'"):
        parse_config("mqtt: {hostname: x}\n")
