"""The appliance on a real mosquitto: Home Assistant's commands reach the mock pins through the
executor, every state change is published whatever caused it, bad payloads change nothing,
the broker can go away (at start, or later) and come back."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.app import Home, build_home
from assistant.config import parse_config
from assistant.mqtt import states
from assistant.mqtt.settings import MqttSetupError
from tests.mqtt_broker import MOSQUITTO, Broker, Watcher, appliance_yaml, free_port, make_certificates

pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(),
                                reason="needs mosquitto (scripts/setup.sh --test installs it)")

DEV = "assistant/test/device"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with Broker(tmp_path) as running:
        yield running


@pytest.fixture
def ha(broker: Broker) -> Iterator[Watcher]:
    watcher = Watcher(broker.port, ("homeassistant/#", "assistant/#"))
    yield watcher
    watcher.close()


def _home(broker: Broker, folder: Path, **kwargs: Any) -> Home:
    home = build_home(parse_config(appliance_yaml(broker.port, folder, **kwargs)), appliance=True)
    home.mqtt.finish()
    return home


def _pin(home: Home, number: int) -> Any:
    return home.pin_factory.pin(number)


def test_commands_from_home_assistant_drive_the_pins(broker: Broker, ha: Watcher, tmp_path: Path) -> None:
    home = _home(broker, tmp_path)
    try:
        ha.wait_for(f"{DEV}/hall_light/state", "OFF")
        ha.publish(f"{DEV}/hall_light/set", "ON")
        ha.wait_for(f"{DEV}/hall_light/state", "ON")
        assert _pin(home, 17).state == 1

        # HA turns a dimmable light on at a brightness: the brightness first, then ON ("last").
        ha.publish(f"{DEV}/lamp/brightness/set", "40")
        ha.publish(f"{DEV}/lamp/set", "ON")
        ha.wait_for(f"{DEV}/lamp/brightness", "40")
        ha.wait_for(f"{DEV}/lamp/state", "ON")
        assert _pin(home, 18).state == pytest.approx(0.4)

        ha.publish(f"{DEV}/fan/percentage/set", "30")
        ha.wait_for(f"{DEV}/fan/percentage", "30")
        assert _pin(home, 13).state == pytest.approx(0.3)

        ha.publish(f"{DEV}/kettle/set", "TOGGLE")
        ha.wait_for(f"{DEV}/kettle/state", "ON")
        assert _pin(home, 22).state == 1

        # A lock from HA counts as confirmed by its user: no spoken yes.
        ha.publish(f"{DEV}/front_door/set", "UNLOCK")
        ha.wait_for(f"{DEV}/front_door/state", "UNLOCKED")
        assert _pin(home, 26).state == 1  # relay energised = unlocked
        ha.publish(f"{DEV}/front_door/set", "LOCK")
        ha.wait_for(f"{DEV}/front_door/state", "LOCKED")

        # The blind opens on its relay, reports opening, then open when the travel time is up;
        # a stop half-way releases both relays.
        ha.publish(f"{DEV}/blind/set", "OPEN")
        ha.wait_for(f"{DEV}/blind/state", "opening")
        assert _pin(home, 5).state == 1 and _pin(home, 6).state == 0
        ha.wait_for(f"{DEV}/blind/state", "open", timeout=3)
        assert _pin(home, 5).state == 0
        ha.publish(f"{DEV}/blind/set", "CLOSE")
        ha.wait_for(f"{DEV}/blind/state", "closing")
        ha.publish(f"{DEV}/blind/set", "STOP")
        ha.wait_for(f"{DEV}/blind/state", "None")
        assert _pin(home, 5).state == 0 and _pin(home, 6).state == 0
        assert home.registry.get("blind").state is None
    finally:
        home.close()


def test_every_change_is_published_whatever_caused_it(broker: Broker, ha: Watcher, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(states, "SENSOR_POLL_S", 0.1)
    (tmp_path / "temp.txt").write_text("21.5\n")
    home = _home(broker, tmp_path)
    try:
        ha.wait_for(f"{DEV}/temp/state", "21.5")
        ha.wait_for(f"{DEV}/hall_motion/state", "OFF")

        _pin(home, 16).drive_high()  # a PIR sensor's edge
        ha.wait_for(f"{DEV}/hall_motion/state", "ON")
        _pin(home, 16).drive_low()
        ha.wait_for(f"{DEV}/hall_motion/state", "OFF")

        _pin(home, 24).drive_low()  # the garage's reed switch closes (pull-up: active low)
        ha.wait_for(f"{DEV}/garage/state", "closed")
        _pin(home, 24).drive_high()
        ha.wait_for(f"{DEV}/garage/state", "open")

        (tmp_path / "temp.txt").write_text("22.25\n")  # a file sensor, read on a timer
        ha.wait_for(f"{DEV}/temp/state", "22.25")

        spoken: list[str] = []
        answer = home.brain.answer("turn on the kettle", spoken.append)  # voice, typed
        assert answer.handled_by == "local"
        ha.wait_for(f"{DEV}/kettle/state", "ON")
    finally:
        home.close()
    ha.wait_for("assistant/test/status", "offline")


def test_bad_payloads_are_logged_and_change_nothing(broker: Broker, ha: Watcher, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    home = _home(broker, tmp_path)
    try:
        ha.wait_for(f"{DEV}/kettle/state", "OFF")
        pins = {n: _pin(home, n).state for n in (5, 6, 13, 17, 18, 22, 23, 26)}
        caplog.set_level(logging.WARNING, logger="assistant.mqtt")
        for topic, payload in [
            (f"{DEV}/kettle/set", "MAYBE"),
            (f"{DEV}/kettle/set", '{"state": "ON"'),  # broken JSON
            (f"{DEV}/lamp/brightness/set", "250"),  # out of range
            (f"{DEV}/lamp/brightness/set", "bright"),
            (f"{DEV}/lamp/brightness/set", "nan"),
            (f"{DEV}/hall_light/brightness/set", "50"),  # not dimmable
            (f"{DEV}/temp/set", "ON"),  # a sensor takes no commands
            (f"{DEV}/gpio27/set", "ON"),  # a device the config does not declare
            (f"{DEV}/front_door/set", "OPEN"),
            (f"{DEV}/kettle/set", b"\xff\xfe"),
            ("assistant/test/mute/set", "perhaps"),
        ]:
            ha.publish(topic, payload)
        ha.publish(f"{DEV}/hall_light/set", "ON")  # and a good one still works
        ha.wait_for(f"{DEV}/hall_light/state", "ON")
        assert {n: _pin(home, n).state for n in pins if n != 17} == {n: s for n, s in pins.items() if n != 17}
        refused = home.mqtt.commands.refused
        assert refused == 10, caplog.text
        assert "no device 'gpio27' here" in caplog.text and "out of range" in caplog.text
    finally:
        home.close()


def test_broker_restart_reconnects_and_republishes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """persistence is off: whatever the restarted broker has, the appliance published again."""
    caplog.set_level(logging.INFO, logger="assistant.mqtt")
    broker = Broker(tmp_path).start()
    home = _home(broker, tmp_path)
    try:
        ha = Watcher(broker.port, ("homeassistant/#", "assistant/#"))
        ha.wait_for(f"{DEV}/hall_motion/state", "OFF")
        ha.close()
        broker.stop()
        deadline = time.monotonic() + 5
        while home.mqtt.link.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not home.mqtt.link.connected
        _pin(home, 16).drive_high()  # changed while the broker is away
        home.brain.answer("turn on the kettle", lambda _s: None)  # voice works meanwhile
        assert _pin(home, 22).state == 1
        broker.start()  # same port, empty
        ha = Watcher(broker.port, ("homeassistant/#", "assistant/#"), client_id="after")
        ha.wait_for("assistant/test/status", "online", timeout=15)
        ha.wait_for(f"{DEV}/hall_motion/state", "ON")
        ha.wait_for(f"{DEV}/kettle/state", "ON")
        ha.wait(lambda: "homeassistant/lock/assistant_test/front_door/config" in ha.last, what="discovery")
        ha.wait(lambda: "assistant/test/devices" in ha.last, what="the device list")
        ha.publish(f"{DEV}/kettle/set", "OFF")  # and commands flow again
        ha.wait_for(f"{DEV}/kettle/state", "OFF")
        assert home.mqtt.link.connects == 2
        assert "lost the MQTT broker" in caplog.text and "reconnected" in caplog.text
        ha.close()
    finally:
        home.close()
        broker.stop()


def test_broker_down_at_start_runs_voice_only_and_joins_later(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="assistant.mqtt")
    port = free_port()
    home = build_home(parse_config(appliance_yaml(port, tmp_path)), appliance=True)
    home.mqtt.finish()
    try:
        answer = home.brain.answer("turn on the hall light", lambda _s: None)
        assert answer.results and answer.results[0].ok and _pin(home, 17).state == 1
        with Broker(tmp_path, port=port) as broker:
            ha = Watcher(broker.port, ("assistant/#",))
            ha.wait_for("assistant/test/status", "online", timeout=15)  # backoff: 1, 2, 4 s
            ha.wait_for(f"{DEV}/hall_light/state", "ON")
            ha.close()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "not reachable" in r.message]
        assert len(warnings) == 1, [r.message for r in warnings]  # said once, not at every retry
    finally:
        home.close()


def test_password_file_must_be_private_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-Pa55"
    users = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(users), "kitchen", secret], check=True,
                   capture_output=True)
    password = tmp_path / "mqtt_password"
    password.write_text(secret + "\n")
    caplog.set_level(logging.DEBUG)
    with Broker(tmp_path, password_file=users) as broker:
        text = appliance_yaml(broker.port, tmp_path).replace(
            "keepalive_s: 5", f"keepalive_s: 5, username: kitchen, password_file: {password}")
        password.chmod(0o644)
        with pytest.raises(MqttSetupError, match="chmod 600"):
            build_home(parse_config(text), appliance=True)
        password.chmod(0o600)
        home = build_home(parse_config(text), appliance=True)
        try:
            assert home.mqtt.link.wait_connected(5)
        finally:
            home.close()
        # The wrong password: refused by the broker, said in the log, voice still works.
        password.write_text("wrong\n")
        home = build_home(parse_config(text), appliance=True)
        try:
            assert not home.mqtt.link.connected
            assert home.brain.answer("turn on the kettle", lambda _s: None).results[0].ok
        finally:
            home.close()
    assert secret not in caplog.text
    assert "refused the connection" in caplog.text
    assert os.stat(password).st_mode & 0o077 == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make test certificates")
def test_tls_with_the_brokers_ca_and_a_refusal_with_another(tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    ca, cert, key = make_certificates(tmp_path)
    other_ca, _cert, _key = make_certificates(tmp_path, "other")
    with Broker(tmp_path, tls=(ca, cert, key)) as broker:
        def config(ca_file: Path | str) -> Any:
            return parse_config(appliance_yaml(broker.port, tmp_path).replace(
                "keepalive_s: 5", f"keepalive_s: 5, tls: {{ca_file: {ca_file}}}"))

        home = build_home(config(ca), appliance=True)
        try:
            assert home.mqtt.link.wait_connected(5)
            home.brain.answer("turn on the kettle", lambda _s: None)
        finally:
            home.close()
        caplog.set_level(logging.WARNING, logger="assistant.mqtt")
        home = build_home(config(other_ca), appliance=True)  # a broker it cannot verify
        try:
            assert not home.mqtt.link.connected
            assert "not reachable" in caplog.text
            assert home.brain.answer("turn on the hall light", lambda _s: None).results[0].ok  # voice-only
        finally:
            home.close()
        with pytest.raises(MqttSetupError, match="does not exist"):
            build_home(config(tmp_path / "missing.crt"), appliance=True)
