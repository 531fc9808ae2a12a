"""Journal priorities: under systemd every log line starts with its syslog priority, `<N>`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import __version__
from assistant.logs import PriorityPrefix, journal_stream, syslog_priority

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("level", "priority"), [
    (logging.DEBUG, 7), (logging.INFO, 6), (logging.WARNING, 4), (logging.ERROR, 3),
    (logging.CRITICAL, 2), (logging.WARNING + 5, 4), (1, 7),
])
def test_levels_map_to_syslog_priorities(level: int, priority: int) -> None:
    assert syslog_priority(level) == priority


def test_every_line_of_a_record_gets_the_prefix() -> None:
    formatter = PriorityPrefix(logging.Formatter("%(levelname)s %(message)s"))
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",),
                                   sys.exc_info())
    lines = formatter.format(record).split("\n")
    assert lines[0] == "<3>ERROR failed here"
    assert len(lines) > 2 and all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>ValueError: bad"


def test_journal_stream_must_name_this_very_stream(tmp_path: Path) -> None:
    with open(tmp_path / "log", "w") as stream, open(tmp_path / "other", "w") as other:
        info = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        assert journal_stream(stream, env)
        # A child that inherited the variable but writes elsewhere is not talking to journald.
        assert not journal_stream(other, env)
        assert not journal_stream(stream, {})
        assert not journal_stream(stream, {"JOURNAL_STREAM": "garbage"})


# The child learns the device and inode of its own stderr (a pipe) the way systemd would set them.
CHILD = """
import logging, os, sys
info = os.fstat(2)
if sys.argv[1] == "journal":
    os.environ["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
from assistant.cli import _setup_logging
_setup_logging(False, "text")
log = logging.getLogger("assistant.test")
log.info("started %d", 1)
log.warning("fallback")
log.error("broken")
"""


def _child_stderr(mode: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          env=env, timeout=60, check=True)
    return done.stderr.splitlines()


def test_under_the_journal_warnings_and_errors_keep_their_level() -> None:
    assert _child_stderr("journal") == [
        "<6>INFO assistant.test: started 1",
        "<4>WARNING assistant.test: fallback",
        "<3>ERROR assistant.test: broken",
    ]


def test_on_a_terminal_or_pipe_there_is_no_prefix() -> None:
    assert _child_stderr("plain") == [
        "INFO assistant.test: started 1",
        "WARNING assistant.test: fallback",
        "ERROR assistant.test: broken",
    ]


def test_version_comes_from_the_package() -> None:
    done = subprocess.run([sys.executable, "-m", "assistant", "--version"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0
    assert done.stdout.strip() == f"assistant {__version__}"
