"""Where things are on the broker, and how to log in: plain values from the config's mqtt section.

Every topic of one appliance lives under its base topic (``assistant/<name>`` by default):

    <base>/status                          online / offline (retained; the last will)
    <base>/devices                         this appliance's devices, for the other appliances
    <base>/device/<id>/state               ON/OFF, open/closed/..., LOCKED/UNLOCKED, a number
    <base>/device/<id>/set                 commands in Home Assistant's payloads (ON, OPEN, LOCK)
    <base>/device/<id>/brightness[/set]    a dimmable light's brightness, 0-100
    <base>/device/<id>/percentage[/set]    a PWM fan's speed, 0-100
    <base>/assist/state, <base>/last_command[/attributes], <base>/mute[/set],
    <base>/sensitivity[/set], <base>/volume[/set], <base>/announce, <base>/ask, <base>/ask/answer

Appliances whose base topics share a parent (``assistant/``) are one home: each reads the
others' ``devices`` lists and they settle who answers a wake word on ``<parent>/wake/claims``.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Config, MqttConfig
from assistant.errors import AssistantError

PASSWORD_ENV = "ASSISTANT_MQTT_PASSWORD"
"""The broker password, when no password_file is configured."""


class MqttSetupError(AssistantError):
    """The MQTT settings cannot be used (a password file readable by others, a missing
    certificate); the message says the fix."""

    exit_status = 2


def slug(text: str) -> str:
    """Lower-case letters, digits and _: for topic levels, unique ids and client ids."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "assistant"


@dataclass(frozen=True)
class Topics:
    base: str

    @property
    def root(self) -> str:
        """What the appliances of one home share (the base topic's parent)."""
        return self.base.rpartition("/")[0] or self.base

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def devices(self) -> str:
        return f"{self.base}/devices"

    @property
    def peer_devices(self) -> str:
        return f"{self.root}/+/devices"

    @property
    def wake_claims(self) -> str:
        return f"{self.root}/wake/claims"

    def device(self, device_id: str, leaf: str = "state") -> str:
        return f"{self.base}/device/{device_id}/{leaf}"

    def entity(self, name: str) -> str:
        return f"{self.base}/{name}"


@dataclass(frozen=True)
class LinkSettings:
    host: str
    port: int
    client_id: str
    keepalive_s: int
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    tls: bool = False

    def __repr__(self) -> str:  # the password never reaches a log
        return (f"LinkSettings(host={self.host!r}, port={self.port}, client_id={self.client_id!r}, "
                f"username={self.username!r}, tls={self.tls})")


def base_topic(config: Config) -> str:
    mqtt = config.mqtt
    if mqtt is not None and mqtt.base_topic:
        return mqtt.base_topic
    return f"assistant/{slug(config.name)}"


def node_id(config: Config) -> str:
    """This appliance in Home Assistant's unique ids and discovery topics; stable while the
    base topic is."""
    return slug(base_topic(config))


def link_settings(config: Config, environ: dict[str, str] | None = None) -> LinkSettings:
    mqtt = config.mqtt
    assert mqtt is not None
    tls = mqtt.tls
    for path in (tls.ca_file, tls.cert_file, tls.key_file) if tls else ():
        if path is not None and not Path(path).expanduser().is_file():
            raise MqttSetupError(f"mqtt.tls: {path} does not exist")
    return LinkSettings(
        host=mqtt.host, port=mqtt.port,
        client_id=mqtt.client_id or f"assistant-{node_id(config)}",
        keepalive_s=mqtt.keepalive_s, username=mqtt.username,
        password=_password(mqtt, os.environ if environ is None else environ),
        ca_file=tls.ca_file if tls else None, cert_file=tls.cert_file if tls else None,
        key_file=tls.key_file if tls else None, tls=tls is not None,
    )


def _password(mqtt: MqttConfig, environ: dict[str, str] | os._Environ[str]) -> str | None:
    if mqtt.password_file:
        return read_secret_file(mqtt.password_file)
    return environ.get(PASSWORD_ENV) or None


def read_secret_file(path: str) -> str | None:
    """A password file that only its owner may read (mode 0600), as mosquitto's users keep."""
    file = Path(path).expanduser()
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MqttSetupError(f"refusing the MQTT password file {file}: its mode is {mode:04o}, "
                                 f"readable by others; run: chmod 600 {file}")
        return file.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise MqttSetupError(f"cannot read the MQTT password file {file}: {exc.strerror}") from exc
