"""Builds the assistant's parts from a config. The CLI, the service and the tests start here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.brain.types import Action, ActionResult, Executor
from assistant.config import Config

_LOGGER = logging.getLogger(__name__)


class ObservedExecutor:
    """The shared executor, with listeners told after every device change (latency, LEDs)."""

    def __init__(self, inner: Executor):
        self.inner = inner
        self.listeners: list[Callable[[ActionResult], None]] = []

    def run(self, action: Action) -> ActionResult:
        result = self.inner.run(action)
        if result.ok and action.action != "query":
            for listener in self.listeners:
                listener(result)
        return result


@dataclass
class Home:
    """Devices and everything that acts on them, without audio."""

    config: Config
    registry: Any
    executor: ObservedExecutor
    intents: Any
    brain: Any
    pin_factory: Any = None
    timers: Any = None
    skills: Any = None
    output_gain: Any = None
    """The player's gain, moved by the volume skill where there is no ALSA mixer."""
    closers: list[Callable[[], None]] = field(default_factory=list)
    mqtt: Any = None
    """The MQTT bridge (``assistant.mqtt.MqttBridge``) when the config has an mqtt section."""

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.registry.close()


def build_home(config: Config, *, no_cloud: bool = False, pin_factory: Any = None,
               appliance: bool = False, preload: bool = False) -> Home:
    """``appliance``: this process is the appliance (``assistant run``): over MQTT it publishes
    discovery and states and takes commands; otherwise it only drives its devices over MQTT.
    ``preload``: a long-running assistant (run), where local_llm.load auto means start."""
    from assistant.audio.player import OutputGain
    from assistant.brain.actions import DeviceExecutor
    from assistant.brain.intents import LocalIntents
    from assistant.brain.local import LocalBrain
    from assistant.brain.router import build_router
    from assistant.brain.skills import build_skills
    from assistant.brain.timers import TimerManager
    from assistant.devices.factory import make_pin_factory
    from assistant.devices.registry import DeviceRegistry
    from assistant.devices.state import StateStore

    bridge = None
    if config.mqtt is not None:
        from assistant.mqtt import MqttBridge

        # The other rooms' devices join the config before the intents are built from it.
        bridge, config = MqttBridge.connect(config, appliance=appliance)
    try:
        factory = pin_factory if pin_factory is not None else make_pin_factory(config.gpio.pin_factory)
        registry = DeviceRegistry.from_config(config, factory, StateStore(config.state.path),
                                              mqtt=bridge.link if bridge is not None else None)
    except BaseException:
        if bridge is not None:
            bridge.close()
        raise
    executor = ObservedExecutor(DeviceExecutor(registry))
    if bridge is not None:
        bridge.attach_home(registry, executor)
    intents = LocalIntents(config)
    timers = TimerManager(Path(config.state.path).expanduser().with_name("timers.json"), time.time)
    local = LocalBrain(intents, executor, timers=timers)
    gain = OutputGain()
    skills = build_skills(config, executor, timers, Path(config.state.path).expanduser().parent,
                          gain)
    brain = build_router(config, local, executor, no_cloud=no_cloud, preload=preload,
                         skills=skills)
    skills.last_reply = lambda: brain.last_reply
    home = Home(config, registry, executor, intents, brain, pin_factory=factory, timers=timers,
                skills=skills, output_gain=gain, mqtt=bridge)
    if bridge is not None:
        home.closers.append(bridge.close)
    return home
