"""A home of 100 zigbee2mqtt devices, far more than the GPIO header has pins: intents, state
queries and Home Assistant discovery for all of them (bench/mqtt_bench.py times it)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from assistant.app import build_home
from assistant.brain.types import Action
from assistant.config import parse_config
from tests.mqtt_broker import MOSQUITTO, Broker, Watcher, appliance_yaml

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

AREAS = ("kitchen", "hall", "study", "bedroom", "bathroom", "garage", "attic", "porch", "garden", "office")
THINGS = (("ceiling light", "light", False), ("desk lamp", "light", True), ("floor lamp", "light", True),
          ("wall light", "light", False), ("heater", "switch", False), ("radio", "switch", False),
          ("fan", "fan", False), ("blind", "cover", False), ("temperature", "sensor", False),
          ("window", "binary_sensor", False))


def many_devices(count: int = 100) -> str:
    """YAML for ``count`` zigbee2mqtt devices (10 areas x 10 things, then numbered copies)."""
    lines = []
    for i in range(count):
        area, (thing, kind, dimmable) = AREAS[i // 10 % 10], THINGS[i % 10]
        suffix = f" {i // 100 + 1}" if i >= 100 else ""
        name, topic = f"{area} {thing}{suffix}", f"zigbee2mqtt/d{i}"
        mqtt = f"state_topic: {topic}, state_key: state"
        if kind == "sensor":
            mqtt, unit = f"state_topic: {topic}, state_key: temperature", ', unit: "°C"'
        elif kind == "binary_sensor":
            mqtt, unit = f'state_topic: {topic}, state_key: contact, states: {{"true": "off", "false": "on"}}', ""
        else:
            mqtt, unit = f"command_topic: {topic}/set, command_key: state, {mqtt}", ""
        if dimmable:
            mqtt += ", brightness_key: brightness, brightness_scale: 254"
        lines.append(f"  - {{id: d{i}, name: {name}, area: {area}, kind: {kind}{', dimmable: true' if dimmable else ''}"
                     f"{unit}, mqtt: {{{mqtt}}}}}")
    return "\n" + "\n".join(lines) + "\n"


class Coordinator:
    """zigbee2mqtt for every device: a command is answered with the device's new state."""

    def __init__(self, port: int, count: int):
        self.w = Watcher(port, ("zigbee2mqtt/+/set",), client_id="z2m")
        self.w.client.on_message = self._on_message
        for i in range(count):
            kind = THINGS[i % 10][1]
            if i % 20 >= 10:  # half of them (every other area) never reported: unknown
                continue
            state = {"sensor": {"temperature": 18 + i / 10}, "binary_sensor": {"contact": True},
                     "cover": {"state": "CLOSE"}}.get(kind, {"state": "OFF", "brightness": 254})
            self.w.publish(f"zigbee2mqtt/d{i}", json.dumps(state), retain=True)

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        device = msg.topic.removesuffix("/set")
        data = json.loads(msg.payload)
        threading.Thread(target=lambda: self.w.client.publish(device, json.dumps(data), retain=True),
                         daemon=True).start()


def test_a_hundred_devices_over_mqtt(tmp_path: Path) -> None:
    with Broker(tmp_path) as broker:
        z2m = Coordinator(broker.port, 100)
        ha = Watcher(broker.port, ("homeassistant/#",), client_id="ha")
        home = build_home(parse_config(appliance_yaml(broker.port, tmp_path, devices=many_devices(100))),
                          appliance=True)
        home.mqtt.finish()
        try:
            assert len(home.registry) == 100
            states = home.registry.states()
            assert sum(state is None for state in states.values()) == 50  # never reported: unknown
            assert states["d0"] == "off" and states["d8"] == 18.8

            for text, device, state in [("turn on the garage heater", "d54", "on"),
                                        ("turn on the bedroom ceiling light", "d30", "on"),
                                        ("set the office desk lamp to 20 percent", "d91", "on"),
                                        ("open the kitchen blind", "d7", "open")]:
                answer = home.brain.answer(text, lambda _s: None)
                assert answer.results and answer.results[0].action.device == device, (text, answer.reply)
                assert answer.results[0].ok and home.registry.get(device).state == state, answer.reply
            assert home.registry.get("d91").attributes["brightness"] == 20
            assert "unknown" in home.brain.answer("what is the hall temperature", lambda _s: None).reply
            assert "18.8" in home.brain.answer("what is the kitchen temperature", lambda _s: None).reply

            queried = [home.executor.run(Action(f"d{i}", "query")) for i in range(100)]
            assert sum(r.ok for r in queried) == 50 + 3  # reported, and three commanded since

            ha.wait(lambda: sum(t.endswith("/config") and "assistant_test/d" in t for t in ha.last) == 100,
                    timeout=10, what="100 discovery configs")
        finally:
            home.close()
            z2m.w.close()
            ha.close()
