"""Everything MQTT of one appliance, wired around a Home (``app.build_home``) and, for
``assistant run``, the voice pipeline (``voice.build_voice``).

Order of life: ``connect`` (start the link, learn the other appliances' devices, so the config
the intents are built from holds them) -> ``attach_home`` (device states out, commands in) ->
``wake_arbiter`` (for the pipeline's wake gate) -> ``attach_voice`` (the appliance's own
entities) -> ``finish`` (discovery complete: stale discovery configs of deleted devices are
removed). After every (re)connect the link runs ``republish``: the device list, discovery,
availability and every state.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.mqtt.arbiter import MqttWakeArbiter, WakeContest
from assistant.mqtt.commands import CommandWorker
from assistant.mqtt.discovery import Appliance, appliance_discovery, device_discovery
from assistant.mqtt.entities import ApplianceEntities, Microphone, SensitivityControl, Speak, VolumeControl
from assistant.mqtt.link import MqttLink
from assistant.mqtt.peers import PeerLists, device_list, remote_devices
from assistant.mqtt.settings import Topics, base_topic, link_settings, node_id
from assistant.mqtt.states import StatePublisher

_LOGGER = logging.getLogger(__name__)

CONNECT_WAIT_S = 1.5
"""At start, how long to wait for the broker before running voice-only (it reconnects later)."""


def dashboard_url(config: Config) -> str | None:
    """The dashboard's address for Home Assistant's device page (``web.enabled``): its host, or
    this machine's mDNS name (Raspberry Pi OS runs avahi) when it listens on every address."""
    web = getattr(config, "web", None)
    if web is None or not web.enabled:
        return None
    host = web.host if web.host not in ("0.0.0.0", "::", "") else f"{socket.gethostname()}.local"
    return f"http://{host}:{web.port}/"


class MqttBridge:
    def __init__(self, config: Config, link: Any, topics: Topics, *, appliance: bool,
                 peers: PeerLists | None = None, configuration_url: str | None = None):
        self.config = config
        self.link = link
        self.topics = topics
        self.appliance = appliance
        """The appliance itself (``assistant run``): status, discovery, commands, entities. A
        tool (``assistant ask``) only drives its devices over MQTT."""
        self.peers = peers
        mqtt = config.mqtt
        assert mqtt is not None
        self.ha = Appliance(node_id(config), config.name, topics, mqtt.discovery_prefix, config.area,
                            configuration_url)
        self.states: StatePublisher | None = None
        self.commands: CommandWorker | None = None
        self.entities: ApplianceEntities | None = None
        self.arbiter: MqttWakeArbiter | None = None
        self.registry: Any = None
        self._published: set[str] = set()
        self._finished = False
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, config: Config, *, appliance: bool,
                wait_s: float = CONNECT_WAIT_S) -> tuple[MqttBridge, Config]:
        """Start the link; return the bridge and the config with the other rooms' devices."""
        topics = Topics(base_topic(config))
        settings = link_settings(config)
        if not appliance:
            # Another client id: the broker would otherwise cut off the running appliance.
            settings = dataclasses.replace(settings, client_id=f"{settings.client_id}-tool-{os.getpid()}")
        link = MqttLink(settings, topics.base, appliance=appliance)
        link.start()
        cache = Path(config.state.path).expanduser().with_name("mqtt_peers.json")
        peers = PeerLists(topics, cache)
        try:
            remote = remote_devices(config, topics.base, peers.learn(link, wait_s))
        except Exception:
            link.stop()
            raise
        if remote:
            _LOGGER.info("%d devices of other appliances are reachable over MQTT", len(remote))
        config = dataclasses.replace(config, devices=config.devices + remote)
        return cls(config, link, topics, appliance=appliance, peers=peers,
                   configuration_url=dashboard_url(config)), config

    # -- the home ------------------------------------------------------------------------------
    def attach_home(self, registry: Any, executor: Any) -> None:
        self.registry = registry
        if self.appliance:
            self.states = StatePublisher(self.link, self.topics, registry)
            self.states.start()
            self.commands = CommandWorker(executor, {d.id: d for d in self.config.devices},
                                          f"{self.topics.base}/device/")
            self.commands.start()
            for leaf in ("set", "brightness/set", "percentage/set"):
                self.link.subscribe(self.topics.device("+", leaf), self.commands.on_message)
            self.link.on_connect(self.republish)
        # Retained states of the devices over MQTT are in before the first command is heard.
        self.link.sync(1.0)

    # -- the voice -----------------------------------------------------------------------------
    def wake_arbiter(self) -> WakeContest | None:
        """The pipeline's ``Arbiter`` (``Stages.arbiter``): one wake word, one answer among the
        appliances on this broker. None for a tool (``assistant ask``), which hears no wake word."""
        if not self.appliance:
            return None
        if self.arbiter is None:
            self.arbiter = MqttWakeArbiter(self.link, self.topics)
            self.arbiter.start()
        return WakeContest(self.arbiter, self.topics.base)

    def attach_voice(self, microphone: Microphone | None, bus: Any, speak: Speak | None, *,
                     volume: VolumeControl | None = None, sensitivity: SensitivityControl | None = None,
                     wait_spoken: Any = None) -> None:
        if not self.appliance:
            return
        self.entities = ApplianceEntities(self.link, self.topics, microphone, speak, volume=volume,
                                          sensitivity=sensitivity,
                                          sensitivity_level=self.config.wake.sensitivity,
                                          wait_spoken=wait_spoken)
        self.entities.start()
        bus.subscribe(self.entities.on_event)
        self.finish()

    def finish(self) -> None:
        """Every entity is known: publish it all, and remove what this appliance published
        before and no longer has (a device deleted from the YAML)."""
        if not self.appliance or self._finished:
            return
        self._finished = True
        self.republish()
        mqtt = self.config.mqtt
        if mqtt is not None and mqtt.discovery:
            self.link.subscribe(f"{mqtt.discovery_prefix}/+/{self.ha.node_id}/+/config", self._on_discovery)
            # Home Assistant's birth message: it (re)started and wants everything again.
            self.link.subscribe(f"{mqtt.discovery_prefix}/status", self._on_ha_status)

    # -- publication (paho's thread after a connect, or the caller's) --------------------------
    def republish(self) -> None:
        mqtt = self.config.mqtt
        assert mqtt is not None
        self.link.publish(self.topics.devices, json.dumps(device_list(self.config, self.topics)), retain=True)
        if mqtt.discovery:
            for topic, payload in self._discovery():
                self.link.publish(topic, json.dumps(payload), retain=True)
        if self.states is not None:
            self.states.publish_all(force=True)
        if self.entities is not None:
            self.entities.publish_all()

    def _discovery(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for device in self.config.devices:
            if device.mqtt is not None and device.mqtt.owner:
                continue
            out.append(device_discovery(self.ha, device))
        if self.entities is not None:
            out += appliance_discovery(self.ha, volume=self.entities.volume is not None,
                                       sensitivity=self.entities.sensitivity is not None)
        with self._lock:
            self._published = {topic for topic, _ in out}
        return out

    def _on_discovery(self, topic: str, payload: bytes) -> None:
        with self._lock:
            ours = topic in self._published
        if payload and not ours:
            _LOGGER.info("removing the Home Assistant entity %s (no longer in the config)", topic)
            self.link.publish(topic, "", retain=True)

    def _on_ha_status(self, _topic: str, payload: bytes) -> None:
        if payload == b"online":
            self.republish()

    def close(self) -> None:
        for part in (self.entities, self.commands, self.states):
            if part is not None:
                part.close()
        self.link.stop()
