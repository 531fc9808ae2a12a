"""A real mosquitto on a free loopback port, started per test with a generated config, and a
paho client that plays Home Assistant (or a Tasmota plug) against it.

    with Broker(tmp_path) as broker:
        ha = Watcher(broker.port)
        ha.wait_for("assistant/test/device/lamp/state", "ON")
"""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    def __init__(self, folder: Path, port: int | None = None, password_file: Path | None = None,
                 nodelay: bool = False, tls: tuple[Path, Path, Path] | None = None):
        self.folder = folder
        self.tls = tls
        """(CA certificate, server certificate, server key): the listener speaks TLS."""
        self.nodelay = nodelay
        """mosquitto's set_tcp_nodelay (off by default: Nagle's algorithm on its sockets)."""
        self.port = port or free_port()
        self.password_file = password_file
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Broker:
        # As root, mosquitto would switch to its own user, which cannot read the test's folder.
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"log_dest file {self.log}",
                 "log_type all", f"user {getpass.getuser()}"]
        if self.nodelay:
            lines.append("set_tcp_nodelay true")
        if self.tls is not None:
            lines += [f"cafile {self.tls[0]}", f"certfile {self.tls[1]}", f"keyfile {self.tls[2]}"]
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines.append("allow_anonymous true")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text() if self.log.exists() else ''}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


class Watcher:
    """A test client: records every message it sees (retained ones included) and publishes."""

    def __init__(self, port: int, topics: tuple[str, ...] = ("#",), client_id: str = "watcher",
                 nodelay: bool = False, qos: int = 1):
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self.last: dict[str, bytes] = {}
        self._cond = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_message = self._on_message
        if nodelay:
            self.client.on_socket_open = lambda _c, _u, sock: sock.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connected = threading.Event()
        self._marker = f"watcher-sync/{client_id}"
        wanted = [(t, qos) for t in (*topics, f"{self._marker}/#")]
        self.client.on_connect = lambda c, *_a: (c.subscribe(wanted), connected.set())
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not connected.wait(5):
            raise RuntimeError("the watcher could not connect")
        self.sync()

    def _on_message(self, _client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain),
                                  time.perf_counter()))
            self.last[message.topic] = bytes(message.payload)
            self._cond.notify_all()

    def sync(self) -> None:
        """Every retained message for the subscriptions has arrived."""
        marker = f"{self._marker}/{time.monotonic_ns()}"
        self.publish(marker, "1")
        self.wait(lambda: marker in self.last, 5, f"the sync marker {marker}")

    def publish(self, topic: str, payload: str | bytes, retain: bool = False, qos: int = 1) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "a message") -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out waiting for {what}; last: "
                                     f"{ {k: v[:80] for k, v in list(self.last.items())[-20:]} }")

    def wait_for(self, topic: str, payload: str | bytes, timeout: float = 5.0) -> None:
        wanted = payload.encode() if isinstance(payload, str) else payload
        self.wait(lambda: self.last.get(topic) == wanted, timeout, f"{topic} = {wanted!r}")

    def json(self, topic: str) -> Any:
        return json.loads(self.last[topic])

    def count(self, topic: str) -> int:
        with self._cond:
            return sum(1 for t, *_ in self.messages if t == topic)

    def clear(self) -> None:
        with self._cond:
            self.messages.clear()
            self.last.clear()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


HOME_DEVICES = """
  - {id: lamp, name: living room lamp, area: living room, kind: light, pin: 18, dimmable: true}
  - {id: hall_light, name: hall light, area: hall, kind: light, pin: 17}
  - {id: kettle, name: kettle, area: kitchen, kind: switch, pin: 22}
  - {id: fan, name: ceiling fan, area: bedroom, kind: fan, pin: 13, dimmable: true}
  - {id: garage, name: garage door, area: garage, kind: cover, pin: 23, pins: {sensor: 24}, travel_s: 0.2}
  - {id: blind, name: bedroom blind, area: bedroom, kind: cover, pins: {open: 5, close: 6}, travel_s: 0.3}
  - {id: front_door, name: front door, area: hall, kind: lock, pin: 26}
  - {id: hall_motion, name: hallway motion, area: hall, kind: binary_sensor, pin: 16, pull_up: false}
  - {id: temp, name: attic temperature, area: attic, kind: sensor, source: FOLDER/temp.txt, unit: "°C"}
"""
"""One device of every kind on GPIO (mock pins) and a sensor file (FOLDER/temp.txt)."""


def appliance_yaml(port: int, folder: Path, devices: str = HOME_DEVICES, *, name: str = "Test",
                   area: str | None = "living room", extra: str = "", base: str | None = None) -> str:
    """A config whose mqtt section points at the test broker; state files in ``folder``."""
    base_line = f", base_topic: {base}" if base else ""
    return (f"name: {name}\n" + (f"area: {area}\n" if area else "")
            + f"state: {{path: {folder}/state.json}}\n"
            + f"mqtt: {{host: 127.0.0.1, port: {port}, keepalive_s: 5{base_line}}}\n"
            + "gpio: {pin_factory: mock}\n" + extra + "devices:" + devices.replace("FOLDER", str(folder)))


class FakeMicrophone:
    """The pipeline's controls the MQTT entities use (set_muted, request_listen)."""

    def __init__(self) -> None:
        self.muted = False
        self.listens = 0

    def set_muted(self, muted: bool) -> None:
        self.muted = muted

    def request_listen(self) -> None:
        self.listens += 1


def make_certificates(folder: Path, name: str = "ca") -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl): (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (folder / f"{name}{s}" for s in ("-ca.key", "-ca.crt", ".key", ".csr", ".crt"))
    ext = folder / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} test CA",
        "-keyout", str(ca_key), "-out", str(ca))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
        "-extfile", str(ext), "-out", str(cert))
    return ca, cert, key
