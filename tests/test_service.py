"""sd_notify over a real AF_UNIX datagram socket, in this process and from a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import service

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def _received(sock: socket.socket, count: int) -> list[str]:
    return [sock.recv(4096).decode() for _ in range(count)]


def test_messages_arrive(notify_socket: socket.socket) -> None:
    assert service.ready()
    assert service.watchdog_ping()
    assert service.status("listening\nfor the wake word")
    assert service.stopping()
    assert _received(notify_socket, 4) == [
        "READY=1", "WATCHDOG=1", "STATUS=listening for the wake word", "STOPPING=1"
    ]


def test_abstract_socket_name(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"assistant-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert service.ready()
        assert sock.recv(4096) == b"READY=1"


def test_no_op_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert service.ready() is False
    assert service.watchdog_ping() is False
    watchdog = service.Watchdog()
    assert not watchdog.enabled
    watchdog.tick()
    assert watchdog.pings == 0


def test_missing_socket_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert service.ready() is False


def test_interval_is_half_of_watchdog_usec() -> None:
    assert service.watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert service.watchdog_interval_s({}) is None
    assert service.watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert service.watchdog_interval_s({"WATCHDOG_USEC": "junk"}) is None
    # A watchdog meant for another process is not ours to ping.
    other = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert service.watchdog_interval_s(other) is None
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert service.watchdog_interval_s(mine) == 15.0


def test_watchdog_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert service.Watchdog().interval_s == 5.0


def test_tick_pings_at_most_once_per_interval() -> None:
    now = [100.0]
    sent: list[float] = []

    def ping() -> bool:
        sent.append(now[0])
        return True

    watchdog = service.Watchdog(15.0, clock=lambda: now[0], ping=ping)
    for step in [0.0, 1.0, 5.0, 9.0, 0.5, 10.0, 5.0]:  # a fake clock: no real time passes
        now[0] += step
        watchdog.tick()
    assert sent == [100.0, 115.0, 130.5]
    assert watchdog.pings == 3


def test_ticks_from_the_loop_reach_the_socket(notify_socket: socket.socket) -> None:
    watchdog = service.Watchdog(0.0)  # every tick pings
    watchdog.tick()
    watchdog.tick()
    assert _received(notify_socket, 2) == ["WATCHDOG=1", "WATCHDOG=1"]


CHILD = """
from assistant import service
watchdog = service.Watchdog()
assert watchdog.interval_s == 1.0, watchdog.interval_s
service.status("starting")
service.ready()
watchdog.tick()
service.stopping()
"""


def test_child_process_like_systemd(notify_socket: socket.socket, tmp_path: Path) -> None:
    env = dict(os.environ, WATCHDOG_USEC="2000000", PYTHONPATH=str(REPO))
    env.pop("WATCHDOG_PID", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert _received(notify_socket, 4) == ["STATUS=starting", "READY=1", "WATCHDOG=1", "STOPPING=1"]


def test_child_process_with_watchdog_pid(notify_socket: socket.socket) -> None:
    # systemd sets WATCHDOG_PID to the main pid; the child checks it is its own.
    script = (
        "import os; from assistant import service; "
        "os.environ['WATCHDOG_PID'] = str(os.getpid()); "
        "w = service.Watchdog(); w.tick(); print(w.pings)"
    )
    env = dict(os.environ, WATCHDOG_USEC="4000000", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert _received(notify_socket, 1) == ["WATCHDOG=1"]
