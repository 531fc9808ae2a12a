"""A running dashboard for tests: the example config's devices on mock pins, a real server on a
loopback port, and a small HTTP client that keeps the session cookie."""

from __future__ import annotations

import dataclasses
import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from gpiozero.pins.mock import MockFactory, MockPWMPin

from assistant.app import build_home
from assistant.brain.intents import LocalIntents
from assistant.config import Config, WebConfig, load_config
from assistant.events import EventBus
from assistant.web import Controls, Web, start_web

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config" / "assistant.yaml"
PASSWORD = "correct horse battery"
FAST_SCRYPT = 2**10
"""Tests hash with a cheap scrypt cost; the code path is the same as the real one's."""


def example_config(tmp_path: Path, web: WebConfig | None = None, extra_yaml: str = "") -> Config:
    text = EXAMPLE.read_text().replace("path: ~/.local/state/assistant/state.json",
                                       f"path: {tmp_path / 'state.json'}") + extra_yaml
    path = tmp_path / "assistant.yaml"
    path.write_text(text)
    config = load_config(path)
    return dataclasses.replace(config, web=web or WebConfig(enabled=True, host="127.0.0.1"))


@dataclasses.dataclass
class Running:
    config: Config
    home: Any
    bus: EventBus
    web: Web
    factory: MockFactory
    voice: Any = None

    def pin(self, number: int) -> int:
        return int(self.factory.pin(number).state)

    def client(self, host_header: str | None = None) -> Client:
        host, port = self.web.server.address
        return Client("127.0.0.1", port, host_header)


_INTENTS: dict[Any, Any] = {}


def _shared_intents(config: Config) -> Any:
    """Local intents take a second to build from hassil's templates; the tests share them."""
    key = (repr(config.devices), config.intents)
    if key not in _INTENTS:
        _INTENTS[key] = LocalIntents(config)
    return _INTENTS[key]


@contextmanager
def running(tmp_path: Path, *, controls: Controls | None = None, web: WebConfig | None = None,
            extra_yaml: str = "") -> Iterator[Running]:
    config = example_config(tmp_path, web, extra_yaml)
    factory = MockFactory(pin_class=MockPWMPin)
    with mock.patch("assistant.brain.intents.LocalIntents", _shared_intents):
        home = build_home(config, no_cloud=True, pin_factory=factory)
    bus = EventBus()
    web_ = start_web(config, home, bus, controls, port=0, scrypt_n=FAST_SCRYPT)
    try:
        yield Running(config, home, bus, web_, factory)
    finally:
        web_.close()
        home.close()
        factory.reset()


@contextmanager
def voiced(tmp_path: Path, wav: Path, *, extra_yaml: str = "") -> Iterator[Running]:
    """As ``assistant run --input WAV --realtime`` with web.enabled builds it: the real pipeline
    (build_voice) and the dashboard attached to it (attach_web), until ``voice.run()``."""
    from assistant.voice import build_voice
    from assistant.web import attach_web

    config = example_config(tmp_path, None, extra_yaml)
    factory = MockFactory(pin_class=MockPWMPin)
    with mock.patch("assistant.brain.intents.LocalIntents", _shared_intents):
        home = build_home(config, no_cloud=True, pin_factory=factory)
    bus = EventBus()
    try:
        voice = build_voice(config, home, bus, input_wav=str(wav),
                            output_wav=str(tmp_path / "spoken.wav"), realtime=True)
        web_ = attach_web(config, home, bus, voice, port=0, scrypt_n=FAST_SCRYPT)
        home.closers.append(web_.close)
        yield Running(config, home, bus, web_, factory, voice)
    finally:
        home.close()
        factory.reset()


class Client:
    """HTTP on loopback with the session cookie and CSRF token remembered."""

    def __init__(self, host: str, port: int, host_header: str | None = None):
        self.host, self.port = host, port
        self.host_header = host_header or f"127.0.0.1:{port}"
        self.cookie: str | None = None
        self.csrf: str | None = None

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None, csrf: bool = True) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        sent = {"Host": self.host_header, **(headers or {})}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        if self.cookie:
            sent["Cookie"] = self.cookie
        if csrf and self.csrf and method == "POST":
            sent["X-CSRF-Token"] = self.csrf
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        payload = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        self.last_headers = dict(response.getheaders())
        conn.close()
        try:
            return response.status, json.loads(payload) if payload else None
        except ValueError:
            return response.status, payload

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        return self.request("POST", path, {} if body is None else body, **kwargs)

    def setup(self, password: str = PASSWORD) -> None:
        status, body = self.post("/api/auth/setup", {"password": password})
        assert status == 200, body
        self.csrf = body["csrf"]

    def login(self, password: str = PASSWORD) -> tuple[int, Any]:
        status, body = self.post("/api/auth/login", {"password": password})
        if status == 200:
            self.csrf = body["csrf"]
        return status, body
