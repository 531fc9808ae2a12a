"""The local web dashboard: devices, the assistant's state, history, timers, checks.

    web = attach_web(config, home, bus, voice)   # after build_voice, before voice.run()
    ...
    web.close()

``start_web`` is the same without a pipeline (the controls are then passed in, or absent).
See docs/web.md for the design and README for its use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.events import EventBus
from assistant.web.api import Dashboard
from assistant.web.auth import PasswordStore
from assistant.web.controls import AlarmReminders, Controls, LevelTap, SkillVolume, TimerReminders
from assistant.web.history import History
from assistant.web.hub import Hub, Sampler
from assistant.web.server import WebServer

__all__ = ["Controls", "Web", "attach_web", "start_web", "state_dir"]

_LOGGER = logging.getLogger(__name__)
LOCALHOST = "127.0.0.1"


def state_dir(config: Config) -> Path:
    return Path(config.state.path).expanduser().parent


@dataclass
class Web:
    server: WebServer
    dashboard: Dashboard
    history: History
    sampler: Sampler
    closers: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def close(self) -> None:
        self.sampler.close()
        self.server.close()
        self.history.close()


def start_web(config: Config, home: Any, bus: EventBus, controls: Controls | None = None, *,
              port: int | None = None, scrypt_n: int | None = None) -> Web:
    """The dashboard on web.host:web.port (127.0.0.1 until a password exists), subscribed to
    the bus and to the executor; ``port`` overrides web.port (0 = any free port, for tests)."""
    web = config.web
    folder = state_dir(config)
    extra = {} if scrypt_n is None else {"n": scrypt_n}
    passwords = PasswordStore(web.password_file, folder / "web_password", **extra)
    history = History(folder / "history.sqlite3", web.history_days)
    hub = Hub()
    controls = controls or Controls()
    if controls.timers is None and getattr(home, "timers", None) is not None:
        controls.timers = TimerReminders(home.timers)
    if controls.alarms is None and getattr(home, "timers", None) is not None:
        controls.alarms = AlarmReminders(home.timers)
    volume = getattr(getattr(home, "skills", None), "volume", None)
    if controls.volume is None and volume is not None:
        controls.volume = SkillVolume(volume)
    holder: dict[str, WebServer] = {}

    def first_password() -> None:
        if web.host != LOCALHOST:
            _LOGGER.info("a dashboard password now exists: listening on %s", web.host)
            holder["server"].move_to(web.host)

    dashboard = Dashboard(config, home, bus, hub, history, passwords, controls,
                          on_first_password=first_password)
    host = web.host if passwords.exists else LOCALHOST
    if not passwords.exists and web.host != LOCALHOST:
        _LOGGER.warning("no dashboard password yet: listening on %s only until one is set at "
                        "http://localhost:%d/ (or set web.password_file)", LOCALHOST, web.port)
    server = WebServer(dashboard, host, web.port if port is None else port)
    holder["server"] = server
    bus.subscribe(history.on_event)
    bus.subscribe(hub.on_event)
    home.executor.listeners.append(hub.on_result)
    sampler = Sampler(hub, home.registry, history, controls.level)
    sampler.start()
    return Web(server, dashboard, history, sampler)


def attach_web(config: Config, home: Any, bus: EventBus, voice: Any, **options: Any) -> Web:
    """The dashboard wired to a running appliance: the level of what the microphone hears,
    mute through the pipeline, the speaker through the pipeline's own synthesizer and player.
    Call after ``build_voice`` and before ``voice.run()`` (it wraps ``voice.source``).
    ``options`` go to ``start_web``."""
    tap = LevelTap(voice.source)
    voice.source = tap
    controls = Controls(level=tap, muting=voice.pipeline, speaker=_PipelineSpeaker(voice.pipeline))
    return start_web(config, home, bus, controls, **options)


class _PipelineSpeaker:
    def __init__(self, pipeline: Any):
        self.stages = pipeline.s

    def say(self, text: str) -> None:
        for pcm in self.stages.synthesizer.synthesize(text):
            self.stages.player.play(pcm, self.stages.synthesizer.sample_rate)

    def play(self, pcm: bytes, rate: int) -> None:
        self.stages.player.play(pcm, rate)
