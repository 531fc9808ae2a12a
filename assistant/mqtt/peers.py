"""Several appliances in one home: each publishes its devices, each can drive the others'.

Every appliance publishes ``<base>/devices`` (retained): its name, area and the devices it owns.
At start an appliance reads the lists of the others (``<parent>/+/devices``) and adds each of
their devices to its own config as a device over MQTT whose topics are the owner's
(``<owner>/device/<id>/set`` and ``/state``), so the local intents, the LLM tools and the
confirmation rules treat it as any device; a command to it is carried out by its owner, through
the owner's executor. The lists are cached next to the state file, so the other rooms' devices
are known (and said to be unreachable) while the broker is down at start. A list that changes
later is logged; a restart picks it up.

Names: another room's device keeps its name and area ("turn on the light" means this room's
light, by the local intents' preferred-area rule; "the living room light" the other one). Only
when a device here has the same name in the same area (and kind and class) is it called by its
area too, and skipped if that is taken as well.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import Any

from assistant.config import ACTUATOR_KINDS, DEVICE_CLASSES, Config, DeviceConfig, MqttDeviceConfig
from assistant.mqtt.settings import Topics, slug

_LOGGER = logging.getLogger(__name__)

LIST_VERSION = 1
_KINDS = {"light", "switch", "fan", "cover", "lock", "sensor", "binary_sensor"}
_ID = re.compile(r"^[a-z0-9_]+$")


def device_list(config: Config, topics: Topics) -> dict[str, Any]:
    """What this appliance tells the others: the devices it owns (not the ones it learned)."""
    owned = [d for d in config.devices if d.mqtt is None or not d.mqtt.owner]
    return {"version": LIST_VERSION, "appliance": topics.base, "name": config.name, "area": config.area,
            "devices": [_describe(d) for d in owned]}


def _describe(device: DeviceConfig) -> dict[str, Any]:
    out: dict[str, Any] = {"id": device.id, "name": device.name, "kind": device.kind}
    if device.area:
        out["area"] = device.area
    if device.aliases:
        out["aliases"] = list(device.aliases)
    if device.dimmable:
        out["dimmable"] = True
    if device.unit:
        out["unit"] = device.unit
    if device.confirm:
        out["confirm"] = True
    if device.device_class:
        out["device_class"] = device.device_class
    return out


def remote_devices(config: Config, own_base: str, lists: dict[str, Any]) -> tuple[DeviceConfig, ...]:
    """The other appliances' devices as devices over MQTT (pure; bad entries are skipped)."""
    taken = {_spoken(s, d) for d in config.devices for s in (d.name, *d.aliases)}
    ids = {d.id for d in config.devices}
    out: list[DeviceConfig] = []
    for base in sorted(lists):
        info = lists[base]
        if base == own_base or not isinstance(info, dict) or not isinstance(info.get("devices"), list):
            continue
        room = info.get("area") if isinstance(info.get("area"), str) else None
        for entry in info["devices"]:
            device = _remote(base, room, entry, taken, ids)
            if device is not None:
                out.append(device)
                ids.add(device.id)
                taken.update(_spoken(s, device) for s in (device.name, *device.aliases))
    return tuple(out)


def _remote(base: str, room: str | None, entry: Any, taken: set[tuple[Any, ...]],
            ids: set[str]) -> DeviceConfig | None:
    if not isinstance(entry, dict) or entry.get("kind") not in _KINDS:
        return None
    device_id, name = entry.get("id"), entry.get("name")
    if not (isinstance(device_id, str) and _ID.match(device_id) and isinstance(name, str) and name.strip()):
        return None
    kind = str(entry["kind"])
    area = entry.get("area") if isinstance(entry.get("area"), str) else room
    device_class = entry.get("device_class")
    if not isinstance(device_class, str) or device_class not in DEVICE_CLASSES.get(kind, ()):
        device_class = None
    if _key(name, area, kind, device_class) in taken:
        qualified = f"{area} {name}" if area and not _norm(name).startswith(_norm(area)) else None
        if qualified is None or _key(qualified, area, kind, device_class) in taken:
            _LOGGER.warning("%s's device %r has a name already used here; not reachable by voice",
                            base, name)
            return None
        name = qualified
    local_id = f"{slug(base.rpartition('/')[2])}__{device_id}"
    if local_id in ids:
        return None
    aliases = tuple(a for a in entry.get("aliases", ()) if isinstance(a, str)
                    and _key(a, area, kind, device_class) not in taken)
    dimmable = entry.get("dimmable") is True and kind in ("light", "fan")
    level = {"light": "brightness", "fan": "percentage"}.get(kind) if dimmable else None
    prefix = f"{base}/device/{device_id}"
    mqtt = MqttDeviceConfig(
        command_topic=f"{prefix}/set" if kind in ACTUATOR_KINDS else None,
        state_topic=f"{prefix}/state",
        brightness_command_topic=f"{prefix}/{level}/set" if level else None,
        brightness_state_topic=f"{prefix}/{level}" if level else None,
        owner=base)
    unit = entry.get("unit") if isinstance(entry.get("unit"), str) else None
    return DeviceConfig(id=local_id, name=name, kind=kind, area=area, aliases=aliases,  # type: ignore[arg-type]
                        dimmable=dimmable, unit=unit, confirm=entry.get("confirm") is True,
                        device_class=device_class, mqtt=mqtt)


def _key(name: str, area: str | None, kind: str, device_class: str | None) -> tuple[Any, ...]:
    """What must differ between two devices of one home (``config.checks.check_devices``): one name
    may be used again in another area, or for another kind or class of device."""
    return (_norm(name), area, kind, device_class)


def _spoken(name: str, device: DeviceConfig) -> tuple[Any, ...]:
    return _key(name, device.area, device.kind, device.device_class)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


class PeerLists:
    """The other appliances' device lists as the broker has them, cached in a file."""

    def __init__(self, topics: Topics, cache: Path):
        self.topics = topics
        self.cache = cache
        self.lists: dict[str, Any] = {}
        self._used: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def learn(self, link: Any, wait_s: float) -> dict[str, Any]:
        """Subscribe, and wait (up to ``wait_s``) for the retained lists; the cache when the
        broker cannot be reached."""
        link.subscribe(self.topics.peer_devices, self._on_list)
        learned = link.wait_connected(wait_s) and link.sync(1.0)
        with self._lock:
            if learned:
                self._save()
            else:
                self.lists = {**self._load(), **self.lists}
                if self.lists:
                    _LOGGER.info("the broker is not reachable: the other appliances' devices come "
                                 "from %s", self.cache)
            self._used = json.loads(json.dumps(self.lists))
            return dict(self.lists)

    def _on_list(self, topic: str, payload: bytes) -> None:
        base = topic.removesuffix("/devices")
        if base == self.topics.base:
            return
        try:
            info = json.loads(payload) if payload else None
        except ValueError:
            _LOGGER.warning("MQTT: %s is not a device list (not JSON)", topic)
            return
        with self._lock:
            if info is None:
                self.lists.pop(base, None)
            else:
                self.lists[base] = info
            if self._used is not None and self._used.get(base) != info:
                _LOGGER.info("the devices of %s changed; a restart makes them reachable by voice", base)
                self._used[base] = info
                self._save()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        try:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            self.cache.write_text(json.dumps(self.lists, indent=1, sort_keys=True), encoding="utf-8")
        except OSError as exc:
            _LOGGER.warning("cannot cache the other appliances' devices in %s: %s", self.cache, exc)
