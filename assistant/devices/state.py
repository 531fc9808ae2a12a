"""A small JSON file that keeps device state across restarts.

Writes are atomic (temporary file, fsync, os.replace) so a power cut mid-write leaves either the
old file or the new one, never half of each. One StateStore per file: two stores writing the same
file would overwrite each other's sections.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger(__name__)


class StateStore:
    """Top-level sections (e.g. "devices") of one JSON object, saved on every ``put``."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._data: dict[str, Any] = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            _LOGGER.warning("No state file at %s yet: starting empty", self.path)
            return {}
        except OSError as exc:
            _LOGGER.warning("Cannot read the state file %s (%s): starting empty", self.path, exc)
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            _LOGGER.warning("The state file %s is corrupt (%s): starting empty", self.path, exc)
            return {}
        if not isinstance(data, dict):
            _LOGGER.warning("The state file %s does not hold an object: starting empty", self.path)
            return {}
        return data

    def get(self, section: str, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(section, default)

    def put(self, section: str, value: Any) -> None:
        """Replace one section and write the file; a failed write is logged, not raised."""
        with self._lock:
            self._data[section] = value
            try:
                self._write()
            except (OSError, TypeError, ValueError) as exc:
                # Losing persistence must not stop the lights from working.
                _LOGGER.warning("Cannot save state to %s: %s", self.path, exc)

    def _write(self) -> None:
        text = json.dumps(self._data, indent=2, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every filesystem allows it, which is fine."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
