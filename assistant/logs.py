"""Log priorities for the journal: under systemd, warnings and errors keep their level.

systemd connects a service's stderr to journald and says so in ``$JOURNAL_STREAM``
("device:inode" of that stream). journald reads a leading ``<N>`` on each line as its syslog
priority (``SyslogLevelPrefix=yes``, the default), so every line of a record gets its prefix;
without one, every line would be stored at the unit's default priority, info.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TextIO

SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
"""Python level -> syslog priority (crit, err, warning, info, debug); notice (5) is unused."""


def syslog_priority(levelno: int) -> int:
    """The priority of a level, rounding a custom level down to the next standard one."""
    for level in sorted(SYSLOG_PRIORITY, reverse=True):
        if levelno >= level:
            return SYSLOG_PRIORITY[level]
    return SYSLOG_PRIORITY[logging.DEBUG]


def journal_stream(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``stream`` is the one systemd connected to the journal: ``$JOURNAL_STREAM`` names
    its device and inode (a child whose stderr was redirected elsewhere inherits the variable,
    so the variable alone is not enough)."""
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor behind the stream
        return False
    return (info.st_dev, info.st_ino) == (int(device), int(inode))


class PriorityPrefix(logging.Formatter):
    """Wraps a formatter and puts ``<N>`` in front of every line it writes (tracebacks too)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))
