"""The appliance's own entities on a real broker, with fakes of the pipeline's controls: assist
state and last command from the events, mute, sensitivity and volume through their Protocols,
announce and ask. (The announce spoken into a WAV by a real `assistant run`: test_mqtt_e2e.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.app import Home, build_home
from assistant.config import parse_config
from assistant.events import EventBus, EventType
from tests.mqtt_broker import MOSQUITTO, Broker, FakeMicrophone, Watcher, appliance_yaml

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

T = "assistant/test"


class FakeVolume:
    def __init__(self) -> None:
        self.level = 70

    def get(self) -> int:
        return self.level

    def set(self, level: int) -> None:
        self.level = level


class FakeSensitivity:
    def __init__(self) -> None:
        self.levels: list[str] = []

    def set_sensitivity(self, level: str) -> None:
        self.levels.append(level)


class Speaker:
    def __init__(self) -> None:
        self.said: list[str] = []
        self.done = threading.Event()

    def __call__(self, text: str) -> None:
        self.said.append(text)
        self.done.set()


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[dict[str, Any]]:
    with Broker(tmp_path) as broker:
        ha = Watcher(broker.port, ("assistant/#", "homeassistant/#"))
        home: Home = build_home(parse_config(appliance_yaml(broker.port, tmp_path)), appliance=True)
        bus, mic, speak = EventBus(), FakeMicrophone(), Speaker()
        volume, sensitivity = FakeVolume(), FakeSensitivity()
        home.mqtt.attach_voice(mic, bus, speak, volume=volume, sensitivity=sensitivity)
        ha.wait_for(f"{T}/volume", "70")
        yield {"home": home, "ha": ha, "bus": bus, "mic": mic, "speak": speak, "volume": volume,
               "sensitivity": sensitivity}
        home.close()
        ha.close()


def test_assist_state_and_last_command(parts: dict[str, Any]) -> None:
    ha, bus = parts["ha"], parts["bus"]
    ha.wait_for(f"{T}/assist/state", "idle")
    bus.emit(EventType.STATE, state="listening")
    ha.wait_for(f"{T}/assist/state", "listening")
    bus.emit(EventType.REPLY, text="turn on the kettle", handled_by="local", intent="HassTurnOn",
             reply="Turned on the kettle.", actions=[{"device": "kettle", "action": "turn_on"}],
             timings_ms={"stt_ms": 480.0, "brain_ms": 3.1})
    ha.wait_for(f"{T}/last_command", "turn on the kettle")
    ha.wait(lambda: f"{T}/last_command/attributes" in ha.last, what="attributes")
    attributes = ha.json(f"{T}/last_command/attributes")
    assert attributes["handled_by"] == "local" and attributes["reply"] == "Turned on the kettle."
    assert attributes["timings_ms"]["stt_ms"] == 480.0
    assert json.loads(ha.last["homeassistant/sensor/assistant_test/last_command/config"])[
        "json_attributes_topic"] == f"{T}/last_command/attributes"


def test_mute_sensitivity_and_volume(parts: dict[str, Any]) -> None:
    ha, mic, volume, sensitivity, bus = parts["ha"], parts["mic"], parts["volume"], parts["sensitivity"], parts["bus"]
    ha.wait_for(f"{T}/mute", "OFF")
    ha.publish(f"{T}/mute/set", "ON")
    ha.wait_for(f"{T}/mute", "ON")
    assert mic.muted
    bus.emit(EventType.STATE, state="idle")  # the button unmutes: the pipeline says idle
    mic.muted = False
    bus.emit(EventType.STATE, state="idle")
    ha.wait_for(f"{T}/mute", "OFF")

    ha.wait_for(f"{T}/sensitivity", "medium")
    ha.publish(f"{T}/sensitivity/set", "loud")  # not a level: ignored
    ha.publish(f"{T}/sensitivity/set", "high")
    ha.wait_for(f"{T}/sensitivity", "high")
    assert sensitivity.levels == ["high"]

    ha.publish(f"{T}/volume/set", "150")
    ha.publish(f"{T}/volume/set", "quiet")
    ha.publish(f"{T}/volume/set", "35")
    ha.wait_for(f"{T}/volume", "35")
    assert volume.level == 35
    select = json.loads(ha.last["homeassistant/select/assistant_test/wake_sensitivity/config"])
    assert select["options"] == ["low", "medium", "high"]


def test_announce_waits_for_a_conversation_to_end(parts: dict[str, Any]) -> None:
    ha, bus, speak = parts["ha"], parts["bus"], parts["speak"]
    ha.publish(f"{T}/announce", "The washing machine is done.")
    assert speak.done.wait(5) and speak.said == ["The washing machine is done."]
    speak.done.clear()
    bus.emit(EventType.STATE, state="thinking")  # a conversation is going on
    ha.publish(f"{T}/announce", json.dumps({"message": "Dinner is ready."}))
    assert not speak.done.wait(0.5)
    bus.emit(EventType.STATE, state="idle")
    assert speak.done.wait(5) and speak.said[-1] == "Dinner is ready."
    ha.publish(f"{T}/announce", "   ")  # nothing to say: ignored
    assert speak.said == ["The washing machine is done.", "Dinner is ready."]


def test_ask_speaks_listens_and_publishes_the_answer(parts: dict[str, Any]) -> None:
    ha, bus, speak, mic = parts["ha"], parts["bus"], parts["speak"], parts["mic"]
    ha.publish(f"{T}/ask", json.dumps({"question": "Shall I turn on the heating?", "id": "heating-1"}))
    assert speak.done.wait(5) and speak.said == ["Shall I turn on the heating?"]
    ha.wait(lambda: mic.listens == 1, what="request_listen")
    bus.emit(EventType.LISTENING, trigger="button")
    bus.emit(EventType.TRANSCRIPT, text="yes please")
    bus.emit(EventType.REPLY, text="yes please", reply="There is nothing to do.", handled_by="local")
    ha.wait(lambda: f"{T}/ask/answer" in ha.last, what="the answer")
    assert ha.json(f"{T}/ask/answer") == {"id": "heating-1", "question": "Shall I turn on the heating?",
                                          "text": "yes please", "reply": "There is nothing to do.",
                                          "handled_by": "local"}
    # The Listen button: no question, nobody answers.
    ha.publish(f"{T}/ask", "PRESS")
    ha.wait(lambda: mic.listens == 2, what="request_listen")
    bus.emit(EventType.LISTENING, trigger="button")
    bus.emit(EventType.TIMEOUT)
    ha.wait(lambda: ha.json(f"{T}/ask/answer").get("reason") == "no answer", what="no answer")


def test_the_slider_and_the_select_drive_the_real_volume_and_wake_check(tmp_path: Path) -> None:
    """As voice.build_voice wires them: the volume skill's control (persisted, the player's
    gain) and the wake check's set_level; a volume changed by voice moves HA's slider."""
    from assistant.audio.player import OutputGain
    from assistant.brain.skills.volume import GainMixer, VolumeControl, volume_command
    from assistant.mqtt.entities import CheckSensitivity, SkillVolume
    from assistant.wake import WakeCheck
    from assistant.wake.decision import DecisionParams, Model, OperatingPoint

    gain = OutputGain()
    control = VolumeControl(GainMixer(gain), tmp_path / "volume.json")
    model = Model({"verifier": 1.0}, 0.0)
    points = {level: OperatingPoint(1.0, 0.0) for level in ("low", "medium", "high")}
    check = WakeCheck(None, DecisionParams(model, model, points))  # type: ignore[arg-type]
    with Broker(tmp_path) as broker:
        ha = Watcher(broker.port, ("assistant/#",))
        home: Home = build_home(parse_config(appliance_yaml(broker.port, tmp_path)), appliance=True)
        try:
            bus = EventBus()
            home.mqtt.attach_voice(FakeMicrophone(), bus, Speaker(), volume=SkillVolume(control),
                                   sensitivity=CheckSensitivity(check))
            ha.wait_for(f"{T}/volume", "100")
            ha.publish(f"{T}/volume/set", "50")
            ha.wait_for(f"{T}/volume", "50")
            assert control.read().level == 50 and gain.value == pytest.approx(0.25)
            assert json.loads((tmp_path / "volume.json").read_text())["level"] == 50  # remembered
            reply = volume_command("HassSetVolume", {"volume": 20}, control)  # "volume to 20"
            bus.emit(EventType.REPLY, text="set the volume to 20", intent="HassSetVolume", reply=reply)
            ha.wait_for(f"{T}/volume", "20")
            ha.publish(f"{T}/sensitivity/set", "high")
            ha.wait_for(f"{T}/sensitivity", "high")
            assert check.level == "high"
        finally:
            home.close()
            ha.close()
