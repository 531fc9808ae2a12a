"""The claim checker on plain values: tests/claims/checker.yaml, sentence by sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.brain.checker import DeviceState, check
from assistant.brain.claims import Catalog, extract, live_topic
from assistant.brain.types import Action, ActionResult
from assistant.config import DeviceConfig

DEVICES = (
    DeviceConfig(id="kitchen_light", name="kitchen light", area="kitchen", kind="light", pin=17),
    DeviceConfig(id="living_room_lamp", name="living room lamp", aliases=("lamp", "reading lamp"),
                 area="living room", kind="light", pin=18, dimmable=True),
    DeviceConfig(id="bedroom_light", name="bedroom light", area="bedroom", kind="light", pin=27),
    DeviceConfig(id="fan", name="ceiling fan", aliases=("fan",), area="living room", kind="fan",
                 pin=23),
    DeviceConfig(id="coffee_maker", name="coffee maker", area="kitchen", kind="switch", pin=22),
    DeviceConfig(id="garage_door", name="garage door", area="garage", kind="cover", pin=24,
                 pins={"sensor": 25}),
    DeviceConfig(id="front_door", name="front door", area="hallway", kind="lock", pin=5),
    DeviceConfig(id="hallway_motion", name="hallway motion", area="hallway",
                 kind="binary_sensor", pin=6),
    DeviceConfig(id="living_room_temperature", name="living room temperature",
                 area="living room", kind="sensor", source="x", unit="°C"),
)
CASES = yaml.safe_load((Path(__file__).parent / "claims" / "checker.yaml").read_text())["cases"]


def states(overrides: dict[str, Any]) -> dict[str, DeviceState]:
    base: dict[str, Any] = {d.id: "off" for d in DEVICES}
    base |= {"front_door": "locked", "garage_door": "closed", "living_room_temperature": 21.5}
    base |= {k: v for k, v in overrides.items() if not k.endswith("_brightness")}
    out = {}
    for device, state in base.items():
        level = overrides.get(f"{device}_brightness")
        out[device] = DeviceState(state, {"brightness": level} if level is not None else {})
    return out


def results(done: list[str], now: dict[str, DeviceState]) -> list[ActionResult]:
    out = []
    for line in done:
        words = line.split()
        value = float(words[2]) if len(words) > 2 and words[2] != "failed" else None
        ok = "failed" not in words
        device = words[0]
        out.append(ActionResult(Action(device, words[1], value), ok=ok,
                                state=now[device].state if ok else None,
                                error=None if ok else "The device didn't respond."))
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["say"] for c in CASES])
def test_checker_case(case: dict[str, Any]) -> None:
    now = states(case.get("states") or {})
    done = results(case.get("done") or [], now)
    [verdict] = check([case["say"]], done, now, DEVICES, case["asked"])
    expected = "ok" if case.get("ok") else case["reason"]
    assert ("ok" if verdict.ok else verdict.reason) == expected, verdict


def test_claims_name_the_devices_meant() -> None:
    catalog = Catalog(DEVICES)
    [claim] = extract("The bedroom lamp is on.", catalog)
    assert claim.kind == "state" and claim.ref.devices == {"bedroom_light"}, "not the lamp alias"
    [claim] = extract("I turned on the porch lamp.", catalog)
    assert claim.ref.unknown and not claim.ref.devices
    [claim] = extract("The lights in the kitchen are off.", catalog)
    assert claim.ref.devices == {"kitchen_light"}


@pytest.mark.parametrize(("question", "topic"), [
    ("what's the weather like", "weather"), ("will it rain tomorrow", "weather"),
    ("how hot is it outside", "weather"), ("what's the news", "news"),
    ("who won the game last night", "sports"), ("what's the price of bitcoin", "prices"),
    ("how much is a dollar in euros", "prices"), ("what's the traffic like", "travel"),
    ("who won the world cup in 2018", None), ("what is the capital of france", None),
    ("how warm is it in the living room", None), ("what's the temperature", None),
])
def test_live_topics(question: str, topic: str | None) -> None:
    assert live_topic(question) == topic
