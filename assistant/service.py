"""Talking to systemd without a dependency: readiness, status and the watchdog.

The sd_notify protocol is one AF_UNIX datagram per message to the socket named in
$NOTIFY_SOCKET. A name starting with '@' is an abstract socket (Linux). Every function here
is a no-op when the variable is absent, so the same code runs under systemd, in a terminal
and in tests.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

_LOGGER = logging.getLogger(__name__)


def _address(name: str) -> str | bytes:
    # An abstract socket name starts with a NUL byte; systemd writes it as '@'.
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


def notify(message: str) -> bool:
    """Send one sd_notify message; True if it was sent, False without systemd or on error.

    Failures are logged, never raised: a lost notification must not stop the assistant.
    """
    name = os.environ.get("NOTIFY_SOCKET")
    if not name:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(_address(name))
            sock.sendall(message.encode())
    except OSError as exc:
        _LOGGER.warning("could not notify systemd (%s): %s", name, exc)
        return False
    return True


def ready() -> bool:
    """Tell systemd the service is up (Type=notify units count as started only now)."""
    return notify("READY=1")


def watchdog_ping() -> bool:
    return notify("WATCHDOG=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """A one-line status shown by `systemctl status`."""
    return notify("STATUS=" + text.replace("\n", " "))


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """How often to ping: half of $WATCHDOG_USEC (systemd's advice), or None without a watchdog.

    $WATCHDOG_PID, when set, must be our pid; otherwise the watchdog is meant for another process.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    if value <= 0:
        return None
    return value / 2_000_000


class Watchdog:
    """Pings the systemd watchdog from the loop that must stay alive.

    Call `tick()` from the audio loop, once per chunk: it sends WATCHDOG=1 at most every half
    interval. If the audio stream stalls or the loop hangs, the ticks stop, the pings stop, and
    systemd restarts the service. Without $WATCHDOG_USEC every tick is a cheap no-op.
    """

    def __init__(
        self,
        interval_s: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        ping: Callable[[], bool] = watchdog_ping,
    ):
        self.interval_s = watchdog_interval_s() if interval_s is None else interval_s
        """Seconds between pings; None = no watchdog, `tick()` does nothing."""
        self._clock = clock
        self._ping = ping
        self._last: float | None = None
        self.pings = 0

    @property
    def enabled(self) -> bool:
        return self.interval_s is not None

    def tick(self) -> None:
        if self.interval_s is None:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self.interval_s:
            return
        self._last = now
        if self._ping():
            self.pings += 1
