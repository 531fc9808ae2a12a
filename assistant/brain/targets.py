"""Which configured devices a sentence means: Home Assistant's target matching, on plain values.

As ``homeassistant.helpers.intent.async_match_targets`` does: candidates are narrowed by domain
(our device kind), by name (or alias), by device class and by area, in that order, and the first
constraint that leaves nothing is the reason nothing matched. One name may belong to several
devices (the kitchen light and the bedroom light may both be "ceiling light"); the area of the
appliance itself (``Config.area``) then picks one, else the result is a duplicate and the user is
asked which one. Pure: no hassil, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from assistant.brain.numbers import normalize_transcript
from assistant.config import DeviceConfig

Problem = Literal["domain", "name", "device_class", "area", "duplicate"]


@dataclass(frozen=True)
class Wanted:
    name: str | None = None
    """The spoken name (matched against names and aliases, normalized)."""
    area: str | None = None
    """An area's configured name."""
    domains: frozenset[str] = frozenset()
    device_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Found:
    devices: tuple[DeviceConfig, ...] = ()
    problem: Problem | None = None
    """Why nothing (or not one) was found; "duplicate": ``devices`` are the look-alikes."""

    @property
    def ok(self) -> bool:
        return self.problem is None


def spoken_names(device: DeviceConfig) -> set[str]:
    return {normalize_transcript(s) for s in (device.name, *device.aliases)}


def match_targets(devices: Iterable[DeviceConfig], wanted: Wanted,
                  preferred_area: str | None = None) -> Found:
    found = list(devices)
    if wanted.domains:
        found = [d for d in found if d.kind in wanted.domains]
        if not found:
            return Found(problem="domain")
    if wanted.name is not None:
        name = normalize_transcript(wanted.name)
        found = [d for d in found if name in spoken_names(d)]
        if not found:
            return Found(problem="name")
    if wanted.device_classes:
        found = [d for d in found if d.device_class in wanted.device_classes]
        if not found:
            return Found(problem="device_class")
    if wanted.area is not None:
        found = [d for d in found if same_area(d.area, wanted.area)]
        if not found:
            return Found(problem="area")
    if wanted.name is not None and len(found) > 1:
        here = [d for d in found if preferred_area and same_area(d.area, preferred_area)]
        if len(here) == 1:
            return Found((here[0],))
        return Found(tuple(found), "duplicate")
    return Found(tuple(found))


def prefer_area(found: tuple[DeviceConfig, ...], area: str | None) -> tuple[DeviceConfig, ...]:
    """The devices in the appliance's own area, when some are there; else all of them ("turn
    on the lights" in a room without lights of its own means the home's)."""
    here = tuple(d for d in found if area and same_area(d.area, area))
    return here or found


def same_area(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and normalize_transcript(a) == normalize_transcript(b)


def which_one(devices: Iterable[DeviceConfig]) -> str:
    """ "Which one: the kitchen light or the bedroom light?" for look-alikes (by area)."""
    devices = list(devices)
    phrases = [f"the {_described(d)}" for d in devices]
    if len(set(phrases)) < len(phrases):  # same name, same area: say what each one measures
        phrases = [f"{p} for {d.device_class.replace('_', ' ')}" if d.device_class else p
                   for p, d in zip(phrases, devices, strict=True)]
    listed = ", ".join(phrases[:-1]) + " or " + phrases[-1] if len(phrases) > 1 else phrases[0]
    return f"Which one: {listed}?"


def _described(device: DeviceConfig) -> str:
    name = device.name
    if device.area and normalize_transcript(device.area) not in normalize_transcript(name):
        return f"{device.area} {name}"
    return name


def chosen(devices: Iterable[DeviceConfig], answer: str) -> DeviceConfig | None:
    """The look-alike an answer to ``which_one`` names ("the kitchen one", "bedroom"), or None
    when it names none or several."""
    said = f" {normalize_transcript(answer)} "
    hits = [d for d in devices
            if (d.area and f" {normalize_transcript(d.area)} " in said)
            or f" {normalize_transcript(_described(d))} " in said]
    return hits[0] if len(hits) == 1 else None
