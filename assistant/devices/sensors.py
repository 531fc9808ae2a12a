"""Reading sensor values from sysfs files: the CPU temperature, DS18B20 1-wire probes, any file.

A sensor that cannot be read gives None; the first failure is logged as a WARNING and repeats are
kept quiet until the sensor reads again, so a missing probe does not flood the log.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

SYSFS_ROOT = Path("/sys")
_CPU_TEMP = "class/thermal/thermal_zone0/temp"
_W1_DEVICES = "bus/w1/devices"


class SensorUnreadable(Exception):
    """Internal: why one read failed (turned into None and one warning)."""


class SensorReader:
    """Reads one source: ``cpu_temperature``, ``ds18b20``, ``ds18b20:<id>`` or a file path.

    Built-in sources give degrees Celsius; every value is then multiplied by ``scale``.
    """

    def __init__(self, source: str, scale: float = 1.0, sysfs_root: Path | str = SYSFS_ROOT):
        self.source = source
        self.scale = scale
        self.sysfs_root = Path(sysfs_root)
        self._warned = False
        self._lock = threading.Lock()

    def read(self) -> float | None:
        try:
            value = self._read_raw() * self.scale
        except (OSError, ValueError, SensorUnreadable) as exc:
            with self._lock:
                first = not self._warned
                self._warned = True
            if first:
                _LOGGER.warning("Sensor %s cannot be read: %s (giving no value until it can)",
                                self.source, exc)
            return None
        with self._lock:
            recovered, self._warned = self._warned, False
        if recovered:
            _LOGGER.info("Sensor %s reads again", self.source)
        return round(value, 3)  # drop float noise from the scale multiplication

    def _read_raw(self) -> float:
        if self.source == "cpu_temperature":
            return _millidegrees(self.sysfs_root / _CPU_TEMP)
        if self.source == "ds18b20" or self.source.startswith("ds18b20:"):
            return self._ds18b20(self.source.partition(":")[2])
        return float(Path(self.source).expanduser().read_text().strip())

    def _ds18b20(self, sensor_id: str) -> float:
        bus = self.sysfs_root / _W1_DEVICES
        if sensor_id:
            name = sensor_id if sensor_id.startswith("28-") else f"28-{sensor_id}"
            folder = bus / name
        else:
            found = sorted(bus.glob("28-*"))
            if not found:
                raise SensorUnreadable(f"no DS18B20 in {bus} (is dtoverlay=w1-gpio enabled?)")
            folder = found[0]
        # Newer kernels offer a plain `temperature` file; older ones only the w1_slave dump.
        if (folder / "temperature").exists():
            return _millidegrees(folder / "temperature")
        return _parse_w1_slave((folder / "w1_slave").read_text())


def _millidegrees(path: Path) -> float:
    return int(path.read_text().strip()) / 1000.0


def _parse_w1_slave(text: str) -> float:
    """``... : crc=xx YES`` then ``... t=23125``; a NO means the CRC failed (bad wiring)."""
    lines = text.strip().splitlines()
    if len(lines) < 2 or not lines[0].rstrip().endswith("YES"):
        raise SensorUnreadable("DS18B20 CRC check failed (check the wiring and the pull-up)")
    _, sep, value = lines[1].partition("t=")
    if not sep:
        raise SensorUnreadable("DS18B20 gave no temperature")
    return int(value.strip()) / 1000.0
